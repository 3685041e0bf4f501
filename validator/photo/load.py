"""Reading a photo with Pillow, safely: header facts first, pixels only within a limit.

`read_photo()` returns the image upright (EXIF orientation applied: phones store portraits
sideways and set a tag), as 8-bit RGB whatever it was stored as (CMYK, 16-bit, palette, grey,
alpha flattened on white), converted to sRGB when it carries another ICC profile.  It refuses,
with a `PhotoReadError` sentence and before decoding a pixel, an image whose decoded size would
exceed `MAX_DECODED_PIXELS` (a 30000x30000 PNG "bomb" is 2.7 GB of RGB); JPEGs are decoded at a
reduced DCT scale when the caller wants fewer pixels, so a huge JPEG costs little.  A truncated
or damaged file, a text file, or a format Pillow cannot read is a `PhotoReadError` too.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .sniff import image_format

# Decoded pixels allowed (after a JPEG's draft scaling): 50 MP is ~150 MB of RGB; a 48 MP phone
# photo (8064x6048) fits.  Anything declared larger than `MAX_DECLARED_PIXELS` is refused even
# when it could be decoded at a reduced scale.
MAX_DECODED_PIXELS = 50_000_000
MAX_DECLARED_PIXELS = 400_000_000
ACCEPTED_FORMATS = ("jpeg", "png")

_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE"}
_TRANSPOSE.update({6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"})
# Clockwise rotation a viewer applies for each EXIF orientation (mirrored ones included).
_ROTATION_DEG = {1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}


class PhotoReadError(Exception):
    """The file is an image we cannot (or will not) decode; the message says why."""

    def __init__(self, message: str, info: PhotoInfo | None = None):
        super().__init__(message)
        self.info = info


@dataclass
class PhotoInfo:
    """Header facts.  `width`/`height` are as displayed (after EXIF orientation)."""

    format: str  # jpeg, png, webp, heic, gif, tiff, bmp, ...
    width: int
    height: int
    size_bytes: int
    orientation: int = 1  # EXIF orientation tag, 1 = upright (also when absent)
    rotation_deg: int = 0  # clockwise rotation applied to show it upright
    mode: str = "RGB"  # Pillow mode as stored (RGB, RGBA, CMYK, L, I;16, P, ...)
    bit_depth: int = 8
    frames: int = 1
    has_alpha: bool = False
    icc_profile: str | None = None  # profile description, when one is embedded
    has_exif: bool = False
    has_gps: bool = False
    megapixels: float = 0.0

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    def to_dict(self) -> dict[str, Any]:
        """The `media` object of a photo report."""
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "orientation": self.orientation,
            "rotation_deg": self.rotation_deg,
            "mode": self.mode,
            "bit_depth": self.bit_depth,
            "frames": self.frames,
            "has_alpha": self.has_alpha,
            "icc_profile": self.icc_profile,
            "has_gps": self.has_gps,
            "size_bytes": self.size_bytes,
        }


@dataclass
class LoadedPhoto:
    info: PhotoInfo
    rgb: np.ndarray  # (H, W, 3) uint8, upright, sRGB
    scale: float  # rgb pixels per displayed pixel (1.0 unless decoded smaller)


def _register_heif() -> bool:
    try:
        import pillow_heif  # type: ignore[import-not-found]
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _png_ihdr(head: bytes) -> tuple[int, int, int] | None:
    if len(head) >= 26 and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return w, h, head[24]
    return None


def read_photo(path: str | os.PathLike[str], max_long_side: int | None = None) -> LoadedPhoto:
    """Decode `path` upright as 8-bit sRGB RGB, at most `max_long_side` pixels on the long side
    (downscaled with area averaging; None keeps every pixel).  Raises PhotoReadError."""
    from PIL import Image, UnidentifiedImageError

    p = os.fspath(path)
    size = os.path.getsize(p)
    with open(p, "rb") as f:
        head = f.read(64)
    fmt = image_format(head) or "unknown"
    if size == 0:
        raise PhotoReadError("the file is empty (0 bytes)")
    ihdr = _png_ihdr(head) if fmt == "png" else None
    if fmt in ("heic", "avif") and not _register_heif():
        raise PhotoReadError(
            f"a {fmt.upper()} image, and no HEIF decoder is installed "
            "(pip install pillow-heif, or export it as JPEG on the phone)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(p)
        except Image.DecompressionBombError:
            dims = f"{ihdr[0]}x{ihdr[1]} " if ihdr else ""
            raise PhotoReadError(
                f"the image is {dims}far above the {MAX_DECODED_PIXELS / 1e6:.0f} MP limit "
                "(refused before decoding; downscale it first)"
            ) from None
        except UnidentifiedImageError:
            raise PhotoReadError(
                f"not a readable image (starts like {fmt}, Pillow cannot open it)"
            ) from None
        except (OSError, SyntaxError, ValueError) as e:
            raise PhotoReadError(f"damaged {fmt} header ({e})") from None
        with im:
            return _decode(im, fmt, size, head, ihdr, max_long_side)


def _decode(
    im: Any,
    fmt: str,
    size: int,
    head: bytes,
    ihdr: tuple[int, int, int] | None,
    max_long: int | None,
) -> LoadedPhoto:
    """Header facts, the pixel limits, the decode, then upright sRGB at the wanted size."""
    fmt = (im.format or fmt).lower().replace("mpo", "jpeg")
    info = _photo_info(im, fmt, size, ihdr)
    icc = im.info.get("icc_profile")  # read before decoding, as the header had it
    w0, h0 = im.size
    if w0 * h0 > MAX_DECLARED_PIXELS:
        raise _too_big(info, MAX_DECLARED_PIXELS)
    if fmt == "jpeg":
        # Decode at a reduced DCT scale (1/2, 1/4, 1/8) when fewer pixels are wanted or needed.
        want = max_long or max(w0, h0)
        k = min(1.0, want / max(w0, h0), (MAX_DECODED_PIXELS / (w0 * h0)) ** 0.5)
        if k < 1.0:
            im.draft("RGB", (max(1, int(w0 * k)), max(1, int(h0 * k))))
    dw, dh = im.size
    if dw * dh > MAX_DECODED_PIXELS:
        raise _too_big(info, MAX_DECODED_PIXELS)
    try:
        im.seek(0)
        im.load()
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
        msg = str(e).strip() or type(e).__name__
        raise PhotoReadError(f"the {fmt} data is truncated or damaged ({msg})", info) from None
    return _upright_rgb(im, info, icc, max_long)


def _photo_info(im: Any, fmt: str, size: int, ihdr: tuple[int, int, int] | None) -> PhotoInfo:
    """What the header says: size shown upright (EXIF orientation), mode, depth, profile."""
    w0, h0 = im.size
    try:
        exif = im.getexif()
    except Exception:  # a damaged EXIF block is not a damaged image
        exif = {}
    orientation = int(exif.get(0x0112, 1) or 1) if exif else 1
    if orientation not in _ROTATION_DEG:
        orientation = 1
    rot = _ROTATION_DEG[orientation]
    w, h = (h0, w0) if rot in (90, 270) else (w0, h0)
    mode = im.mode
    bit_depth = ihdr[2] if ihdr else (16 if mode.startswith("I;16") or mode == "I" else 8)
    icc = im.info.get("icc_profile")
    return PhotoInfo(
        format=fmt,
        width=w,
        height=h,
        size_bytes=size,
        orientation=orientation,
        rotation_deg=rot,
        mode=mode,
        bit_depth=int(bit_depth),
        frames=int(getattr(im, "n_frames", 1) or 1),
        has_alpha=mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info,
        icc_profile=_icc_name(icc) if icc else None,
        has_exif=bool(exif),
        has_gps=bool(exif) and 0x8825 in exif,
        megapixels=round(w * h / 1e6, 2),
    )


def _too_big(info: PhotoInfo, limit: int) -> PhotoReadError:
    w, h = info.width, info.height
    return PhotoReadError(
        f"the image is {w}x{h} ({w * h / 1e6:.0f} MP), above the "
        f"{limit / 1e6:.0f} MP limit (refused before decoding; downscale it first)",
        info,
    )


def _upright_rgb(im: Any, info: PhotoInfo, icc: bytes | None, max_long: int | None) -> LoadedPhoto:
    """The decoded image as 8-bit sRGB, turned upright, at most `max_long` on the long side."""
    from PIL import Image

    rgb_im = _to_rgb8(im)
    if max_long and max(rgb_im.size) >= 2 * max_long:
        # Integer box reduction first (a PNG has no reduced-scale decode like a JPEG's): the
        # float copies below are then of the small image.
        rgb_im = rgb_im.reduce(max(rgb_im.size) // max_long)
    if icc:
        rgb_im = _to_srgb(rgb_im, icc)
    if info.orientation != 1:
        rgb_im = rgb_im.transpose(getattr(Image.Transpose, _TRANSPOSE[info.orientation]))
    arr = np.asarray(rgb_im, dtype=np.uint8)
    w = info.width
    scale = arr.shape[1] / w
    if max_long and max(arr.shape[:2]) > max_long:
        import cv2

        k = max_long / max(arr.shape[:2])
        arr = cv2.resize(
            arr,
            (max(1, round(arr.shape[1] * k)), max(1, round(arr.shape[0] * k))),
            interpolation=cv2.INTER_AREA,
        )
        scale = arr.shape[1] / w
    return LoadedPhoto(info, np.ascontiguousarray(arr), scale)


def _to_rgb8(im: Any) -> Any:
    """Any Pillow mode to 8-bit RGB: 16-bit scaled (not clipped), alpha flattened on white."""
    from PIL import Image

    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im).astype(np.float64)
        top = 65535.0 if (mode.startswith("I;16") or a.max() > 255) else 255.0
        g = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(np.dstack([g, g, g]), "RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    ):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB") if mode != "RGB" else im


def _icc_name(icc: bytes) -> str:
    try:
        from PIL import ImageCms

        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return (ImageCms.getProfileDescription(prof) or "embedded").strip()
    except Exception:
        return "embedded (unreadable)"


def _to_srgb(im: Any, icc: bytes) -> Any:
    """Convert from an embedded ICC profile to sRGB; an sRGB or unreadable profile is left."""
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(src) or "").lower():
            return im
        if im.mode != "RGB":
            return im
        return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:
        return im

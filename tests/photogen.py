"""Photos for the photo path's tests: a real portrait taken from shared footage, and the
defects derived from it at test time (nothing from ../shared/media is copied into the repo).

`portrait(shared_media)` is a frame of `real/w2lgfpgan_kim_7s_raw.mp4` (a real woman speaking to
camera, 1920x1080), the frame with the widest-open eyes in its first 1.5 s, cropped to a
810x1080 portrait around her: a clean, frontal, evenly lit head-and-shoulders photo.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

KIM = "real/w2lgfpgan_kim_7s_raw.mp4"


@lru_cache(maxsize=2)
def _portrait(media: str) -> np.ndarray:
    from validator.media.source import open_input
    from validator.photo.measure import measure

    best, best_open = None, -1.0
    with open_input(str(Path(media) / KIM)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i > 36:
                break
            if i % 6:
                continue
            img = fr.to_ndarray(format="rgb24")
            crop = img[:, 960 - 405 : 960 + 405]  # she sits in the middle of the frame
            pm = measure(crop, crop.shape[1], crop.shape[0], 1.0)
            if pm.eye_open is not None and pm.eye_open > best_open:
                best, best_open = crop.copy(), pm.eye_open
    assert best is not None
    return best


def kim_frame(shared_media: Path, index: int) -> np.ndarray:
    """Frame `index` of the same clip, cropped the same way (frame 30: her eyes are shut)."""
    from validator.media.source import open_input

    with open_input(str(Path(shared_media) / KIM)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i == index:
                return fr.to_ndarray(format="rgb24")[:, 960 - 405 : 960 + 405].copy()
    raise IndexError(index)


def portrait(shared_media: Path) -> np.ndarray:
    """RGB uint8, 810x1080 (w x h)."""
    return _portrait(str(shared_media)).copy()


def save(rgb: np.ndarray, path: Path, **pil_kwargs) -> Path:
    from PIL import Image

    Image.fromarray(rgb).save(path, **pil_kwargs)
    return path


# --- derived defects ------------------------------------------------------------------------


def crop_top(rgb: np.ndarray, share: float) -> np.ndarray:
    """Cut off the top `share` of the face's height band: the skull leaves the frame."""
    return rgb[int(rgb.shape[0] * share) :].copy()


def crop_tight_bottom(rgb: np.ndarray, keep: float) -> np.ndarray:
    return rgb[: int(rgb.shape[0] * keep)].copy()


def darken(rgb: np.ndarray, gain: float) -> np.ndarray:
    lin = (rgb.astype(np.float32) / 255.0) ** 2.2 * gain
    return np.clip(lin ** (1 / 2.2) * 255 + 0.5, 0, 255).astype(np.uint8)


def blur(rgb: np.ndarray, sigma_px: float) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), sigma_px)


def upscaled_from(rgb: np.ndarray, k: float) -> np.ndarray:
    """Downscaled by `k` and blown up back to the same size (an upscaled small photo)."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def downscale(rgb: np.ndarray, short_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    k = short_side / min(h, w)
    return cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)


def side_by_side(rgb: np.ndarray) -> np.ndarray:
    return np.hstack([rgb, rgb[:, ::-1]])


def rotate_pixels(rgb: np.ndarray, deg: int) -> np.ndarray:
    code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return np.ascontiguousarray(cv2.rotate(rgb, code[deg]))


def tilt(rgb: np.ndarray, deg: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def shift_left(rgb: np.ndarray, share: float) -> np.ndarray:
    """The subject moved towards the left edge (the canvas widened on the right)."""
    h, w = rgb.shape[:2]
    pad = int(w * share)
    return cv2.copyMakeBorder(rgb, 0, 0, 0, pad * 2, cv2.BORDER_REPLICATE)


def small_in_frame(rgb: np.ndarray, k: float) -> np.ndarray:
    """The portrait shrunk by `k` inside a canvas of the same size (subject too small)."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
    out = cv2.copyMakeBorder(
        small, h - small.shape[0], 0, (w - small.shape[1]) // 2,
        w - small.shape[1] - (w - small.shape[1]) // 2, cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return out


def side_shadow(rgb: np.ndarray, gain: float) -> np.ndarray:
    """The left half of the picture darkened by `gain` with a soft edge at the face's centre."""
    h, w = rgb.shape[:2]
    ramp = np.clip((np.arange(w) - w * 0.45) / (w * 0.1), 0, 1)
    g = gain + (1 - gain) * ramp
    lin = (rgb.astype(np.float32) / 255.0) ** 2.2 * g[None, :, None]
    return np.clip(lin ** (1 / 2.2) * 255 + 0.5, 0, 255).astype(np.uint8)


def clip_frame(shared_media: Path, name: str, index: int) -> np.ndarray:
    """Frame `index` of `real/<name>` as RGB (e.g. lp_d0.mp4 frame 25: eyes turned aside)."""
    from validator.media.source import open_input

    with open_input(str(Path(shared_media) / "real" / name)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i == index:
                return fr.to_ndarray(format="rgb24")
    raise IndexError(index)

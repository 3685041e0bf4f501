"""What kind of input a file is, from its first bytes: "photo" or "video".

Only the content counts, never the name: a JPEG named `.mp4` is a photo and a text file named
`.jpg` goes to the clip reader (which says it is not media).  HEIF/AVIF share the ISO-BMFF
`ftyp` box with MP4, so they are told apart by their brand.
"""

from __future__ import annotations

import os

# ISO-BMFF major brands of still-image files (HEIF, HEIC, AVIF).
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)


def image_format(head: bytes) -> str | None:
    """The image format these leading bytes announce ("jpeg", "png", ...), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"  # BITMAPFILEHEADER: reserved bytes 6-9 are zero
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "avif" if head[8:12] in (b"avif", b"avis") else "heic"
    return None


def sniff_kind(path: str | os.PathLike[str]) -> str:
    """ "photo" when the file starts like an image, else "video" (the clip reader judges it)."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
    except OSError:
        return "video"  # the clip path reports the read error as it always has
    return "photo" if image_format(head) else "video"

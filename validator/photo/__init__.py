"""The photo path: one still image instead of a clip ("Upload an image" training).

- `sniff.py` decides the kind of an input from its first bytes (never from its name);
- `load.py` reads an image with Pillow: header facts, EXIF orientation applied, a pixel limit
  checked before any pixel is decoded, every mode (CMYK, 16-bit, alpha, palette) brought to
  8-bit RGB; a damaged file becomes a `PhotoReadError` with one readable sentence;
- `models.py` runs the bundled iris and selfie-segmentation models through `cv2.dnn`;
- `measure.py` measures the photo (faces, pose, gaze, head top and chin, shoulders, sharpness,
  light, eye opening) into `PhotoMeasure`; it never decides pass or fail;
- `validate.py` builds the `PhotoEvidence` and runs the PHO rules (`checks/pho.py`) into the
  same `Report` type as a clip, with `kind == "photo"`.
"""

from .sniff import sniff_kind

__all__ = ["sniff_kind"]

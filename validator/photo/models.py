"""The photo path's extra models: MediaPipe's iris landmarks and selfie segmentation.

Both come from the `mediapipe==0.10.21` wheel (see `models/README.md`), are verified against
`models/manifest.json` and run through `cv2.dnn`'s classic engine, like the face models in
`analysis/face_models.py`.

- `Iris`: `iris_landmark.tflite`, a 64x64 RGB crop of one eye -> 71 eye-contour points and 5
  iris points (centre first).  The crop follows MediaPipe's iris graph: centred between the
  two eye corners, rotated to the corner line, a square 2.3 times the corner distance; the
  subject's left eye is mirrored (the model is trained on one side).
- `Segmenter`: `selfie_segmentation.tflite`, the whole image stretched to 256x256 RGB in
  [0, 1] -> a person probability per pixel (MediaPipe's general model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..analysis.face_models import _load_net

IRIS_FILE = "iris_landmark.tflite"
SEGMENTATION_FILE = "selfie_segmentation.tflite"


@dataclass(frozen=True)
class EyeResult:
    iris: np.ndarray  # (5, 2) image pixels, centre first
    contour: np.ndarray  # (71, 2) image pixels (the first 16 are the eyelid outline)


class Iris:
    INPUT = 64
    SCALE = 2.3

    def __init__(self, model_dir: Path | None = None):
        self.net = _load_net(IRIS_FILE, model_dir)

    def run(
        self, bgr: np.ndarray, corner_a: np.ndarray, corner_b: np.ndarray, mirror: bool
    ) -> EyeResult:
        """One eye between two corner landmarks (image pixels)."""
        cx, cy = (corner_a + corner_b) / 2
        d = corner_b - corner_a
        angle = math.atan2(d[1], d[0])
        side = max(4.0, float(np.hypot(*d)) * self.SCALE)
        k = side / self.INPUT
        c, s = math.cos(angle), math.sin(angle)
        a = np.array([[k * c, -k * s], [k * s, k * c]])
        t = np.array([cx, cy]) - a @ np.array([self.INPUT / 2, self.INPUT / 2])
        m = np.hstack([a, t[:, None]])  # crop -> image
        crop = cv2.warpAffine(
            bgr,
            m,
            (self.INPUT, self.INPUT),
            flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        if mirror:
            crop = crop[:, ::-1]
        rgb = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        self.net.setInput(np.ascontiguousarray(rgb.transpose(2, 0, 1)[None]))
        eyes, iris = self.net.forward(["output_eyes_contours_and_brows", "output_iris"])
        pts_c = eyes.reshape(71, 3)[:, :2].astype(np.float64)
        pts_i = iris.reshape(5, 3)[:, :2].astype(np.float64)
        if mirror:
            pts_c[:, 0] = self.INPUT - pts_c[:, 0]
            pts_i[:, 0] = self.INPUT - pts_i[:, 0]
        to_img = lambda p: p @ m[:, :2].T + m[:, 2]  # noqa: E731
        return EyeResult(to_img(pts_i), to_img(pts_c))


class Segmenter:
    INPUT = 256

    def __init__(self, model_dir: Path | None = None):
        self.net = _load_net(SEGMENTATION_FILE, model_dir)

    def run(self, bgr: np.ndarray) -> np.ndarray:
        """Person probability (0..1, float32) at the image's own size."""
        h, w = bgr.shape[:2]
        small = cv2.resize(bgr, (self.INPUT, self.INPUT), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        self.net.setInput(np.ascontiguousarray(rgb.transpose(2, 0, 1)[None]))
        out = self.net.forward().reshape(self.INPUT, self.INPUT).astype(np.float32)
        if out.min() < 0.0 or out.max() > 1.0:  # logits, not probabilities
            out = 1.0 / (1.0 + np.exp(-out))
        return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


@lru_cache(maxsize=2)
def load_photo_models(model_dir: str | None = None) -> tuple[Iris, Segmenter]:
    d = Path(model_dir) if model_dir else None
    return Iris(d), Segmenter(d)

"""The bundled face models: finding them, verifying them, running them (LiteRT or `cv2.dnn`).

Owns three things:

- locating `models/` (inside the installed package first, then the repository checkout) and
  checking every file against the sha256 in `models/manifest.json`; a missing or altered file
  raises `ModelError` (exit code 3) naming the file, never a traceback from OpenCV;
- `BlazeFace`: MediaPipe's short-range face detector (128x128 input) with the anchors, box
  decoding and weighted non-maximum suppression of MediaPipe's `face_detection_short_range`
  graph (SsdAnchorsCalculator: 4 layers, strides 8/16/16/16, min_scale 0.1484375, max_scale
  0.75, offset 0.5, fixed anchor size -> 896 anchors; TensorsToDetections: 16 coords, 6
  keypoints, sigmoid scores clipped at +-100, scale 128, min score 0.5; NMS: weighted, IoU 0.3);
- `FaceMesh`: MediaPipe's 468-point face-landmark model (192x192 RGB in [0, 1]) run on a rotated
  square crop, returning landmarks in image pixels plus the model's face-presence score.

Which runtime: LiteRT (`ai-edge-litert`, the TFLite interpreter with XNNPACK, one thread) when
it is installed, else `cv2.dnn`; `VALIDATOR_FACE_ENGINE=opencv` forces `cv2.dnn`.  Measured on
this project's 2-core machine, CPU per run: the landmark model 1.3 ms in LiteRT against 4.5 ms
in `cv2.dnn`, the detector 1.1 ms against 2.5 ms; their outputs agree within 1e-4 of a crop pixel
(landmarks) and 1e-4 (face flag logit) on real 1080p frames.  The mouth track runs the landmark
model on up to 30 frames a second, so this is most of the face analysis's cost.  LiteRT's
`invoke` releases the GIL, as `cv2.dnn` does, so the analysis thread still runs beside the
decoder.

Why `cv2.dnn` and its *classic* engine: OpenCV 5's new engine drops the second output of both
models (scores / face flag); the classic engine returns both.  The inputs must be NCHW even
though the models are NHWC TFLite graphs (OpenCV's importer transposes the graph).

The full-range detector (`face_detection_full_range_sparse.tflite`) is *not* used: its weights
are stored sparse and every `cv2.dnn` engine refuses the TFLite `DENSIFY` operator
("Unsupported operator type DENSIFY").  Small and off-centre faces are found instead by running
the short-range detector on overlapping square tiles as well as on the whole frame.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..errors import ModelError
from ..fsutil import sha256_of
from .engine import opencv_forced

# OpenCV's own thread pool: the analysers already run in threads of their own beside the
# decoder (frame_thread.py), so OpenCV's workers mostly wait, spinning, for cores that are
# busy (the sample, every rule, alternating runs on the loaded machine: 0.5-0.8 s less system
# CPU and no slower with one thread; the pixels are the same).  The command line asks for one
# (`VALIDATOR_CV2_THREADS=1`, set by `cli.main` for itself and its workers); a program calling
# `validate()` keeps its own setting unless it sets the variable.
if os.environ.get("VALIDATOR_CV2_THREADS", "").isdigit():
    cv2.setNumThreads(int(os.environ["VALIDATOR_CV2_THREADS"]))

DETECTOR_FILE = "face_detection_short_range.tflite"
LANDMARK_FILE = "face_landmark.tflite"
MANIFEST = "manifest.json"


def model_dirs() -> list[Path]:
    """Where models may live: the installed wheel's `validator/models`, then `<repo>/models`."""
    pkg = Path(__file__).resolve().parent.parent  # .../validator
    return [pkg / "models", pkg.parent / "models"]


def find_model_dir() -> Path:
    for d in model_dirs():
        if (d / MANIFEST).is_file():
            return d
    raise ModelError(
        "face models not found: no models/manifest.json in "
        + " or ".join(str(d) for d in model_dirs())
        + " (reinstall the package, or run scripts/extract_models.py in a checkout)"
    )


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return sha256_of(f)


def verified_model_bytes(name: str, model_dir: Path | None = None) -> bytes:
    """The bytes of one bundled model, after checking its sha256 against the manifest."""
    d = model_dir or find_model_dir()
    try:
        manifest = json.loads((d / MANIFEST).read_text())
        entries = {m["file"]: m for m in manifest["models"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"model manifest {d / MANIFEST} is unreadable: {e}") from None
    if name not in entries:
        raise ModelError(f"model {name} is not listed in {d / MANIFEST}")
    path = d / name
    if not path.is_file():
        raise ModelError(f"model file missing: {path} (reinstall the package)")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entries[name]["sha256"]:
        raise ModelError(
            f"model file corrupt: {path} has sha256 {digest[:12]}..., expected "
            f"{entries[name]['sha256'][:12]}... (reinstall the package)"
        )
    return data


def _load_net(name: str, model_dir: Path | None = None) -> cv2.dnn.Net:
    d = model_dir or find_model_dir()
    verified_model_bytes(name, d)
    try:
        # Loaded by path: OpenCV 5.0's in-memory overload ignores `engine` and picks the new
        # engine, which loses the second output.
        engine = getattr(cv2.dnn, "ENGINE_CLASSIC", None)  # OpenCV 5 only; 4.x has one engine
        if engine is None:
            return cv2.dnn.readNetFromTFLite(str(d / name))
        return cv2.dnn.readNetFromTFLite(str(d / name), engine)
    except (cv2.error, AttributeError) as e:
        raise ModelError(
            f"OpenCV cannot load model {name}: {str(e).strip().splitlines()[-1]}"
        ) from None


def _litert_interpreter() -> type | None:
    """LiteRT's Interpreter class, or None: not installed, or `VALIDATOR_FACE_ENGINE=opencv`."""
    if opencv_forced():
        return None
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return None
    return Interpreter


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null for a moment: LiteRT's C++ runtime logs an INFO line there
    when it loads a model, which no environment variable turns off (a CLI user would see it)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _Model:
    """One bundled TFLite model: `forward(x, names)` takes an NHWC float32 batch and returns the
    named outputs, through LiteRT when installed, else `cv2.dnn` (which wants NCHW).  Calls are
    serialised: neither runtime may run one model from two threads at once."""

    def __init__(self, name: str, model_dir: Path | None = None):
        d = model_dir or find_model_dir()
        self._lock = threading.Lock()
        interpreter = _litert_interpreter()
        self.engine = "litert" if interpreter is not None else "opencv"
        if interpreter is None:
            self.net = _load_net(name, d)
            return
        self._data = verified_model_bytes(name, d)  # the interpreter reads this buffer
        try:
            with _quiet_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
                self._it = interpreter(model_content=self._data, num_threads=1)
                self._it.allocate_tensors()
            self._input = self._it.get_input_details()[0]["index"]
            self._outputs = {o["name"]: o["index"] for o in self._it.get_output_details()}
        except (ValueError, RuntimeError) as e:
            msg = (str(e).strip().splitlines() or ["unreadable"])[-1]
            raise ModelError(f"LiteRT cannot load model {name}: {msg}") from None

    def forward(self, x: np.ndarray, names: list[str]) -> list[np.ndarray]:
        with self._lock:
            if self.engine == "opencv":
                self.net.setInput(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
                return list(self.net.forward(names))
            self._it.set_tensor(self._input, np.ascontiguousarray(x, np.float32))
            self._it.invoke()
            return [self._it.get_tensor(self._outputs[n]).copy() for n in names]


# ---------------------------------------------------------------------------------------------
# BlazeFace short-range detector


@dataclass(frozen=True)
class Detection:
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels
    keypoints: np.ndarray  # (6, 2) image pixels: right eye, left eye, nose, mouth, right/left ear

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def _ssd_anchors() -> np.ndarray:
    """(896, 2) anchor centres, as MediaPipe's SsdAnchorsCalculator builds them for the
    short-range graph (fixed_anchor_size: width/height are 1, only centres matter)."""
    strides = [8, 16, 16, 16]
    size = 128
    out: list[tuple[float, float]] = []
    layer = 0
    while layer < len(strides):
        # Layers with the same stride share one feature map; each layer adds 2 anchors per cell
        # (aspect ratio 1.0 plus the interpolated scale), as the calculator does.
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
        n_per_cell = 2 * (last - layer)
        fm = math.ceil(size / strides[layer])
        for y in range(fm):
            for x in range(fm):
                c = ((x + 0.5) / fm, (y + 0.5) / fm)
                out.extend([c] * n_per_cell)
        layer = last
    return np.array(out, np.float32)


class BlazeFace:
    INPUT = 128

    def __init__(self, model_dir: Path | None = None, min_score: float = 0.5):
        self.net = _Model(DETECTOR_FILE, model_dir)
        self.anchors = _ssd_anchors()
        self.min_score = min_score

    def _run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores (K,), boxes (K,4) and keypoints (K,6,2) in [0,1] of a 128x128 RGB input."""
        blob = (x.astype(np.float32) / 127.5 - 1.0)[None]
        cls, reg = self.net.forward(blob, ["classificators", "regressors"])
        logits = np.clip(cls.reshape(-1).astype(np.float64), -100.0, 100.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= self.min_score
        if not keep.any():
            return np.zeros(0), np.zeros((0, 4)), np.zeros((0, 6, 2))
        r = reg.reshape(-1, 16)[keep] / self.INPUT
        a = self.anchors[keep]
        cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
        w, h = r[:, 2], r[:, 3]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        kps = r[:, 4:].reshape(-1, 6, 2) + a[:, None, :]
        return scores[keep], boxes, kps

    def detect(
        self, bgr: np.ndarray, whole: bool = True, tiles: bool = True, fine: bool = True
    ) -> list[Detection]:
        """Faces anywhere in the frame, in image pixels.

        Three scales, each fed to the 128x128 network without further resizing.  `whole`: the
        frame letterboxed to 128 pixels (one run; faces larger than ~10% of the long side).
        `tiles`: square tiles of the short side along the long side (2-3 runs for 16:9; faces
        down to ~12% of the short side).  `fine`: 128-pixel tiles of the frame downscaled to a
        224-pixel short side, overlapping by 32 pixels (8 runs for 16:9; faces down to ~6% of
        the short side: a second person far behind).

        Cost, measured on a 1280x720 analysis image of the 1080p real speaker (CPU): the
        whole-frame pass ~2.5 ms (network 1.2, area-downscale 0.75); the full search ~21 ms,
        of which 12 network runs ~14.5 ms, the downscales that make the detector's pixels
        ~4.6 ms (3.8 to the 224-pixel base: OpenCV's area filter at a non-integer ratio) and
        the crops, padding, input scaling and box decoding ~1.5 ms.  Tried without a gain at
        the same detections: one LiteRT run on the 12 inputs as a batch (no faster, and the
        graph's reshape mixes the batch), the input written in place (2 of 24 us a run)."""
        h, w = bgr.shape[:2]
        if not (tiles or fine):
            # The per-sample pass: one area-downscale straight to the letterbox size.
            k0 = min(1.0, self.INPUT / max(w, h))
        else:
            # One area-downscale of the full frame to a 224-pixel short side; every level is
            # cut from it (resizing a 1080p frame once per level cost ~1 ms each).
            k0 = min(1.0, 224 / min(w, h))
        base = (
            bgr
            if k0 >= 1.0
            else cv2.resize(bgr, (round(w * k0), round(h * k0)), interpolation=cv2.INTER_AREA)
        )
        base = cv2.cvtColor(base, cv2.COLOR_BGR2RGB)
        bh, bw = base.shape[:2]
        levels: list[tuple[float, list[tuple[int, int, int]]]] = []
        if whole:
            k = self.INPUT / max(bw, bh)
            levels.append((k, [_letterbox_region(round(bw * k), round(bh * k))]))
        if tiles and max(bw, bh) > min(bw, bh) * 1.15:
            k = self.INPUT / min(bw, bh)
            levels.append((k, _tiles(round(bw * k), round(bh * k), self.INPUT, 96)))
        if fine:
            k = 224 / min(bw, bh)
            levels.append((k, _tiles(round(bw * k), round(bh * k), self.INPUT, 96)))
        all_s, all_b, all_k = [], [], []
        for k, regions in levels:
            small = (
                base
                if abs(k - 1.0) < 1e-6
                else cv2.resize(base, (round(bw * k), round(bh * k)), interpolation=cv2.INTER_AREA)
            )
            for x0, y0, t in regions:
                crop = _square_crop(small, x0, y0, t)
                if t != self.INPUT:
                    crop = cv2.resize(crop, (self.INPUT, self.INPUT), interpolation=cv2.INTER_AREA)
                sc, bx, kp = self._run(crop)
                if len(sc) == 0:
                    continue
                all_s.append(sc)
                # Back to full-frame pixels: level scale k, then the base downscale k0.
                all_b.append((bx * t + np.array([x0, y0, x0, y0])) / (k * k0))
                all_k.append((kp * t + np.array([x0, y0])) / (k * k0))
        if not all_s:
            return []
        return _weighted_nms(np.concatenate(all_s), np.concatenate(all_b), np.concatenate(all_k))


def _tiles(w: int, h: int, t: int, step: int) -> list[tuple[int, int, int]]:
    """Square t-pixel tiles covering a w x h image, at most `step` apart."""

    def starts(n: int) -> list[int]:
        if n <= t:
            return [(n - t) // 2]
        m = math.ceil((n - t) / step) + 1
        return [round(i * (n - t) / (m - 1)) for i in range(m)]

    return [(x, y, t) for y in starts(h) for x in starts(w)]


def _letterbox_region(w: int, h: int) -> tuple[int, int, int]:
    s = max(w, h)
    return (-(s - w) // 2, -(s - h) // 2, s)


def _square_crop(rgb: np.ndarray, x0: int, y0: int, t: int) -> np.ndarray:
    """A t x t square at (x0, y0), zero-padded where it leaves the image (MediaPipe's letterbox)."""
    h, w = rgb.shape[:2]
    if x0 >= 0 and y0 >= 0 and x0 + t <= w and y0 + t <= h:
        return rgb[y0 : y0 + t, x0 : x0 + t]
    out = np.zeros((t, t, 3), np.uint8)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(w, x0 + t), min(h, y0 + t)
    out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    return out


def _iou(b: np.ndarray, bs: np.ndarray) -> np.ndarray:
    ix0 = np.maximum(b[0], bs[:, 0])
    iy0 = np.maximum(b[1], bs[:, 1])
    ix1 = np.minimum(b[2], bs[:, 2])
    iy1 = np.minimum(b[3], bs[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (b[2] - b[0]) * (b[3] - b[1])
    areas = (bs[:, 2] - bs[:, 0]) * (bs[:, 3] - bs[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def _overlap_min(b: np.ndarray, bs: np.ndarray) -> np.ndarray:
    """Intersection over the smaller box: a face seen whole by one region and cut by a tile's
    edge in another must still merge into one detection."""
    ix0 = np.maximum(b[0], bs[:, 0])
    iy0 = np.maximum(b[1], bs[:, 1])
    ix1 = np.minimum(b[2], bs[:, 2])
    iy1 = np.minimum(b[3], bs[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (b[2] - b[0]) * (b[3] - b[1])
    areas = (bs[:, 2] - bs[:, 0]) * (bs[:, 3] - bs[:, 1])
    return inter / np.maximum(np.minimum(area, areas), 1e-9)


def _weighted_nms(
    scores: np.ndarray, boxes: np.ndarray, kps: np.ndarray, iou_thresh: float = 0.3
) -> list[Detection]:
    """MediaPipe's WEIGHTED suppression: overlapping candidates are averaged, weighted by score.
    Candidates mostly inside a stronger one (tile-edge fragments) are absorbed too."""
    order = np.argsort(-scores)
    scores, boxes, kps = scores[order], boxes[order], kps[order]
    alive = np.ones(len(scores), bool)
    out: list[Detection] = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        group = alive & (
            (_iou(boxes[i], boxes) > iou_thresh) | (_overlap_min(boxes[i], boxes) > 0.6)
        )
        group[i] = True
        wts = scores[group][:, None]
        box = (boxes[group] * wts).sum(0) / wts.sum()
        kp = (kps[group] * wts[:, :, None]).sum(0) / wts.sum()
        alive &= ~group
        out.append(Detection(float(scores[i]), tuple(float(v) for v in box), kp))
    return out


# ---------------------------------------------------------------------------------------------
# 468-point face landmarks on a rotated crop


@dataclass(frozen=True)
class Roi:
    """A rotated square in image pixels: centre, side and rotation (radians, image y down)."""

    cx: float
    cy: float
    size: float
    angle: float


def roi_from_detection(d: Detection) -> Roi:
    """MediaPipe face_detection_front_detection_to_roi: box centre, rotation from right eye to
    left eye, square of the long side scaled by 1.5."""
    x0, y0, x1, y1 = d.box
    re, le = d.keypoints[0], d.keypoints[1]
    angle = math.atan2(le[1] - re[1], le[0] - re[0])
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * 1.5, angle)


def roi_from_landmarks(lm: np.ndarray) -> Roi:
    """MediaPipe face_landmark_landmarks_to_roi: bounding box of the landmarks, rotation from
    landmark 33 (right eye outer corner) to 263 (left eye outer corner), long side x 1.5."""
    x0, y0 = lm[:, 0].min(), lm[:, 1].min()
    x1, y1 = lm[:, 0].max(), lm[:, 1].max()
    angle = math.atan2(lm[263, 1] - lm[33, 1], lm[263, 0] - lm[33, 0])
    # Rotate the landmarks into the eye-line frame before taking the box, so a tilted head
    # gets a tight square rather than the axis-aligned hull of a rotated face.
    c, s = math.cos(angle), math.sin(angle)
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    u = (lm[:, 0] - mx) * c + (lm[:, 1] - my) * s
    v = -(lm[:, 0] - mx) * s + (lm[:, 1] - my) * c
    uc, vc = (u.min() + u.max()) / 2, (v.min() + v.max()) / 2
    cx, cy = mx + uc * c - vc * s, my + uc * s + vc * c
    side = max(u.max() - u.min(), v.max() - v.min()) * 1.5
    return Roi(float(cx), float(cy), float(side), float(angle))


def roi_bounds(roi: Roi, margin: float = 2.0) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of the rotated square's axis-aligned bounding box (plus `margin` pixels
    for the bilinear warp's neighbours)."""
    c, s = abs(math.cos(roi.angle)), abs(math.sin(roi.angle))
    half = roi.size / 2 * (c + s) + margin
    return roi.cx - half, roi.cy - half, roi.cx + half, roi.cy + half


@dataclass(frozen=True)
class MeshResult:
    landmarks: np.ndarray  # (468, 3): x, y in image pixels, z in the same pixel scale
    presence: float  # the model's face-presence score, 0..1
    roi: Roi


class FaceMesh:
    INPUT = 192

    def __init__(self, model_dir: Path | None = None):
        self.net = _Model(LANDMARK_FILE, model_dir)

    def _matrix(self, roi: Roi) -> np.ndarray:
        """2x3 affine map from crop pixels (0..192) to image pixels."""
        k = roi.size / self.INPUT
        c, s = math.cos(roi.angle), math.sin(roi.angle)
        # crop (u, v) -> image: centre + k * R(angle) @ (u - 96, v - 96)
        a = np.array([[k * c, -k * s], [k * s, k * c]])
        t = np.array([roi.cx, roi.cy]) - a @ np.array([self.INPUT / 2, self.INPUT / 2])
        return np.hstack([a, t[:, None]])

    def run(self, bgr: np.ndarray, roi: Roi, origin: tuple[int, int] = (0, 0)) -> MeshResult:
        """Landmarks in image pixels; `bgr` may be a piece of the image whose top-left corner
        is at `origin` (it must hold the ROI's bounding box, see `roi_bounds`)."""
        m = self._matrix(roi)
        mw = m.copy()
        mw[:, 2] -= origin
        crop = cv2.warpAffine(
            bgr,
            mw,
            (self.INPUT, self.INPUT),
            flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        flag, pts = self.net.forward(rgb[None], ["conv2d_31", "conv2d_21"])
        p = pts.reshape(468, 3).astype(np.float64)
        xy = p[:, :2] @ m[:, :2].T + m[:, 2]
        z = p[:, 2] * (roi.size / self.INPUT)
        presence = 1.0 / (1.0 + math.exp(-float(np.clip(flag.reshape(-1)[0], -100, 100))))
        return MeshResult(np.column_stack([xy, z]), presence, roi)


@lru_cache(maxsize=4)
def load_models(model_dir: str | None = None) -> tuple[BlazeFace, FaceMesh]:
    """Both networks, verified and loaded once per process (a batch run reuses them)."""
    d = Path(model_dir) if model_dir else None
    return BlazeFace(d), FaceMesh(d)

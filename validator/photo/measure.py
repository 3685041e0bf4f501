"""Measure one upright photo: faces, head geometry, pose, gaze, eyes, shoulders, focus, light.

Everything is measured on the analysis image (long side at most `ANALYSIS_LONG_SIDE`) and
reported in *displayed* pixels of the original photo (divide by `scale`) or as ratios, so the
checks never depend on the analysis size.  Nothing here decides pass or fail.

- Faces: BlazeFace (whole image, tiles and fine tiles, as for clips), each candidate confirmed
  by the face-mesh model's face-presence score (>= 0.5, MediaPipe's own threshold).  On the
  shared photos this rejects every spurious box (hands of the Mona Lisa: detector 0.74, mesh
  0.00; a dress fold in st_full3: 0.51 / 0.006) and keeps every real face (mesh >= 0.99).
  When no face is found upright, the photo is searched turned by 90, 270 and 180 degrees: a
  sideways photo without an orientation tag is then measured turned, and says by how much.
- Head: the mesh's hairline (landmark 10) and chin (152); the top of the skull is estimated
  `HEAD_ABOVE_HAIRLINE` face heights above the hairline along the face's own up axis (the same
  estimate as the clip path's, see `analysis/faces.py`); the top of the hair is where the
  selfie-segmentation mask ends above the face.
- Pose: yaw/pitch/roll from the mesh's 3-D landmarks (as in the clip path); gaze from the iris
  model: the iris centre's offset from the middle of the eye corners, along the corner line, in
  eye widths (both eyes averaged: they turn together, the noise of one eye is ~0.06).
- Eyes: the iris model's 16 eyelid points, their extent across the corner line over the eye
  width (both eyes averaged; the 468-point mesh barely closes its eyelids: 0.23 closed, 0.36
  open on the same face, against 0.12 and 0.29 from the iris model).
- Shoulders: from the segmentation mask at half a face height below the chin.
- Focus: fine-to-coarse detail ratio on the face, after bringing the face to at most 256 px
  high: the energy of (face - blur sigma 1) over that of (face - blur sigma 4).  It does not
  depend on contrast or exposure, and an upscaled photo lacks exactly the finest band.
- Light: face luma (Rec.601, 0..1) over the mesh's face oval, its clipped share, and the ratio
  of the darker to the brighter cheek.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

ANALYSIS_LONG_SIDE = 2048
PRESENCE_MIN = 0.5
HEAD_ABOVE_HAIRLINE = 0.25
FOCUS_FACE_PX = 256

# Mesh landmark indices.
HAIRLINE, CHIN = 10, 152
R_EYE_OUT, R_EYE_IN, L_EYE_IN, L_EYE_OUT = 33, 133, 362, 263
R_LID_UP, R_LID_DOWN, L_LID_UP, L_LID_DOWN = 159, 145, 386, 374
R_CHEEK, L_CHEEK = 234, 454
R_CHEEK_PATCH, L_CHEEK_PATCH = 50, 280
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip


@dataclass
class FaceFound:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1, displayed pixels
    score: float  # detector
    presence: float  # face-mesh confirmation

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass
class PhotoMeasure:
    """What was measured on one photo.  Pixel values are displayed pixels of the original."""

    width: int
    height: int
    faces: list[FaceFound] = field(default_factory=list)  # confirmed faces, largest first
    candidates: int = 0  # detector boxes before confirmation
    turned_deg: int = 0  # clockwise turn that made the face findable (0: upright as given)
    landmarks: np.ndarray | None = None  # (468, 3) main face, displayed pixels
    face_box: tuple[float, float, float, float] | None = None  # mesh hull, once turned
    face_height_px: float | None = None  # hairline to chin
    skull_top_y: float | None = None
    chin_y: float | None = None
    hair_top_y: float | None = None  # top of the person mask above the face
    yaw_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    gaze_h: float | None = None  # iris offset in eye widths, + = towards the image's right
    iris_px: list[tuple[float, float]] = field(default_factory=list)
    eye_open: float | None = None  # eyelid opening / eye width (iris model), both eyes
    shoulder_room: float | None = None  # (image bottom - chin) / face height
    shoulder_width: float | None = None  # mask width at the shoulder row / face width
    shoulders_cut: tuple[bool, bool] | None = None  # mask touches the left / right edge there
    focus: float | None = None
    face_px_for_focus: float | None = None
    luma: float | None = None
    clipped: float | None = None  # share of face pixels at >= 0.98
    dark: float | None = None  # share of face pixels at <= 0.05
    side_ratio: float | None = None  # darker cheek / brighter cheek
    centre_offset: float | None = None  # (face centre x - image centre x) / width
    models_missing: dict[str, str] = field(default_factory=dict)
    mask_outline: list[np.ndarray] = field(default_factory=list)  # displayed pixels

    def to_dict(self) -> dict[str, Any]:
        keys = (
            "width height candidates turned_deg face_height_px skull_top_y chin_y hair_top_y "
            "yaw_deg pitch_deg roll_deg gaze_h eye_open shoulder_room shoulder_width focus "
            "face_px_for_focus luma clipped dark side_ratio centre_offset"
        ).split()
        out: dict[str, Any] = {k: _r(getattr(self, k)) for k in keys}
        out["faces"] = [
            {"box": [round(v, 1) for v in f.box], "score": round(f.score, 3)} for f in self.faces
        ]
        return out


def _r(v: Any) -> Any:
    return round(float(v), 4) if isinstance(v, float | np.floating) else v


def _rotate(img: np.ndarray, deg: int) -> np.ndarray:
    if deg == 0:
        return img
    code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(img, code[deg])


def _unrotate_pts(pts: np.ndarray, deg: int, w: int, h: int) -> np.ndarray:
    """Points of the image turned clockwise by `deg` back to the original (w x h) image."""
    x, y = pts[..., 0], pts[..., 1]
    if deg == 0:
        return pts
    out = pts.copy()
    if deg == 90:  # turned: (x', y') = (h - 1 - y, x)
        out[..., 0], out[..., 1] = y, h - 1 - x
    elif deg == 270:  # (x', y') = (y, w - 1 - x)
        out[..., 0], out[..., 1] = w - 1 - y, x
    else:
        out[..., 0], out[..., 1] = w - 1 - x, h - 1 - y
    return out


def _turn_for(d: Any) -> int:
    """Clockwise quarter turns (degrees) that would bring a face lying at > 45 deg upright,
    judged from the detector's eye keypoints (the mesh is unreliable on a sideways face)."""
    re, le = d.keypoints[0], d.keypoints[1]
    roll = math.degrees(math.atan2(le[1] - re[1], le[0] - re[0]))
    return 0 if abs(roll) <= 45 else int(round(-roll / 90.0)) * 90 % 360


def find_faces(bgr: np.ndarray) -> tuple[list[Any], int, Any]:
    """(confirmed [(detection, mesh)], candidate count, best mesh) on this image."""
    from ..analysis.face_models import load_models, roi_from_detection, roi_from_landmarks

    det, mesh = load_models()
    dets = det.detect(bgr, whole=True, tiles=True, fine=True)
    found = []
    for d in dets:
        m = mesh.run(bgr, roi_from_detection(d))
        if m.presence < PRESENCE_MIN:
            continue
        m2 = mesh.run(bgr, roi_from_landmarks(m.landmarks[:, :2]))
        found.append((d, m2 if m2.presence >= PRESENCE_MIN else m))
    found.sort(key=lambda dm: -dm[0].height)
    return found, len(dets), (found[0][1] if found else None)


def measure(rgb: np.ndarray, width: int, height: int, scale: float) -> PhotoMeasure:
    """Measure an upright RGB analysis image whose displayed size is width x height."""
    bgr0 = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    pm = PhotoMeasure(width, height)
    turned = 0
    found, n, main = find_faces(bgr0)
    turn = _turn_for(found[0][0]) if found else 0
    for deg in (turn,) if turn else () if found else (90, 270, 180):
        f2, n2, m2 = find_faces(_rotate(bgr0, deg))
        if f2:
            found, n, main, turned = f2, n + n2, m2, deg
            break
    pm.candidates = n
    pm.turned_deg = turned
    if not found:
        return pm
    bgr = _rotate(bgr0, turned)
    h, w = bgr.shape[:2]
    ah, aw = bgr0.shape[:2]

    def disp(pts: np.ndarray) -> np.ndarray:
        return _unrotate_pts(np.asarray(pts, np.float64), turned, aw, ah) / scale

    for d, _m in found:
        corners = disp(np.array([[d.box[0], d.box[1]], [d.box[2], d.box[3]]]))
        x0, x1 = sorted(corners[:, 0])
        y0, y1 = sorted(corners[:, 1])
        pm.faces.append(FaceFound((x0, y0, x1, y1), d.score, 1.0))
    lm = main.landmarks  # analysis pixels of the turned image
    # Geometry in the turned (upright-face) analysis image, then converted.
    roll = math.atan2(lm[L_EYE_OUT, 1] - lm[R_EYE_OUT, 1], lm[L_EYE_OUT, 0] - lm[R_EYE_OUT, 0])
    up = np.array([math.sin(roll), -math.cos(roll)])  # the face's up direction, image coords
    hair, chin = lm[HAIRLINE, :2], lm[CHIN, :2]
    face_h = float(np.hypot(*(chin - hair)))
    skull = hair + up * HEAD_ABOVE_HAIRLINE * face_h
    from ..analysis.faces import head_pose  # the clip path's formula, one copy

    yaw, pitch, rolld = head_pose(lm)
    pm.yaw_deg, pm.pitch_deg = yaw, pitch
    pm.roll_deg = (rolld - turned + 180.0) % 360.0 - 180.0  # as the photo stands
    lm_disp = np.column_stack([disp(lm[:, :2]), lm[:, 2] / scale])
    pm.landmarks = lm_disp
    xs, ys = lm[:, 0] / scale, lm[:, 1] / scale  # the photo as it stands once turned
    pm.face_box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
    pm.face_height_px = face_h / scale
    if turned == 0:
        pm.skull_top_y = float(skull[1] / scale)
        pm.chin_y = float(chin[1] / scale)
    else:
        # Measured in the turned image, where the face is upright; the checks read the framing
        # of the photo once turned (which `prepare` does).
        pm.skull_top_y = float(skull[1] / scale)
        pm.chin_y = float(chin[1] / scale)
        pm.width, pm.height = (height, width) if turned in (90, 270) else (width, height)
    W, H = pm.width, pm.height
    face_w = float(np.hypot(*(lm[L_CHEEK, :2] - lm[R_CHEEK, :2]))) / scale
    cx = float((lm[R_CHEEK, 0] + lm[L_CHEEK, 0]) / 2) / scale
    pm.centre_offset = (cx - W / 2) / W
    pm.shoulder_room = (H - pm.chin_y) / pm.face_height_px

    _focus_and_light(pm, bgr, lm, scale)
    _iris_and_mask(pm, bgr, lm, scale, up, face_w, turned, aw, ah)
    return pm


def _focus_and_light(pm: PhotoMeasure, bgr: np.ndarray, lm: np.ndarray, scale: float) -> None:
    h, w = bgr.shape[:2]
    oval = np.round(lm[list(FACE_OVAL), :2]).astype(np.int32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [oval], 255)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    vals = gray[mask > 0].astype(np.float64) / 255.0
    if vals.size >= 50:
        pm.luma = float(vals.mean())
        pm.clipped = float((vals >= 0.98).mean())
        pm.dark = float((vals <= 0.05).mean())
    face_h = float(np.hypot(*(lm[CHIN, :2] - lm[HAIRLINE, :2])))
    rad = max(2, int(round(0.08 * face_h)))
    cheeks = []
    for i in (R_CHEEK_PATCH, L_CHEEK_PATCH):
        x, y = int(round(lm[i, 0])), int(round(lm[i, 1]))
        patch = gray[max(0, y - rad) : y + rad, max(0, x - rad) : x + rad]
        cheeks.append(float(patch.mean()) / 255.0 if patch.size else float("nan"))
    if all(math.isfinite(c) for c in cheeks):
        pm.side_ratio = min(cheeks) / max(max(cheeks), 1e-3)
    # Focus on the face crop, the face brought to at most FOCUS_FACE_PX high.
    x0, y0 = np.floor(lm[:, :2].min(0)).astype(int)
    x1, y1 = np.ceil(lm[:, :2].max(0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    crop = gray[y0:y1, x0:x1].astype(np.float32)
    if crop.shape[0] >= 16 and crop.shape[1] >= 16:
        k = min(1.0, FOCUS_FACE_PX / crop.shape[0])
        if k < 1.0:
            crop = cv2.resize(
                crop,
                (max(16, round(crop.shape[1] * k)), max(16, round(crop.shape[0] * k))),
                interpolation=cv2.INTER_AREA,
            )
        fine = crop - cv2.GaussianBlur(crop, (0, 0), 1.0)
        coarse = crop - cv2.GaussianBlur(crop, (0, 0), 4.0)
        e = float((coarse**2).mean())
        pm.focus = float((fine**2).mean()) / e if e > 1e-6 else 0.0
        pm.face_px_for_focus = float(crop.shape[0])


def _iris_and_mask(
    pm: PhotoMeasure,
    bgr: np.ndarray,
    lm: np.ndarray,
    scale: float,
    up: np.ndarray,
    face_w: float,
    turned: int,
    aw: int,
    ah: int,
) -> None:
    from ..errors import ModelError
    from .models import load_photo_models

    try:
        iris, seg = load_photo_models()
    except ModelError as e:
        pm.models_missing["iris"] = pm.models_missing["segmentation"] = str(e)
        return
    offs: list[float] = []
    opens: list[float] = []
    for a, b, mirror in ((R_EYE_OUT, R_EYE_IN, False), (L_EYE_IN, L_EYE_OUT, True)):
        pa, pb = lm[a, :2], lm[b, :2]
        eye = iris.run(bgr, pa, pb, mirror)
        d = pb - pa
        wid = float(np.hypot(*d))
        if wid < 2:
            continue
        u = d / wid
        offs.append(float(np.dot(eye.iris[0] - (pa + pb) / 2, u) / wid))
        # Eyelid opening: extent of the 16 eyelid points across the corner line.
        v = (eye.contour[:16] - pa) @ np.array([-u[1], u[0]])
        opens.append(float(v.max() - v.min()) / wid)
        c = _unrotate_pts(eye.iris[0][None], turned, aw, ah)[0] / scale
        pm.iris_px.append((float(c[0]), float(c[1])))
    if offs:
        pm.gaze_h = float(np.mean(offs))
        pm.eye_open = float(np.mean(opens))
    prob = seg.run(bgr)
    person = prob >= 0.5
    h, w = person.shape
    if turned == 0:
        contours, _ = cv2.findContours(
            person.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        pm.mask_outline = [
            c.reshape(-1, 2).astype(np.float64) / scale for c in contours if len(c) >= 8
        ]
    # Hair top: the highest person pixel in the band of the face's width, above the hairline.
    x0 = int(max(0, min(lm[R_CHEEK, 0], lm[L_CHEEK, 0])))
    x1 = int(min(w, max(lm[R_CHEEK, 0], lm[L_CHEEK, 0]) + 1))
    band = person[:, x0:x1]
    rows = np.flatnonzero(band.any(axis=1))
    hair_y = int(lm[HAIRLINE, 1])
    above = rows[rows <= hair_y]
    if above.size:
        pm.hair_top_y = float(above.min()) / scale
    # Shoulders: the mask's extent on the row half a face height below the chin.
    fh = float(np.hypot(*(lm[CHIN, :2] - lm[HAIRLINE, :2])))
    ys = int(round(lm[CHIN, 1] + 0.5 * fh))
    if 0 <= ys < h:
        cols = np.flatnonzero(person[ys])
        if cols.size:
            pm.shoulder_width = float(cols.max() - cols.min() + 1) / scale / max(face_w, 1e-6)
            pm.shoulders_cut = (bool(cols.min() <= 1), bool(cols.max() >= w - 2))
        else:
            pm.shoulder_width = 0.0
            pm.shoulders_cut = (False, False)

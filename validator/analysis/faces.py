"""Face analysis: detection, tracked landmarks and per-sample face measurements.

Owns `Evidence.faces` (a `FaceEvidence`).  For every sampled frame it

1. runs the BlazeFace detector over the whole (downscaled) frame on every sample, so a second
   person anywhere is counted (faces under ~10% of the frame's long side are searched with
   overlapping tiles once per second of video, and whenever nothing is tracked and the
   whole-frame pass found nothing);
2. runs the 468-point landmark model on the main face with a region of interest that follows it,
   as MediaPipe's face-mesh graph does: the crop comes from the previous frame's landmarks
   (rotated by the eye line, long side x 1.5), and only when the model says the face is lost does
   it fall back to the detections, tried in order of detector score: the face is the first one
   the landmark model accepts (a rejected box is not the main face; where the face just was,
   it is the face covered);
3. measures the face box (normalised to the frame), face height, centre, head yaw/pitch/roll,
   mouth opening (inner-lip gap over mouth width), a teeth-visibility measure, landmark motion
   and occlusion cues (landmark-model face score, detector score);
4. between the sampled frames (`on_between_frame`, every decoded frame up to ~30/s) it follows
   only the mouth, one landmark run from the previous frame's landmarks, for lip sync
   (`FaceEvidence.mouth_t_s` / `mouth_open_track`, MTH003), and only where lip sync can use
   it: the pipeline sends these frames only when MTH003's measurement is planned and the clip
   has audio, and the voice gate (`voice_gate.py`, audio read ahead) leaves out the frames
   farther than ~1 s from anything speech could be (the sample's silent listening half; lip
   sync is unchanged to the bit, `tests/test_voice_gate.py`).  Such a frame is never converted
   whole: the decode pass's `region()` converts only the landmark crop's bounding box from the
   decoded planes (mouth opening within 0.005 of the whole-image route on the 1080p real
   speaker, 0.003 on the sample; the whole image was ~2.5 ms of the ~8 ms CPU a tracked frame
   cost, the landmark model itself is ~4.5 ms).

It leaves `frame.notes["face_box"]` (x0, y0, x1, y1 ints in analysis pixels, or None) and
`frame.notes["face_landmarks"]` ((468, 2) float array in analysis pixels, or None) for the image
analyser that runs after it on the same frame.  It measures only; checks in checks/fac.py and
checks/mth.py judge.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ..evidence import AnalyserSpec, Frame
from . import register
from .face_models import (
    MeshResult,
    load_models,
    roi_bounds,
    roi_from_detection,
    roi_from_landmarks,
)

if TYPE_CHECKING:
    from ..evidence import Evidence, MediaInfo
    from ..settings import Settings

# Landmark indices (MediaPipe face mesh topology).
R_EYE_OUT, L_EYE_OUT = 33, 263
FOREHEAD, CHIN = 10, 152
R_CHEEK, L_CHEEK = 234, 454
MOUTH_R, MOUTH_L = 61, 291
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))
INNER_LIPS = (
    78,
    191,
    80,
    81,
    82,
    13,
    312,
    311,
    310,
    415,
    308,
    324,
    318,
    402,
    317,
    14,
    87,
    178,
    88,
    95,
)
# Rigid points (eye corners, nose bridge and tip) for head motion: they move with the head, not
# with expressions.
RIGID = (33, 133, 362, 263, 6, 168, 1, 4)
OUTER_LIPS = (
    61,
    185,
    40,
    39,
    37,
    0,
    267,
    269,
    270,
    409,
    291,
    375,
    321,
    405,
    314,
    17,
    84,
    181,
    91,
    146,
)

# Skin regions watched for occlusion: forehead, right cheek, left cheek, nose bridge, chin.  Not
# the mouth or eyes: they change on their own when speaking and blinking.
OCCLUSION_REGIONS = (151, 50, 280, 6, 199)
# Patch half-side, share of the hairline-to-chin height: a square 14% of the face height (21 px
# on a 150-px face), small enough to stay inside each skin area around its landmark.  FAC011's
# calibration (its docstring) was measured with it.
REGION_RADIUS = 0.07
# A sample's share of changed regions needs this many of the five in view (fewer: 0, 0.5 or 1,
# too coarse for FAC011's 0.6); the texture reference is floored at 1e-3 (a flat patch).
MIN_REGIONS = 3
# Each sample's patches are compared with the same patches' median over +-6 s (FAC011's
# docstring: a whole-clip reference read the shorter half of a speaker/listener composite as
# covered throughout; 6 s absorbs such lasting changes and keeps a hand raised for 2 s).  What
# counts as changed (the colour distance, the texture ratio) is FAC011's to say.
OCCLUSION_REF_HALF_S = 6.0
REF_BLOCK = 256  # samples whose local references are computed together (bounded memory)

PRESENCE_MIN = 0.5  # MediaPipe's own threshold on the landmark model's face flag
MAX_CANDIDATES = 3  # detections tried with the landmark model per sample when nothing is tracked
TRACK_MIN_DT_S = 1 / 31  # the mouth track follows at most ~30 frames/s
# Pitch of a frontal face, measured as the forehead-to-chin line's depth tilt: the mesh puts the
# forehead nearer the camera than the chin.  The median over the 11 GRID clips (frontal speakers,
# eye-level studio camera; per-clip medians -9.6 to -0.8) was -5.5 degrees; that is subtracted so
# a level head reads ~0.
PITCH_NEUTRAL_DEG = -5.5
# The mesh's top point (landmark 10) sits at the hairline; the top of the skull is taken as this
# share of the hairline-to-chin height above it.  Deliberately low (the skull, not the hair): in a
# grid_bbaf2n frame the hair reaches 0.49 of that height above the hairline.
HEAD_ABOVE_HAIRLINE = 0.25


@dataclass(frozen=True, eq=False)
class FaceEvidence:
    """Per-sample face measurements; every array has one entry per sampled frame.

    Units: ratios are of the frame's height (or width for x), angles in degrees, `mouth_open`
    is inner-lip gap / mouth width, `teeth` is teeth-like pixel area / mouth width squared,
    `motion` is rigid-landmark displacement since the previous sample in face heights per
    second.  Missing values (no face) are NaN; `present` says where a face was measured.
    """

    t_s: np.ndarray
    present: np.ndarray  # bool: landmarks measured (every other per-face array is valid)
    detected: np.ndarray  # bool: a face was found, with or without landmarks
    n_faces: np.ndarray  # int: faces seen (main + others)
    searched: np.ndarray  # bool: the tiled small-face search ran (once per second)
    box: np.ndarray  # (N, 4) x0, y0, x1, y1 normalised to frame width/height
    height_ratio: np.ndarray  # face height (hairline to chin) / frame height
    centre: np.ndarray  # (N, 2) normalised x, y of the face box centre
    head_top: np.ndarray  # estimated top of the skull, / frame height (negative: cut off)
    chin: np.ndarray  # chin, / frame height (> 1: cut off)
    eye_y: np.ndarray  # eye line height / frame height
    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    mouth_open: np.ndarray
    teeth: np.ndarray
    motion: np.ndarray
    # Per sample and watched skin region (N, R), against the region's own median over the
    # seconds around it (`region_changes`): Lab colour distance after removing the face's
    # common brightness change, and edge energy over the reference's.  NaN: not measured.
    region_delta_e: np.ndarray
    region_texture_ratio: np.ndarray
    presence: np.ndarray  # landmark model's face score
    det_score: np.ndarray  # detector score of the main face (NaN: tracked without detection)
    other_height: np.ndarray  # height ratio of the largest other face (NaN: none)
    other_score: np.ndarray
    frame_size: tuple[int, int]  # analysis width, height
    sample_fps: float
    analyse_ms: float = 0.0  # mean wall time per sampled frame
    # The mouth tracked on every decoded frame (at most ~30/s), not only the sampled ones: lip
    # sync lives at 25-30 frames/s (MTH003).  Times and mouth opening; empty when not measured.
    mouth_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mouth_open_track: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.t_s)

    def occlusion(self, max_delta_e: float, max_texture_ratio: float) -> np.ndarray:
        """Share of the watched skin regions that changed colour by more than `max_delta_e` or
        gained texture by more than `max_texture_ratio` (0..1; NaN where fewer than 3 regions
        were measured)."""
        return occlusion_share(
            self.region_delta_e, self.region_texture_ratio, max_delta_e, max_texture_ratio
        )

    @property
    def dt_s(self) -> float:
        return 1.0 / self.sample_fps if self.sample_fps > 0 else 0.2

    def stats_rows(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(len(self.t_s)):

            def f(a: np.ndarray, nd: int = 4, i: int = i) -> float | None:
                v = float(a[i])
                return None if math.isnan(v) else round(v, nd)

            rows.append(
                {
                    "t_s": round(float(self.t_s[i]), 3),
                    "stream": "video",
                    "face_present": bool(self.present[i]),
                    "face_detected": bool(self.detected[i]),
                    "face_count": int(self.n_faces[i]),
                    "face_height_ratio": f(self.height_ratio),
                    "face_centre_x": f(self.centre[:, 0]),
                    "face_centre_y": f(self.centre[:, 1]),
                    "yaw_deg": f(self.yaw, 1),
                    "pitch_deg": f(self.pitch, 1),
                    "roll_deg": f(self.roll, 1),
                    "mouth_open": f(self.mouth_open),
                    "teeth": f(self.teeth),
                    "face_motion": f(self.motion),
                    "face_region_delta_e_max": f(_nanmax(self.region_delta_e), 2),
                    "face_region_texture_max": f(_nanmax(self.region_texture_ratio), 2),
                    "face_score": f(self.presence, 3),
                }
            )
        return rows


@dataclass(frozen=True, slots=True)
class _Face:
    """What `_per_sample` needs of one sample's landmarks, measured when the sample is analysed
    (in analysis pixels; normalised to the frame at the end).  Kept instead of the 468x3 mesh
    (11 KB a sample, 55 KB per second of video at 5 samples/s): memory stays flat in clip
    length.  The same arithmetic on the same landmarks as before, so every figure is
    identical."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1 of the landmarks
    face_h: float  # hairline-to-chin distance
    forehead_y: float
    chin_y: float
    eye_y: float  # mean height of the outer eye corners
    pose: tuple[float, float, float]  # yaw, pitch, roll (`head_pose`)
    mouth_open: float
    presence: float  # landmark model's face score
    rigid: np.ndarray  # (8, 2) the RIGID points, for head motion

    @classmethod
    def of(cls, mesh: MeshResult) -> _Face:
        lm = mesh.landmarks
        return cls(
            box=_box(lm),
            face_h=float(np.hypot(*(lm[CHIN, :2] - lm[FOREHEAD, :2]))),
            forehead_y=lm[FOREHEAD, 1],
            chin_y=lm[CHIN, 1],
            eye_y=(lm[R_EYE_OUT, 1] + lm[L_EYE_OUT, 1]) / 2,
            pose=head_pose(lm),
            mouth_open=mouth_open(lm),
            presence=mesh.presence,
            rigid=lm[list(RIGID), :2],  # a copy: the mesh is not kept
        )


@dataclass(slots=True)
class _Sample:
    t_s: float
    n_faces: int = 0
    face: _Face | None = None  # the main face's measurements (None: no landmarks)
    detected: bool = False  # a face was detected (with or without landmarks)
    searched: bool = False  # the tiled search for small faces ran on this sample
    det_score: float = math.nan
    other_height: float = math.nan
    other_score: float = math.nan
    teeth: float = math.nan
    regions: np.ndarray | None = None  # (R, 4): mean L, a, b and edge energy per region


class FaceAnalyser:
    wants_frames = True
    writes_notes = True  # frame.notes["face_box"] / ["face_landmarks"]: run before the others

    def __init__(self, settings: Settings, media: MediaInfo | None = None):
        self.detector, self.mesh = load_models()  # raises ModelError before any decoding
        self.sample_fps = float(settings.sample_fps)
        self.fine_every = max(1, round(self.sample_fps))  # fine search once per second
        self.samples: list[_Sample] = []
        self.size: tuple[int, int] = (0, 0)
        self.prev: MeshResult | None = None
        self.elapsed = 0.0
        # The mouth track on every decoded frame (MTH003): landmarks of the last tracked frame,
        # sampled or not, and (t, mouth opening) pairs.
        self.track_lm: np.ndarray | None = None
        self.track_t = -1.0
        self.track: list[tuple[float, float]] = []
        self.elapsed_track = 0.0
        # Where the face was last seen with landmarks (analysis pixels): a rejected detection
        # there is a covered face, elsewhere it is not a face.
        self.last_face_box: tuple[float, float, float, float] | None = None
        # Where the voice may be (analysis/voice_gate.py): the mouth is followed between
        # samples only within reach of it.  None: everywhere.
        self.voice_gate: Any = None

    def use_voice_gate(self, gate: Any) -> None:
        self.voice_gate = gate

    # -- per frame -------------------------------------------------------------------------
    def on_frame(self, frame: Frame) -> None:
        t0 = time.perf_counter()
        img = frame.image
        h, w = img.shape[:2]
        self.size = (w, h)
        n = len(self.samples)
        # Every sample: the whole frame in one detector run.  Once per second (and whenever
        # nothing is tracked and the whole-frame pass found nothing): the tiled search for
        # smaller faces, i.e. a second person further away or a small main face.
        full = n % self.fine_every == 0
        dets = self.detector.detect(img, whole=True, tiles=full, fine=full)
        if not dets and not full and self.prev is None:
            dets = self.detector.detect(img, whole=False, tiles=True, fine=True)
            full = True
        s = _Sample(frame.t_s)
        s.searched = full
        mesh = None
        if self.prev is not None:
            m = self.mesh.run(img, roi_from_landmarks(self.prev.landmarks[:, :2]))
            if m.presence >= PRESENCE_MIN and _plausible(m, w, h):
                mesh = m
        rejected: list[Any] = []
        if mesh is None and dets:
            # The face is the detection the landmark model accepts, tried in order of detector
            # score (not size: clasped hands in front of the body are a larger box, at score
            # 0.52-0.57, that the landmark model rejects at 0.002, while the real face scores
            # 0.97).  At most three tries per sample.
            for d in sorted(dets, key=lambda d: -d.score)[:MAX_CANDIDATES]:
                m = self.mesh.run(img, roi_from_detection(d))
                if m.presence >= PRESENCE_MIN:
                    # A second pass from the first landmarks tightens the crop, as the tracker
                    # would.
                    m2 = self.mesh.run(img, roi_from_landmarks(m.landmarks[:, :2]))
                    mesh = m2 if m2.presence >= PRESENCE_MIN else m
                    break
                rejected.append(d)
        self.prev = mesh
        if mesh is not None:
            s.face = _Face.of(mesh)
            self.track.append((frame.t_s, s.face.mouth_open))
            self.track_lm, self.track_t = mesh.landmarks[:, :2], frame.t_s
        else:
            self.track_lm = None
        # Every other detection stays a candidate second person for FAC002, which judges it by
        # detector score (hands read 0.52-0.57, under its 0.75; the landmark model also rejects
        # small, dark real faces: the stage clip's audience at 0.65-0.95).
        others = list(dets)
        covered = None
        if mesh is None and rejected and self.last_face_box is not None:
            # ... but where the face just was, a rejected box is that face with its features
            # hidden (a hand or microphone over it; composite with the lower face covered:
            # detector 0.85, landmark score 0.07): FAC011's cue.
            near = [d for d in rejected if _overlap(d.box, self.last_face_box) > 0.3]
            if near:
                covered = max(near, key=lambda d: d.score)
        if mesh is not None:
            s.detected = True
            lb = _box(mesh.landmarks)
            self.last_face_box = lb
            main = [d for d in dets if _overlap(d.box, lb) > 0.3]
            others = [d for d in others if _overlap(d.box, lb) <= 0.3]
            if main:
                s.det_score = max(d.score for d in main)
            s.n_faces = 1 + len(others)
            s.teeth = _teeth(img, mesh.landmarks)
            s.regions = _region_stats(img, mesh.landmarks)
            frame.notes["face_box"] = _pixel_box(lb, w, h)
            frame.notes["face_landmarks"] = mesh.landmarks[:, :2].astype(np.float32)
        elif covered is not None:
            others = [d for d in others if d is not covered]
            s.detected = True
            s.det_score = covered.score
            s.n_faces = 1 + len(others)
            frame.notes["face_box"] = _pixel_box(covered.box, w, h)
            frame.notes["face_landmarks"] = None
        else:
            s.n_faces = len(others)
            frame.notes["face_box"] = None
            frame.notes["face_landmarks"] = None
        if others:
            big = max(others, key=lambda d: d.height)
            s.other_height = big.height / h
            s.other_score = big.score
        self.samples.append(s)
        self.elapsed += time.perf_counter() - t0

    def on_between_frame(self, frame: Frame) -> None:
        """A decoded frame between two samples: only the mouth is followed (one landmark run
        from the previous frame's landmarks, no detection), for lip sync.  At most ~30 frames/s
        (a 60 fps clip is followed on every other frame); the track waits for the next sample
        to find the face again when it is lost."""
        if self.track_lm is None or frame.t_s - self.track_t < TRACK_MIN_DT_S:
            return
        if self.voice_gate is not None and not self.voice_gate.wanted(frame.t_s):
            # Lip sync compares no frame this far from speech; the next sample starts the
            # track again from its own landmarks, as it does anyway.
            return
        t0 = time.perf_counter()
        w, h = self.size
        roi = roi_from_landmarks(self.track_lm)
        region = getattr(frame, "region", None)
        if region is not None:
            # Only the face's crop is converted from the decoded picture (the decode pass's
            # between frames), not the whole analysis image.
            piece, ox, oy = region(*roi_bounds(roi))
            if min(piece.shape[:2]) < 2:  # the crop left the picture: the track is lost
                self.track_lm = None
                return
            m = self.mesh.run(piece, roi, (ox, oy))
        else:
            m = self.mesh.run(frame.image, roi)
        if m.presence >= PRESENCE_MIN and _plausible(m, w, h):
            self.track.append((frame.t_s, mouth_open(m.landmarks)))
            self.track_lm, self.track_t = m.landmarks[:, :2], frame.t_s
        else:
            self.track_lm = None
        self.elapsed_track += time.perf_counter() - t0

    # -- end of clip -----------------------------------------------------------------------
    def finish(self, ev: Evidence) -> FaceEvidence:
        fe = build_evidence(
            self.samples,
            self.size,
            self.sample_fps,
            1000 * self.elapsed / max(1, len(self.samples)),
        )
        tr = np.array(sorted(self.track), np.float64).reshape(-1, 2)
        return replace(fe, mouth_t_s=tr[:, 0].copy(), mouth_open_track=tr[:, 1].copy())


def mouth_open(lm: np.ndarray) -> float:
    """Inner-lip gap (mean of three points) over the mouth-corner distance."""
    width = float(np.hypot(*(lm[MOUTH_L, :2] - lm[MOUTH_R, :2])))
    gap = np.mean([np.hypot(*(lm[lo, :2] - lm[up, :2])) for up, lo in INNER_LIP_PAIRS])
    return float(gap / width) if width > 0 else math.nan


def _pixel_box(
    b: tuple[float, float, float, float], w: int, h: int
) -> tuple[int, int, int, int] | None:
    """A box in integer analysis pixels, clipped to the frame; None when nothing is left."""
    x0, y0 = int(max(0, math.floor(b[0]))), int(max(0, math.floor(b[1])))
    x1, y1 = int(min(w, math.ceil(b[2]))), int(min(h, math.ceil(b[3])))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _box(lm: np.ndarray) -> tuple[float, float, float, float]:
    return (
        float(lm[:, 0].min()),
        float(lm[:, 1].min()),
        float(lm[:, 0].max()),
        float(lm[:, 1].max()),
    )


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    aa = (a[2] - a[0]) * (a[3] - a[1])
    ab = (b[2] - b[0]) * (b[3] - b[1])
    return ix * iy / max(1e-9, min(aa, ab))


def _plausible(m: MeshResult, w: int, h: int) -> bool:
    """A tracked mesh that shrank to nothing or left the frame is a lost track."""
    x0, y0, x1, y1 = _box(m.landmarks)
    return (y1 - y0) > 0.03 * h and x1 > 0 and y1 > 0 and x0 < w and y0 < h


def _teeth(img: np.ndarray, lm: np.ndarray) -> float:
    """Teeth-like pixel area inside the inner-lip contour, over mouth width squared.

    Teeth are lighter and less red than the lips around them; the tongue is as red as the lips
    and the mouth cavity is darker, so neither counts.  The reference is the clip's own lip
    colour (Lab median of the ring between outer and inner lip contours), so the measure follows
    exposure and skin tone.  Thresholds (L* >= lips + 15, a* <= lips - 3, in OpenCV's 8-bit
    Lab) were set on open-mouth frames of grid_lbax4n/swiz3n and lp_d6/d11/d12 (teeth seen:
    0.010-0.040) against lp_d3 (open mouth, no teeth: 0.000)."""
    width = float(np.hypot(*(lm[MOUTH_L, :2] - lm[MOUTH_R, :2])))
    if width < 4:
        return math.nan
    gap = np.mean([np.hypot(*(lm[lo, :2] - lm[up, :2])) for up, lo in INNER_LIP_PAIRS])
    if gap / width < 0.05:
        # Closed lips: the thin inner-lip polygon holds lip-edge highlights, not teeth
        # (lp_src_s18, lips closed at 0.04, read 0.003+ in 61% of samples without this).
        return 0.0
    outer = lm[list(OUTER_LIPS), :2]
    inner = lm[list(INNER_LIPS), :2]
    h, w = img.shape[:2]
    x0, y0 = np.floor(outer.min(0)).astype(int) - 1
    x1, y1 = np.ceil(outer.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return math.nan
    lab = cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_BGR2LAB).astype(np.float32)
    m_in = np.zeros(lab.shape[:2], np.uint8)
    m_out = np.zeros(lab.shape[:2], np.uint8)
    cv2.fillPoly(m_in, [np.round(inner - [x0, y0]).astype(np.int32)], 1)
    cv2.fillPoly(m_out, [np.round(outer - [x0, y0]).astype(np.int32)], 1)
    inside = lab[m_in.astype(bool)]
    lips = lab[(m_out > 0) & (m_in == 0)]
    if len(inside) == 0 or len(lips) < 8:
        return 0.0
    lip_l, lip_a = np.median(lips[:, 0]), np.median(lips[:, 1])
    teeth = (inside[:, 0] >= lip_l + 15) & (inside[:, 1] <= lip_a - 3)
    return float(teeth.sum()) / (width * width)


def _region_stats(img: np.ndarray, lm: np.ndarray) -> np.ndarray | None:
    """Mean Lab colour and mean gradient magnitude (per pixel, per face height) of small square
    patches on the skin regions; NaN rows where a patch leaves the frame."""
    face_h = float(np.hypot(*(lm[CHIN, :2] - lm[FOREHEAD, :2])))
    r = max(2, int(round(REGION_RADIUS * face_h)))
    h, w = img.shape[:2]
    out = np.full((len(OCCLUSION_REGIONS), 4), np.nan)
    for k, idx in enumerate(OCCLUSION_REGIONS):
        cx, cy = int(round(lm[idx, 0])), int(round(lm[idx, 1]))
        if not (r <= cx < w - r and r <= cy < h - r):
            continue
        patch = img[cy - r : cy + r, cx - r : cx + r]
        lab = cv2.cvtColor(patch, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
        g = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
        # Edge energy scaled by face size, so a small face's sharper-per-pixel edges match.
        edge = float(np.mean(np.hypot(gx, gy))) * face_h / 100.0
        out[k] = (*lab.mean(0), edge)
    return out


def region_changes(
    regions: np.ndarray, half_window: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """How unlike the same region around that time each watched skin region looks.

    `regions` is (N, R, 4).  The reference of each sample is the median of the same region over
    the samples within `half_window` samples either side (default: the whole clip), so skin
    tone, make-up, beards and glasses (present throughout) are part of it.  A local reference
    (the analyser uses +-6 s) absorbs lasting changes (the light or the seat changing for the
    rest of the clip; a composite of one real person speaking then another listening read the
    shorter part as covered throughout against a whole-clip median), while a hand raised for
    a few seconds still differs from the seconds around it.  The common brightness change of
    all regions is removed first, so a lighting change is not an occlusion (IMG005 judges
    lighting).  Returns (Lab distance, edge-energy ratio), each (N, R); NaN for a region not
    measured and for every region of a sample with fewer than 3 measured."""
    n, nr = regions.shape[:2]
    de_out, tex_out = np.full((n, nr), np.nan), np.full((n, nr), np.nan)
    if n == 0 or not np.isfinite(regions).any():
        return de_out, tex_out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a region never visible: all-NaN
        if half_window is None or 2 * half_window + 1 >= n:
            refs = np.broadcast_to(np.nanmedian(regions, axis=0), regions.shape)
        else:
            pad = np.full((half_window, *regions.shape[1:]), np.nan)
            padded = np.concatenate([pad, regions, pad])
            win = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_window + 1, axis=0)
            # REF_BLOCK samples at a time: nanmedian copies its windows (61 values per sample
            # and region at 5 samples/s), ~100 MB for a 10-minute clip at once; each median is
            # the same whatever the block.
            refs = np.empty(regions.shape)  # (N, R, 4)
            for a in range(0, n, REF_BLOCK):
                refs[a : a + REF_BLOCK] = np.nanmedian(win[a : a + REF_BLOCK], axis=-1)
    for i in range(n):
        reg, ref = regions[i], refs[i]
        ok = np.isfinite(reg[:, 0]) & np.isfinite(ref[:, 0])
        if ok.sum() < MIN_REGIONS:
            continue
        d = reg[ok, :3] - ref[ok, :3]
        d[:, 0] -= np.median(d[:, 0])
        de_out[i, ok] = np.sqrt((d**2).sum(1))
        tex_out[i, ok] = reg[ok, 3] / np.maximum(ref[ok, 3], 1e-3)
    return de_out, tex_out


def occlusion_share(
    delta_e: np.ndarray, texture_ratio: np.ndarray, max_delta_e: float, max_texture_ratio: float
) -> np.ndarray:
    """Per sample, the share of measured regions whose colour distance is over `max_delta_e` or
    texture ratio over `max_texture_ratio`; NaN where fewer than 3 regions were measured."""
    ok = np.isfinite(delta_e)
    with np.errstate(invalid="ignore"):
        changed = ok & ((delta_e > max_delta_e) | (texture_ratio > max_texture_ratio))
    counted = ok.sum(axis=1)
    out = np.full(len(delta_e), np.nan)
    has = counted >= MIN_REGIONS
    out[has] = changed[has].sum(axis=1) / counted[has]
    return out


def _nanmax(a: np.ndarray) -> np.ndarray:
    """Row-wise max ignoring NaN (NaN for a row with no value)."""
    ok = np.isfinite(a)
    out = np.full(len(a), np.nan)
    rows = ok.any(axis=1)
    out[rows] = np.where(ok[rows], a[rows], -np.inf).max(axis=1)
    return out


def head_pose(lm: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees from the mesh's 3D landmarks (z is in the x/y pixel scale);
    the photo path (photo/measure.py) uses it too.

    Roll is the eye line's angle.  Yaw and pitch are the depth tilts of the cheek-to-cheek and
    chin-to-forehead lines after removing roll; pitch is offset so a frontal face reads ~0."""
    d = lm[L_EYE_OUT, :2] - lm[R_EYE_OUT, :2]
    roll = math.atan2(d[1], d[0])
    c, s = math.cos(-roll), math.sin(-roll)
    x = lm[:, 0] * c - lm[:, 1] * s
    y = lm[:, 0] * s + lm[:, 1] * c
    z = lm[:, 2]
    yaw = math.degrees(math.atan2(z[L_CHEEK] - z[R_CHEEK], x[L_CHEEK] - x[R_CHEEK]))
    pitch = (
        math.degrees(math.atan2(z[FOREHEAD] - z[CHIN], y[CHIN] - y[FOREHEAD])) - PITCH_NEUTRAL_DEG
    )
    return yaw, pitch, math.degrees(roll)


def _per_sample(samples: list[_Sample], w: float, h: float) -> dict[str, np.ndarray]:
    """Every per-sample array of `FaceEvidence` but the skin-region changes, from the samples."""
    n = len(samples)
    a: dict[str, np.ndarray] = {
        k: np.full(n, np.nan)
        for k in (
            "height_ratio",
            "head_top",
            "chin",
            "eye_y",
            "yaw",
            "pitch",
            "roll",
            "mouth_open",
            "teeth",
            "motion",
            "presence",
            "det_score",
            "other_height",
            "other_score",
        )
    }
    a["box"] = np.full((n, 4), np.nan)
    a["centre"] = np.full((n, 2), np.nan)
    a["present"] = np.zeros(n, bool)
    a["detected"] = np.array([s.detected for s in samples], bool)
    a["searched"] = np.array([s.searched for s in samples], bool)
    a["n_faces"] = np.array([s.n_faces for s in samples], np.int32)
    a["t_s"] = np.array([s.t_s for s in samples], np.float64)
    prev_rigid: np.ndarray | None = None
    prev_t = 0.0
    for i, s in enumerate(samples):
        a["det_score"][i] = s.det_score
        a["other_height"][i] = s.other_height
        a["other_score"][i] = s.other_score
        f = s.face
        if f is None:
            prev_rigid = None
            continue
        a["present"][i] = True
        x0, y0, x1, y1 = f.box
        a["box"][i] = (x0 / w, y0 / h, x1 / w, y1 / h)
        a["centre"][i] = ((x0 + x1) / 2 / w, (y0 + y1) / 2 / h)
        face_h = f.face_h
        a["height_ratio"][i] = (y1 - y0) / h
        a["head_top"][i] = (f.forehead_y - HEAD_ABOVE_HAIRLINE * face_h) / h
        a["chin"][i] = f.chin_y / h
        a["eye_y"][i] = f.eye_y / h
        a["yaw"][i], a["pitch"][i], a["roll"][i] = f.pose
        a["mouth_open"][i] = f.mouth_open
        a["teeth"][i] = s.teeth
        a["presence"][i] = f.presence
        rigid = f.rigid
        if prev_rigid is not None and s.t_s > prev_t and face_h > 0:
            disp = float(np.mean(np.hypot(*(rigid - prev_rigid).T)))
            a["motion"][i] = disp / face_h / (s.t_s - prev_t)
        prev_rigid, prev_t = rigid, s.t_s
    return a


def build_evidence(
    samples: list[_Sample], size: tuple[int, int], sample_fps: float, analyse_ms: float = 0.0
) -> FaceEvidence:
    n = len(samples)
    w, h = size if size[0] else (1, 1)
    a = _per_sample(samples, w, h)
    regions = np.full((n, len(OCCLUSION_REGIONS), 4), np.nan)
    for i, s in enumerate(samples):
        if s.face is not None and s.regions is not None:
            regions[i] = s.regions
    delta_e, texture = region_changes(
        regions, half_window=max(1, int(round(OCCLUSION_REF_HALF_S * sample_fps)))
    )
    return FaceEvidence(
        region_delta_e=delta_e,
        region_texture_ratio=texture,
        frame_size=(int(w), int(h)),
        sample_fps=sample_fps,
        analyse_ms=analyse_ms,
        **a,
    )


register(AnalyserSpec(provides="faces", factory=FaceAnalyser))

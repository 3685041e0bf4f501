"""Image quality measurements per sampled frame (Evidence.image; rules IMG001-IMG008).

Owns: face-region sharpness, exposure (brightness, clipped highlights, crushed shadows, with
10-bit and HDR sources read at native depth and mapped to an SDR-equivalent scale), lighting
balance on the face, sensor noise, colour temperature, and background motion (global shift =
camera shake; local change after compensating that shift = something moving behind the person).

The face region comes from the faces analyser, which runs first on the same `Frame` and leaves
`frame.notes["face_box"] = (x0, y0, x1, y1)` in analysis pixels (None when no face).  When a
sample has no face box, the *fallback region* (the centre of the frame where a talking-head
framing puts the face: x 30-70%, y 15-65%) is measured instead and the sample is marked
`has_face=False`; the checks prefer face samples and say so when they judge the fallback.

Everything here measures; nothing decides.  Arrays are per sample, NaN where a value could not
be measured (e.g. motion on the first sample, or a background with nothing to track).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..evidence import AnalyserSpec, Evidence, Frame, MediaInfo
from ..media.decode import rotate_for_display
from . import register

# Face crops are resampled to this height before measuring sharpness, so the figure does not
# depend on how many pixels the face has (a 1080p face and a 360p face with the same optical
# blur measure alike).
FACE_NORM_PX = 128
# Background motion is measured on a copy this wide (cheap; shake of 1 px here is ~0.4% of width).
MOTION_WIDTH_PX = 256
FALLBACK_BOX = (0.30, 0.15, 0.70, 0.65)  # x0, y0, x1, y1 as fractions of the frame
CLIP_LEVEL = 0.98  # normalised code value counted as a clipped highlight
CRUSH_LEVEL = 0.03  # normalised code value counted as a crushed shadow
# The motion constants below are the ones IMG007 (camera shake) and IMG008 (background motion)
# were calibrated with: the figures are in those rules' docstrings (checks/img.py, GRID, the lp
# clips and the generated s18 degradations); change one only by re-running that calibration.
#
# Per-pixel change (8-bit levels, on the blurred motion copy) that counts as "moved", added to
# MOTION_NOISE_FACTOR x the measured noise so grain alone is not counted as motion.  With these,
# still real backgrounds change 0-1.9% per interval and a person-sized shape pacing behind
# 11-16% (IMG008's calibration).
MOTION_DIFF_LEVELS = 14.0
MOTION_NOISE_FACTOR = 4.0
# The motion copy is blurred first (5x5 Gaussian, about 1 px sigma): grain and compression block
# edges at 256 px would otherwise count as change and as corners.
MOTION_BLUR_PX = 5
# Motion copies are gain-equalised to this mean level (8-bit; mid-grey with headroom, both
# copies alike) before they are compared, so a 1-stop lighting step changes 1% of the
# background (IMG008's calibration); a copy darker than MOTION_MIN_MEAN (a black frame) is left
# alone: nothing to equalise, only noise to amplify.
MOTION_TARGET_MEAN = 110.0
MOTION_MIN_MEAN = 2.0
# Samples further apart than this many sample intervals (frames missing: EDT003's business) are
# not compared.
MOTION_MAX_GAP_INTERVALS = 3
# The person's region around the face box: widened by these fractions of the box (shoulders),
# and extended to the bottom edge (the body); the known limit is lp_d3, a close-up whose hair
# and shoulders still reach past it (IMG008).  Background under MOTION_MIN_BACKGROUND of the
# copy is too little to judge (lp_d0 and lp_d9, faces filling the frame, are not measured).
PERSON_WIDEN_X, PERSON_WIDEN_Y = 0.6, 0.4
MOTION_MIN_BACKGROUND = 0.05
# Camera shake: up to 120 corners at least 6 px apart, quality 0.02 of the strongest (low, so a
# dim or plain background still gives corners), tracked by pyramidal Lucas-Kanade with a
# 21-px window over 3 levels (shifts up to about 10 px x 2^3 = 80 px of the 256-px copy, more
# than the 16-px jitter of the s18 shake degradation at 512 px); fewer than MOTION_MIN_TRACKS
# tracked corners and the shift is not trusted.
SHAKE_MAX_CORNERS, SHAKE_CORNER_QUALITY, SHAKE_CORNER_SPACING_PX = 120, 0.02, 6
SHAKE_LK_WINDOW_PX, SHAKE_LK_LEVELS = 21, 3
MOTION_MIN_TRACKS = 8
MOTION_BORDER_PX = 4  # the borders a shift invents are ignored
# Noise changes slowly (it follows the light and the camera gain), so it is measured once per
# this many seconds and carried forward: one estimate costs ~5 ms on a 720p frame, more than
# everything else this analyser does to a sample.
NOISE_INTERVAL_S = 1.0
# Mirrored skin patches of the 468-point face mesh (picture-left index, picture-right index):
# cheekbones, under the eyes, beside the nose, lower cheeks, forehead above the brows and at the
# temples.  Not the jaw or chin (a beard), nor the brows, eyes, lips or the face outline (hair,
# background).  Each patch is a disc of SIDE_PATCH_R face widths around the landmark.
SIDE_PAIRS = ((50, 280), (117, 346), (205, 425), (187, 411), (104, 333), (69, 299))
SIDE_PATCH_R = 0.05
# Head turn proxy: where the nose tip (landmark 1) sits between the face's outline points 234
# and 454 (0.5 = frontal).  Beyond this distance from 0.5 (roughly 15 degrees of yaw, by the
# geometry of an average head; not measured against the pose) the sample
# is not judged.
SIDE_MAX_TURN = 0.1
# Fewest pixels between the face's outline points for the patches to be judged: a smaller face
# (a full-body shot) gives patches of a few pixels, made of compression blocks.
SIDE_MIN_FACE_PX = 80
# Patches darker than this (SDR code value) are not compared: near black, grain and compression
# decide the ratio (a dim stage reads +-6 stops from one sample to the next).
SIDE_MIN_CODE = 0.08
# SDR code values -> linear light (the display gamma of BT.1886 / sRGB, close enough here).
LINEAR_GAMMA = 2.2
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


# Per-sample measurements, in the order on_frame stores them after (t_s, has_face).
METRICS = (
    "face_h_frac",
    "face_x",
    "face_y",
    "sharpness",
    "brightness",
    "scene",
    "clipped",
    "crushed",
    "lr_stops",
    "tb_stops",
    "side_stops",
    "noise",
    "warmth",
    "shake",
    "bg_motion",
)


@dataclass(frozen=True, eq=False)  # arrays: compare fields explicitly, never with ==
class ImageEvidence:
    """Per-sample image measurements (all arrays have one entry per sampled frame).

    - `has_face`: a face box came from the faces analyser (else the fallback region was used)
    - `face_h_frac`: face box height / frame height
    - `face_x`, `face_y`: face box centre in frame heights from the top-left corner (NaN without
      a face), so a jump to another face can be told from a change of light
    - `sharpness`: 1 - Crete-Roffet blur score of the face crop at FACE_NORM_PX (0 = flat,
      ~0.5+ = crisp; contrast- and size-independent)
    - `brightness`: mean face luma on an SDR-equivalent 0..1 scale (HDR mapped, see module doc)
    - `scene`: mean luma of the whole frame, same scale
    - `clipped`, `crushed`: share of face pixels at >= 0.98 / <= 0.03 of the native code range
    - `lr_stops`, `tb_stops`: log2 of left/right and top/bottom mean face luma (signed)
    - `side_stops`: log2 of the light falling on the left vs the right of the face (signed,
      left of the picture over right), in linear light, from mirrored skin patches on the
      468-point mesh (median over SIDE_PAIRS); NaN without landmarks or when the head is turned
      more than SIDE_MAX_TURN (a turned face is lit unevenly by a frontal light) or the face is
      under SIDE_MIN_FACE_PX wide
    - `noise`: Immerkaer noise sigma over flat areas of the whole frame, 8-bit levels at the
      analysis resolution (measured once every NOISE_INTERVAL_S, carried forward in between)
    - `warmth`: log2(mean R / mean B) of the face region (colour temperature proxy)
    - `shake`: background shift since the previous sample, share of the frame's short side
    - `bg_motion`: share of background pixels that changed since the previous sample after
      removing that shift
    """

    t_s: np.ndarray
    has_face: np.ndarray
    face_h_frac: np.ndarray
    face_x: np.ndarray
    face_y: np.ndarray
    sharpness: np.ndarray
    brightness: np.ndarray
    scene: np.ndarray
    clipped: np.ndarray
    crushed: np.ndarray
    lr_stops: np.ndarray
    tb_stops: np.ndarray
    side_stops: np.ndarray
    noise: np.ndarray
    warmth: np.ndarray
    shake: np.ndarray
    bg_motion: np.ndarray
    sample_interval_s: float
    transfer: str  # "sdr", "pq" or "hlg": how brightness was mapped
    bit_depth: int

    @property
    def n(self) -> int:
        return int(len(self.t_s))

    def face_or_all(self) -> tuple[np.ndarray, bool]:
        """Boolean selector of the samples to judge the face on, and whether they are real faces
        (False: no sample had a face, so the fallback region of every sample is used)."""
        if self.has_face.any():
            return self.has_face.copy(), True
        return np.ones(self.n, bool), False

    def stats_rows(self) -> list[dict[str, Any]]:
        cols = METRICS
        rows = []
        for i in range(self.n):
            row: dict[str, Any] = {
                "t_s": round(float(self.t_s[i]), 3),
                "stream": "video",
                "img_has_face": bool(self.has_face[i]),
            }
            for c in cols:
                v = float(getattr(self, c)[i])
                row[f"img_{c}"] = None if np.isnan(v) else round(v, 5)
            rows.append(row)
        return rows


def pq_to_sdr(code: np.ndarray) -> np.ndarray:
    """PQ (SMPTE ST 2084) code value 0..1 -> SDR-equivalent 0..1: nits via the PQ EOTF, then
    HDR reference white (203 cd/m2, ITU-R BT.2408) maps to SDR 100% with a 2.4 gamma."""
    m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
    e = np.power(np.clip(code, 0, 1), 1 / m2)
    nits = 10000.0 * np.power(np.maximum(e - c1, 0) / (c2 - c3 * e), 1 / m1)
    return np.clip(np.power(nits / 203.0, 1 / 2.4), 0, 1)


def hlg_to_sdr(code: np.ndarray) -> np.ndarray:
    """HLG code value -> SDR-equivalent: HLG reference white sits at 75% signal (BT.2408) and
    the curve below it is close to SDR gamma, so scale 0.75 -> 1.0."""
    return np.clip(code / 0.75, 0, 1)


class ImageAnalyser:
    wants_frames = True

    def __init__(self, settings: Any, media: MediaInfo):
        self.bit_depth = int(media.bit_depth or 8)
        trc = media.color_transfer or ""
        self.transfer = "pq" if trc == "smpte2084" else "hlg" if trc == "arib-std-b67" else "sdr"
        self.interval = 1.0 / float(getattr(settings, "sample_fps", 5.0) or 5.0)
        self.rows: list[tuple[float, ...]] = []
        self.prev_small: np.ndarray | None = None
        self.prev_t: float | None = None
        self.last_noise = np.nan
        self.noise_t = -np.inf

    # -- per frame -------------------------------------------------------------------------
    def on_frame(self, frame: Frame) -> None:
        try:
            row = self._measure(frame)
        except (cv2.error, ValueError) as e:  # a malformed frame must not stop the pass
            frame.notes["image_error"] = str(e)
            row = (frame.t_s, 0.0) + (np.nan,) * len(METRICS)
        self.rows.append(row)

    def _luma(self, frame: Frame) -> np.ndarray:
        """Luma code values at analysis size and orientation: float 0..1 at native precision for
        a high-bit-depth source, else the 8-bit grey image itself (0..255, converted per crop)."""
        y: np.ndarray | None = None
        av_frame = frame.av_frame
        if self.bit_depth > 8 and av_frame is not None:
            try:
                rot = int(round(getattr(av_frame, "rotation", 0) or 0))
                h, w = frame.image.shape[:2]
                if rot % 180:
                    w, h = h, w
                g16 = av_frame.reformat(width=w, height=h, format="gray16le").to_ndarray()
                y = rotate_for_display(g16, rot).astype(np.float32) / 65535.0
            except Exception:  # noqa: BLE001 - odd pixel formats: fall back to the 8-bit image
                y = None
        if y is None or y.shape != frame.gray.shape:
            return frame.gray
        return y

    def _to_sdr(self, code: np.ndarray) -> np.ndarray:
        """Code values (uint8 grey or float 0..1) -> SDR-equivalent brightness 0..1."""
        c = code.astype(np.float32) / 255.0 if code.dtype == np.uint8 else code
        if self.transfer == "pq":
            return pq_to_sdr(c)
        if self.transfer == "hlg":
            return hlg_to_sdr(c)
        return c

    def _measure(self, frame: Frame) -> tuple[float, ...]:
        img = frame.image
        h, w = img.shape[:2]
        box = _face_box(frame.notes.get("face_box"), w, h)
        has_face = box is not None
        if box is None:
            fx0, fy0, fx1, fy1 = FALLBACK_BOX
            box = (int(fx0 * w), int(fy0 * h), int(fx1 * w), int(fy1 * h))
        x0, y0, x1, y1 = box
        code = self._luma(frame)
        full = 255.0 if code.dtype == np.uint8 else 1.0
        face_code = code[y0:y1, x0:x1]
        clipped = float((face_code >= CLIP_LEVEL * full).mean())
        crushed = float((face_code <= CRUSH_LEVEL * full).mean())
        lum = self._to_sdr(face_code)
        brightness = float(lum.mean())
        # Every 4th pixel each way is plenty for a whole-frame mean (and 16x cheaper for HDR).
        scene = float(self._to_sdr(code[::4, ::4]).mean())
        # Balance on the inner face (the outer 15% of the box is often hair or background).
        fh, fw = lum.shape
        inner = lum[int(fh * 0.1) : int(fh * 0.9), int(fw * 0.15) : int(fw * 0.85)]
        ih, iw = inner.shape
        eps = 1e-3
        lr = float(
            np.log2((inner[:, : iw // 2].mean() + eps) / (inner[:, iw - iw // 2 :].mean() + eps))
        )
        tb = float(np.log2((inner[: ih // 2].mean() + eps) / (inner[ih - ih // 2 :].mean() + eps)))
        lms = frame.notes.get("face_landmarks") if has_face else None
        side = _side_stops(code, self._to_sdr, lms)
        b, _g, r, _a = cv2.mean(img[y0:y1, x0:x1])
        warmth = float(np.log2((r + 1.0) / (b + 1.0)))
        sharp = _sharpness(frame.gray[y0:y1, x0:x1])
        if frame.t_s - self.noise_t >= NOISE_INTERVAL_S - 1e-6 or not np.isfinite(self.last_noise):
            self.last_noise = _noise_sigma(frame.gray)
            self.noise_t = frame.t_s
        noise = self.last_noise
        shake, bg_motion = self._motion(frame, box, noise, has_face)
        fx = (x0 + x1) / 2 / h if has_face else np.nan
        fy = (y0 + y1) / 2 / h if has_face else np.nan
        return (
            frame.t_s,
            float(has_face),
            (y1 - y0) / h,
            fx,
            fy,
            sharp,
            brightness,
            scene,
            clipped,
            crushed,
            lr,
            tb,
            side,
            noise,
            warmth,
            shake,
            bg_motion,
        )

    def _motion(
        self, frame: Frame, box: tuple[int, int, int, int], noise: float, has_face: bool
    ) -> tuple[float, float]:
        gray = frame.gray
        h, w = gray.shape
        s = MOTION_WIDTH_PX / w
        sh = max(8, int(round(h * s)))
        small = cv2.resize(gray, (MOTION_WIDTH_PX, sh), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (MOTION_BLUR_PX, MOTION_BLUR_PX), 0)
        # Equalise the gain so a lighting change (IMG005) is not read as motion: LK tracking and
        # the difference image both assume constant brightness.
        mean = float(small.mean())
        if mean > MOTION_MIN_MEAN:
            small = cv2.convertScaleAbs(small, alpha=MOTION_TARGET_MEAN / mean)
        prev, prev_t = self.prev_small, self.prev_t
        self.prev_small, self.prev_t = small, frame.t_s
        if (
            prev is None
            or prev.shape != small.shape
            or prev_t is None
            or frame.t_s - prev_t > MOTION_MAX_GAP_INTERVALS * self.interval
        ):
            return np.nan, np.nan
        # The person: the face box widened to the shoulders and down to the bottom edge.  The
        # fallback region is already wider than a face, so it is used as the person's column.
        x0, y0, x1, y1 = (int(v * s) for v in box)
        bw, bh = x1 - x0, y1 - y0
        wx, wy = (PERSON_WIDEN_X * bw, PERSON_WIDEN_Y * bh) if has_face else (0.0, 0.0)
        mask = np.full(small.shape, 255, np.uint8)
        mask[max(0, y0 - int(wy)) :, max(0, x0 - int(wx)) : min(MOTION_WIDTH_PX, x1 + int(wx))] = 0
        if (mask > 0).mean() < MOTION_MIN_BACKGROUND:
            return np.nan, np.nan  # the person fills the frame: no background to judge
        short = min(MOTION_WIDTH_PX, sh)
        pts = cv2.goodFeaturesToTrack(
            prev,
            maxCorners=SHAKE_MAX_CORNERS,
            qualityLevel=SHAKE_CORNER_QUALITY,
            minDistance=SHAKE_CORNER_SPACING_PX,
            mask=mask,
        )
        dx = dy = 0.0
        shake = np.nan
        if pts is not None and len(pts) >= MOTION_MIN_TRACKS:
            nxt, st, _err = cv2.calcOpticalFlowPyrLK(
                prev,
                small,
                pts,
                None,
                winSize=(SHAKE_LK_WINDOW_PX, SHAKE_LK_WINDOW_PX),
                maxLevel=SHAKE_LK_LEVELS,
            )
            ok = st.reshape(-1) == 1
            if ok.sum() >= MOTION_MIN_TRACKS:
                d = (nxt - pts).reshape(-1, 2)[ok]
                dx, dy = (float(v) for v in np.median(d, axis=0))
                shake = float(np.hypot(dx, dy) / short)
        shifted = prev
        if dx or dy:
            shifted = cv2.warpAffine(
                prev,
                np.float32([[1, 0, dx], [0, 1, dy]]),
                (MOTION_WIDTH_PX, sh),
                borderMode=cv2.BORDER_REPLICATE,
            )
        diff = cv2.absdiff(small, shifted)
        # Grain is averaged down ~sqrt(area ratio) in the small copy, then by the blur.
        thr = MOTION_DIFF_LEVELS + MOTION_NOISE_FACTOR * noise * s
        m = MOTION_BORDER_PX
        inner = mask[m:-m, m:-m] > 0
        changed = (diff[m:-m, m:-m] > thr) & inner
        bg_motion = float(changed.sum() / max(1, inner.sum()))
        return shake, bg_motion

    # -- end -------------------------------------------------------------------------------
    def finish(self, ev: Evidence) -> ImageEvidence | None:
        if not self.rows:
            ev.missing["image"] = "no video frames were sampled"
            return None
        a = np.array(self.rows, dtype=np.float64)
        # Row layout as appended in on_frame: time, face flag, then METRICS in order.
        col = {n: a[:, i] for i, n in enumerate(("t_s", "has_face", *METRICS))}
        has_face = col.pop("has_face") > 0.5
        return ImageEvidence(
            has_face=has_face,
            sample_interval_s=self.interval,
            transfer=self.transfer,
            bit_depth=self.bit_depth,
            **col,
        )


def _face_box(box: Any, w: int, h: int) -> tuple[int, int, int, int] | None:
    if box is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    x0, x1 = max(0, int(round(x0))), min(w, int(round(x1)))
    y0, y1 = max(0, int(round(y0))), min(h, int(round(y1)))
    if x1 - x0 < 12 or y1 - y0 < 12:
        return None
    return x0, y0, x1, y1


def _side_stops(code: np.ndarray, to_sdr: Any, landmarks: Any) -> float:
    """log2(light on the picture-left / picture-right of the face) in linear light: for each
    mirrored pair of SIDE_PAIRS, the median linear luminance of a small disc around each
    landmark (a median, so a strand of hair, a mole or a specular spot does not move it); the
    median over the pairs (so one pair under hair or a hand does not decide).  NaN when the
    landmarks are missing or the head is turned (see SIDE_MAX_TURN)."""
    if landmarks is None:
        return np.nan
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] < 468 or not np.isfinite(lm[:, :2]).all():
        return np.nan
    xl, xr = lm[234, 0], lm[454, 0]
    width = abs(xr - xl)
    if width < SIDE_MIN_FACE_PX:
        return np.nan
    if abs((lm[1, 0] - min(xl, xr)) / width - 0.5) > SIDE_MAX_TURN:
        return np.nan
    h, w = code.shape
    r = max(1, int(round(SIDE_PATCH_R * width)))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = (xx * xx + yy * yy) <= r * r

    def patch(i: int) -> float:
        cx, cy = int(round(lm[i, 0])), int(round(lm[i, 1]))
        if cx - r < 0 or cy - r < 0 or cx + r >= w or cy + r >= h:
            return np.nan
        v = float(np.median(to_sdr(code[cy - r : cy + r + 1, cx - r : cx + r + 1])[disc]))
        return v**LINEAR_GAMMA if v >= SIDE_MIN_CODE else np.nan

    ratios = []
    for a, b in SIDE_PAIRS:
        la, lb = patch(a), patch(b)
        if np.isfinite(la) and np.isfinite(lb):
            # Landmark a is on the picture's left for a frontal face; the outline points say
            # whether the picture is mirrored (it is not for a camera, but a flipped clip is).
            left, right = (la, lb) if lm[a, 0] <= lm[b, 0] else (lb, la)
            ratios.append(np.log2((left + 1e-4) / (right + 1e-4)))
    if len(ratios) < 3:
        return np.nan
    return float(np.median(ratios))


def _sharpness(crop: np.ndarray) -> float:
    """1 - the Crete-Roffet no-reference blur score, on the crop resampled to FACE_NORM_PX tall.

    The crop is compared with a re-blurred copy of itself: a sharp face loses much of its
    neighbour-pixel variation when re-blurred, an already blurry face loses little.  The score is
    a ratio, so it does not depend on exposure or contrast."""
    ch, cw = crop.shape
    if ch < 8 or cw < 8:
        return np.nan
    tw = max(8, int(round(cw * FACE_NORM_PX / ch)))
    f = cv2.resize(
        crop,
        (tw, FACE_NORM_PX),
        interpolation=cv2.INTER_AREA if ch > FACE_NORM_PX else cv2.INTER_LINEAR,
    ).astype(np.float32)
    bv = cv2.blur(f, (1, 9))
    bh = cv2.blur(f, (9, 1))
    scores = []
    for blurred, axis in ((bv, 0), (bh, 1)):
        d_f = np.abs(np.diff(f, axis=axis))
        d_b = np.abs(np.diff(blurred, axis=axis))
        s_f = float(d_f.sum())
        if s_f <= 1e-6:
            return 0.0
        scores.append(float(np.maximum(0, d_f - d_b).sum()) / s_f)
    return float(max(scores))


def _noise_sigma(gray: np.ndarray) -> float:
    """Immerkaer's fast noise estimate, over the flattest half of the picture (edges and texture
    would otherwise count as noise).  8-bit levels.  Done with OpenCV integer filters and a
    histogram median: the whole-frame percentile in NumPy cost ~20 ms a 720p frame."""
    if gray.shape[0] < 8 or gray.shape[1] < 8:
        return np.nan
    conv = cv2.convertScaleAbs(cv2.filter2D(gray, cv2.CV_16S, _IMMERKAER), alpha=0.25)  # |.|/4
    gx = cv2.convertScaleAbs(cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3), alpha=0.125)
    gy = cv2.convertScaleAbs(cv2.Sobel(gray, cv2.CV_16S, 0, 1, ksize=3), alpha=0.125)
    mag = cv2.add(gx, gy)  # (|gx| + |gy|) / 8, saturating at 255
    # Crushed and clipped pixels carry no noise and would hide it; so do the 1-px borders.
    valid = cv2.inRange(gray, 9, 246)
    valid[0, :] = valid[-1, :] = 0
    valid[:, 0] = valid[:, -1] = 0
    hist = cv2.calcHist([mag], [0], valid, [256], [0, 256]).ravel()
    total = float(hist.sum())
    if total < 100:
        return np.nan
    median_bin = int(np.searchsorted(np.cumsum(hist), total / 2))
    flat = cv2.bitwise_and(valid, cv2.inRange(mag, 0, median_bin))
    if cv2.countNonZero(flat) < 100:
        return np.nan
    mean_abs = 4.0 * float(cv2.mean(conv, mask=flat)[0])
    return float(np.sqrt(np.pi / 2) / 6.0 * mean_abs)


def _factory(settings: Any, media: MediaInfo) -> ImageAnalyser:
    return ImageAnalyser(settings, media)


register(AnalyserSpec(provides="image", factory=_factory, requires=("faces",)))

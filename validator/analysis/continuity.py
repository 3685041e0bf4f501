"""Continuity of the take (Evidence.continuity; rules EDT001-EDT003).

Owns two kinds of measurement:

- from sampled frames (Settings.sample_fps, 5 fps by default), a cheap signature per sample:
  a 64x48 blurred grey thumbnail, an 8x4x4 colour histogram and a 160-px-wide grey copy.
  Between consecutive samples it records the thumbnail's structural correlation (a cut drops it;
  a lighting step does not, because correlation ignores gain and offset), the share of the
  thumbnail's 4x4 cells that changed (a cut changes nearly all; a person moving in a close shot
  only those they cover), the colour-histogram distance, and the mean and worst-block pixel
  difference (a frozen picture has none).  The
  correlation with the sample two steps back catches gradual transitions (dissolves) that change
  the picture a little per step.
- from the decode pass (`ev.stream`, every frame, not only sampled ones): frame timestamps
  (intervals, gaps, repeated timestamps) and packet sizes (an encoder writes a near-empty packet
  for a frame that repeats the previous one).

Smallest events visible at 5 fps: a cut anywhere (one sample pair straddles it); a frozen
picture once it covers two consecutive samples, i.e. any freeze of 0.4 s or more (a 0.2-0.4 s
freeze is seen only when it happens to span two sample times); repeated frames shorter than that
only through the packet sizes.  Timestamp gaps are seen at any length, from every frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..evidence import AnalyserSpec, Evidence, Frame, MediaInfo
from . import register

THUMB = (64, 48)
DIFF_WIDTH_PX = 160
GRID = 4  # the diff copy is split GRID x GRID; the busiest cell tells a still person from a freeze
# A packet this small (or this small relative to the median packet) holds no picture change.
TINY_PACKET_BYTES = 48
TINY_PACKET_RATIO = 0.03


@dataclass(frozen=True)
class ContinuityEvidence:
    """Per-sample signature comparisons plus whole-stream timing.

    Sample arrays (index i compares sample i with sample i-1; NaN for the first):
    `corr_prev` thumbnail correlation -1..1, `corr_prev2` the same with sample i-2,
    `hist_dist` Bhattacharyya distance of colour histograms 0..1, `cells_changed` and
    `cells_changed2` the share of the thumbnail's GRIDxGRID cells whose content changed (vs
    sample i-1 / i-2: a cut changes nearly all of them, a head moving out of a close shot
    only those it covered), `diff` mean absolute grey difference (8-bit levels), `diff_peak`
    the same in the busiest of GRIDxGRID cells, `luma` mean grey level of the sample.

    Stream arrays: `frame_pts_s` (every decoded frame, sorted), `packet_bytes` (decode order),
    `tiny_packet` flags (packets too small to hold a picture change).
    """

    t_s: np.ndarray
    corr_prev: np.ndarray
    corr_prev2: np.ndarray
    hist_dist: np.ndarray
    cells_changed: np.ndarray
    cells_changed2: np.ndarray
    diff: np.ndarray
    diff_peak: np.ndarray
    luma: np.ndarray
    sample_interval_s: float
    frame_pts_s: np.ndarray
    packet_bytes: np.ndarray
    tiny_packet: np.ndarray
    declared_fps: float | None

    @property
    def n(self) -> int:
        return int(len(self.t_s))

    def cuts(self, max_corr: float, min_hist_dist: float,
             min_cells: float = 0.0) -> list[tuple[float, float, float]]:
        """Sample pairs that look like a shot change: (t_before, t_after, correlation)."""
        out = []
        for i in range(1, self.n):
            c, hd, cells = self.corr_prev[i], self.hist_dist[i], self.cells_changed[i]
            if np.isnan(c):
                continue
            if c < max_corr and hd >= min_hist_dist and not cells < min_cells:
                out.append((float(self.t_s[i - 1]), float(self.t_s[i]), float(c)))
        return out

    def transitions(self, max_corr: float, min_hist_dist: float,
                    min_cells: float = 0.0) -> list[tuple[float, float, float]]:
        """Gradual transitions: each single step looks continuous but the picture two steps apart
        is a different shot, with `min_cells` of its cells changed and twice `min_hist_dist` of
        colour change over the two steps.  (t_start, t_end, correlation two steps apart)."""
        out = []
        for i in range(2, self.n):
            c2 = self.corr_prev2[i]
            if np.isnan(c2) or c2 >= max_corr or self.cells_changed2[i] < min_cells:
                continue
            steps = self.corr_prev[i - 1:i + 1]
            if np.any(steps < max_corr):  # a plain cut: reported as such
                continue
            # Both steps of a dissolve change the colours; a person moving in a close shot
            # hardly does (the stage clip: 0.16 over two steps, against 0.2 needed).
            if self.hist_dist[i - 1] + self.hist_dist[i] < 2 * min_hist_dist:
                continue
            out.append((float(self.t_s[i - 2]), float(self.t_s[i]), float(c2)))
        return _merge_events(out)

    def stats_rows(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(self.n):
            row: dict[str, Any] = {"t_s": round(float(self.t_s[i]), 3), "stream": "video"}
            for c in ("corr_prev", "corr_prev2", "hist_dist", "cells_changed", "cells_changed2",
                      "diff", "diff_peak", "luma"):
                v = float(getattr(self, c)[i])
                row[f"cont_{c}"] = None if np.isnan(v) else round(v, 5)
            rows.append(row)
        return rows


def _merge_events(ev: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    out: list[tuple[float, float, float]] = []
    for a, b, c in ev:
        if out and a <= out[-1][1]:
            pa, pb, pc = out[-1]
            out[-1] = (pa, max(pb, b), min(pc, c))
        else:
            out.append((a, b, c))
    return out


def _thumb(gray: np.ndarray) -> np.ndarray:
    t = cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.GaussianBlur(t, (3, 3), 0)


# A thumbnail cell flatter than this (std, 8-bit levels) has no structure to correlate; it
# counts as changed when its mean moves by more than FLAT_CELL_STEP.
FLAT_CELL_STD = 4.0
FLAT_CELL_STEP = 12.0
CELL_SAME_CORR = 0.3


def cells_changed(a: np.ndarray | None, b: np.ndarray) -> float:
    """Share of the GRIDxGRID cells of two thumbnails whose content differs (cell correlation
    below CELL_SAME_CORR, or a flat cell that changed level or gained structure)."""
    if a is None or a.shape != b.shape:
        return np.nan
    h, w = b.shape
    ch, cw = h // GRID, w // GRID

    def split(x: np.ndarray) -> np.ndarray:
        return x[: ch * GRID, : cw * GRID].reshape(GRID, ch, GRID, cw).transpose(0, 2, 1, 3).reshape(GRID * GRID, -1)

    x, y = split(a), split(b)
    mx, my = x.mean(axis=1), y.mean(axis=1)
    sx, sy = x.std(axis=1), y.std(axis=1)
    cov = ((x - mx[:, None]) * (y - my[:, None])).mean(axis=1)
    flat_x, flat_y = sx < FLAT_CELL_STD, sy < FLAT_CELL_STD
    corr = cov / np.maximum(sx * sy, 1e-6)
    changed = np.where(flat_x & flat_y, np.abs(mx - my) > FLAT_CELL_STEP,
                       np.where(flat_x | flat_y, True, corr < CELL_SAME_CORR))
    return float(changed.mean())


def _norm_thumb(t: np.ndarray) -> np.ndarray:
    t = t.reshape(-1) - t.mean()
    n = float(np.linalg.norm(t))
    return t / n if n > 1e-6 else t  # a flat picture has no structure: correlation 0


def _corr(a: np.ndarray | None, b: np.ndarray, mean_a: float, mean_b: float) -> float:
    if a is None or a.shape != b.shape:
        return np.nan
    if not a.any() or not b.any():
        # Flat pictures (black, one colour) have no structure: the same flat is continuous,
        # anything else is not.
        return 1.0 if (not a.any() and not b.any() and abs(mean_a - mean_b) < 8.0) else 0.0
    return float(np.dot(a, b))


class ContinuityAnalyser:
    wants_frames = True

    def __init__(self, settings: Any, media: MediaInfo):
        self.interval = 1.0 / float(getattr(settings, "sample_fps", 5.0) or 5.0)
        self.declared_fps = media.fps
        self.rows: list[tuple[float, ...]] = []
        self.thumbs: list[np.ndarray | None] = [None, None]  # samples i-2, i-1, normalised
        self.raw: list[np.ndarray | None] = [None, None]  # the same, as grey thumbnails
        self.means = [0.0, 0.0]
        self.prev_hist: np.ndarray | None = None
        self.prev_small: np.ndarray | None = None

    def on_frame(self, frame: Frame) -> None:
        try:
            gray = frame.gray
            raw = _thumb(gray)
            thumb = _norm_thumb(raw)
            small_bgr = cv2.resize(frame.image, THUMB, interpolation=cv2.INTER_AREA)
            hist = cv2.calcHist([small_bgr], [0, 1, 2], None, [4, 4, 8], [0, 256, 0, 256, 0, 256])
            hist = (hist / max(1.0, float(hist.sum()))).astype(np.float32)
            h, w = gray.shape
            sh = max(GRID, int(round(h * DIFF_WIDTH_PX / w)))
            small = cv2.resize(gray, (DIFF_WIDTH_PX, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
        except cv2.error:
            self.rows.append((frame.t_s,) + (np.nan,) * 8)
            self.thumbs = [self.thumbs[1], None]
            self.raw = [self.raw[1], None]
            self.prev_hist = self.prev_small = None
            return
        mean = float(gray.mean())
        c1 = _corr(self.thumbs[1], thumb, self.means[1], mean)
        c2 = _corr(self.thumbs[0], thumb, self.means[0], mean)
        hd = np.nan
        if self.prev_hist is not None:
            hd = float(cv2.compareHist(self.prev_hist, hist, cv2.HISTCMP_BHATTACHARYYA))
        diff = peak = np.nan
        if self.prev_small is not None and self.prev_small.shape == small.shape:
            d = np.abs(small - self.prev_small)
            diff = float(d.mean())
            gh, gw = sh // GRID, DIFF_WIDTH_PX // GRID
            cells = d[: gh * GRID, : gw * GRID].reshape(GRID, gh, GRID, gw).mean(axis=(1, 3))
            peak = float(cells.max())
        k1, k2 = cells_changed(self.raw[1], raw), cells_changed(self.raw[0], raw)
        self.rows.append((frame.t_s, c1, c2, hd, k1, k2, diff, peak, mean))
        self.thumbs = [self.thumbs[1], thumb]
        self.raw = [self.raw[1], raw]
        self.means = [self.means[1], mean]
        self.prev_hist, self.prev_small = hist, small

    def finish(self, ev: Evidence) -> ContinuityEvidence | None:
        s = ev.stream
        pts = s.video_pts_s if s is not None else np.zeros(0)
        pb = s.video_packet_bytes if s is not None else np.zeros(0, np.int64)
        if not self.rows and len(pts) == 0:
            ev.missing["continuity"] = "no video frames were decoded"
            return None
        a = np.array(self.rows, dtype=np.float64).reshape(-1, 9)
        if len(pb):
            med = float(np.median(pb))
            tiny = pb <= max(TINY_PACKET_BYTES, TINY_PACKET_RATIO * med)
        else:
            tiny = np.zeros(0, bool)
        return ContinuityEvidence(
            t_s=a[:, 0], corr_prev=a[:, 1], corr_prev2=a[:, 2], hist_dist=a[:, 3],
            cells_changed=a[:, 4], cells_changed2=a[:, 5], diff=a[:, 6], diff_peak=a[:, 7],
            luma=a[:, 8], sample_interval_s=self.interval,
            frame_pts_s=np.asarray(pts, np.float64), packet_bytes=np.asarray(pb, np.int64),
            tiny_packet=tiny, declared_fps=self.declared_fps)


def _factory(settings: Any, media: MediaInfo) -> ContinuityAnalyser:
    return ContinuityAnalyser(settings, media)


register(AnalyserSpec(provides="continuity", factory=_factory))

"""Continuity of the take (Evidence.continuity; rules EDT001-EDT003).

Owns two kinds of measurement:

- from sampled frames (Settings.sample_fps, 5 fps by default), a cheap signature per sample:
  a 64x48 blurred grey thumbnail (kept, 3 KB a sample), an 8x4x4 colour histogram and a
  160-px-wide grey copy.  Between consecutive samples it records the thumbnail's structural
  correlation (a cut drops it; a lighting step does not, because correlation ignores gain and
  offset), the share of the thumbnail's 4x4 cells that changed (a cut changes nearly all; a
  person moving in a close shot only those they cover), the colour-histogram distance, and the
  mean and worst-block pixel difference (a frozen picture has none).  A gradual transition
  (dissolve, fade to another shot) changes the colours a little at every step while each step
  still looks continuous; `transitions()` finds such runs and compares the picture before the
  run with the picture after it.
- from the decode pass (`ev.stream`, every frame, not only sampled ones): frame timestamps
  (intervals, gaps, repeated timestamps) and packet sizes (an encoder writes a near-empty packet
  for a frame that repeats the previous one).

Smallest events visible at 5 fps: a hard cut anywhere (one sample pair straddles it); a
dissolve of any length that spans at least two sample intervals (shorter ones look like cuts);
a frozen picture once it covers two consecutive samples, i.e. any freeze of 0.4 s or more (a
0.2-0.4 s freeze is seen only when it happens to span two sample times); repeated frames shorter
than that only through the packet sizes.  Timestamp gaps are seen at any length, from every
frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from ..buffers import Spilled
from ..evidence import AnalyserSpec, Evidence, Frame, MediaInfo
from . import register

THUMB = (64, 48)
DIFF_WIDTH_PX = 160
GRID = 4  # the diff copy is split GRID x GRID; the busiest cell tells a still person from a freeze
# A packet this small (or this small relative to the median packet) holds no picture change.
TINY_PACKET_BYTES = 48
TINY_PACKET_RATIO = 0.03


@dataclass(frozen=True, eq=False)  # arrays: compare fields explicitly, never with ==
class ContinuityEvidence:
    """Per-sample signature comparisons plus whole-stream timing.

    Sample arrays (index i compares sample i with sample i-1; NaN for the first):
    `corr_prev` thumbnail correlation -1..1, `hist_dist` Bhattacharyya distance of colour
    histograms 0..1, `cells_changed` the share of the thumbnail's GRIDxGRID cells whose content
    changed, `diff` mean absolute grey difference (8-bit levels), `diff_peak` the same in the
    busiest of GRIDxGRID cells, `luma` mean grey level of the sample.  `thumbs` are the
    samples' grey thumbnails (n, 48, 64) uint8.

    Stream arrays: `frame_pts_s` (every decoded frame, sorted), `packet_bytes` (decode order),
    `tiny_packet` flags (packets too small to hold a picture change).

    `shot_breaks`: the cuts and transitions (t_before, t_after), sorted, as EDT001 finds them
    with the parameters it was given (`Settings.rule_params("EDT001")`, read when the analyser
    starts).  The rules that compare consecutive samples (IMG005, IMG007, IMG008) leave
    comparisons across a break to EDT001 and read them here, not EDT001's parameters.
    """

    t_s: np.ndarray
    corr_prev: np.ndarray
    hist_dist: np.ndarray
    cells_changed: np.ndarray
    diff: np.ndarray
    diff_peak: np.ndarray
    luma: np.ndarray
    thumbs: Any  # (n, 48, 64) uint8: an array, or a `buffers.Spilled` read an item at a time
    sample_interval_s: float
    frame_pts_s: np.ndarray
    packet_bytes: np.ndarray
    tiny_packet: np.ndarray
    declared_fps: float | None
    shot_breaks: tuple[tuple[float, float], ...]

    @property
    def n(self) -> int:
        return int(len(self.t_s))

    def _is_cut(self, i: int, max_corr: float, min_hist_dist: float, min_cells: float) -> bool:
        c = self.corr_prev[i]
        return bool(
            c < max_corr
            and self.hist_dist[i] >= min_hist_dist
            and not self.cells_changed[i] < min_cells
        )

    def cuts(
        self, max_corr: float, min_hist_dist: float, min_cells: float = 0.0
    ) -> list[tuple[float, float, float]]:
        """Sample pairs that look like a shot change: (t_before, t_after, correlation)."""
        return [
            (float(self.t_s[i - 1]), float(self.t_s[i]), float(self.corr_prev[i]))
            for i in range(1, self.n)
            if self._is_cut(i, max_corr, min_hist_dist, min_cells)
        ]

    def compare(self, i: int, j: int) -> tuple[float, float]:
        """(structural correlation, share of cells changed) between samples i and j."""
        a, b = self.thumbs[i].astype(np.float32), self.thumbs[j].astype(np.float32)
        return _corr(
            _norm_thumb(a), _norm_thumb(b), float(a.mean()), float(b.mean())
        ), cells_changed(a, b)

    def transitions(
        self,
        max_corr: float,
        min_hist_dist: float,
        min_cells: float = 0.0,
        min_total_hist: float = 0.6,
    ) -> list[tuple[float, float, float]]:
        """Gradual transitions: a run of two or more consecutive steps that each change the
        colours by `min_hist_dist` (none of them a cut), `min_total_hist` in all, and that end
        on a different shot: the sample before the run and the last sample of the run differ as
        a cut would.  (t_start, t_end, correlation across the run)."""
        out = []
        i = 1
        while i < self.n:
            if not (self.hist_dist[i] >= min_hist_dist) or self._is_cut(
                i, max_corr, min_hist_dist, min_cells
            ):
                i += 1
                continue
            j = i
            while (
                j + 1 < self.n
                and self.hist_dist[j + 1] >= min_hist_dist
                and not self._is_cut(j + 1, max_corr, min_hist_dist, min_cells)
            ):
                j += 1
            if (
                j > i
                and float(np.sum(self.hist_dist[i : j + 1])) >= min_total_hist
                and len(self.thumbs) > j
            ):
                corr, cells = self.compare(i - 1, j)
                if corr < max_corr and cells >= min_cells:
                    out.append((float(self.t_s[i - 1]), float(self.t_s[j]), corr))
            i = j + 1
        return out

    def shot_events(
        self,
        max_corr: float,
        min_hist_dist: float,
        min_cells: float,
        include_transitions: bool,
        min_total_hist: float,
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """(cuts, transitions) as (t_before, t_after): EDT001's definition of a shot change,
        also what `shot_breaks` holds (both lists, sorted)."""
        cuts = [(a, b) for a, b, _ in self.cuts(max_corr, min_hist_dist, min_cells)]
        trans = []
        if include_transitions:
            trans = [
                (a, b)
                for a, b, _ in self.transitions(max_corr, min_hist_dist, min_cells, min_total_hist)
            ]
        return cuts, trans

    def with_shot_breaks(self, *cut_args: Any) -> ContinuityEvidence:
        """A copy whose `shot_breaks` are `shot_events(*cut_args)`, cuts and transitions."""
        cuts, trans = self.shot_events(*cut_args)
        return replace(self, shot_breaks=tuple(sorted(cuts + trans)))

    def stats_rows(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(self.n):
            row: dict[str, Any] = {"t_s": round(float(self.t_s[i]), 3), "stream": "video"}
            for c in ("corr_prev", "hist_dist", "cells_changed", "diff", "diff_peak", "luma"):
                v = float(getattr(self, c)[i])
                row[f"cont_{c}"] = None if np.isnan(v) else round(v, 5)
            rows.append(row)
        return rows


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
        return (
            x[: ch * GRID, : cw * GRID]
            .reshape(GRID, ch, GRID, cw)
            .transpose(0, 2, 1, 3)
            .reshape(GRID * GRID, -1)
        )

    x, y = split(a), split(b)
    mx, my = x.mean(axis=1), y.mean(axis=1)
    sx, sy = x.std(axis=1), y.std(axis=1)
    cov = ((x - mx[:, None]) * (y - my[:, None])).mean(axis=1)
    flat_x, flat_y = sx < FLAT_CELL_STD, sy < FLAT_CELL_STD
    corr = cov / np.maximum(sx * sy, 1e-6)
    changed = np.where(
        flat_x & flat_y,
        np.abs(mx - my) > FLAT_CELL_STEP,
        np.where(flat_x | flat_y, True, corr < CELL_SAME_CORR),
    )
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


def cut_args(settings: Any) -> tuple[float, float, float, bool, float]:
    """EDT001's parameters, in `ContinuityEvidence.shot_events`'s order: the shot breaks are
    cuts and transitions as EDT001 is set to see them (its params in `settings`)."""
    p = settings.rule_params("EDT001")
    return (
        float(p.max_corr),
        float(p.min_hist_dist),
        float(p.min_changed_cells),
        bool(p.include_transitions),
        float(p.min_transition_colour),
    )


class ContinuityAnalyser:
    wants_frames = True

    def __init__(self, settings: Any, media: MediaInfo):
        self.interval = 1.0 / float(getattr(settings, "sample_fps", 5.0) or 5.0)
        self.declared_fps = media.fps
        self.cut_args = cut_args(settings)
        self.rows: list[tuple[float, ...]] = []
        # Every sample's grey thumbnail (uint8), in an unnamed temporary file rather than in
        # memory (`buffers.Spilled`, 15 KB a second): only gradual transitions read two back.
        self.thumbs = Spilled((THUMB[1], THUMB[0]), np.uint8)
        self.prev: tuple[np.ndarray, np.ndarray, float] | None = None  # raw, normalised, mean
        self.prev_hist: np.ndarray | None = None
        self.prev_small: np.ndarray | None = None

    def on_frame(self, frame: Frame) -> None:
        try:
            # One area-resize of the full frame; every signature is taken from that copy.
            h, w = frame.image.shape[:2]
            sh = max(GRID, int(round(h * DIFF_WIDTH_PX / w)))
            small_bgr = cv2.resize(frame.image, (DIFF_WIDTH_PX, sh), interpolation=cv2.INTER_AREA)
            small_gray = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2GRAY)
            raw = _thumb(small_gray)
            thumb_bgr = cv2.resize(small_bgr, THUMB, interpolation=cv2.INTER_AREA)
            hist = cv2.calcHist([thumb_bgr], [0, 1, 2], None, [4, 4, 8], [0, 256, 0, 256, 0, 256])
            hist = (hist / max(1.0, float(hist.sum()))).astype(np.float32)
            small = small_gray.astype(np.float32)
        except cv2.error:
            self.rows.append((frame.t_s,) + (np.nan,) * 6)
            self.thumbs.append(np.zeros((THUMB[1], THUMB[0]), np.uint8))
            self.prev = None
            self.prev_hist = self.prev_small = None
            return
        mean = float(small.mean())
        norm = _norm_thumb(raw)
        c1 = k1 = np.nan
        if self.prev is not None:
            p_raw, p_norm, p_mean = self.prev
            c1 = _corr(p_norm, norm, p_mean, mean)
            k1 = cells_changed(p_raw, raw)
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
        self.rows.append((frame.t_s, c1, hd, k1, diff, peak, mean))
        self.thumbs.append(np.clip(raw + 0.5, 0, 255).astype(np.uint8))
        self.prev = (raw, norm, mean)
        self.prev_hist, self.prev_small = hist, small

    def finish(self, ev: Evidence) -> ContinuityEvidence | None:
        s = ev.stream
        pts = s.video_pts_s if s is not None else np.zeros(0)
        pb = s.video_packet_bytes if s is not None else np.zeros(0, np.int64)
        if not self.rows and len(pts) == 0:
            ev.missing["continuity"] = "no video frames were decoded"
            return None
        a = np.array(self.rows, dtype=np.float64).reshape(-1, 7)
        if len(pb):
            med = float(np.median(pb))
            tiny = pb <= max(TINY_PACKET_BYTES, TINY_PACKET_RATIO * med)
        else:
            tiny = np.zeros(0, bool)
        thumbs = self.thumbs
        return ContinuityEvidence(
            t_s=a[:, 0],
            corr_prev=a[:, 1],
            hist_dist=a[:, 2],
            cells_changed=a[:, 3],
            diff=a[:, 4],
            diff_peak=a[:, 5],
            luma=a[:, 6],
            thumbs=thumbs,
            sample_interval_s=self.interval,
            frame_pts_s=np.asarray(pts, np.float64),
            packet_bytes=np.asarray(pb, np.int64),
            tiny_packet=tiny,
            declared_fps=self.declared_fps,
            shot_breaks=(),
        ).with_shot_breaks(*self.cut_args)


def _factory(settings: Any, media: MediaInfo) -> ContinuityAnalyser:
    return ContinuityAnalyser(settings, media)


register(AnalyserSpec(provides="continuity", factory=_factory))

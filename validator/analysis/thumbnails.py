"""Thumbnails: small JPEG pictures of sampled frames, for reports people look at.

Only run when a renderer asks for it (`validate(..., extra_evidence=("thumbnails",))`); no rule
needs it.  It measures nothing and decides nothing: it keeps what the clip looked like at a
given moment so the HTML report can show "the worst moment" of a failing rule.

Memory is bounded whatever the clip length: at most `MAX_THUMBS` thumbnails of at most
`THUMB_WIDTH_PX` pixels wide are kept (a few KB each, so well under 2 MB).  When the store is
full, every other thumbnail is dropped and the keeping interval doubles, so the thumbnails stay
evenly spread over the whole clip (the same decimation a min/max waveform view uses).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..evidence import AnalyserSpec, Evidence, Frame
from . import register

MAX_THUMBS = 240
THUMB_WIDTH_PX = 240
JPEG_QUALITY = 70
# Start by keeping one thumbnail per this many seconds; doubles each time the store fills up.
START_INTERVAL_S = 0.2


@dataclass
class Thumbnails:
    """Kept thumbnails in time order: `times_s[i]` is the frame time of the JPEG `jpegs[i]`."""

    times_s: list[float] = field(default_factory=list)
    jpegs: list[bytes] = field(default_factory=list)
    width: int = 0
    height: int = 0

    def __len__(self) -> int:
        return len(self.times_s)

    def nearest(self, t_s: float) -> tuple[float, bytes] | None:
        """The thumbnail closest in time to `t_s`, or None when there is none."""
        if not self.times_s:
            return None
        i = bisect.bisect_left(self.times_s, t_s)
        cands = [j for j in (i - 1, i) if 0 <= j < len(self.times_s)]
        j = min(cands, key=lambda k: abs(self.times_s[k] - t_s))
        return self.times_s[j], self.jpegs[j]

    def nbytes(self) -> int:
        return sum(len(j) for j in self.jpegs)


class ThumbnailAnalyser:
    wants_frames = True

    def __init__(
        self,
        settings: Any = None,
        media: Any = None,
        *,
        max_thumbs: int = MAX_THUMBS,
        width_px: int = THUMB_WIDTH_PX,
        interval_s: float = START_INTERVAL_S,
    ):
        if max_thumbs < 2:
            raise ValueError("max_thumbs must be at least 2")
        self.max_thumbs = max_thumbs
        self.width_px = width_px
        self.interval_s = interval_s
        self.next_t = 0.0
        self.store = Thumbnails()

    def on_frame(self, frame: Frame) -> None:
        if frame.t_s + 1e-6 < self.next_t:
            return
        img = frame.image
        h, w = img.shape[:2]
        if w > self.width_px:
            nh = max(2, int(round(h * self.width_px / w)))
            img = cv2.resize(img, (self.width_px, nh), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:  # nothing to show for this frame; the next one will do
            return
        self.store.times_s.append(float(frame.t_s))
        self.store.jpegs.append(np.asarray(buf).tobytes())
        self.store.height, self.store.width = img.shape[:2]
        self.next_t = frame.t_s + self.interval_s
        if len(self.store) >= self.max_thumbs:
            # Keep every other one: still evenly spread, half the memory, half the rate from now.
            self.store.times_s = self.store.times_s[::2]
            self.store.jpegs = self.store.jpegs[::2]
            self.interval_s *= 2
            self.next_t = self.store.times_s[-1] + self.interval_s

    def finish(self, ev: Evidence) -> Thumbnails | None:
        return self.store if len(self.store) else None


register(AnalyserSpec(provides="thumbnails", factory=ThumbnailAnalyser))

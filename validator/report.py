"""Report model: typed results of one validation, and the JSON form in `interface.md`.

`Report.to_dict()` is the JSON report (schema 1.x); `Report.from_dict()` reads it back (used by
the cache and by tools that post-process reports).  `Report.evidence` keeps the measurements
for renderers that draw timelines, `Report.timeline` their portable form; neither is serialised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .spans import Span

if TYPE_CHECKING:
    from .evidence import Evidence
    from .photo.validate import PhotoEvidence
    from .timeline import Timeline

SCHEMA_VERSION = "1.0"
TOOL_NAME = "replica-clip-validator"
COUNTED = ("error", "warning", "info")  # failure severities counted, in display order


def tool_version() -> str:
    from .version import __version__

    return __version__


@dataclass(frozen=True)
class Result:
    rule: str
    name: str
    severity: str
    status: str  # pass | fail | skip
    message: str
    measured: Any = None
    limit: Any = None
    unit: str | None = None
    hint: str | None = None
    spans: tuple[Span, ...] = ()

    @property
    def start_s(self) -> float | None:
        return self.spans[0].start_s if self.spans else None

    @property
    def end_s(self) -> float | None:
        return self.spans[0].end_s if self.spans else None

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity,
            "status": self.status,
            "measured": _clean(self.measured),
            "limit": _clean(self.limit),
            "unit": self.unit,
            "message": self.message,
            "hint": self.hint,
            "start_s": None if self.start_s is None else round(self.start_s, 3),
            "end_s": None if self.end_s is None else round(self.end_s, 3),
            "spans": [s.to_dict() for s in self.spans],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        spans = tuple(Span(s["start_s"], s["end_s"]) for s in d.get("spans") or ())
        if not spans and d.get("start_s") is not None:
            spans = (
                Span(d["start_s"], d["end_s"] if d.get("end_s") is not None else d["start_s"]),
            )
        return cls(
            d["rule"],
            d["name"],
            d["severity"],
            d["status"],
            d["message"],
            d.get("measured"),
            d.get("limit"),
            d.get("unit"),
            d.get("hint"),
            spans,
        )


def _clean(x: Any) -> Any:
    """Numbers rounded for humans and JSON; numpy scalars made plain."""
    if x is None or isinstance(x, bool | str):
        return x
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float):
        return round(x, 4)
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


@dataclass
class Report:
    path: str
    size_bytes: int | None
    sha256: str | None
    profile: str
    fail_on: str
    results: list[Result]
    media: dict[str, Any] | None = None
    segments: dict[str, Any] = field(default_factory=lambda: {"speaking": None, "listening": None})
    timings_s: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    tool: dict[str, str] = field(
        default_factory=lambda: {"name": TOOL_NAME, "version": tool_version()}
    )
    schema_version: str = SCHEMA_VERSION
    # Live measurements of this run (kept for `--stats`, the timeline and prepare's planner);
    # the portable `Timeline` is what a report from a worker or the cache carries instead.
    evidence: Evidence | PhotoEvidence | None = field(default=None, repr=False, compare=False)
    timeline: Timeline | None = field(default=None, repr=False, compare=False)
    kind: str = "video"  # "photo" for a still image (PHO rules, no segments)

    @property
    def passed(self) -> bool:
        from .settings import severity_at_least

        return not any(
            r.failed and severity_at_least(r.severity, self.fail_on) for r in self.results
        )

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.failed]

    @property
    def verdict(self) -> str:
        """ "PASS" or "FAIL": what every renderer prints for this report."""
        return "PASS" if self.passed else "FAIL"

    def counts(self) -> dict[str, int]:
        """Failed rules per severity ("error", "warning", "info"), and the rules that "passed"
        and were "skipped": the figures every renderer and the batch summary show."""
        n = {s: sum(r.failed and r.severity == s for r in self.results) for s in COUNTED}
        n["passed"] = sum(r.status == "pass" for r in self.results)
        n["skipped"] = sum(r.status == "skip" for r in self.results)
        return n

    def result(self, rule_id: str) -> Result | None:
        return next((r for r in self.results if r.rule == rule_id), None)

    def to_dict(self) -> dict[str, Any]:
        doc = self._to_dict()
        if self.kind != "video":
            # A photo names its kind and has no segments; a clip's JSON is unchanged.
            doc.pop("segments")
            doc = {"schema_version": doc.pop("schema_version"), "kind": self.kind, **doc}
        return doc

    def _to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "tool": dict(self.tool),
            "input": {"path": self.path, "size_bytes": self.size_bytes, "sha256": self.sha256},
            "profile": self.profile,
            "passed": self.passed,
            "media": self.media,
            "segments": self.segments,
            "results": [r.to_dict() for r in self.results],
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "settings": self.settings,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        settings = d.get("settings") or {}
        return cls(
            path=d["input"]["path"],
            size_bytes=d["input"].get("size_bytes"),
            sha256=d["input"].get("sha256"),
            profile=d["profile"],
            fail_on=settings.get("fail_on", "error"),
            results=[Result.from_dict(r) for r in d["results"]],
            media=d.get("media"),
            segments=d.get("segments") or {"speaking": None, "listening": None},
            timings_s=dict(d.get("timings_s") or {}),
            settings=settings,
            tool=dict(d.get("tool") or {}),
            schema_version=d.get("schema_version", SCHEMA_VERSION),
            kind=d.get("kind", "video"),
        )

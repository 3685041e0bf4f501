"""Readable text report: verdict first, then each failing rule (measured vs limit, where in the
clip, how to fix), then skipped rules with the reason, then passes collapsed to one line."""

from __future__ import annotations

from collections.abc import Sequence

from ..registry import SEVERITY_RANK
from ..report import Report, Result
from ..settings import severity_at_least

FORMAT = "text"


def render(reports: Sequence[Report]) -> str:
    parts = [render_one(r) for r in reports]
    if len(reports) > 1:
        n_ok = sum(r.passed for r in reports)
        parts.append(f"{n_ok} of {len(reports)} clips passed\n")
    return "\n".join(parts)


def render_one(report: Report) -> str:
    lines: list[str] = []
    verdict = "PASS" if report.passed else "FAIL"
    failing = [r for r in report.results if r.failed]
    blocking = [r for r in failing if severity_at_least(r.severity, report.fail_on)]
    lines.append(f"{verdict}  {report.path}")
    lines.append(f"      {media_line(report)}")
    counts = _counts(failing)
    if counts:
        lines.append(
            f"      {counts}"
            + ("" if blocking else f" (none at or above --fail-on {report.fail_on})")
        )
    seg = _segments_line(report)
    if seg:
        lines.append(f"      {seg}")
    failing.sort(key=lambda r: (-SEVERITY_RANK[r.severity], r.rule))
    for r in failing:
        lines.append("")
        lines.extend(_failure(r))
    skipped = [r for r in report.results if r.status == "skip"]
    if skipped:
        lines.append("")
        lines.append(f"  skipped ({len(skipped)}):")
        by_reason: dict[str, list[str]] = {}
        for r in skipped:
            by_reason.setdefault(r.message, []).append(r.rule)
        for reason, ids in by_reason.items():
            lines.append(f"    {_ids(ids)}: {reason}")
    passed = [r.rule for r in report.results if r.status == "pass"]
    if passed:
        lines.append("")
        lines.append(f"  passed ({len(passed)}): {_ids(passed)}")
    return "\n".join(lines) + "\n"


def _failure(r: Result) -> list[str]:
    mark = {"error": "x", "warning": "!", "info": "i"}[r.severity]
    where = f"  at {_span(r)}" if r.spans else ""
    out = [f"  [{mark}] {r.rule} {r.name} ({r.severity}){where}", f"      {r.message}"]
    if len(r.spans) > 1:
        more = ", ".join(_fmt_span(s.start_s, s.end_s) for s in r.spans[1:6])
        extra = f" (+{len(r.spans) - 6} more)" if len(r.spans) > 6 else ""
        out.append(f"      also at {more}{extra}")
    if r.hint:
        out.append(f"      fix: {r.hint}")
    return out


def _span(r: Result) -> str:
    return _fmt_span(r.spans[0].start_s, r.spans[0].end_s)


def _fmt_span(a: float, b: float) -> str:
    return f"{clock(a)}" if abs(b - a) < 0.05 else f"{clock(a)}-{clock(b)}"


def clock(s: float, short: bool = False) -> str:
    """Seconds as m:ss.s (with `short`, whole seconds as m:ss), as a player shows them."""
    m, sec = divmod(max(0.0, float(s)), 60)
    if short and abs(sec - round(sec)) < 1e-6:
        return f"{int(m)}:{int(round(sec)):02d}"
    return f"{int(m)}:{sec:04.1f}"


def _ids(ids: list[str]) -> str:
    return " ".join(ids)


def _counts(failing: list[Result]) -> str:
    n = {s: sum(r.severity == s for r in failing) for s in ("error", "warning", "info")}
    bits = [f"{n[s]} {s}{'s' if n[s] != 1 else ''}" for s in ("error", "warning", "info") if n[s]]
    return ", ".join(bits)


def media_line(report: Report) -> str:
    m = report.media
    if not m:
        return f"profile {report.profile}; the file could not be read as media"
    bits = [f"profile {report.profile}"]
    if m.get("duration_s") is not None:
        bits.append(f"{m['duration_s']:.1f} s")
    if m.get("width"):
        bits.append(f"{m['width']}x{m['height']}")
    if m.get("format"):  # a photo
        bits.append(str(m["format"]).upper())
    if m.get("fps"):
        bits.append(f"{m['fps']:.2f} fps")
    codecs = "/".join(str(m.get(k)) for k in ("video_codec", "audio_codec") if m.get(k))
    if codecs:
        bits.append(f"{m['container']} {codecs}")
    if m.get("rotation_deg"):
        bits.append(f"rotated {m['rotation_deg']} deg")
    return ", ".join(bits)


def _segments_line(report: Report) -> str:
    seg = report.segments or {}
    bits = []
    for name in ("speaking", "listening"):
        s = seg.get(name)
        if s:
            bits.append(f"{name} {clock(s['start_s'])}-{clock(s['end_s'])}")
        elif name in seg and report.media and any(r.rule.startswith("SEG") for r in report.results):
            bits.append(f"{name} not found")
    return "; ".join(bits)

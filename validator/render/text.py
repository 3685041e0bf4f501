"""Readable text report: verdict first, then each failing rule (root causes first: measured vs
limit, where in the clip, how to fix), then skipped rules with the reason, then passes collapsed
to one line.  `quiet=True` gives one line per clip (for folders); `colour=True` adds ANSI colours
(the CLI asks for them only on a terminal, and never when NO_COLOR is set).

Times are in one format everywhere, seconds ("34.2-64.3 s"), the format the findings' own
messages use; a place already named in a message is not repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..registry import SEVERITY_RANK
from ..report import COUNTED, Report, Result
from ..samples import sample_note
from ..settings import severity_at_least
from ..spans import Span, format_spans

FORMAT = "text"

# A failure of one of these explains most of what follows (a clip that is too short fails the
# segment rules; an unreadable file or one without a face leaves little else to judge).  Listed
# first, in this order, with a note when other rules fail too.
ROOT_CAUSES = {
    "MED001": "the file could not be read, so nothing else could be judged",
    "MED011": "a damaged stream can explain failures of the rules below",
    "MED008": "a clip of the wrong length also fails the segment rules below",
    "MED009": "without usable audio the voice and segment rules below cannot pass",
    "FAC001": "without a face in the frame the face, image and mouth rules below cannot pass",
}
_ANSI = {"red": "\x1b[31;1m", "green": "\x1b[32;1m", "yellow": "\x1b[33m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"


def render(
    reports: Sequence[Report],
    errors: Sequence[dict[str, Any]] = (),
    *,
    quiet: bool = False,
    colour: bool = False,
) -> str:
    """`errors` are not listed here: `validator check` prints each on stderr."""
    paint = _painter(colour)
    if quiet:
        parts = [render_line(r, paint) for r in reports]
    else:
        parts = [render_one(r, paint) for r in reports]
    if len(reports) > 1:
        n_ok = sum(r.passed for r in reports)
        parts.append(f"{n_ok} of {len(reports)} clips passed\n")
    return ("" if quiet else "\n").join(parts)


def _painter(colour: bool):
    def paint(text: str, what: str) -> str:
        return f"{_ANSI[what]}{text}{_RESET}" if colour else text

    return paint


def _verdict(report: Report, paint) -> str:
    return paint(report.verdict, "green" if report.passed else "red")


def render_line(report: Report, paint=None) -> str:
    """One line: verdict, clip, and the failing rules' IDs and names."""
    paint = paint or _painter(False)
    failing = _ordered([r for r in report.results if r.failed])
    what = "; ".join(
        f"{r.rule} {r.name}" + ("" if r.severity == "error" else f" ({r.severity})")
        for r in failing
    )
    return f"{_verdict(report, paint)}  {report.path}" + (f"  {what}" if what else "") + "\n"


def render_one(report: Report, paint=None) -> str:
    paint = paint or _painter(False)
    lines: list[str] = []
    failing = _ordered([r for r in report.results if r.failed])
    blocking = [r for r in failing if severity_at_least(r.severity, report.fail_on)]
    lines.append(f"{_verdict(report, paint)}  {report.path}")
    lines.append(f"      {media_line(report)}")
    lines.append(f"      {config_line(report)}")
    counts = _counts(report)
    if counts:
        lines.append(
            f"      {counts}"
            + ("" if blocking else f", none at or above --fail-on {report.fail_on}")
        )
    seg = _segments_line(report)
    if seg:
        lines.append(f"      {seg}")
    note = sample_note(report.sha256) if failing else None  # it explains a failure
    if note:
        lines.append("")
        lines.extend(_wrap(f"note: {note}", "      ", first="  "))
    for r in failing:
        lines.append("")
        lines.extend(_failure(r, paint, explains=len(failing) > 1 and r is failing[0]))
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
        lines.append(paint(f"  passed ({len(passed)}): {_ids(passed)}", "dim"))
    return "\n".join(lines) + "\n"


def _ordered(failing: list[Result]) -> list[Result]:
    order = list(ROOT_CAUSES)
    return sorted(
        failing,
        key=lambda r: (
            order.index(r.rule) if r.rule in ROOT_CAUSES else len(order),
            -SEVERITY_RANK[r.severity],
            r.rule,
        ),
    )


def _failure(r: Result, paint, explains: bool = False) -> list[str]:
    mark = {"error": "x", "warning": "!", "info": "i"}[r.severity]
    colour = {"error": "red", "warning": "yellow", "info": "dim"}[r.severity]
    out = [paint(f"  [{mark}] {r.rule} {r.name}, {r.severity}", colour), f"      {r.message}"]
    where = where_text(r)
    if where:
        out.append(f"      where: {where}")
    if explains and r.rule in ROOT_CAUSES:
        out.append(f"      this comes first: {ROOT_CAUSES[r.rule]}")
    if r.hint:
        out.append(f"      fix: {r.hint}")
    return out


def where_text(r: Result, limit: int = 6) -> str:
    """The places not already named in the message ("" when the message names them all)."""
    if not r.spans:
        return ""
    named = [s for s in r.spans if format_spans([s]) in r.message or _one_decimal(s) in r.message]
    if len(named) == len(r.spans):
        return ""
    if len(r.spans) > limit or named:
        return f"{len(r.spans)} places: {format_spans(r.spans, limit)}"
    return format_spans(r.spans, limit)


def _one_decimal(s: Span) -> str:
    return f"{s.start_s:.1f}-{s.end_s:.1f} s"


def seconds_span(a: float, b: float) -> str:
    return format_spans([Span(a, b)])


def clock(s: float, short: bool = False) -> str:
    """Seconds as m:ss.s (with `short`, whole seconds as m:ss): the HTML timeline's axis."""
    m, sec = divmod(max(0.0, float(s)), 60)
    if short and abs(sec - round(sec)) < 1e-6:
        return f"{int(m)}:{int(round(sec)):02d}"
    return f"{int(m)}:{sec:04.1f}"


def _ids(ids: list[str]) -> str:
    return " ".join(ids)


def _wrap(text: str, indent: str, first: str, width: int = 96) -> list[str]:
    out, line = [], first
    for word in text.split():
        if len(line) + len(word) + 1 > width and line.strip():
            out.append(line.rstrip())
            line = indent
        line += word + " "
    out.append(line.rstrip())
    return out


def _counts(report: Report) -> str:
    n = report.counts()
    bits = [f"{n[s]} {s}{'s' if n[s] != 1 else ''}" for s in COUNTED if n[s]]
    return ", ".join(bits)


def config_line(report: Report) -> str:
    cfg = (report.settings or {}).get("config_file")
    if cfg:
        return f"settings from {cfg}"
    return "settings: code defaults (no [tool.validator] config file used)"


def media_line(report: Report) -> str:
    m = report.media
    if not m:
        what = "an image" if report.kind == "photo" else "media"
        return f"profile {report.profile}; the file could not be read as {what}"
    bits = [f"profile {report.profile}"]
    if m.get("duration_s") is not None:
        bits.append(f"{m['duration_s']:.1f} s")
    if m.get("width"):
        bits.append(f"{m['width']}x{m['height']}")
    if m.get("format"):  # a photo
        bits.append(str(m["format"]).upper())
    if m.get("fps"):
        bits.append(f"{m['fps']:.2f} fps")
    elif m.get("fps_from_timestamps"):  # none declared (a browser's recording)
        bits.append(f"{m['fps_from_timestamps']:.2f} fps (from timestamps)")
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
            bits.append(f"{name} {s['start_s']:.1f}-{s['end_s']:.1f} s")
        elif name in seg and report.media and any(r.rule.startswith("SEG") for r in report.results):
            bits.append(f"{name} not found")
    return "; ".join(bits)

"""HTML report: one self-contained page a person reads to see what is wrong and where.

Per clip: the verdict, the media facts, a timeline (inline SVG) with the speaking and listening
segments, voice activity, audio level, mouth opening, face size and brightness over time, each
failing rule's spans as red (error) or amber (warning) bands across every lane and on a row of
their own, where a passing check found what it looked for (the consent statement: a green row,
`PASS_ROWS`), thumbnails of the worst moment of each failing rule plus an evenly spaced filmstrip,
and the table of rules (status, measured vs limit, message, how to fix).  Several clips give one
page with a summary table linking to each clip's section.

Self-contained by construction: inline CSS, inline SVG, thumbnails as `data:` URIs, no script,
no font, no link to anything outside the file.  All text is escaped.  The measurements come
from `timeline.Timeline` (see there for which `stats_rows()` columns feed which lane); a lane whose
analyser did not run is left out and the page says why.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..registry import SEVERITY_RANK
from ..report import Report, Result
from ..samples import sample_note
from ..spans import Span
from ..timeline import Lane, Timeline
from .html_parts import _counts, _e, _num, _rules_table
from .photo_html import photo_section
from .text import clock, media_line

FORMAT = "html"

W, GUTTER, RIGHT = 1000, 230, 12
PLOT_W = W - GUTTER - RIGHT
SEG_H, LANE_H, FAIL_H, AXIS_H, GAP = 26, 46, 18, 22, 6
COLOURS = {"error": "#c62828", "warning": "#e08600", "info": "#1565c0"}
# Limits drawn as dashed lines on a lane: (rule, parameter, label).  A lane's values read
# against the threshold that judges them ("why is the mouth open?": above MTH001's open_ratio).
LANE_THRESHOLDS = {
    "mouth": (("MTH001", "open_ratio", "lips apart above"),),
    "face": (("FAC003", "min_height_ratio", "too small below"),),
    "brightness": (
        ("IMG002", "min_face_brightness", "too dark below"),
        ("IMG003", "max_face_brightness", "too bright above"),
    ),
    "level": (("AUD001", "max_noise_floor_dbfs", "noise limit"),),
}
# Failing spans are washed over every lane only while, together, they cover at most this share
# of the clip: a wash over the whole timeline says nothing about where and hides the lanes.  The
# spans of the other rules are outlined there (dashed edges) and drawn on their own rows.
MAX_BAND_SHARE = 0.5
# Passing results whose spans say where something good was found get a row of their own, one per
# family (its rules usually share one span: the consent statement heard, CON001-CON003).
PASS_ROWS = {"CON": "consent statement heard"}
PASS_COLOUR = "#2e7d32"
MOUTH_RULES = ("MTH",)
LABEL_PX_PER_CHAR = 6.6  # 12 px system-ui, a generous average
LANE_COLOURS = {
    "voice": "#1565c0",
    "level": "#5e7ca8",
    "mouth": "#8e24aa",
    "face": "#00897b",
    "brightness": "#b8860b",
}

CSS = """
:root{--fg:#1d2329;--muted:#5f6b76;--line:#d9dee3;--bg:#fff;--soft:#f4f6f8;--err:#c62828;--warn:#e08600;--ok:#2e7d32}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:24px 32px;max-width:1180px}
h1{font-size:22px;margin:0 0 16px}
h2{font-size:18px;margin:0;word-break:break-all}
h3{font-size:15px;margin:22px 0 8px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
section.clip{border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:0 0 28px}
.head{display:flex;gap:16px;align-items:center}
.verdict{font-weight:800;font-size:20px;padding:6px 14px;border-radius:8px;color:#fff;letter-spacing:.05em}
.verdict.PASS{background:var(--ok)}.verdict.FAIL{background:var(--err)}
.meta{color:var(--muted);margin:6px 0 0}
.counts{margin:6px 0 0;font-weight:600}
svg.timeline{width:100%;height:auto;display:block;background:#fff}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#333}
svg text.small{font-size:10px;fill:#6b7680}
.note{color:var(--muted);font-size:13px;margin:6px 0 0}
.frames{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;overflow:hidden;background:var(--soft)}
figure img{display:block;width:240px;height:auto}
figure.rule{border:2px solid var(--err)}figure.rule.warning{border-color:var(--warn)}
figcaption{font-size:12px;padding:4px 8px;max-width:240px}
figure svg{display:block;width:240px;height:auto}
.mouth{display:block;width:240px;height:auto;border-top:1px solid var(--line)}
details.passes{margin:8px 0 0}details.passes summary{cursor:pointer;color:var(--muted);padding:4px 0}
.strip{display:flex;gap:4px;overflow:hidden}
.strip figure img{width:112px}
.strip figcaption{font-size:11px;padding:2px 4px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{background:var(--soft);font-weight:600}
td.num{white-space:nowrap;font-variant-numeric:tabular-nums}
td.where{font-variant-numeric:tabular-nums;width:150px;font-size:13px}
table.rules td:nth-child(5){min-width:320px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;color:#fff}
.badge.fail.error{background:var(--err)}.badge.fail.warning{background:var(--warn)}.badge.fail.info{background:#1565c0}
.badge.pass{background:var(--ok)}.badge.skip{background:#8a959f}
tr.pass td{color:var(--muted)}
.hint{color:#234}
footer{color:var(--muted);font-size:12px;margin-top:20px}
a{color:#1565c0}
"""


def render(
    reports: Sequence[Report],
    errors: Sequence[dict[str, Any]] = (),
    *,
    quiet: bool = False,
    colour: bool = False,
) -> str:
    """`errors`: clips that could not be processed at all ({"path", "message", "exit_code"})."""
    n_ok = sum(r.passed for r in reports)
    verdict = "PASS" if n_ok == len(reports) and not errors else "FAIL"
    title = (
        f"{verdict}: {_name(reports[0].path)}"
        if len(reports) == 1 and not errors
        else f"{n_ok} of {len(reports) + len(errors)} clips passed"
    )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Clip report: {_e(title)}</title><style>{CSS}</style></head><body>",
        "<h1>Training-clip report</h1>",
    ]
    if len(reports) > 1 or errors:
        parts.append(_summary(reports, errors))
    for i, r in enumerate(reports, 1):
        parts.append(_clip(r, i))
    tool = reports[0].tool if reports else {}
    parts.append(
        f"<footer>{_e(tool.get('name', ''))} {_e(tool.get('version', ''))}, generated "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}. This page is self-contained: "
        "it loads nothing from anywhere.</footer></body></html>"
    )
    return "\n".join(parts) + "\n"


# --- pieces ---------------------------------------------------------------------------------


def _summary(reports: Sequence[Report], errors: Sequence[dict[str, Any]] = ()) -> str:
    rows = []
    for i, r in enumerate(reports, 1):
        v = r.verdict
        counts = r.counts()
        n_err, n_warn = counts["error"], counts["warning"]
        rows.append(
            f'<tr><td><span class="verdict {v}" style="font-size:12px;padding:2px 8px">{v}</span></td>'
            f'<td><a href="#clip-{i}">{_e(r.path)}</a></td><td class="num">{n_err}</td>'
            f'<td class="num">{n_warn}</td></tr>'
        )
    for e in errors:
        rows.append(
            '<tr><td><span class="verdict FAIL" style="font-size:12px;padding:2px 8px">ERROR</span></td>'
            f'<td>{_e(e.get("path", ""))}<div class="hint">could not be checked: {_e(e.get("message", ""))}'
            '</div></td><td class="num">-</td><td class="num">-</td></tr>'
        )
    n_ok = sum(r.passed for r in reports)
    return (
        f'<p class="counts">{n_ok} of {len(reports) + len(errors)} clips passed</p>'
        '<table class="summary"><tr><th>verdict</th><th>clip</th><th>errors</th><th>warnings</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _clip(report: Report, index: int) -> str:
    if report.kind == "photo":
        return photo_section(report, index)
    v = report.verdict
    tl = Timeline.of(report)
    out = [
        f'<section class="clip" id="clip-{index}">',
        f'<div class="head"><div class="verdict {v}">{v}</div><div><h2>{_e(report.path)}</h2>'
        f'<p class="meta">{_e(media_line(report))}</p></div></div>',
    ]
    counts = _counts(report)
    if counts:
        out.append(f'<p class="counts">{_e(counts)}</p>')
    note = sample_note(report.sha256) if report.failures else None
    if note:  # the bundled sample fails on purpose: say so where the FAIL is
        out.append(f'<p class="note">{_e(note)}</p>')
    out.append("<h3>Timeline</h3>")
    out.append(_timeline(report, tl))
    stills = [s for s in (tl.stills if tl else ()) if s.rule]
    if stills:
        sev = {r.rule: r.severity for r in report.results}
        out.append('<h3>Frames that matter</h3><div class="frames">')
        for s in stills:
            out.append(_still(s, sev.get(s.rule, "error"), tl))
        out.append("</div>")
    strip = [s for s in (tl.stills if tl else ()) if not s.rule]
    if strip:
        out.append('<h3>Filmstrip</h3><div class="strip">')
        for s in strip:
            out.append(
                f'<figure><img alt="frame at {clock(s.t_s)}" src="{s.data_uri()}">'
                f"<figcaption>{clock(s.t_s)}</figcaption></figure>"
            )
        out.append("</div>")
    out.append("<h3>Rules</h3>")
    out.append(_rules_table(report))
    out.append("</section>")
    return "\n".join(out)


def _timeline(report: Report, tl: Timeline | None) -> str:
    duration = _duration(report, tl)
    if not duration:
        why = (
            "the file could not be read as media"
            if not report.media
            else "the clip's duration is unknown"
        )
        return f'<p class="note">No timeline: {_e(why)}.</p>'
    lanes = list(tl.lanes) if tl else []
    failing = [r for r in report.results if r.failed and r.spans]
    failing.sort(key=lambda r: (-SEVERITY_RANK.get(r.severity, 0), r.rule))
    stills: dict[str, list[float]] = {}
    for st in tl.stills if tl else ():
        if st.rule:
            stills.setdefault(st.rule, []).append(st.t_s)
    passing = _passing_rows(report)
    rows = len(failing) + len(passing)
    height = SEG_H + GAP + len(lanes) * (LANE_H + GAP) + rows * (FAIL_H + 2) + AXIS_H + 6

    def x(t: float) -> float:
        return GUTTER + max(0.0, min(1.0, t / duration)) * PLOT_W

    svg = [
        f'<svg class="timeline" viewBox="0 0 {W} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'role="img" aria-label="timeline of {_e(_name(report.path))}">'
    ]
    y = 0.0
    svg.extend(_segment_row(report, x, y))
    y += SEG_H + GAP
    lanes_top = y
    for lane in lanes:
        svg.extend(_lane(lane, y, x, _thresholds(report, lane)))
        y += LANE_H + GAP
    lanes_bottom = y
    svg.extend(_fail_bands(failing, x, duration, lanes_bottom))
    for r in failing:
        svg.extend(_fail_row(r, stills.get(r.rule, ()), x, y))
        y += FAIL_H + 2
    for label, rules, spans in passing:
        svg.extend(_pass_row(label, rules, spans, x, y))
        y += FAIL_H + 2
    svg.extend(_axis(duration, x, y, lanes_top))
    svg.append("</svg>")
    notes = _timeline_notes(report, tl)
    return "\n".join(svg) + "".join(f'<p class="note">{_e(n)}</p>' for n in notes)


def _segment_row(report: Report, x: Any, y: float) -> list[str]:
    """The speaking / listening segments row."""
    svg: list[str] = []
    svg.append(f'<text x="6" y="{y + 17}">segments</text>')
    svg.append(f'<rect x="{GUTTER}" y="{y}" width="{PLOT_W}" height="{SEG_H}" fill="#f4f6f8"/>')
    seg = report.segments or {}
    shown = False
    for name, colour in (("speaking", "#90caf9"), ("listening", "#a5d6a7")):
        s = seg.get(name)
        if s:
            shown = True
            x0, x1 = x(s["start_s"]), x(s["end_s"])
            svg.append(
                f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(1.0, x1 - x0):.1f}" height="{SEG_H - 4}" '
                f'fill="{colour}" rx="3"><title>{name} {clock(s["start_s"])}-{clock(s["end_s"])}</title></rect>'
            )
            svg.append(
                f'<text x="{x0 + 6:.1f}" y="{y + 17}">{name} {clock(s["start_s"])}-{clock(s["end_s"])}</text>'
            )
    if not shown:
        svg.append(
            f'<text class="small" x="{GUTTER + 6}" y="{y + 17}">speaking/listening segments not '
            "detected (voice analysis did not run or found none)</text>"
        )
    return svg


def _fail_bands(failing: list[Result], x: Any, duration: float, lanes_bottom: float) -> list[str]:
    """Failing spans as bands across every lane (or their edges, for a long finding)."""
    svg: list[str] = []
    # Bands fainter as more rules overlap, so the lanes stay readable; a span covering most of
    # the clip says nothing about *where* and is shown on its rule's row only.
    opacity = 0.16 / math.sqrt(max(1, len(failing)))
    edge = 0.5 if len(failing) <= 2 else 0.25
    washed: list[Span] = []
    for r in failing:
        colour = COLOURS.get(r.severity, "#555")
        wash = _covered([*washed, *r.spans]) <= MAX_BAND_SHARE * duration
        if wash:
            washed.extend(r.spans)
        for s in r.spans:
            x0, x1 = x(s.start_s), x(s.end_s)
            title = f"<title>{_e(r.rule)} {clock(s.start_s)}-{clock(s.end_s)}</title>"
            if wash:
                svg.append(
                    f'<rect class="failspan" x="{x0:.1f}" y="0" width="{max(3.0, x1 - x0):.1f}" '
                    f'height="{lanes_bottom:.1f}" fill="{colour}" fill-opacity="{opacity:.3f}" stroke="{colour}" '
                    f'stroke-opacity="{edge}">{title}</rect>'
                )
            else:  # a long finding: its edges only, the lanes stay readable
                for xe in (x0, x1):
                    svg.append(
                        f'<line class="failedge" x1="{xe:.1f}" y1="0" x2="{xe:.1f}" y2="{lanes_bottom:.1f}" '
                        f'stroke="{colour}" stroke-opacity="0.6" stroke-dasharray="4 3">{title}</line>'
                    )
    return svg


def _fail_row(r: Result, stills: Sequence[float], x: Any, y: float) -> list[str]:
    """One failing rule's row: its spans, and where its thumbnails were taken."""
    svg: list[str] = []
    colour = COLOURS.get(r.severity, "#555")
    svg.append(_label(f"{r.rule} {r.name}", y + 13, colour))
    svg.append(f'<rect x="{GUTTER}" y="{y}" width="{PLOT_W}" height="{FAIL_H}" fill="#f4f6f8"/>')
    for s in r.spans:
        x0, x1 = x(s.start_s), x(s.end_s)
        svg.append(
            f'<rect class="failrow" x="{x0:.1f}" y="{y + 2}" width="{max(3.0, x1 - x0):.1f}" '
            f'height="{FAIL_H - 4}" fill="{colour}" rx="2"><title>{_e(r.rule)}: {_e(r.message)}'
            f"</title></rect>"
        )
    for still in stills:  # where the thumbnail below was taken
        svg.append(
            f'<circle cx="{x(still):.1f}" cy="{y + FAIL_H / 2:.1f}" r="4" fill="#fff" stroke="#222" '
            f'stroke-width="1.5"><title>frame shown below: {clock(still)}</title></circle>'
        )
    return svg


def _passing_rows(report: Report) -> list[tuple[str, list[str], list[Span]]]:
    """(label, rule IDs, distinct spans) per `PASS_ROWS` family with a passing, placed result."""
    rows = []
    for family, label in PASS_ROWS.items():
        found = [r for r in report.results if r.status == "pass" and r.spans]
        found = [r for r in found if r.rule.startswith(family)]
        if found:
            spans = sorted({s for r in found for s in r.spans}, key=lambda s: (s.start_s, s.end_s))
            rows.append((label, sorted(r.rule for r in found), spans))
    return rows


def _pass_row(label: str, rules: list[str], spans: list[Span], x: Any, y: float) -> list[str]:
    """Where a passing check found what it looked for: green marks on a row of its own."""
    svg = [_label(label, y + 13, PASS_COLOUR)]
    svg.append(f'<rect x="{GUTTER}" y="{y}" width="{PLOT_W}" height="{FAIL_H}" fill="#f4f6f8"/>')
    passed = ", ".join(rules)
    for s in spans:
        x0, x1 = x(s.start_s), x(s.end_s)
        svg.append(
            f'<rect class="passrow" x="{x0:.1f}" y="{y + 2}" width="{max(3.0, x1 - x0):.1f}" '
            f'height="{FAIL_H - 4}" fill="{PASS_COLOUR}" fill-opacity="0.55" rx="2"><title>'
            f"{_e(label)} {clock(s.start_s)}-{clock(s.end_s)} ({_e(passed)} pass)</title></rect>"
        )
    return svg


def _axis(duration: float, x: Any, y: float, lanes_top: float) -> list[str]:
    """The time axis, with a faint grid line per tick."""
    svg: list[str] = []
    step = _tick_step(duration)
    svg.append(
        f'<line x1="{GUTTER}" y1="{y + 1}" x2="{GUTTER + PLOT_W}" y2="{y + 1}" stroke="#888"/>'
    )
    t = 0.0
    while t <= duration + 1e-9:
        xt = x(t)
        svg.append(
            f'<line x1="{xt:.1f}" y1="{lanes_top - GAP}" x2="{xt:.1f}" y2="{y + 5}" stroke="#000" '
            'stroke-opacity="0.08"/>'
        )
        svg.append(
            f'<text class="small" x="{xt:.1f}" y="{y + 17}" text-anchor="middle">{clock(t, short=True)}</text>'
        )
        t += step
    return svg


def _timeline_notes(report: Report, tl: Timeline | None) -> list[str]:
    """What the timeline cannot show, and why."""
    notes = []
    if tl is None:
        notes.append(
            "Measurements over time are not available for this report (it was rendered "
            "without the clip's evidence)."
        )
    else:
        for what, why in tl.missing.items():
            notes.append(f"Not shown: {what} ({why}).")
    spanless = [r for r in report.results if r.failed and not r.spans]
    if spanless:
        notes.append(
            "Failing for the clip as a whole (no place in time): "
            + ", ".join(f"{r.rule} {r.name}" for r in spanless)
            + "."
        )
    return notes


def _covered(spans: Sequence[Span]) -> float:
    """Seconds covered by the union of `spans`."""
    total, end = 0.0, -math.inf
    for s in sorted(spans, key=lambda s: s.start_s):
        a, b = max(s.start_s, end), s.end_s
        if b > a:
            total += b - a
        end = max(end, b)
    return total


def _thresholds(report: Report, lane: Lane) -> list[tuple[float, str]]:
    params = (report.settings or {}).get("rule_params") or {}
    out = []
    for rule, name, label in LANE_THRESHOLDS.get(lane.key, ()):
        v = (params.get(rule) or {}).get(name)
        if isinstance(v, int | float) and not isinstance(v, bool):
            out.append((float(v), f"{rule} {label} {_num(v)}"))
    return out


def _label(text: str, y: float, colour: str | None = None, cls: str = "") -> str:
    """A gutter label that always fits: squeezed (never cut) when longer than the gutter."""
    room = GUTTER - 12
    per_char = LABEL_PX_PER_CHAR * (1.1 if colour else 0.9 if cls == "small" else 1.0)
    fit = (
        f' textLength="{room}" lengthAdjust="spacingAndGlyphs"'
        if len(text) * per_char > room
        else ""
    )
    style = f' fill="{colour}" style="fill:{colour};font-weight:600"' if colour else ""
    c = f' class="{cls}"' if cls else ""
    return f'<text x="6" y="{y}"{c}{style}{fit}>{_e(text)}</text>'


def _lane(lane: Lane, y: float, x: Any, thresholds: Sequence[tuple[float, str]] = ()) -> list[str]:
    colour = LANE_COLOURS.get(lane.key, "#555")
    lo, hi = lane.lo, lane.hi if lane.hi > lane.lo else lane.lo + 1

    def yv(v: float) -> float:
        return y + LANE_H - 2 - max(0.0, min(1.0, (v - lo) / (hi - lo))) * (LANE_H - 6)

    out = [
        _label(lane.label, y + 18),
        _label(lane.unit, y + 32, cls="small"),
        f'<rect x="{GUTTER}" y="{y}" width="{PLOT_W}" height="{LANE_H}" fill="#f4f6f8"/>',
        f'<text class="small" x="{GUTTER - 4}" y="{y + 10}" text-anchor="end">{_num(hi)}</text>',
        f'<text class="small" x="{GUTTER - 4}" y="{y + LANE_H - 2}" text-anchor="end">{_num(lo)}</text>',
    ]
    # Polylines broken where a value is missing (no face in the frame, ...).
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in zip(lane.t_s, lane.values, strict=False):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x(t), yv(v)))
    base = y + LANE_H - 2
    for value, label in thresholds:
        if not lo <= value <= hi:
            continue
        yt = yv(value)
        out.append(
            f'<line class="threshold" x1="{GUTTER}" y1="{yt:.1f}" x2="{GUTTER + PLOT_W}" y2="{yt:.1f}" '
            f'stroke="#222" stroke-opacity="0.55" stroke-dasharray="6 4"><title>{_e(label)}</title></line>'
        )
        out.append(
            f'<text class="small" x="{GUTTER + PLOT_W - 4}" y="{yt - 3:.1f}" text-anchor="end">'
            f"{_e(label)}</text>"
        )
    for run in runs:
        if not run:
            continue
        if len(run) == 1:
            run = [(run[0][0] - 1, run[0][1]), (run[0][0] + 1, run[0][1])]
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in run)
        if lane.key == "voice":  # activity reads best as a filled area
            out.append(
                f'<polygon points="{run[0][0]:.1f},{base:.1f} {pts} {run[-1][0]:.1f},{base:.1f}" '
                f'fill="{colour}" fill-opacity="0.45" stroke="none"/>'
            )
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5" '
            'stroke-linejoin="round"/>'
        )
    return out


def _still(s: Any, severity: str, tl: Timeline | None) -> str:
    """A failing rule's frame: the thumbnail with the face outlined, the mouth enlarged for the
    mouth rules, and the lane values at that moment, so the finding can be checked by eye."""
    alt = f"{s.caption} at {clock(s.t_s)}"
    box = getattr(s, "face_box", None)
    size = _jpeg_size(s.jpeg)
    if box and size:
        w, h = size
        x0, y0, x1, y1 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
        pic = (
            f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{_e(alt)}" xmlns="http://www.w3.org/2000/svg">'
            f'<image href="{s.data_uri()}" width="{w}" height="{h}"/>'
            f'<rect class="facebox" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
            'fill="none" stroke="#ffeb3b" stroke-width="1.5"/></svg>'
        )
    else:
        pic = f'<img alt="{_e(alt)}" src="{s.data_uri()}">'
    mouth = getattr(s, "mouth_jpeg", None)
    if mouth and s.rule and s.rule.startswith(MOUTH_RULES):
        uri = "data:image/jpeg;base64," + base64.b64encode(mouth).decode("ascii")
        pic += f'<img class="mouth" alt="the mouth at {clock(s.t_s)}, enlarged" src="{uri}">'

    values = _values_at(tl, s.t_s)
    extra = f"<br>{_e(values)}" if values else ""
    face = "" if box else '<br><span class="note">no face measured here</span>'
    return (
        f'<figure class="rule {_e(severity)}">{pic}<figcaption><b>{_e(s.caption)}</b> at '
        f"{clock(s.t_s)}{extra}{face}</figcaption></figure>"
    )


def _values_at(tl: Timeline | None, t: float) -> str:
    if tl is None:
        return ""
    bits = []
    for lane in tl.lanes:
        if lane.key not in ("mouth", "face", "brightness") or not lane.t_s:
            continue
        i = min(range(len(lane.t_s)), key=lambda k: abs(lane.t_s[k] - t))
        v = lane.values[i]
        if v is not None and abs(lane.t_s[i] - t) <= 0.5:
            bits.append(f"{lane.label} {_num(v)}")
    return ", ".join(bits)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's SOF header, without decoding it."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h = int.from_bytes(data[i + 5 : i + 7], "big")
            w = int.from_bytes(data[i + 7 : i + 9], "big")
            return (w, h) if w and h else None
        i += 2 + length
    return None


# --- formatting -----------------------------------------------------------------------------


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _clip_text(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _tick_step(duration: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if duration / step <= 14:
            return float(step)
    return 1200.0


def _duration(report: Report, tl: Timeline | None) -> float | None:
    cands = []
    if tl is not None and tl.duration_s:
        cands.append(float(tl.duration_s))
    m = report.media or {}
    if m.get("duration_s"):
        cands.append(float(m["duration_s"]))
    if not cands:
        ends = [s.end_s for r in report.results for s in r.spans]
        if ends:
            cands.append(max(ends))
    return max(cands) if cands else None

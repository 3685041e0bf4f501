"""The HTML report's section for a photo: the picture with what the models saw drawn over it
(face box, landmarks, irises, estimated skull top and chin, person outline, framing guides),
the key measurements, and the rules table.  Called by `render/html.py` for `kind == "photo"`;
the annotated preview is drawn by `photo/overlay.py` and travels in the report's timeline
stills (so a cached report shows it too)."""

from __future__ import annotations

from ..report import Report
from ..timeline import Timeline
from .html_parts import _counts, _e, _rules_table
from .text import media_line

LEGEND = (
    ("#3cc83c", "face found (main)"),
    ("#ff9600", "another face"),
    ("#dc3cdc", "estimated top of the skull and chin (PHO006)"),
    ("#28c8dc", "person outline (segmentation) and top of the hair"),
    ("#f0dc00", "framing guides: centre, +-15% off-centre limits (PHO011), 1% edge margin"),
    ("#e62828", "iris centres (gaze, PHO005)"),
)
FACTS = tuple(f"PHO{i:03d}" for i in range(2, 13))


def photo_section(report: Report, index: int) -> str:
    v = report.verdict
    out = [
        f'<section class="clip photo" id="clip-{index}">',
        f'<div class="head"><div class="verdict {v}">{v}</div><div><h2>{_e(report.path)}</h2>'
        f'<p class="meta">{_e(media_line(report))} (photo)</p></div></div>',
    ]
    counts = _counts(report)
    if counts:
        out.append(f'<p class="counts">{_e(counts)}</p>')
    tl = Timeline.of(report)
    still = tl.stills[0] if tl and tl.stills else None
    out.append("<h3>What the models saw</h3>")
    if still is not None:
        legend = "".join(
            f'<li><span style="display:inline-block;width:14px;height:4px;background:{c};'
            f'margin-right:6px;vertical-align:middle"></span>{_e(t)}</li>'
            for c, t in LEGEND
        )
        out.append(
            '<div style="display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start">'
            f'<img alt="the photo with the face box, landmarks, head top and chin, and the '
            f'framing guides drawn over it" src="{still.data_uri()}" '
            'style="max-width:min(100%,640px);height:auto;border:1px solid #ccc">'
            f'<div><ul style="list-style:none;padding:0;margin:0">{legend}</ul>'
            f"{_facts(report)}</div></div>"
        )
    else:
        why = "the image could not be read" if not report.media else "no preview was kept"
        out.append(f'<p class="small">No picture: {_e(why)}.</p>')
    out.append("<h3>Rules</h3>")
    out.append(_rules_table(report))
    out.append("</section>")
    return "\n".join(out)


def _facts(report: Report) -> str:
    rows = []
    for rid in FACTS:
        r = report.result(rid)
        if r is None or r.status == "skip":
            continue
        mark = {"pass": "ok", "fail": r.severity}.get(r.status, r.status)
        rows.append(
            f"<tr><td>{_e(rid)}</td><td>{_e(r.name)}</td><td>{_e(mark)}</td>"
            f"<td>{_e(r.message)}</td></tr>"
        )
    if not rows:
        return ""
    return (
        '<table style="margin-top:10px;font-size:90%"><tr><th>rule</th><th></th><th></th>'
        "<th>measured</th></tr>" + "".join(rows) + "</table>"
    )

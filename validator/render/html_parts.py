"""Pieces of the HTML report shared by the clip page (`html.py`) and the photo section
(`photo_html.py`): escaping, numbers, the counts line and the rules table."""

from __future__ import annotations

import html
import math
from typing import Any

from ..registry import SEVERITY_RANK
from ..report import COUNTED, Report, Result
from ..settings import severity_at_least
from .text import ROOT_CAUSES, clock

ROOT_ORDER = list(ROOT_CAUSES)  # root causes first, as in the text report


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10000 else str(v)
    if isinstance(v, list | tuple):
        return ", ".join(_num(x) for x in v)
    return str(v)


def _measured(r: Result) -> str:
    if r.measured is None and r.limit is None:
        return ""
    unit = f" {r.unit}" if r.unit else ""
    if r.limit is None:
        return f"{_num(r.measured)}{unit}"
    return f"{_num(r.measured)} / {_num(r.limit)}{unit}"


def _rules_table(report: Report) -> str:
    def order(r: Result) -> tuple[int, int, int, str]:
        group = (
            0
            if r.failed and severity_at_least(r.severity, report.fail_on)
            else 1
            if r.failed
            else 2
            if r.status == "skip"
            else 3
        )
        cause = ROOT_ORDER.index(r.rule) if r.failed and r.rule in ROOT_ORDER else len(ROOT_ORDER)
        return group, cause, -SEVERITY_RANK.get(r.severity, 0), r.rule

    head = (
        '<table class="rules"><tr><th>status</th><th>rule</th><th>severity</th>'
        "<th>measured / limit</th><th>finding and how to fix</th><th>where</th></tr>"
    )
    rows, passes = [], []
    skipped: dict[str, list[Result]] = {}
    for r in sorted(report.results, key=order):
        if r.status == "skip":
            skipped.setdefault(r.message, []).append(r)
            continue
        (passes if r.status == "pass" else rows).append(_rule_row(r))
    for reason, rs in skipped.items():  # one row per reason, however many rules it stopped
        badge = '<span class="badge skip">SKIP</span>'
        ids = " ".join(r.rule for r in rs)
        rows.append(
            f'<tr class="skip"><td>{badge}</td><td><b>{_e(ids)}</b></td><td></td><td></td>'
            f'<td>{_e(reason)}</td><td class="where">{len(rs)} rule{"s" if len(rs) != 1 else ""}</td></tr>'
        )
    out = head + "".join(rows) + "</table>" if rows else ""
    if passes:
        out += (
            f'<details class="passes"><summary>{len(passes)} rule{"s" if len(passes) != 1 else ""} '
            "passed (show)</summary>" + head + "".join(passes) + "</table></details>"
        )
    return out


def _rule_row(r: Result) -> str:
    status = r.status
    badge = f'<span class="badge {_e(status)} {_e(r.severity)}">{_e(r.status.upper())}</span>'
    where = ", ".join(f"{clock(s.start_s)}-{clock(s.end_s)}" for s in r.spans[:3])
    if len(r.spans) > 3:
        where += f" and {len(r.spans) - 3} more"
    fix = f'<div class="hint">Fix: {_e(r.hint)}</div>' if r.hint and r.failed else ""
    return (
        f'<tr class="{_e(status)}"><td>{badge}</td><td><b>{_e(r.rule)}</b><br>{_e(r.name)}</td>'
        f'<td>{_e(r.severity)}</td><td class="num">{_e(_measured(r))}</td>'
        f'<td>{_e(r.message)}{fix}</td><td class="where">{_e(where)}</td></tr>'
    )


def _counts(report: Report) -> str:
    n = report.counts()
    bits = [f"{n[s]} {s}{'s' if n[s] != 1 else ''}" for s in COUNTED if n[s]]
    bits.append(f"{n['passed']} passed")
    if n["skipped"]:
        bits.append(f"{n['skipped']} skipped")
    return ", ".join(bits)

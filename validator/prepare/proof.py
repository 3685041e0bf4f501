"""Proof: compare the input's report with the output's, and decide whether the output may
replace OUT.

The output is accepted only when every rule the plan promised to repair now passes (or can no
longer fail, e.g. skipped) and no rule that passed before fails now.  The before/after table
lists every rule whose status or severity changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..report import Report, Result
from .plan import Plan


@dataclass(frozen=True)
class Change:
    rule: str
    name: str
    before: Result | None
    after: Result | None

    @property
    def regressed(self) -> bool:
        return (
            self.after is not None
            and self.after.failed
            and (self.before is None or not self.before.failed)
        )


def changes(before: Report, after: Report) -> list[Change]:
    """Rules whose status or severity differs between the two reports."""
    b = {r.rule: r for r in before.results}
    a = {r.rule: r for r in after.results}
    out = []
    for rid in sorted(set(b) | set(a)):
        rb, ra = b.get(rid), a.get(rid)
        if (
            rb is not None
            and ra is not None
            and (rb.status, rb.severity) == (ra.status, ra.severity)
        ):
            continue
        name = (rb or ra).name  # type: ignore[union-attr]
        out.append(Change(rid, name, rb, ra))
    return out


def problems(plan: Plan, before: Report, after: Report) -> list[str]:
    """Why the output must not replace OUT (empty when it may)."""
    out: list[str] = []
    a = {r.rule: r for r in after.results}
    for rid in plan.fixed_rules:
        r = a.get(rid)
        if r is not None and r.failed:
            out.append(f"{rid} still fails after repair: {r.message}")
    for c in changes(before, after):
        if c.regressed and c.rule not in plan.fixed_rules:
            out.append(f"{c.rule} newly fails after repair: {c.after.message}")  # type: ignore[union-attr]
    return out


def _cell(r: Result | None) -> str:
    if r is None:
        return "not run"
    if r.status == "fail":
        return f"fail ({r.severity})"
    return r.status


def table(before: Report, after: Report) -> str:
    """The before/after table of changed rules, as text."""
    rows = changes(before, after)
    if not rows:
        return "No rule changed between input and output.\n"
    w_name = max(len(c.name) for c in rows)
    lines = [f"{'rule':<7} {'name':<{w_name}}  {'before':<16} {'after':<16} now"]
    for c in rows:
        now = c.after.message if c.after is not None else ""
        lines.append(
            f"{c.rule:<7} {c.name:<{w_name}}  {_cell(c.before):<16} {_cell(c.after):<16} {now}"
        )
    return "\n".join(lines) + "\n"

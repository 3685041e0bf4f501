"""What `prepare` returns: the plan, the reports before and after, and the exit code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..report import Report
from ..settings import severity_at_least
from .plan import Plan, Unfixable


@dataclass
class PrepareResult:
    plan: Plan
    before: Report
    after: Report | None = None  # the output's report (None for a dry run)
    output: Path | None = None  # OUT, once written

    @property
    def written(self) -> bool:
        return self.output is not None

    def blocking_unfixable(self) -> list[Unfixable]:
        """Unfixable problems severe enough to fail the clip at the report's fail-on level."""
        sev = {r.rule: r.severity for r in self.before.results}
        return [
            u
            for u in self.plan.unfixable
            if severity_at_least(sev.get(u.rule, "error"), self.before.fail_on)
        ]

    @property
    def exit_code(self) -> int:
        """As `check` on OUT: 0 passed, 1 failed; for a dry run, what OUT is expected to do."""
        if self.after is not None:
            return 0 if self.after.passed else 1
        if not self.plan.possible:
            return 1
        return 1 if self.blocking_unfixable() else 0

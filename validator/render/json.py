"""JSON: one clip gives exactly the report object of interface.md; several clips give
`{"schema_version", "passed", "reports": [...]}` with one report object per clip.  When some
clip could not be processed at all (`errors`, from `validator check`), the many-clip shape is
used whatever the count, with `"errors": [{"path", "message", "exit_code"}]` and `passed` false."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..report import SCHEMA_VERSION, Report

FORMAT = "json"


def render(
    reports: Sequence[Report],
    errors: Sequence[dict[str, Any]] = (),
    *,
    quiet: bool = False,
    colour: bool = False,
) -> str:
    if len(reports) == 1 and not errors:
        doc = reports[0].to_dict()
    else:
        doc = {
            "schema_version": SCHEMA_VERSION,
            "passed": all(r.passed for r in reports) and not errors,
            "reports": [r.to_dict() for r in reports],
        }
        if errors:
            doc["errors"] = [dict(e) for e in errors]
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

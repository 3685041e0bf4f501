"""JSON: one clip gives exactly the report object of interface.md; several clips give
`{"schema_version", "passed", "reports": [...]}` with one report object per clip."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..report import SCHEMA_VERSION, Report

FORMAT = "json"


def render(reports: Sequence[Report]) -> str:
    if len(reports) == 1:
        doc = reports[0].to_dict()
    else:
        doc = {"schema_version": SCHEMA_VERSION, "passed": all(r.passed for r in reports),
               "reports": [r.to_dict() for r in reports]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

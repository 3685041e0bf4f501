"""JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters, Azure DevOps).

Layout: `<testsuites>` with one `<testsuite name="<clip path>">` per clip and one `<testcase
classname="<clip path>" name="<RULE> <rule-name>">` per rule that ran.  A failing rule is a
`<failure type="<severity>" message="<message>">` whose text adds measured vs limit, where in
the clip and how to fix; a skipped rule is `<skipped message="<why>"/>`.  A failing rule below
the `--fail-on` level (a warning, by default) is not a CI failure: it is reported as a passing
test case with the finding in `<system-out>`, so the CI verdict matches the exit code.  A clip
that could not be processed at all (`errors`, exit 3) is a suite with one test case `validate`
in `<error type="tool-error">`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from ..report import Report, Result
from ..settings import severity_at_least

FORMAT = "junit"


def render(
    reports: Sequence[Report],
    errors: Sequence[dict[str, Any]] = (),
    *,
    quiet: bool = False,
    colour: bool = False,
) -> bytes:
    root = ET.Element("testsuites", name="replica-clip-validator")
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    time_total = 0.0
    for suite in [*(_suite(r) for r in reports), *(_error_suite(e) for e in errors)]:
        root.append(suite)
        for k in totals:
            totals[k] += int(suite.get(k, "0"))
        time_total += float(suite.get("time", "0"))
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{time_total:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _suite(report: Report) -> ET.Element:
    results = report.results
    blocking = [r for r in results if r.failed and severity_at_least(r.severity, report.fail_on)]
    skipped = [r for r in results if r.status == "skip"]
    total_s = float(report.timings_s.get("total", 0.0))
    suite = ET.Element(
        "testsuite",
        name=report.path,
        tests=str(len(results)),
        failures=str(len(blocking)),
        errors="0",
        skipped=str(len(skipped)),
        time=f"{total_s:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("profile", report.profile),
        ("fail_on", report.fail_on),
        ("sha256", report.sha256 or ""),
        ("passed", str(report.passed).lower()),
        ("tool_version", report.tool.get("version", "")),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for r in results:
        suite.append(_case(report, r))
    return suite


def _error_suite(err: dict[str, Any]) -> ET.Element:
    """A clip that could not be processed at all: one test case in error."""
    path = str(err.get("path", ""))
    suite = ET.Element(
        "testsuite", name=path, tests="1", failures="0", errors="1", skipped="0", time="0.000"
    )
    case = ET.SubElement(suite, "testcase", classname=path, name="validate", time="0")
    e = ET.SubElement(case, "error", message=str(err.get("message", "")), type="tool-error")
    e.text = f"the clip could not be processed (exit code {err.get('exit_code', 3)}): {err.get('message', '')}"
    return suite


def _case(report: Report, r: Result) -> ET.Element:
    case = ET.Element("testcase", classname=report.path, name=f"{r.rule} {r.name}", time="0")
    if r.status == "skip":
        ET.SubElement(case, "skipped", message=r.message)
    elif r.failed and severity_at_least(r.severity, report.fail_on):
        fail = ET.SubElement(case, "failure", message=r.message, type=r.severity)
        fail.text = _details(r)
    elif r.failed:  # a finding below --fail-on: shown, but not a CI failure
        out = ET.SubElement(case, "system-out")
        out.text = f"{r.severity}: " + _details(r)
    return case


def _details(r: Result) -> str:
    lines = [f"{r.rule} {r.name} ({r.severity}): {r.message}"]
    if r.measured is not None or r.limit is not None:
        unit = f" {r.unit}" if r.unit else ""
        lines.append(f"measured: {r.measured}{unit}; limit: {r.limit}{unit}")
    if r.spans:
        where = ", ".join(f"{s.start_s:.2f}-{s.end_s:.2f} s" for s in r.spans[:10])
        more = f" (+{len(r.spans) - 10} more)" if len(r.spans) > 10 else ""
        lines.append(f"where: {where}{more}")
    if r.hint:
        lines.append(f"how to fix: {r.hint}")
    return "\n".join(lines)

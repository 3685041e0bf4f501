"""JUnit XML: parses, one testsuite per clip, one testcase per rule, failures carry the message,
skipped rules are <skipped/>, findings below --fail-on do not fail CI."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

from clipgen import make_clip

from validator.registry import Span, load_all
from validator.render import render
from validator.render.junit import render as render_junit
from validator.report import Report, Result


def _report(path: str = "a.mp4", fail_on: str = "error") -> Report:
    return Report(
        path=path,
        size_bytes=10,
        sha256="00" * 32,
        profile="phoenix-4",
        fail_on=fail_on,
        results=[
            Result("MED001", "unreadable-media", "error", "pass", "readable"),
            Result(
                "FAC003",
                "face-too-small",
                "error",
                "fail",
                'face height is 18% <of> the "frame"',
                0.18,
                0.25,
                "ratio",
                "sit closer & zoom in",
                (Span(1.0, 2.5),),
            ),
            Result(
                "MED010",
                "variable-frame-rate",
                "warning",
                "fail",
                "20% of intervals vary",
                0.2,
                0.02,
                "ratio",
                "constant rate",
            ),
            Result("AUD001", "background-noise", "error", "skip", "not evaluated: no audio stream"),
        ],
        timings_s={"total": 1.25},
    )


def _parse(data: bytes) -> ET.Element:
    assert isinstance(data, bytes) and data.startswith(b"<?xml")
    return ET.fromstring(data)


def test_one_case_per_rule_with_failures_and_skips():
    root = _parse(render("junit", [_report()]))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "a.mp4"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "MED001 unreadable-media",
        "FAC003 face-too-small",
        "MED010 variable-frame-rate",
        "AUD001 background-noise",
    ]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "1")
    fail = cases[1].find("failure")
    assert (
        fail.get("message") == 'face height is 18% <of> the "frame"'
    )  # escaped and read back intact
    assert fail.get("type") == "error"
    assert "measured: 0.18 ratio; limit: 0.25 ratio" in fail.text and "1.00-2.50 s" in fail.text
    assert "how to fix: sit closer & zoom in" in fail.text
    # a warning below --fail-on error: passing case, finding kept in system-out
    assert (
        cases[2].find("failure") is None
        and "20% of intervals vary" in cases[2].find("system-out").text
    )
    assert cases[3].find("skipped").get("message") == "not evaluated: no audio stream"
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None


def test_fail_on_warning_makes_warnings_failures():
    suite = _parse(render("junit", [_report(fail_on="warning")])).find("testsuite")
    assert suite.get("failures") == "2"
    assert suite.findall("testcase")[2].find("failure").get("type") == "warning"


def test_one_suite_per_clip_and_totals():
    root = _parse(render("junit", [_report("a.mp4"), _report("b.mp4")]))
    assert [s.get("name") for s in root.findall("testsuite")] == ["a.mp4", "b.mp4"]
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("8", "2", "2")


def test_cli_junit_parses_with_every_selected_rule(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", duration_s=1.0)
    out = tmp_path / "report.xml"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "validator",
            "check",
            str(clip),
            "--format",
            "junit",
            "-o",
            str(out),
            "--select",
            "MED",
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1, p.stderr  # 320x240, 1 s: fails MED007/MED008
    suite = ET.parse(out).getroot().find("testsuite")
    med = sorted(r for r in load_all() if r.startswith("MED"))
    assert sorted(c.get("name").split()[0] for c in suite.findall("testcase")) == med
    failed = {
        c.get("name").split()[0] for c in suite.findall("testcase") if c.find("failure") is not None
    }
    assert {"MED007", "MED008"} <= failed


def test_clip_that_could_not_be_processed_is_an_error_suite():
    root = _parse(
        render_junit(
            [_report("a.mp4")], errors=[{"path": "b.mp4", "message": "b.mp4: boom", "exit_code": 3}]
        )
    )
    a, b = root.findall("testsuite")
    assert b.get("name") == "b.mp4" and b.get("errors") == "1"
    assert b.find("testcase").find("error").get("message") == "b.mp4: boom"
    assert root.get("errors") == "1" and root.get("tests") == "5"

"""One renderer contract: every format takes (reports, errors, quiet=, colour=); verdicts and
counts come from the Report, so the batch summary, text and HTML agree."""

from __future__ import annotations

import inspect

from validator.render import FORMATS
from validator.report import Report, Result


def _r(rule: str, severity: str, status: str) -> Result:
    return Result(rule, rule.lower(), severity, status, "m")


def _report(results: list[Result], fail_on: str = "error") -> Report:
    return Report("c.mp4", 1, None, "p", fail_on, results, media={})


def test_every_format_has_the_same_signature():
    want = ["reports", "errors", "quiet", "colour"]
    for name, fn in FORMATS.items():
        assert list(inspect.signature(fn).parameters) == want, name


def test_every_format_renders_reports_and_errors():
    rep = _report([_r("MED001", "error", "fail"), _r("AUD001", "warning", "pass")])
    err = [{"path": "bad.mp4", "message": "bad.mp4: not a video", "exit_code": 3}]
    for name, fn in FORMATS.items():
        out = fn([rep], err, quiet=False, colour=False)
        assert out, name
        if name != "text":  # text lists errors on stderr, not in the report
            assert (b"bad.mp4" if isinstance(out, bytes) else "bad.mp4") in out, name
    assert FORMATS["text"]([], err) == ""


def test_verdict_and_counts():
    rep = _report(
        [
            _r("A1", "error", "fail"),
            _r("A2", "warning", "fail"),
            _r("A3", "warning", "fail"),
            _r("A4", "info", "pass"),
            _r("A5", "error", "skip"),
        ]
    )
    assert rep.verdict == "FAIL"
    assert rep.counts() == {"error": 1, "warning": 2, "info": 0, "passed": 1, "skipped": 1}
    only_warnings = _report([_r("A2", "warning", "fail")])
    assert only_warnings.verdict == "PASS"
    assert _report([_r("A2", "warning", "fail")], fail_on="warning").verdict == "FAIL"

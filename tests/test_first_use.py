"""What a new user hits (issue 13): config errors that name file and line, which config judged the
clip, --debug anywhere with the same exit codes, a text report that names each place once in
one format and clipped to the clip, root causes first, a one-line-per-clip mode, feedback after
`-o`, colour only on a terminal, `validator rules FAMILY`, and a sample whose FAIL explains itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clipgen import RELAX_MED_ARGS, make_clip

from validator import cli
from validator.pipeline import clip_spans
from validator.registry import Outcome, Span
from validator.render import text
from validator.report import Report, Result

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_media" / "sample.mp4"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("first") / "clean.mp4")


def run_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("VALIDATOR_DEBUG", "NO_COLOR")}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "validator", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=e,
        timeout=120,
    )


# --- item 2: config files -------------------------------------------------------------------


def test_broken_pyproject_is_exit_2_naming_file_and_line(clean, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.validator]\nselect = ["MED"]\nignore = = 3\n')
    p = run_cli("check", str(clean), *RELAX_MED_ARGS, cwd=tmp_path)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "pyproject.toml" in p.stderr and "line 3" in p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    # an unclosed array is reported "at end of document" by tomllib: still a line number
    (tmp_path / "pyproject.toml").write_text('[tool.validator]\nselect = ["MED"\n')
    p = run_cli("check", str(clean), cwd=tmp_path)
    assert p.returncode == 2 and "line 2" in p.stderr
    # a broken pyproject.toml of another tool is an error too: it may hold our table
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'x'\n")
    assert run_cli("check", str(clean), cwd=tmp_path).returncode == 2
    # --no-config still runs without reading it
    assert (
        run_cli("check", str(clean), "--no-config", *RELAX_MED_ARGS, cwd=tmp_path).returncode == 0
    )


def test_report_says_which_config_file_judged_the_clip(clean, tmp_path):
    p = run_cli("check", str(clean), "--format", "json", *RELAX_MED_ARGS, cwd=tmp_path)
    assert json.loads(p.stdout)["settings"]["config_file"] is None
    assert "code defaults" in run_cli("check", str(clean), *RELAX_MED_ARGS, cwd=tmp_path).stdout
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.validator]\nignore = ["MED012"]\n')
    p = run_cli("check", str(clean), "--format", "json", *RELAX_MED_ARGS, cwd=tmp_path)
    assert json.loads(p.stdout)["settings"]["config_file"] == str(cfg.resolve())
    p = run_cli("check", str(clean), *RELAX_MED_ARGS, cwd=tmp_path)
    assert f"settings from {cfg.resolve()}" in p.stdout
    other = tmp_path / "gate.toml"
    other.write_text('[tool.validator]\nfail-on = "error"\n')
    p = run_cli(
        "check",
        str(clean),
        "--config",
        str(other),
        "--format",
        "json",
        *RELAX_MED_ARGS,
        cwd=tmp_path,
    )
    assert json.loads(p.stdout)["settings"]["config_file"] == str(other)
    # worker processes report it too
    p = run_cli(
        "check",
        str(clean),
        str(shutil.copy(clean, tmp_path / "copy.mp4")),
        "--jobs",
        "2",
        "--format",
        "json",
        "--no-cache",
        *RELAX_MED_ARGS,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert all(
        r["settings"]["config_file"] == str(cfg.resolve()) for r in json.loads(p.stdout)["reports"]
    )


# --- item 3: --debug --------------------------------------------------------------------------


def test_debug_after_the_subcommand_and_same_exit_codes(tmp_path):
    for args in (["--debug", "check", "missing.mp4"], ["check", "missing.mp4", "--debug"]):
        p = run_cli(*args, "--no-config", cwd=tmp_path)
        assert p.returncode == 2, (args, p.stderr)
        assert "Traceback" in p.stderr and "missing.mp4: no such file" in p.stderr.splitlines()[-1]
    p = run_cli("check", "missing.mp4", cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert run_cli("rules", "MED001", "--debug", cwd=tmp_path).returncode == 0


def test_debug_shows_traceback_of_a_per_clip_internal_error(clean, monkeypatch, capsys):
    def boom(*a, **k):
        raise RuntimeError("analyser bug")

    monkeypatch.setattr("validator.batch.check_one", boom)
    assert cli.main(["check", str(clean), "--no-cache", "--no-config", "--debug"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: analyser bug" in err
    assert cli.main(["check", str(clean), "--no-cache", "--no-config"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "analyser bug" in err


# --- item 4: the text report ----------------------------------------------------------------


def _report(results, duration=64.333, sha=None) -> Report:
    return Report(
        path="clip.mp4",
        size_bytes=1,
        sha256=sha,
        profile="phoenix-4",
        fail_on="error",
        results=results,
        media={
            "duration_s": duration,
            "width": 1920,
            "height": 1080,
            "fps": 30.0,
            "container": "mp4",
            "video_codec": "h264",
            "audio_codec": "aac",
        },
        segments={
            "speaking": {"start_s": 0.5, "end_s": 34.0},
            "listening": {"start_s": 34.0, "end_s": 64.3},
        },
    )


def _fail(rule, msg, spans, severity="error", name="some-rule"):
    return Result(
        rule, name, severity, "fail", msg, hint="do better", spans=tuple(Span(*s) for s in spans)
    )


def test_each_place_once_in_one_time_format():
    r = _fail("MTH001", "lips apart in 100% (at most 5%), at 34.2-64.3 s", [(34.2, 64.3)])
    many = _fail("EDT002", "frozen video", [(1.4, 1.6), (5.0, 5.5), (9.0, 9.25)])
    out = text.render([_report([r, many])])
    assert out.count("34.2-64.3") == 1  # named by the message, not repeated
    assert "where: 1.40-1.60 s, 5.0-5.5 s, 9.00-9.25 s" in out
    assert "0:0" not in out and "1:04" not in out  # no second (m:ss) format anywhere
    assert "((" not in out and "))" not in out
    assert "speaking 0.5-34.0 s; listening 34.0-64.3 s" in out


def test_spans_are_clipped_to_the_clip_and_the_message_with_them():
    out = Outcome("fail", "lips apart, at 34.2-64.4 s", spans=(Span(34.2, 64.4),))
    c = clip_spans(out, 64.333)
    assert c.spans == (Span(34.2, 64.333),) and c.message == "lips apart, at 34.2-64.3 s"
    assert clip_spans(out, None) is out


def test_sample_spans_end_inside_the_clip(tmp_path):
    if not SAMPLE.is_file():
        pytest.skip("sample clip absent")
    from validator import Settings, validate

    rep = validate(SAMPLE, settings=Settings(select=("MTH001",)))
    dur = rep.media["duration_s"]
    assert all(s.end_s <= dur + 1e-3 for r in rep.results for s in r.spans)
    assert "64.4" not in rep.result("MTH001").message


def test_root_cause_first():
    short = _fail("MED008", "the clip is 12.0 s (needs at least 57 s)", [])
    seg = _fail("SEG002", "no listening segment", [])
    aud = _fail("AUD001", "noisy", [], severity="error")
    out = text.render([_report([aud, seg, short])])
    i_med, i_aud, i_seg = out.index("MED008"), out.index("AUD001"), out.index("SEG002")
    assert i_med < i_aud and i_med < i_seg
    assert "this comes first" in out


def test_quiet_is_one_line_per_clip():
    a = _report([_fail("MTH001", "x", [], name="lips-open-while-listening")])
    b = _report([Result("MED001", "unreadable-media", "error", "pass", "ok")])
    b.path = "b.mp4"
    out = text.render([a, b], quiet=True)
    lines = out.splitlines()
    assert lines == [
        "FAIL  clip.mp4  MTH001 lips-open-while-listening",
        "PASS  b.mp4",
        "1 of 2 clips passed",
    ]


def test_quiet_flag(clean, tmp_path):
    p = run_cli("check", str(clean), "-q", *RELAX_MED_ARGS, cwd=tmp_path)
    assert p.returncode == 0 and p.stdout == f"PASS  {clean}\n"


# --- item 7: feedback -----------------------------------------------------------------------


def test_output_file_says_wrote_and_verdict_without_a_tty(clean, tmp_path):
    out = tmp_path / "r.json"
    p = run_cli(
        "check", str(clean), "--format", "json", "-o", str(out), *RELAX_MED_ARGS, cwd=tmp_path
    )
    assert p.returncode == 0 and p.stdout == ""
    assert f"wrote {out}: PASS" in p.stderr
    assert json.loads(out.read_text())["passed"] is True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    from validator.commands._common import use_colour

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(Tty()) is True
    assert use_colour(sys.stdout) is sys.stdout.isatty()
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Tty()) is False
    r = _report([_fail("MTH001", "x", [])])
    assert "\x1b[" in text.render([r], colour=True) and "\x1b[" not in text.render([r])


def test_colour_not_in_piped_output(clean, tmp_path):
    p = run_cli("check", str(clean), *RELAX_MED_ARGS, cwd=tmp_path)
    assert "\x1b[" not in p.stdout


# --- item 5: rules --------------------------------------------------------------------------


def test_rules_accepts_a_family_like_select(tmp_path):
    p = run_cli("rules", "MED", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    ids = [line.split()[0] for line in p.stdout.splitlines()]
    assert ids == [f"MED{i:03d}" for i in range(1, 14)]
    assert run_cli("rules", "FAC00", cwd=tmp_path).stdout.count("FAC00") == 9
    p = run_cli("rules", "XYZ", cwd=tmp_path)
    assert p.returncode == 2 and "XYZ" in p.stderr


def test_rule_doc_has_one_fix_paragraph_and_public_sources():
    from validator.commands.rules import rule_text
    from validator.registry import load_all

    for r in load_all().values():
        t = rule_text(r)
        assert t.count("How to fix") == 1, r.id
        for private in ("lp_d", "lp_src_", "grid_", "fr_short", "../shared", "shared/media"):
            assert private not in t, (r.id, private)
    assert "LivePortrait" in rule_text(load_all()["FAC003"])


# --- item 9: the first run ------------------------------------------------------------------


def test_the_bundled_sample_says_why_it_fails():
    if not SAMPLE.is_file():
        pytest.skip("sample clip absent")
    import hashlib

    from validator.samples import sample_note

    note = sample_note(hashlib.sha256(SAMPLE.read_bytes()).hexdigest())
    assert note and "MTH001" in note and "on purpose" in note
    out = text.render(
        [_report([_fail("MTH001", "x", [])], sha=hashlib.sha256(SAMPLE.read_bytes()).hexdigest())]
    )
    assert "fails on purpose" in out
    # any other clip: no such note
    assert "on purpose" not in text.render([_report([_fail("MTH001", "x", [])], sha="0" * 64)])


# --- item 8: packaging ----------------------------------------------------------------------


def test_licence_and_notice_ship_and_name_the_bundled_models():
    lic = (ROOT / "LICENSE").read_text()
    assert "Apache License" in lic and "Version 2.0, January 2004" in lic
    assert "END OF TERMS AND CONDITIONS" in lic
    notice = (ROOT / "NOTICE").read_text()
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    for m in manifest["models"]:
        assert m["file"] in notice
    assert "Apache License, Version 2.0" in notice and "Google LLC" in notice


def test_core_install_needs_no_scipy_and_readme_has_no_placeholders():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip().lower() for d in deps}
    assert not names & {"scipy", "pyloudnorm", "librosa"}
    readme = (ROOT / "README.md").read_text()
    assert "OWNER/REPO" not in readme and "../shared/spec" not in readme
    assert (ROOT / "docs" / "interface.md").is_file() and "docs/interface.md" in readme


# --- item 1: a library without what we call is a ToolError, not a raw exception ---------------


def _broken_faces(monkeypatch, where: str):
    import dataclasses

    import validator.pipeline as pl

    real = pl.load_analysers()

    class Broken:
        wants_frames = True

        def __init__(self, *a):
            if where == "start":
                raise AttributeError("module 'cv2.dnn' has no attribute 'ENGINE_CLASSIC'")

        def on_frame(self, frame):
            raise AttributeError("module 'cv2.dnn' has no attribute 'ENGINE_CLASSIC'")

        def finish(self, ev):
            return None

    patched = dict(real)
    patched["faces"] = dataclasses.replace(real["faces"], factory=Broken)
    monkeypatch.setattr(pl, "load_analysers", lambda: patched)


@pytest.mark.parametrize("where", ["start", "frame"])
def test_validate_raises_tool_error_not_attribute_error(clean, monkeypatch, where):
    from validator import Settings, ToolError, validate

    _broken_faces(monkeypatch, where)
    with pytest.raises(ToolError, match="ENGINE_CLASSIC"):
        validate(clean, settings=Settings(select=("FAC001",)))


# --- item 7: prepare's progress is check's progress line ------------------------------------


def test_prepare_progress_in_the_same_style_as_check(clean, monkeypatch, capsys):
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    code = cli.main(["prepare", str(clean), "--dry-run", "--no-config", *RELAX_MED_ARGS])
    assert code in (0, 1)
    out = err.getvalue()
    assert f"[0/1 done] {clean.name} " in out  # check's Progress line, not "stage: 40%"
    assert not re.search(r"\r[a-z]+: +\d+%", out)

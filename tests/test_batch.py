"""Many files: path/folder/glob expansion, worker processes, summary table, worst exit code,
many-file JSON, progress only on a terminal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clipgen import RELAX_MED_ARGS, make_clip

from validator import batch, pipeline
from validator.batch import Outcome, expand_inputs, run_batch, summary_table, worst_exit_code
from validator.errors import ToolError, UsageError
from validator.progress import Progress
from validator.settings import Settings

MED = Settings(select=("MED",))
RELAX = RELAX_MED_ARGS


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """good.mp4 and sub/also.mp4 (pass when relaxed), broken.mp4 (MED001), notes.txt, .hidden/x.mp4."""
    d = tmp_path_factory.mktemp("batch")
    make_clip(d / "good.mp4", duration_s=1.0)
    (d / "sub").mkdir()
    make_clip(d / "sub" / "also.mp4", duration_s=1.0, size=(160, 120))
    (d / "broken.mp4").write_bytes(b"not a video at all" * 50)
    (d / "notes.txt").write_text("not media")
    (d / ".hidden").mkdir()
    (d / ".hidden" / "x.mp4").write_bytes(b"")
    return d


def _names(paths) -> list[str]:
    return [Path(p).name for p in paths]


def test_folder_recurses_for_video_files_only(folder):
    assert _names(expand_inputs([str(folder)])) == ["broken.mp4", "good.mp4", "also.mp4"]


def test_glob_patterns_and_explicit_files(folder):
    assert _names(expand_inputs([str(folder / "*.mp4")])) == ["broken.mp4", "good.mp4"]
    assert _names(expand_inputs([str(folder / "**" / "also.*")])) == ["also.mp4"]
    # a file named explicitly is checked whatever its extension; duplicates collapse
    assert _names(
        expand_inputs([str(folder / "notes.txt"), str(folder / "good.mp4"), str(folder)])
    ) == ["notes.txt", "good.mp4", "broken.mp4", "also.mp4"]


@pytest.mark.parametrize(
    "item,needle",
    [("/definitely/missing.mp4", "no such file"), ("/definitely/*.mp4", "no file matches")],
)
def test_missing_inputs_are_usage_errors(item, needle):
    with pytest.raises(UsageError, match=needle):
        expand_inputs([item])


def test_folder_without_clips_is_a_usage_error(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(UsageError, match=r"no clips or photos found .*\.mp4.*photos .*\.jpg"):
        expand_inputs([str(tmp_path)])


def test_worker_processes_keep_input_order_and_codes(folder):
    paths = expand_inputs([str(folder)])
    outcomes = run_batch(paths, MED, jobs=2)
    assert _names(o.path for o in outcomes) == ["broken.mp4", "good.mp4", "also.mp4"]
    assert [o.report.result("MED001").status for o in outcomes] == ["fail", "pass", "pass"]
    assert all(o.exit_code == 1 for o in outcomes)  # 160x240 and 1 s clips fail MED007/MED008
    # the same reports as in-process validation
    solo = run_batch(paths, MED, jobs=1)
    assert [o.report.to_dict()["results"] for o in outcomes] == [
        o.report.to_dict()["results"] for o in solo
    ]


def test_a_clip_that_cannot_be_processed_gives_3_and_others_still_run(folder, monkeypatch):
    real = pipeline.validate

    def flaky(path, *a, **k):
        if Path(path).name == "good.mp4":
            raise ToolError(f"{path}: faces analysis failed: boom")
        return real(path, *a, **k)

    monkeypatch.setattr(pipeline, "validate", flaky)
    outcomes = run_batch(expand_inputs([str(folder)]), MED, jobs=1)
    assert [o.verdict for o in outcomes] == ["FAIL", "ERROR", "FAIL"]
    assert outcomes[1].exit_code == 3 and "boom" in outcomes[1].error
    assert worst_exit_code(outcomes) == 3
    table = summary_table(outcomes)
    assert "3 clips: 0 passed, 2 failed, 1 could not be checked" in table and "boom" in table


def test_worst_exit_code_order():
    def o(code: int) -> Outcome:
        return Outcome("x", None, exit_code=code)

    assert worst_exit_code([o(0), o(1)]) == 1
    assert worst_exit_code([o(1), o(3), o(2)]) == 3
    assert worst_exit_code([o(0), o(2), o(1)]) == 2
    assert worst_exit_code([]) == 0


def test_default_jobs():
    assert batch.default_jobs(1) == 1
    assert batch.default_jobs(5) == min(2, os.cpu_count() or 1)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "validator", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )


def test_cli_folder_json_summary_and_exit_code(folder, tmp_path):
    p = _cli(str(folder), "--format", "json", "--jobs", "2", *RELAX, cwd=tmp_path)
    assert p.returncode == 1, p.stderr  # broken.mp4 fails MED001; the others pass
    doc = json.loads(p.stdout)
    assert doc["passed"] is False and doc["schema_version"].startswith("1.")
    assert [Path(r["input"]["path"]).name for r in doc["reports"]] == [
        "broken.mp4",
        "good.mp4",
        "also.mp4",
    ]
    assert [r["passed"] for r in doc["reports"]] == [False, True, True]
    # summary table on stderr; no progress (stderr is not a terminal)
    assert "3 clips: 2 passed, 1 failed" in p.stderr and "FAIL" in p.stderr
    assert "\r" not in p.stderr and "done]" not in p.stderr


def test_cli_all_passing_exits_0(folder, tmp_path):
    p = _cli(str(folder / "good.mp4"), str(folder / "sub"), *RELAX, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "2 of 2 clips passed" in p.stdout


def test_cli_missing_path_is_usage_error_before_any_work(folder, tmp_path):
    p = _cli(str(folder / "good.mp4"), str(tmp_path / "nope.mp4"), *RELAX, cwd=tmp_path)
    assert p.returncode == 2 and "nope.mp4: no such file or directory" in p.stderr
    assert p.stdout == ""


def test_progress_on_a_terminal_per_file_and_stage():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    prog = Progress(2, stream=out)
    assert prog.enabled
    prog.start("a.mp4")
    prog._last_draw = 0.0  # redraws are rate-limited; let this one through
    prog.stage("a.mp4", "decode", 0.5)
    prog.finish("a.mp4", "PASS", 1.2)
    prog.close()
    text = out.getvalue()
    assert "a.mp4 decode 50%" in text and "[1/2] PASS  a.mp4  (1.2 s)" in text


def test_progress_silent_when_not_a_terminal(folder):
    out = io.StringIO()
    prog = Progress(1, stream=out)
    assert not prog.enabled
    run_batch([folder / "good.mp4"], MED, progress=prog)
    assert out.getvalue() == ""


def test_jobs_must_be_positive(folder):
    with pytest.raises(UsageError, match="--jobs"):
        run_batch([folder / "good.mp4"], MED, jobs=0)


def test_timeline_analyser_failure_does_not_fail_the_clip(folder, monkeypatch):
    real = pipeline.validate

    def no_faces(path, *a, extra_evidence=(), **k):
        if "faces" in extra_evidence:
            raise ToolError("models/face_landmark.tflite: missing")
        return real(path, *a, extra_evidence=extra_evidence, **k)

    monkeypatch.setattr(pipeline, "validate", no_faces)
    (o,) = run_batch([folder / "good.mp4"], MED, timeline=True)
    assert o.report is not None and o.exit_code == 1  # judged as usual (fails MED007/MED008)
    assert "face_landmark.tflite" in o.report.timeline.missing["timeline"]
    assert o.report.timeline.stills  # the thumbnails still came


def test_json_lists_clips_that_could_not_be_processed(folder, monkeypatch, capsys):
    from validator import cli

    real = pipeline.validate

    def flaky(path, *a, **k):
        if Path(path).name == "good.mp4":
            raise ToolError(f"{path}: faces analysis failed: boom")
        return real(path, *a, **k)

    monkeypatch.setattr(pipeline, "validate", flaky)
    code = cli.main(["check", str(folder / "good.mp4"), "--format", "json", *RELAX])
    assert code == 3
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["passed"] is False and doc["reports"] == []
    assert doc["errors"] == [
        {
            "path": str(folder / "good.mp4"),
            "message": f"{folder / 'good.mp4'}: faces analysis failed: boom",
            "exit_code": 3,
        }
    ]
    assert "boom" in out.err


def test_settings_reach_workers_whole_and_picklable():
    import dataclasses
    import pickle

    from validator.batch import _settings_kwargs

    s = Settings(fail_on="warning", select=("MED",), params={"MED011": {"max_decode_errors": 3}})
    kw = pickle.loads(pickle.dumps(_settings_kwargs(s)))
    assert set(kw) == {f.name for f in dataclasses.fields(Settings) if f.init}
    assert Settings(**kw) == s


def test_exit_codes_are_defined_once():
    from validator import batch, cli, errors

    assert (cli.EXIT_TOOL, batch.EXIT_TOOL) == (errors.EXIT_TOOL, errors.EXIT_TOOL)
    assert errors.ToolError.exit_code == errors.EXIT_TOOL
    assert errors.UsageError.exit_code == errors.EXIT_USAGE

"""The command line: exit codes, stdout/stderr separation, JSON contract, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clipgen import RELAX_MED_ARGS, make_clip

from validator import cli
from validator.errors import ToolError

ROOT = Path(__file__).resolve().parents[1]
RELAX = RELAX_MED_ARGS


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("cli") / "clean.mp4")


@pytest.fixture(scope="module")
def hevc(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("cli") / "hevc.mp4", vcodec="libx265")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "validator", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )


def test_pass_exit_0_and_json_on_stdout(clean, tmp_path):
    p = run_cli("check", str(clean), "--format", "json", *RELAX, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["passed"] is True and doc["schema_version"].startswith("1.")
    assert set(doc) >= {
        "schema_version",
        "tool",
        "input",
        "profile",
        "passed",
        "media",
        "segments",
        "results",
        "timings_s",
    }
    assert set(doc["results"][0]) >= {
        "rule",
        "name",
        "severity",
        "status",
        "measured",
        "limit",
        "unit",
        "message",
        "hint",
        "start_s",
        "end_s",
    }
    assert doc["segments"] == {"speaking": None, "listening": None}


def test_fail_exit_1_and_text_report(hevc, tmp_path):
    p = run_cli("check", str(hevc), *RELAX, cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout.startswith("FAIL")
    assert "MED003 video-codec-not-h264" in p.stdout and "fix:" in p.stdout


def test_fail_on_warning(tmp_path):
    clip = make_clip(tmp_path / "tenbit.mp4", pix_fmt="yuv420p10le")
    assert run_cli("check", str(clip), *RELAX, cwd=tmp_path).returncode == 0  # MED012 is a warning
    assert run_cli("check", str(clip), *RELAX, "--fail-on", "warning", cwd=tmp_path).returncode == 1


def test_output_file_written(clean, tmp_path):
    out = tmp_path / "report.json"
    p = run_cli("check", str(clean), "--format", "json", "-o", str(out), *RELAX, cwd=tmp_path)
    assert p.returncode == 0 and p.stdout == ""
    assert json.loads(out.read_text())["input"]["path"] == str(clean)
    assert not list(tmp_path.glob(".report.json.*"))  # no temporary file left behind


@pytest.mark.parametrize(
    "args,needle",
    [
        (["check", "/definitely/missing.mp4"], "no such file"),
        (["check", "X", "--profile", "phoenix-9"], "invalid choice"),
        (["check", "X", "--set", "FAC999.x=1"], "FAC999"),
        (["check", "X", "--set", "MED005.max_size_bytes=-1"], "allowed 1 to"),
        (["check", "X", "--set", "MED005.nope=1"], "unknown parameter"),
        (["check", "X", "--set", "MED005"], "RULE.PARAM=VALUE"),
        (["check", "X", "--select", "ZZZ"], "matches no rule"),
        (["rules", "NOPE"], "no such rule"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, needle, tmp_path):
    p = run_cli(*args, cwd=tmp_path)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle in p.stderr
    assert "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("validator")


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 1000, b"hello, not a video\n"])
def test_bad_files_exit_1_no_traceback(tmp_path, content):
    f = tmp_path / "bad.mp4"
    f.write_bytes(content)
    p = run_cli("check", str(f), "--select", "MED", cwd=tmp_path)
    assert p.returncode == 1
    assert "MED001" in p.stdout and "Traceback" not in p.stderr


def test_tool_error_exits_3(monkeypatch, capsys, clean):
    def boom(*a, **k):
        raise ToolError("models/face_landmark.tflite: missing")

    monkeypatch.setattr("validator.commands.check.validate", boom, raising=False)
    monkeypatch.setattr("validator.pipeline.validate", boom)
    code = cli.main(["check", str(clean), "--select", "MED"])
    assert code == 3
    assert "face_landmark.tflite" in capsys.readouterr().err


def test_internal_error_exits_3_without_traceback(monkeypatch, capsys, clean):
    def boom(*a, **k):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("validator.commands.check.validate", boom, raising=False)
    monkeypatch.setattr("validator.pipeline.validate", boom)
    assert cli.main(["check", str(clean)]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err


def test_project_config_is_read_and_validated(clean, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.validator]\nselect = ["MED"]\n[tool.validator.rules.MED007]\n'
        "min_short_side_px = 16\nerror_short_side_px = 16\n[tool.validator.rules.MED008]\ntolerance_s = 59\n"
    )
    p = run_cli("check", str(clean), "--format", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["settings"]["rule_params"]["MED007"]["min_short_side_px"] == 16
    # flags beat config
    p = run_cli("check", str(clean), "--set", "MED007.min_short_side_px=1080", cwd=tmp_path)
    assert p.returncode == 0 and "MED007" in p.stdout  # warning only
    (tmp_path / "pyproject.toml").write_text("[tool.validator]\nsample-fps = 1000\n")
    p = run_cli("check", str(clean), cwd=tmp_path)
    assert p.returncode == 2 and "sample-fps" in p.stderr and "allowed" in p.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.validator]\ncolour = "red"\n')
    p = run_cli("check", str(clean), cwd=tmp_path)
    assert p.returncode == 2 and "tool.validator.colour" in p.stderr
    assert run_cli("check", str(clean), "--no-config", *RELAX, cwd=tmp_path).returncode == 0


def test_rules_command_lists_and_documents(tmp_path):
    p = run_cli("rules", cwd=tmp_path)
    assert p.returncode == 0 and "MED001  unreadable-media" in p.stdout
    p = run_cli("rules", "frame-rate-too-low", cwd=tmp_path)
    assert p.returncode == 0 and "MED006" in p.stdout and "min_fps = 25.0" in p.stdout
    doc = json.loads(run_cli("rules", "--format", "json", cwd=tmp_path).stdout)
    assert {d["id"] for d in doc} >= {f"MED{i:03d}" for i in range(1, 14)}


def test_console_script_entry_point_matches_module():
    from importlib.metadata import entry_points

    eps = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert eps.get("validator") == "validator.cli:main"


def test_stats_csv_has_one_row_per_instant(tmp_path):
    import csv

    clip = make_clip(tmp_path / "c.mp4", duration_s=2.0)
    out = tmp_path / "stats.csv"
    p = run_cli(
        "check",
        str(clip),
        "--no-cache",
        "--select",
        "FAC001,IMG002,SEG001",
        "--stats",
        str(out),
        cwd=tmp_path,
    )
    assert p.returncode in (0, 1), p.stderr
    rows = list(csv.DictReader(out.open()))
    video = [r for r in rows if r["stream"] == "video"]
    audio = [r for r in rows if r["stream"] == "audio"]
    assert len(video) == 10  # 2 s at the default 5 samples per second, faces and image merged
    assert {"face_present", "img_brightness"} <= set(video[0])
    assert video[0]["img_brightness"] != "" and video[0]["face_present"] != ""
    assert len(audio) > 50 and audio[0]["silero_prob"] != ""


def test_written_files_follow_the_umask(clean, tmp_path):
    import os
    import stat

    out = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        from validator.fsutil import atomic_write

        atomic_write(out, "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644

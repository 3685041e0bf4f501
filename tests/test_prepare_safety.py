"""prepare's safety: refusals (OUT equal to IN, also through links), dry runs that write nothing,
failed and interrupted runs that leave no OUT and no temporary file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clipgen import make_clip

from validator import Settings, ToolError, UsageError
from validator import prepare as prepare_pkg
from validator.cli import main
from validator.prepare import PrepareOptions, prepare
from validator.prepare.repairs import RepairError
from validator.prepare.safety import TEMP_SUFFIX, TEMP_TAG, temp_leftovers

MED = Settings(select=("MED",))
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("safe")
    return make_clip(d / "in.mov", duration_s=1)


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if TEMP_TAG in p.name]


def test_refuses_out_equal_to_in(src, capsys):
    assert main(["prepare", str(src), "-o", str(src), "--no-config"]) == 2
    assert "never overwrites its input" in capsys.readouterr().err


def test_refuses_in_through_a_symlink_and_a_hard_link(src, tmp_path):
    link = tmp_path / "link.mp4"
    link.symlink_to(src)
    with pytest.raises(UsageError, match="input file itself"):
        prepare(src, link, MED, PrepareOptions(overwrite=True))
    hard = tmp_path / "hard.mp4"
    os.link(src, hard)
    with pytest.raises(UsageError, match="input file itself"):
        prepare(src, hard, MED, PrepareOptions(overwrite=True))
    # A symlinked folder that leads back to IN's folder, with IN's name.
    mp4_in = tmp_path / "real" / "clip.mp4"
    mp4_in.parent.mkdir()
    mp4_in.write_bytes(src.read_bytes())
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with pytest.raises(UsageError, match="input file itself"):
        prepare(mp4_in, tmp_path / "alias" / "clip.mp4", MED, PrepareOptions(overwrite=True))
    assert mp4_in.read_bytes() == src.read_bytes()


def test_refuses_existing_out_without_overwrite_and_bad_names(src, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(UsageError, match="already exists"):
        prepare(src, out, MED)
    assert out.read_bytes() == b"keep me"
    with pytest.raises(UsageError, match=r"\.mp4"):
        prepare(src, tmp_path / "out.mov", MED)
    with pytest.raises(UsageError, match="does not exist"):
        prepare(src, tmp_path / "nope" / "out.mp4", MED)
    with pytest.raises(UsageError, match="no such file"):
        prepare(tmp_path / "missing.mov", tmp_path / "o.mp4", MED)


def test_dry_run_prints_the_plan_and_writes_nothing(src, tmp_path, capsys):
    out = tmp_path / "dry.mp4"
    code = main(
        [
            "prepare",
            str(src),
            "-o",
            str(out),
            "--dry-run",
            "--select",
            "MED",
            "--no-config",
            "--trim",
            "none",
        ]
    )
    text = capsys.readouterr().out
    assert "MED002" in text and "remux" in text and "Dry run" in text
    assert "MED007" in text and "Cannot be repaired" in text  # 320x240 cannot be upscaled honestly
    assert code == 1  # the clip would still fail (MED007, MED008)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_failed_repair_leaves_no_output_and_no_temporary(src, tmp_path, monkeypatch):
    def broken(plan, s, dst, progress=None):
        Path(dst).write_bytes(b"half a file")
        raise RepairError("disk full")

    monkeypatch.setattr(prepare_pkg, "write", broken)
    out = tmp_path / "out.mp4"
    with pytest.raises(ToolError, match="disk full"):
        prepare(src, out, MED, PrepareOptions(trim="none"))
    assert list(tmp_path.iterdir()) == []


def test_a_result_that_does_not_hold_up_never_replaces_out(src, tmp_path, monkeypatch):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous good file")
    monkeypatch.setattr(
        prepare_pkg.proof, "problems", lambda plan, b, a: ["MED003 still fails after repair"]
    )
    with pytest.raises(ToolError, match="MED003 still fails"):
        prepare(src, out, MED, PrepareOptions(trim="none", overwrite=True))
    assert out.read_bytes() == b"previous good file"
    assert leftovers(tmp_path) == []


def test_stale_temporary_of_a_killed_run_is_removed(src, tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # a process id that no longer exists
    out = tmp_path / "out.mp4"
    stale = tmp_path / f".out{TEMP_TAG}{p.pid}-abc{TEMP_SUFFIX}"
    stale.write_bytes(b"left by kill -9")
    prepare(src, out, MED, PrepareOptions(trim="none"))
    assert out.exists() and not stale.exists() and temp_leftovers(out) == []


# ------------------------------------------------------------------------------ interruption


@pytest.fixture(scope="module")
def slow_src(tmp_path_factory) -> Path:
    """Long enough that the re-encode takes a few seconds on a busy machine."""
    d = tmp_path_factory.mktemp("slow")
    return make_clip(
        d / "slow.mp4", duration_s=20, size=(640, 360), video_options={"preset": "ultrafast"}
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_leaves_no_output(slow_src, tmp_path, sig):
    out = tmp_path / "out.mp4"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "validator",
            "prepare",
            str(slow_src),
            "-o",
            str(out),
            "--reencode",
            "--trim",
            "none",
            "--select",
            "MED",
            "--no-config",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert leftovers(tmp_path), "the run never started writing"
    time.sleep(0.3)  # inside the encode
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_unreadable_input_writes_nothing_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.mov"
    bad.write_bytes(b"not a video at all" * 100)
    out = tmp_path / "out.mp4"
    assert main(["prepare", str(bad), "-o", str(out), "--select", "MED", "--no-config"]) == 1
    text = capsys.readouterr().out
    assert "MED001" in text and "Nothing was written" in text
    assert not out.exists() and leftovers(tmp_path) == []

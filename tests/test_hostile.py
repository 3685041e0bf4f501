"""Hostile input (issue 11): special files, odd names, damaged and implausible media.  Every case
is built at test time from generated clips; each test fails on the behaviour the issue reported
(a hang, a crash, a traceback, a wrong exit code, the wrong finding)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clipgen import RELAX_MED_ARGS, make_clip

from validator import Settings, UsageError, validate

ROOT = Path(__file__).resolve().parents[1]
MED = Settings(
    select=("MED",),
    params={
        "MED007": {"min_short_side_px": 16, "error_short_side_px": 16},
        "MED008": {"tolerance_s": 59.0},
    },
)


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_DEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "validator", *args],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def status(report, rule: str) -> str:
    return next(r.status for r in report.results if r.rule == rule)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("hostile") / "clean.mp4")


# --- special files (item 5) -------------------------------------------------------------------


@pytest.fixture()
def specials(tmp_path, clean) -> Path:
    d = tmp_path / "folder"
    d.mkdir()
    (d / "good.mp4").write_bytes(clean.read_bytes())
    os.mkfifo(d / "fifo.mp4")
    (d / "zero.mp4").symlink_to("/dev/zero")
    (d / "random.mov").symlink_to("/dev/urandom")
    return d


def test_special_files_are_refused_without_hanging(specials, tmp_path):
    for name in ("fifo.mp4", "zero.mp4", "random.mov"):
        with pytest.raises(UsageError, match="not a regular file"):
            validate(specials / name, MED)
    # The cache is on (the file used to be hashed before it was known to be regular).
    cache = ("--cache-dir", str(tmp_path / "cache"))
    for name in ("fifo.mp4", "zero.mp4"):
        p = run_cli(
            "check", str(specials / name), *cache, *RELAX_MED_ARGS, cwd=tmp_path, timeout=60
        )
        assert p.returncode == 2, p.stderr
        err = p.stderr.decode()
        assert "not a regular file" in err and "Traceback" not in err
    # A folder holding them: the good clip still gets its report, the others are named.
    p = run_cli(
        "check",
        str(specials),
        "--format",
        "json",
        *cache,
        *RELAX_MED_ARGS,
        cwd=tmp_path,
        timeout=60,
    )
    assert p.returncode == 2
    doc = json.loads(p.stdout)
    reports = doc["reports"] if "reports" in doc else [doc]
    assert [Path(r["input"]["path"]).name for r in reports] == ["good.mp4"]
    assert p.stderr.decode().count("not a regular file") >= 3


# --- odd names (item 6) -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "html", "junit"])
def test_non_utf8_and_newline_names(tmp_path, clean, fmt):
    d = tmp_path / "names"
    d.mkdir()
    raw = os.fsencode(d) + b"/a\xff\xfe.mp4"
    with open(raw, "wb") as f:
        f.write(clean.read_bytes())
    (d / "new\nline.mp4").write_bytes(clean.read_bytes())
    out = tmp_path / f"report.{fmt}"
    for extra in (("-o", str(out)), ()):  # to a file (a cache miss), then to stdout (a hit)
        p = run_cli("check", str(d), "--format", fmt, *extra, *RELAX_MED_ARGS, cwd=tmp_path)
        err = p.stderr.decode()
        assert p.returncode == 0, err
        assert "Traceback" not in err and "internal error" not in err
        table = err.splitlines()
        assert any(line.endswith("new\\nline.mp4") for line in table), err
        assert any(line.endswith("a\\udcff\\udcfe.mp4") for line in table), err
    if fmt == "json":
        doc = json.loads(out.read_text("utf-8"))
        paths = sorted(os.fsencode(r["input"]["path"]) for r in doc["reports"])
        assert raw in paths  # the escape decodes back to the file's own name
        doc = json.loads(p.stdout.decode("utf-8"))
        assert raw in [os.fsencode(r["input"]["path"]) for r in doc["reports"]]


# --- a worker that dies (item 2) --------------------------------------------------------------

CRASHER = """
import os, signal
if os.environ.get("HOSTILE_CRASH_ON"):
    import validator.pipeline as _p

    _orig = _p.validate

    def validate(path, *a, **k):
        if os.environ["HOSTILE_CRASH_ON"] in os.fspath(path):
            os.kill(os.getpid(), signal.SIGSEGV)
        return _orig(path, *a, **k)

    _p.validate = validate
"""


def test_pool_survives_a_dead_worker(tmp_path, clean):
    """A clip that kills its worker process (as FFmpeg crashes did) costs only its own report."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CRASHER)
    d = tmp_path / "clips"
    d.mkdir()
    names = ["a.mp4", "b.mp4", "crash.mp4", "c.mp4", "d.mp4"]
    for n in names:
        (d / n).write_bytes(clean.read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_DEBUG"}
    env["PYTHONPATH"] = f"{hook}{os.pathsep}{ROOT}"
    env["HOSTILE_CRASH_ON"] = "crash.mp4"
    p = subprocess.run(
        [sys.executable, "-m", "validator", "check", str(d), "--jobs", "2", "--no-cache"]
        + ["--format", "json", *RELAX_MED_ARGS],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert p.returncode == 3, p.stderr
    doc = json.loads(p.stdout)
    assert sorted(Path(r["input"]["path"]).name for r in doc["reports"]) == [
        "a.mp4",
        "b.mp4",
        "c.mp4",
        "d.mp4",
    ]
    assert all(r["passed"] for r in doc["reports"])
    assert [Path(e["path"]).name for e in doc["errors"]] == ["crash.mp4"]
    assert "SIGSEGV" in doc["errors"][0]["message"]

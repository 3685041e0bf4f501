"""The pre-commit hook definition, exercised with `pre-commit try-repo` on a throwaway repository
(skipped when pre-commit is not installed).  The `language: system` hook is run for real; the
`language: python` hook is the same entry and file pattern but would install the package and its
dependencies from the network, so only its definition is checked here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clipgen import make_clip

yaml = pytest.importorskip("yaml", reason="PyYAML comes with pre-commit (pip install pre-commit)")

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
_BIN = Path(sys.executable).parent
PRE_COMMIT = shutil.which("pre-commit") or (
    str(_BIN / "pre-commit") if (_BIN / "pre-commit").exists() else None
)
GIT = shutil.which("git")

RELAXED = """[tool.validator]
select = ["MED"]
[tool.validator.rules.MED007]
min_short_side_px = 16
error_short_side_px = 16
[tool.validator.rules.MED008]
tolerance_s = 59
"""


def test_hook_definitions():
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}
    assert set(hooks) == {"replica-clip-validator", "replica-clip-validator-system"}
    for h in hooks.values():
        assert h["entry"] == "validator check" and h["require_serial"] is True
        pattern = re.compile(h["files"])
        assert (
            pattern.search("clips/take1.MP4")
            and pattern.search("a.mov")
            and pattern.search("x.webm")
        )
        assert not pattern.search("README.md") and not pattern.search("mp4.txt")
        assert not pattern.search("src/app.ts")  # TypeScript, not a transport stream
    assert hooks["replica-clip-validator"]["language"] == "python"
    assert hooks["replica-clip-validator-system"]["language"] == "system"


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        [
            GIT,
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hookrepo")
    shutil.copy(HOOKS, d / ".pre-commit-hooks.yaml")
    _git("init", "-q", cwd=d)
    _git("add", ".pre-commit-hooks.yaml", cwd=d)
    _git("commit", "-q", "-m", "hooks", cwd=d)
    return d


def _try_repo(hook_repo: Path, work: Path, tmp: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{_BIN}{os.pathsep}{env.get('PATH', '')}"  # the installed `validator`
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    env.pop("VALIDATOR_DEBUG", None)
    return subprocess.run(
        [
            PRE_COMMIT,
            "try-repo",
            str(hook_repo),
            "replica-clip-validator-system",
            "--all-files",
            "--verbose",
            "--color",
            "never",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.skipif(
    PRE_COMMIT is None or GIT is None, reason="pre-commit (pip install pre-commit) or git missing"
)
def test_try_repo_passes_good_clips_and_blocks_bad_ones(hook_repo, tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    make_clip(work / "take1.mp4", duration_s=1.0)
    (work / "notes.txt").write_text("not a clip, never passed to the hook\n")
    (work / "pyproject.toml").write_text(RELAXED)
    _git("init", "-q", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "clips", cwd=work)

    ok = _try_repo(hook_repo, work, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Passed" in ok.stdout and "PASS  take1.mp4" in ok.stdout
    assert "notes.txt" not in ok.stdout

    (work / "broken.mp4").write_bytes(b"this is not a video" * 20)
    _git("add", "broken.mp4", cwd=work)
    bad = _try_repo(hook_repo, work, tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "MED001" in bad.stdout
    assert "2 clips: 1 passed, 1 failed" in bad.stdout  # one invocation saw both (require_serial)

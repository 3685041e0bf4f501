"""A file's name is never interpreted: clips named like FFmpeg URLs (`http:`, `tcp:`, `udp:`,
`file:`) are read as the local files they are, and no socket is ever opened to the address in
the name.  A local listener on 127.0.0.1 proves it, through `validate()`, the CLI (also with
`--jobs 2`, and with relative names as pre-commit passes them) and `prepare`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from clipgen import RELAX_MED_ARGS, make_clip

from validator import Settings, validate
from validator.media.source import NotRegularFile, open_input, open_output

ROOT = Path(__file__).resolve().parents[1]
MED = Settings(
    select=("MED",),
    params={
        "MED007": {"min_short_side_px": 16, "error_short_side_px": 16},
        "MED008": {"tolerance_s": 59.0},
    },
)


class Listener:
    """A TCP listener and a UDP socket on 127.0.0.1; `contacted()` says whether anything
    connected or sent a datagram."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.tcp.setblocking(False)
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.setblocking(False)
        self.udp_port = self.udp.getsockname()[1]

    def names(self) -> list[str]:
        p, u = self.port, self.udp_port
        return [
            f"http:127.0.0.1:{p}.mp4",
            f"http:__127.0.0.1:{p}.mp4",
            f"tcp:127.0.0.1:{p}.mp4",
            f"udp:127.0.0.1:{u}.mp4",
            f"rtmp:127.0.0.1:{p}.mp4",
        ]

    def contacted(self) -> bool:
        try:
            conn, _ = self.tcp.accept()
            conn.close()
            return True
        except BlockingIOError:
            pass
        try:
            self.udp.recv(65536)
            return True
        except BlockingIOError:
            return False

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


@pytest.fixture()
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("net") / "clip.mp4")


def _url_named(folder: Path, clip: Path, names: list[str]) -> list[Path]:
    out = []
    for n in names:
        shutil.copy(clip, folder / n)
        out.append(folder / n)
    return out


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_DEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "validator", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def test_validate_opens_no_socket(tmp_path, clip, listener):
    """In a child process with a timeout: before the fix, `udp:` and `http:` names hung."""
    paths = _url_named(tmp_path, clip, listener.names())
    code = (
        "import sys, json; from validator import validate, Settings;"
        "s = Settings(select=('MED',), params={'MED007': {'min_short_side_px': 16,"
        " 'error_short_side_px': 16}, 'MED008': {'tolerance_s': 59.0}});"
        "print(json.dumps([[validate(p, s).passed, validate(p, s).media['video_codec']]"
        " for p in sys.argv[1:]]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Absolute names, then relative ones (the working directory is the clips' folder).
    for args in ([str(p) for p in paths], listener.names()):
        p = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr[-2000:]
        assert json.loads(p.stdout) == [[True, "h264"]] * len(paths)
        assert not listener.contacted()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cli_opens_no_socket(tmp_path, clip, listener, jobs):
    _url_named(tmp_path, clip, listener.names())
    # Relative names, as pre-commit passes the staged files; and the folder itself.
    p = run_cli("check", *listener.names(), "--jobs", jobs, *RELAX_MED_ARGS, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not listener.contacted()
    p = run_cli("check", ".", "--jobs", jobs, "--no-cache", *RELAX_MED_ARGS, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not listener.contacted()


def test_prepare_opens_no_socket(tmp_path, clip, listener):
    name = listener.names()[0]
    shutil.copy(clip, tmp_path / name)
    out = f"tcp:127.0.0.1:{listener.port}.out.mp4"
    p = run_cli("prepare", name, "-o", out, "--trim", "none", *RELAX_MED_ARGS, cwd=tmp_path)
    assert p.returncode in (0, 1), p.stderr
    assert (tmp_path / out).is_file()
    assert not listener.contacted()


def test_file_prefix_is_its_own_file(tmp_path):
    """`file:A.mp4` is the file of that name, not A.mp4: it is analysed and cached as itself,
    and a later A.mp4 gets its own report."""
    a = make_clip(tmp_path / "A.mp4", duration_s=2.0)
    other = make_clip(tmp_path / "other.mp4", duration_s=3.0, size=(240, 160))
    fake = tmp_path / "file:A.mp4"
    shutil.copy(other, fake)
    rep = validate(fake, MED)
    assert rep.sha256 == hashlib.sha256(fake.read_bytes()).hexdigest()
    assert rep.media["width"] == 240 and rep.media["duration_s"] == pytest.approx(3.0, abs=0.2)

    cache = tmp_path / "cache"
    args = ("--format", "json", "--cache-dir", str(cache), *RELAX_MED_ARGS)
    p = run_cli("check", "file:A.mp4", *args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["media"]["width"] == 240
    p = run_cli("check", "A.mp4", *args, cwd=tmp_path)
    doc = json.loads(p.stdout)
    assert doc["media"]["width"] == 320
    assert doc["input"]["sha256"] == hashlib.sha256(a.read_bytes()).hexdigest()


def test_open_input_refuses_special_files(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    link = tmp_path / "zero.mp4"
    link.symlink_to("/dev/zero")
    for p in (fifo, link, Path("/dev/urandom")):
        with pytest.raises(NotRegularFile):
            open_input(p)


def test_open_output_by_absolute_path(tmp_path, listener, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = f"tcp:127.0.0.1:{listener.port}.mp4"
    with open_output(name, format="mp4") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="bgr24")
        for pkt in [*s.encode(frame), *s.encode(None)]:
            c.mux(pkt)
    assert (tmp_path / name).is_file()
    assert not listener.contacted()


_BIN = Path(sys.executable).parent
PRE_COMMIT = shutil.which("pre-commit") or (
    str(_BIN / "pre-commit") if (_BIN / "pre-commit").exists() else None
)
GIT = shutil.which("git")


@pytest.mark.skipif(PRE_COMMIT is None or GIT is None, reason="pre-commit or git missing")
def test_pre_commit_hook_opens_no_socket(tmp_path, clip, listener):
    """pre-commit passes the staged files by their relative names; a URL-like name is a file."""

    def git(*args: str, cwd: Path) -> None:
        subprocess.run(
            [GIT, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c",
             "commit.gpgsign=false", *args],
            cwd=cwd, check=True, capture_output=True,
        )  # fmt: skip

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", hooks / ".pre-commit-hooks.yaml")
    git("init", "-q", cwd=hooks)
    git("add", ".", cwd=hooks)
    git("commit", "-q", "-m", "hooks", cwd=hooks)
    work = tmp_path / "work"
    work.mkdir()
    _url_named(work, clip, listener.names()[:3])
    (work / "pyproject.toml").write_text(
        '[tool.validator]\nselect = ["MED"]\n[tool.validator.rules.MED007]\n'
        "min_short_side_px = 16\nerror_short_side_px = 16\n"
        "[tool.validator.rules.MED008]\ntolerance_s = 59\n"
    )
    git("init", "-q", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "clips", cwd=work)
    env = dict(os.environ)
    env["PATH"] = f"{_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    env.pop("VALIDATOR_DEBUG", None)
    p = subprocess.run(
        [PRE_COMMIT, "try-repo", str(hooks), "replica-clip-validator-system", "--all-files",
         "--verbose", "--color", "never"],
        cwd=work, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    assert "3 clips: 3 passed" in p.stdout
    assert not listener.contacted()

"""Safety: `prepare` never writes over its input and never leaves a partial output.

- `check_paths()` refuses OUT equal to IN, also through symlinks and hard links (same inode),
  an OUT that is a folder or whose folder does not exist, an OUT that is not `.mp4`, and an
  existing OUT unless overwriting was asked for.
- `TempOutput` is a temporary file beside OUT (same file system, so the final rename is atomic);
  it is removed on any exception, on Ctrl-C (SIGINT) and on SIGTERM/SIGHUP, and only `commit()`
  renames it into place.  A run killed with SIGKILL cannot clean up; its leftover (hidden,
  named after the process id) is removed by the next run into the same folder, whatever OUT
  name that run has, once that process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType

from ..errors import UsageError
from ..fsutil import honour_umask

TEMP_TAG = ".prepare-"
TEMP_SUFFIX = ".part.mp4"


class Interrupted(KeyboardInterrupt):
    """SIGTERM/SIGHUP arrived; raised like Ctrl-C so every `finally` runs."""


def check_paths(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Validate IN/OUT before any work; returns OUT as a Path.  Raises UsageError."""
    s, d = Path(os.fspath(src)), Path(os.fspath(dst))
    if not s.exists():
        raise UsageError(f"{s}: no such file")
    if s.is_dir():
        raise UsageError(f"{s}: is a directory, not a clip")
    return check_output(
        s, d, (".mp4",), "the output is an MP4 file; give it a .mp4 name", overwrite=overwrite
    )


def check_output(
    s: Path, d: Path, suffixes: tuple[str, ...], wrong_suffix: str, *, overwrite: bool
) -> Path:
    """The OUT checks shared by clip and photo prepare: not IN itself, a name ending in one of
    `suffixes` (else `wrong_suffix`), not a folder, a writable folder, no file replaced unless
    `overwrite`.  Returns OUT; raises UsageError."""
    if _same_file(s, d):
        raise UsageError(f"{d}: is the input file itself; prepare never overwrites its input")
    if d.suffix.lower() not in suffixes:
        raise UsageError(f"{d}: {wrong_suffix}")
    if d.is_dir():
        raise UsageError(f"{d}: is a directory")
    parent = d.parent if str(d.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{d}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{d}: folder {parent} is not writable")
    if (d.exists() or d.is_symlink()) and not overwrite:
        raise UsageError(f"{d}: already exists (use --overwrite to replace it)")
    return d


def _same_file(a: Path, b: Path) -> bool:
    try:
        if b.exists() and os.path.samefile(a, b):  # hard links and symlinks alike
            return True
    except OSError:
        pass
    # OUT may not exist yet but name IN through a symlinked folder.
    return os.path.realpath(a) == os.path.realpath(b)


class TempOutput:
    """`with TempOutput(out) as tmp: ...write tmp...; tmp.commit()`.  Without `commit()` the
    temporary file is removed when the block ends, whatever ended it."""

    def __init__(self, dst: Path):
        self.dst = Path(dst)
        parent = self.dst.parent if str(self.dst.parent) else Path(".")
        self.parent = parent
        self.path: Path | None = None
        self._committed = False
        self._old: dict[int, object] = {}

    def __enter__(self) -> TempOutput:
        remove_stale(self.dst)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.dst.stem}{TEMP_TAG}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=self.parent
        )
        os.close(fd)
        honour_umask(tmp)
        self.path = Path(tmp)
        self._install_signals()
        return self

    def commit(self) -> None:
        """Atomically move the finished file to OUT."""
        assert self.path is not None
        os.replace(self.path, self.dst)
        self._committed = True

    def __exit__(self, *exc: object) -> None:
        try:
            if not self._committed and self.path is not None:
                with contextlib.suppress(OSError):
                    self.path.unlink()
        finally:
            self._restore_signals()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread

        def handler(signum: int, frame: FrameType | None) -> None:
            raise Interrupted(f"signal {signum}")

        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                self._old[sig] = signal.signal(sig, handler)

    def _restore_signals(self) -> None:
        for sig, old in self._old.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, old)  # type: ignore[arg-type]
        self._old.clear()


def temp_leftovers(dst: Path) -> list[Path]:
    """Temporary files a run for `dst` would create (for tests and for the stale cleanup)."""
    parent = dst.parent if str(dst.parent) else Path(".")
    return sorted(parent.glob(f".{dst.stem}{TEMP_TAG}*{TEMP_SUFFIX}"))


_PART = re.compile(r"^\..+" + re.escape(TEMP_TAG) + r"(\d+)-[^/]*" + re.escape(TEMP_SUFFIX) + "$")


def stale_parts(folder: Path) -> list[Path]:
    """Temporary outputs in `folder` left by killed runs for *any* OUT name (their process no
    longer exists); a live run's temporary file is never listed."""
    out = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        m = _PART.match(name)
        if m and not _alive(int(m.group(1))):
            out.append(folder / name)
    return sorted(out)


def remove_stale(dst: Path) -> None:
    """Remove temporaries left by killed runs (their process no longer exists) beside `dst`,
    whatever OUT they were for: a run to another name would otherwise leave them forever."""
    parent = dst.parent if str(dst.parent) else Path(".")
    for p in stale_parts(parent):
        with contextlib.suppress(OSError):
            if p.is_file() and not p.is_symlink():
                p.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

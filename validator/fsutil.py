"""Atomic file writing: a temporary file beside the target, renamed into place, so a reader
never sees half a file and an interrupted write leaves the old file (or nothing) behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def honour_umask(path: str | os.PathLike[str]) -> None:
    """mkstemp creates files 0600; a report or a prepared clip is an ordinary file, readable as
    the user's umask says (0644 usually), like any file the user's other tools write."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` atomically; raises OSError like open() would."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        honour_umask(tmp)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

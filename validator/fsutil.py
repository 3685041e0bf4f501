"""File hashing and atomic file writing: a temporary file beside the target, renamed into place, so a reader
never sees half a file and an interrupted write leaves the old file (or nothing) behind."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO


def sha256_of(f: BinaryIO) -> str:
    """The SHA-256 hex digest of what is left to read in the open binary file `f`, read in 4 MB
    pieces (memory stays flat whatever the file's size).  The one file hash of the package: the
    caller opens the file as it must (`media.source.open_regular` for an input)."""
    h = hashlib.sha256()
    while chunk := f.read(1 << 22):
        h.update(chunk)
    return h.hexdigest()


def honour_umask(path: str | os.PathLike[str]) -> None:
    """mkstemp creates files 0600; a report or a prepared clip is an ordinary file, readable as
    the user's umask says (0644 usually), like any file the user's other tools write."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def encode_text(text: str) -> bytes:
    """UTF-8, with a file name's undecodable bytes (surrogate escapes, e.g. 0xff in a non-UTF-8
    name) written as `\\udcff`: readable, valid in JSON (it decodes back to the same name), and
    never a UnicodeEncodeError."""
    return text.encode("utf-8", errors="backslashreplace")


def printable(name: str) -> str:
    """A file name for one line of a table or an error message: control characters (a newline
    in a name) and undecodable bytes shown as escapes."""
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` atomically; raises OSError like open() would."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        honour_umask(tmp)
        with os.fdopen(fd, "wb") as f:
            f.write(encode_text(data) if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

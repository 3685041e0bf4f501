"""The one way this package opens a media file: `open_input(path)`.

A file's name is never interpreted.  FFmpeg reads `http:host:port.mp4`, `tcp:...`, `udp:...`,
`file:...`, `pipe:...` as protocols when it is handed a name, so a clip named like a URL would
open a network connection (or analyse another file).  Here FFmpeg is never handed the name to
open: the file is opened by Python by its absolute path and given to FFmpeg as a file object,
and the protocol whitelist is `file`, so a demuxer that opens further resources (playlists,
references) can only read local files.

The file is opened non-blocking and checked with `fstat` before a byte is read: a FIFO, a
device (`/dev/zero`, `/dev/urandom`, even through a symlink) or a socket is refused with
`NotRegularFile` instead of hanging or reading forever.  `check_regular()` does the same check
without opening, for callers that hash or list files first.

Output files (`prepare`) are opened with `open_output()`: an absolute path (never a protocol
name) and the same whitelist.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

import av

PROTOCOLS = "file"
READ_BUFFER = 1 << 18  # bytes per read FFmpeg asks of the file object
# Frames above this are refused before a byte is decoded: a decoded frame of this size is
# ~100 MB (YUV 4:2:0) and a few are in flight at once; a 16000x16000 frame (a PNG header a few
# bytes long can claim it) would need several GB.  8192x8192 covers 8K UHD and DCI 8K.
MAX_FRAME_PIXELS = 8192 * 8192


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket... : not a file that can be read to its end."""


def kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def check_regular(path: str | os.PathLike[str] | bytes) -> os.stat_result:
    """`os.stat` (following links) that raises NotRegularFile unless `path` is a regular file.
    Never opens the file, so never blocks."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(
            errno.EINVAL, f"{kind_of(st.st_mode)}, not a regular file", os.fsdecode(path)
        )
    return st


def open_regular(path: str | os.PathLike[str] | bytes) -> Any:
    """Open a regular file for binary reading without blocking on FIFOs; raises NotRegularFile
    (after closing it) for anything else.  The check is made on the opened descriptor, so a file
    swapped for a FIFO between a check and the open is still refused."""
    p = os.path.abspath(os.fspath(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    check_regular(p)  # a device is refused before open() (opening some has side effects)
    fd = os.open(p, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(
                errno.EINVAL, f"{kind_of(st.st_mode)}, not a regular file", os.fsdecode(p)
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class MediaInput:
    """An opened input container and the file object under it; attributes are the container's
    (`streams`, `demux`, `duration`, `format`, `metadata`...).  `close()` closes both."""

    def __init__(self, container: Any, file: Any):
        self._container = container
        self._file = file
        self.damage: list[str] = []  # damage the probe found (a truncated box): MED011

    @property
    def container(self) -> Any:
        return self._container

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)

    def close(self) -> None:
        try:
            self._container.close()
        finally:
            self._file.close()

    def __enter__(self) -> MediaInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_input(path: str | os.PathLike[str] | bytes, **kwargs: Any) -> MediaInput:
    """Open `path` for demuxing (see the module docstring).  Extra keyword arguments go to
    `av.open` (e.g. `metadata_errors="ignore"`).  Raises NotRegularFile / OSError for the
    file, av.error.FFmpegError for the content."""
    f = open_regular(path)
    container_options = dict(kwargs.pop("container_options", None) or {})
    container_options["protocol_whitelist"] = PROTOCOLS
    # Decoders (also the ones FFmpeg runs to probe the streams) refuse frames above the pixel
    # limit instead of allocating them: a few header bytes can claim 16000x16000.
    options = {"max_pixels": str(MAX_FRAME_PIXELS), **dict(kwargs.pop("options", None) or {})}
    try:
        container = av.open(
            f,
            mode="r",
            options=options,
            container_options=container_options,
            buffer_size=READ_BUFFER,
            **kwargs,
        )
        for stream in container.streams:
            cc = stream.codec_context
            if cc is not None:
                cc.options = {**(cc.options or {}), "max_pixels": str(MAX_FRAME_PIXELS)}
    except BaseException:
        f.close()
        raise
    return MediaInput(container, f)


def open_output(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """`av.open(path, "w", ...)` by absolute path (an absolute path is never read as a
    protocol) with the protocol whitelist limited to `file`."""
    p = os.path.abspath(os.fspath(path))
    container_options = dict(kwargs.pop("container_options", None) or {})
    container_options["protocol_whitelist"] = PROTOCOLS
    return av.open(p, "w", container_options=container_options, **kwargs)

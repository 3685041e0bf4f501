"""Arrays a clip fills as it is read.

`Growing`: appended to along its first axis, in memory: the voice gate's probabilities (4
bytes per 32 ms window), and `Spilled`'s items where no temporary file can be used.  It is
allocated once at the capacity its owner expects (pages never written cost no memory) and
doubled when a clip runs longer; `view()` is the filled part, without a copy: no list of pieces
joined at the end, which would hold everything twice.  A reader in another thread that reads `n`
first, then `data`, sees only written items: `n` moves after the items are in place, and a
grown array holds every item of the old one before it replaces it.

`Spilled`: the same appends, kept in an unnamed temporary file, for what grows with the clip's
length (the 16 kHz PCM, continuity's thumbnails): memory stays flat in clip length."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np


class Growing:
    def __init__(self, capacity: int, item_shape: tuple[int, ...] = (), dtype: Any = np.float32):
        self.data = np.empty((max(1, int(capacity)), *item_shape), dtype)
        self.n = 0

    def extend(self, items: np.ndarray) -> None:
        end = self.n + len(items)
        if end > len(self.data):
            grown = np.empty((max(end, 2 * len(self.data)), *self.data.shape[1:]), self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : end] = items
        self.n = end

    def view(self) -> np.ndarray:
        return self.data[: self.n]


class Spilled:
    """An array appended to along its first axis and kept in an unnamed temporary file (read
    back with `pread`), for what a clip keeps in proportion to its length until the end: the
    16 kHz PCM (64 KB a second) and continuity's thumbnails (15 KB a second).  In the page
    cache, not in the process: peak memory is the same for a 10-minute clip as for a
    1-minute one (`tests/test_memory.py`).

    Read like an array: `len()`, `shape`, `x[i]`, `x[a:b]` (a fresh array of those items only)
    and `np.asarray(x)` (everything, for the few readers that want the whole: `prepare`,
    `validator info`).  The file is opened with O_TMPFILE or unlinked at once, so nothing is
    left on disk whatever happens to the process; where no temporary file can be written
    (or a write fails: a full disk), or `MAX_OPEN_FILES` are open already, the items are kept
    in memory instead (`Growing`).
    `limit` items at most are kept; the rest are dropped."""

    def __init__(
        self,
        item_shape: tuple[int, ...] = (),
        dtype: Any = np.float32,
        *,
        limit: int | None = None,
        capacity: int = 1024,
    ):
        self.item_shape = tuple(item_shape)
        self.dtype = np.dtype(dtype)
        self.item_bytes = int(self.dtype.itemsize * int(np.prod(self.item_shape, dtype=np.int64)))
        self.limit = limit
        self.n = 0
        self._capacity = capacity
        self._memory: Growing | None = None
        self._fd: int | None = None
        with _OPEN_LOCK:
            self._fd = _open_spill_file()
        if self._fd is None:
            self._memory = Growing(capacity, self.item_shape, self.dtype)

    # -- writing ---------------------------------------------------------------------------
    def extend(self, items: np.ndarray) -> None:
        items = np.asarray(items, self.dtype).reshape(-1, *self.item_shape)
        if self.limit is not None:
            items = items[: max(0, self.limit - self.n)]
        if not len(items):
            return
        if self._fd is not None:
            data = np.ascontiguousarray(items).data.cast("B")
            try:
                done = 0
                while done < len(data):
                    done += os.pwrite(self._fd, data[done:], self.n * self.item_bytes + done)
            except OSError:
                self._to_memory()
        if self._memory is not None:
            self._memory.extend(items)
        self.n += len(items)

    def append(self, item: np.ndarray) -> None:
        self.extend(np.asarray(item, self.dtype)[None])

    def _to_memory(self) -> None:
        """A write failed (a full disk): what the file holds moves into memory, and the
        rest is kept there."""
        held = self._read(0, self.n)
        self._close()
        self._memory = Growing(max(self._capacity, 2 * self.n), self.item_shape, self.dtype)
        self._memory.extend(held)

    # -- reading ---------------------------------------------------------------------------
    def _read(self, a: int, b: int) -> np.ndarray:
        out = np.empty((max(0, b - a), *self.item_shape), self.dtype)
        if b <= a:
            return out
        if self._memory is not None:
            out[:] = self._memory.data[a:b]
            return out
        assert self._fd is not None
        buf = out.data.cast("B")
        done = 0
        while done < len(buf):
            k = os.preadv(self._fd, [buf[done:]], a * self.item_bytes + done)
            if k <= 0:
                raise OSError("the temporary file holding the clip's samples was cut short")
            done += k
        return out

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n, *self.item_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.item_shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.n * self.item_bytes

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            a, b, step = key.indices(self.n)
            if step == 1:
                return self._read(a, b)
            return self._read(0, self.n)[key]
        if isinstance(key, int | np.integer):
            i = int(key) + (self.n if key < 0 else 0)
            if not 0 <= i < self.n:
                raise IndexError(f"index {key} out of range for {self.n} items")
            return self._read(i, i + 1)[0]
        return self._read(0, self.n)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._read(0, self.n)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __reduce__(self) -> tuple[Any, ...]:
        return (np.asarray, (self._read(0, self.n),))  # pickled as a plain array

    def __repr__(self) -> str:
        where = "memory" if self._memory is not None else "a temporary file"
        return f"Spilled({self.shape}, {self.dtype}, in {where})"

    # -- the end ---------------------------------------------------------------------------
    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                with _OPEN_LOCK:
                    _OPEN_FDS.discard(fd)
                os.close(fd)
            except Exception:  # noqa: BLE001 - OSError, or `os` already gone at interpreter exit
                pass

    def __del__(self) -> None:
        self._close()


# At most this many `Spilled` files are open at once in a process: a library caller keeping
# hundreds of reports with their evidence must not run out of file descriptors (the next
# clip could not be opened); past it, new ones keep their items in memory, as before.
MAX_OPEN_FILES = 64
_OPEN_FDS: set[int] = set()
_OPEN_LOCK = threading.RLock()  # re-entrant: a `__del__` may run inside `_open_spill_file`


def _open_spill_file() -> int | None:
    """A descriptor of a new nameless temporary file, or None (too many open, or none can
    be made here).  Called with `_OPEN_LOCK` held."""
    if len(_OPEN_FDS) >= MAX_OPEN_FILES:
        return None
    try:
        import tempfile

        f = tempfile.TemporaryFile(prefix="validator-")
        fd = os.dup(f.fileno())
        f.close()  # the duplicate keeps the (nameless) file open
    except OSError:
        return None
    _OPEN_FDS.add(fd)
    return fd

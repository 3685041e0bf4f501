"""`buffers.Spilled`: what grows with a clip's length, kept in an unnamed temporary file."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from validator import buffers
from validator.buffers import Spilled


@pytest.fixture
def tmpdir_only(tmp_path, monkeypatch):
    """Temporary files go to a folder of their own, so what is left in it can be seen."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_reads_back_what_was_written_and_leaves_no_file(tmpdir_only):
    x = np.random.default_rng(1).standard_normal(100_003).astype(np.float32)
    s = Spilled(limit=90_000)
    for a in range(0, len(x), 7_001):
        s.extend(x[a : a + 7_001])
    assert os.listdir(tmpdir_only) == []  # nameless from the start: nothing a kill can leave
    assert len(s) == 90_000 and s.shape == (90_000,) and s.nbytes == 360_000
    assert np.array_equal(s[10:20_000], x[10:20_000])
    assert np.array_equal(s[-5:], x[89_995:90_000])
    assert s[123] == x[123] and s[-1] == x[89_999]
    assert np.array_equal(s[::1000], x[:90_000:1000])
    assert np.array_equal(np.asarray(s), x[:90_000])
    assert np.asarray(s, np.float64).dtype == np.float64
    assert s[95_000:96_000].shape == (0,)
    with pytest.raises(IndexError):
        s[90_000]
    back = pickle.loads(pickle.dumps(s))
    assert isinstance(back, np.ndarray) and np.array_equal(back, x[:90_000])


def test_items_of_a_shape():
    s = Spilled((3, 4), np.uint8)
    rows = np.arange(5 * 12, dtype=np.uint8).reshape(5, 3, 4)
    s.append(rows[0])
    s.extend(rows[1:])
    assert s.shape == (5, 3, 4) and s.ndim == 3 and s.size == 60
    assert np.array_equal(s[2], rows[2]) and np.array_equal(s[1:4], rows[1:4])


def test_a_full_disk_moves_the_items_into_memory(monkeypatch):
    s = Spilled()
    s.extend(np.arange(10, dtype=np.float32))
    real = os.pwrite

    def full(fd, data, offset):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(buffers.os, "pwrite", full)
    s.extend(np.arange(10, 25, dtype=np.float32))
    monkeypatch.setattr(buffers.os, "pwrite", real)
    s.extend(np.arange(25, 30, dtype=np.float32))
    assert "memory" in repr(s)
    assert np.array_equal(np.asarray(s), np.arange(30, dtype=np.float32))


def test_no_temporary_file_at_all_keeps_them_in_memory(monkeypatch):
    import tempfile

    def refused(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    s = Spilled(limit=4)
    s.extend(np.arange(6, dtype=np.float32))
    assert "memory" in repr(s) and np.array_equal(s[:], np.arange(4, dtype=np.float32))


def test_past_the_open_file_limit_new_ones_stay_in_memory(monkeypatch):
    monkeypatch.setattr(buffers, "MAX_OPEN_FILES", len(buffers._OPEN_FDS) + 2)
    held = [Spilled(), Spilled()]
    third = Spilled()
    assert all("temporary file" in repr(s) for s in held) and "memory" in repr(third)
    third.extend(np.ones(3, np.float32))
    assert np.array_equal(third[:], np.ones(3, np.float32))
    del held[0]  # closing one frees its place
    assert "temporary file" in repr(Spilled())

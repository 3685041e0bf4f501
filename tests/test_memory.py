"""Memory stays flat as clips get longer: the decode pass keeps no frames, only timestamps and
16 kHz PCM (64 KB per second).  Measured with tracemalloc (numpy and PyAV arrays are traced)."""

from __future__ import annotations

import tracemalloc

from clipgen import make_clip

from validator import Settings, validate


def peak_bytes(path) -> int:
    validate(path, Settings(select=("MED",)))  # warm imports and caches
    tracemalloc.start()
    try:
        validate(path, Settings(select=("MED",)))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_grows_only_with_pcm(tmp_path):
    short = make_clip(tmp_path / "short.mp4", duration_s=3, size=(320, 240))
    long = make_clip(tmp_path / "long.mp4", duration_s=15, size=(320, 240))
    growth = peak_bytes(long) - peak_bytes(short)
    pcm_growth = 12 * 16000 * 4  # 12 s more of float32 mono PCM
    # One 320x240 BGR frame is 230 KB: keeping even a few frames per second would blow this.
    assert growth < 2 * pcm_growth + 1_000_000, growth

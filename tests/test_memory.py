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


def decode_peak_bytes(path, monkeypatch) -> int:
    """Peak traced memory inside the decode pass alone (the analysers' fixed costs excluded)."""
    from validator import pipeline

    peaks = []
    real = pipeline.decode_pass

    def traced(*args, **kwargs):
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = real(*args, **kwargs)
        peaks.append(tracemalloc.get_traced_memory()[1] - base)
        return out

    class HashFirst(pipeline._Sha256):
        """The file's hash read before the pass, not beside it: its 4 MB reads would land in
        the pass's peak or not, by timing."""

        def __init__(self, path):
            super().__init__(path)
            self._thread.join()

    validate(path, Settings(select=("MED",)))  # warm: imports made on first use are not traced
    monkeypatch.setattr(pipeline, "_Sha256", HashFirst)
    monkeypatch.setattr(pipeline, "decode_pass", traced)
    tracemalloc.start()
    try:
        validate(path, Settings(select=("MED",)))
    finally:
        tracemalloc.stop()
    monkeypatch.undo()
    return peaks[0]


def test_decode_pass_holds_the_pcm_once(tmp_path, monkeypatch):
    short = make_clip(tmp_path / "short.mp4", duration_s=3, size=(160, 120))
    long = make_clip(tmp_path / "long.mp4", duration_s=30, size=(160, 120))
    growth = decode_peak_bytes(long, monkeypatch) - decode_peak_bytes(short, monkeypatch)
    pcm_growth = 27 * 16000 * 4  # 27 s more of float32 mono PCM
    # Measured 1.3x (the PCM buffer, sized from the declared duration, and the timestamps);
    # the list of PCM pieces joined at the end that this replaced measured 2.5x.  A frame or
    # an audio frame kept per decoded frame grows far more.
    assert growth < 1.8 * pcm_growth, (growth, pcm_growth)

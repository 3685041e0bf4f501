"""Memory stays flat as clips get longer: the decode pass keeps no frames, only timestamps; the
16 kHz PCM (64 KB per second) and continuity's thumbnails (15 KB per second) are in unnamed
temporary files (`buffers.Spilled`), and the analysers keep a small record per sample.  Measured
with tracemalloc (numpy and PyAV arrays are traced)."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from clipgen import make_clip

from validator import Settings, validate
from validator.evidence import Frame


@pytest.fixture(autouse=True)
def spill_to_files():
    """What is measured here is the spilled path: evidence other tests' fixtures still hold
    must not use up `buffers.MAX_OPEN_FILES` and send these runs' PCM into memory.  (A
    MonkeyPatch of its own: the tests' `monkeypatch.undo()` must not undo this.)"""
    from validator import buffers

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(buffers, "MAX_OPEN_FILES", len(buffers._OPEN_FDS) + 64)
        yield


def peak_bytes(path) -> int:
    validate(path, Settings(select=("MED",)))  # warm imports and caches
    tracemalloc.start()
    try:
        validate(path, Settings(select=("MED",)))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_pcm(tmp_path):
    short = make_clip(tmp_path / "short.mp4", duration_s=3, size=(320, 240))
    long = make_clip(tmp_path / "long.mp4", duration_s=15, size=(320, 240))
    growth = peak_bytes(long) - peak_bytes(short)
    pcm_growth = 12 * 16000 * 4  # 12 s more of float32 mono PCM
    # What grows is the file's hash reads beside the pass (a file under 4 MB is one read):
    # measured the files' size difference + 5 KB.  The PCM held in memory grew by 1.3x
    # pcm_growth; one 320x240 BGR frame is 230 KB, so keeping even a few frames fails too.
    file_growth = long.stat().st_size - short.stat().st_size
    assert growth < file_growth + 0.25 * pcm_growth, (growth, file_growth, pcm_growth)


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


def test_decode_pass_holds_no_pcm(tmp_path, monkeypatch):
    short = make_clip(tmp_path / "short.mp4", duration_s=3, size=(160, 120))
    long = make_clip(tmp_path / "long.mp4", duration_s=30, size=(160, 120))
    growth = decode_peak_bytes(long, monkeypatch) - decode_peak_bytes(short, monkeypatch)
    pcm_growth = 27 * 16000 * 4  # 27 s more of float32 mono PCM
    # Measured 0.03x (the frame timestamps): the PCM is in a temporary file.  The PCM in a
    # buffer in memory measured 1.3x; the list of pieces joined at the end before it, 2.5x.
    assert growth < 0.25 * pcm_growth, (growth, pcm_growth)


# -- what the frame analysers keep per sample (every rule: memory flat in clip length) --------

SAMPLE = Path(__file__).resolve().parents[1] / "sample_media" / "sample.mp4"


def _retained_per_item(feed, warm: int, n: int) -> float:
    """Traced bytes still held after `n` more calls of `feed(i)` (after `warm` calls), per call."""
    for i in range(warm):
        feed(i)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(warm, warm + n):
            feed(i)
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - before) / n
    finally:
        tracemalloc.stop()


def _face_picture() -> np.ndarray:
    """A frame of the bundled sample (a real speaker) at analysis size, BGR."""
    import av
    import cv2

    with av.open(SAMPLE.open("rb")) as c:
        frame = next(c.decode(video=0))
        img = frame.to_ndarray(format="bgr24")
    return cv2.resize(img, (640, 360), interpolation=cv2.INTER_AREA)


def test_face_analyser_keeps_a_small_record_per_sample():
    from validator.analysis.faces import FaceAnalyser

    img = _face_picture()
    fa = FaceAnalyser(Settings())
    per_sample = _retained_per_item(lambda i: fa.on_frame(Frame(i, i / 5, img, 1.0)), 5, 40)
    assert all(s.face is not None for s in fa.samples)  # the face was measured on every one
    # Measured ~2 KB (the face's scalars, its 8 rigid points, 5 skin patches' statistics,
    # the mouth-track entry).  Keeping the 468x3 float64 mesh, as before, was ~12.5 KB.
    assert per_sample < 4000, per_sample


def test_continuity_keeps_one_thumbnail_per_sample_and_finish_copies_none():
    from validator.analysis.continuity import THUMB, ContinuityAnalyser
    from validator.evidence import Evidence, MediaInfo, StreamStats

    rng = np.random.default_rng(3)
    pics = [rng.integers(0, 255, (360, 640, 3), np.uint8) for _ in range(4)]
    media = MediaInfo(
        container="mp4",
        format_name="mp4",
        duration_s=60.0,
        size_bytes=1,
        has_video=True,
        has_audio=False,
        width=640,
        height=360,
        fps=30.0,
    )
    ca = ContinuityAnalyser(Settings(), media)
    per_sample = _retained_per_item(
        lambda i: ca.on_frame(Frame(i, i / 5, pics[i % 4], 1.0)), 5, 200
    )
    thumb = THUMB[0] * THUMB[1]
    # A row of 7 numbers; the 3 KB uint8 thumbnail goes to the temporary file (in memory, as
    # before, this measured a thumbnail and a row).
    assert per_sample < min(800, thumb // 3), per_sample
    ev = Evidence(path="x", size_bytes=1)
    ev.stream = StreamStats(
        video_pts_s=np.arange(205 * 6) / 30.0,
        video_packet_bytes=np.full(205 * 6, 900),
        video_keyframe_pts_s=np.zeros(1),
    )
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        co = ca.finish(ev)
        finish_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert co.thumbs.shape == (205, THUMB[1], THUMB[0])
    # Stacking a list of thumbnails at the end held them twice (205 x 3 KB = 630 KB more).
    assert finish_peak < 0.5 * co.thumbs.nbytes, finish_peak
    # ... and they read back as they were written.
    assert np.array_equal(co.thumbs[7], co.thumbs[7 + 4 * 40])  # the same picture
    assert not np.array_equal(co.thumbs[7], co.thumbs[8])


def test_occlusion_references_are_computed_in_bounded_memory():
    from validator.analysis.faces import region_changes

    rng = np.random.default_rng(4)

    def peak(n: int) -> int:
        regions = rng.random((n, 5, 4))
        regions[::9] = np.nan
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            region_changes(regions, half_window=30)  # +-6 s at 5 samples/s
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    growth = (peak(3000) - peak(600)) / 2400  # per sample
    # The outputs (2 x 5 float64) and the padded copy and references (2 x 20 float64): ~500 B
    # a sample.  nanmedian over every sample's 61-sample window at once was ~30 KB a sample
    # (~100 MB for a 10-minute clip).
    assert growth < 1500, growth


def _every_rule_peak(path, warm: bool) -> int:
    if warm:
        validate(path, Settings())  # imports made on first use are not traced
    tracemalloc.start()
    try:
        validate(path, Settings())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_every_rule_peak_grows_only_with_what_is_kept(tmp_path):
    """Every rule, the whole `validate()`: the peak of a 50 s clip over a 20 s one (both past
    the voice analyser's 8 s blocks, so the fixed temporaries are full-size in both)."""
    short = make_clip(tmp_path / "short.mp4", duration_s=20, size=(160, 120))
    long = make_clip(tmp_path / "long.mp4", duration_s=50, size=(160, 120))
    base = _every_rule_peak(short, warm=True)
    growth = _every_rule_peak(long, warm=False) - base
    pcm_growth = 30 * 16000 * 4  # 30 s more of float32 mono PCM
    # Measured 0.03x: the analysers' per-sample rows and the frame timestamps.  With the PCM
    # and continuity's thumbnails in memory: 1.36x; before that 1.62x (the thumbnails were
    # stacked into a second copy at the end).  A sampled frame kept (57 KB at 160x120) or a
    # whole-clip temporary grows far more.
    assert growth < 0.25 * pcm_growth, (growth, pcm_growth)

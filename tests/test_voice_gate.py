"""The voice gate (analysis/voice_gate.py): the mouth is followed between samples only within
reach of speech, lip sync measures exactly what it measured with every frame followed, and
the voice analyser reuses the gate's Silero probabilities only when they are of the same
samples."""

from __future__ import annotations

import threading
import zlib
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from clipgen import make_clip

import validator.analysis.voice as voice
import validator.analysis.voice_gate as vg
from validator import Settings, validate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_media" / "sample.mp4"


def _fed(seconds: float, done: bool, value: float = 0.0) -> vg.VoiceGate:
    """A gate that has heard `seconds` of constant audio (not from a file)."""
    g = vg.VoiceGate("unused", None, 0)
    g._windows(iter([np.full(int(seconds * 16000), value, np.float32)]), lead=0)
    g._done = done
    return g


def test_quiet_only_where_heard() -> None:
    g = _fed(5.0, done=False)  # silence so far, the reader still going
    assert not g.wanted(2.0)  # heard +-1 s around it, no speech there
    assert g.wanted(4.5)  # the second after it not heard yet: followed
    g._done = True
    assert not g.wanted(4.5)  # the audio ended: nothing more to hear
    g._failed = True
    assert g.wanted(4.5)  # a failed reader never says quiet past what it heard


def test_candidates_within_margin() -> None:
    g = _fed(6.0, done=True)
    i = int(3.0 / vg.WINDOW_S)
    g._probs.data[i] = vg.CANDIDATE_PROB  # one window that speech could be part of, at 3.0 s
    reach = vg.MARGIN_S + 0.2
    assert g.wanted(3.0) and g.wanted(3.0 + reach - 0.05) and g.wanted(3.0 - reach + 0.05)
    assert not g.wanted(3.0 + reach + 0.1) and not g.wanted(3.0 - reach - 0.1)
    # The margin covers what lip sync compares: 0.5 s around speech, and speech reaches 0.15 s
    # past a candidate window.
    assert reach >= 0.5 + voice.MAX_GAP_S / 2 + voice.WINDOW_S + 0.2


def test_probs_reused_only_for_the_same_samples(tmp_path: Path) -> None:
    # Audio starting late: the gate must put the decode pass's lead of silence before it.
    clip = make_clip(tmp_path / "late.mp4", duration_s=3.0, audio_start_s=0.4)
    calls: list[int] = []
    real = voice.silero_probs

    def spy(win: np.ndarray, vad: object = None) -> np.ndarray:
        if threading.current_thread().name != "voice-gate":  # the voice analyser's own run
            calls.append(len(win))
        return real(win, vad)

    with mock.patch.object(voice, "silero_probs", spy):
        r = validate(clip, Settings(select=("MTH003", "AUD")), keep_evidence=True)
    assert calls == []  # the gate's probabilities were used ...
    ev = r.evidence
    pcm = np.asarray(ev.audio.pcm16k)
    win = pcm[: len(pcm) // voice.WINDOW * voice.WINDOW].reshape(-1, voice.WINDOW)
    fresh = real(win)
    assert np.array_equal(ev.voice.silero_prob, fresh)  # ... and they are the voice's own
    # Other samples (one changed): refused, Silero runs again.
    g = vg.VoiceGate("unused", None, 0)
    g._windows(iter([win.ravel().copy()]), lead=0)
    g._done = True
    assert g.matching_probs(len(win), zlib.crc32(win)) is not None
    assert g.matching_probs(len(win) - 1, zlib.crc32(win[:-1])) is None
    other = win.copy()
    other[3, 7] += 0.01
    assert g.matching_probs(len(other), zlib.crc32(other)) is None


def test_no_gate_without_sync_or_audio(tmp_path: Path) -> None:
    silent = make_clip(tmp_path / "mute.mp4", duration_s=2.0, acodec=None)
    with mock.patch.object(vg.VoiceGate, "start") as start:
        r = validate(silent, Settings(select=("MTH003", "FAC001")), keep_evidence=True)
    start.assert_not_called()  # no audio: lip sync cannot be measured, nothing followed
    assert len(r.evidence.faces.mouth_t_s) == 0
    mth = next(x for x in r.results if x.rule == "MTH003")
    assert mth.status == "skip"


def _sample_runs() -> tuple[object, object]:
    with mock.patch.object(vg.VoiceGate, "wanted", lambda self, t: True):  # every frame
        whole = validate(SAMPLE, Settings(select=("MTH003",)), keep_evidence=True)
    return whole, validate(SAMPLE, Settings(select=("MTH003",)), keep_evidence=True)


def test_sample_lip_sync_unchanged_and_listening_not_followed() -> None:
    whole, gated = _sample_runs()
    a, b = whole.evidence, gated.evidence
    assert a.sync is not None and b.sync is not None
    assert a.sync.result is not None and b.sync.result is not None
    assert a.sync.result.n == b.sync.result.n
    assert np.array_equal(a.sync.result.corr, b.sync.result.corr)
    assert np.array_equal(a.sync.result.circ, b.sync.result.circ)
    ra = next(x for x in whole.results if x.rule == "MTH003")
    rb = next(x for x in gated.results if x.rule == "MTH003")
    assert (ra.status, ra.measured, ra.message) == (rb.status, rb.measured, rb.message)
    # The sample listens silently for its second half: most of it is not followed.
    assert len(b.faces.mouth_t_s) < 0.8 * len(a.faces.mouth_t_s)


@pytest.mark.parametrize("name", ["w2lgfpgan_kim_7s_raw.mp4", "lp_src_s18.mp4"])
def test_real_clip_lip_sync_unchanged(shared_media: Path, name: str) -> None:
    clip = shared_media / "real" / name
    with mock.patch.object(vg.VoiceGate, "wanted", lambda self, t: True):
        whole = validate(clip, Settings(select=("MTH003",)), keep_evidence=True)
    gated = validate(clip, Settings(select=("MTH003",)), keep_evidence=True)
    sa, sb = whole.evidence.sync, gated.evidence.sync
    assert (sa is None) == (sb is None)
    if sa is not None and sa.result is not None:
        assert sb.result is not None and np.array_equal(sa.result.corr, sb.result.corr)
    ra = next(x for x in whole.results if x.rule == "MTH003")
    rb = next(x for x in gated.results if x.rule == "MTH003")
    assert (ra.status, ra.measured) == (rb.status, rb.measured)

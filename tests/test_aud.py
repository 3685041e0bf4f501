"""AUD001-AUD006 on hand-built voice evidence (audiomix.voice_from_spans): a passing, a failing
and a boundary value for each rule, in milliseconds.  End-to-end tests on encoded clips built
from real speech and noise are in test_voice.py."""

from __future__ import annotations

import pytest
from audiomix import voice_from_spans

from validator.evidence import Evidence
from validator.pipeline import run_check
from validator.registry import load_all
from validator.settings import Settings

W = 0.032
SPEECH = [(0.5, 30.5)]


def check(rule_id: str, voice, **params):
    ev = Evidence(path="clip.mp4", size_bytes=0, voice=voice)
    return run_check(load_all()[rule_id], ev, Settings(params={rule_id: params} if params else {}))


def test_clean_take_passes_every_aud_rule():
    v = voice_from_spans(61.0, SPEECH, speech_dbfs=-20.0, floor_dbfs=-65.0)
    for rid in ("AUD001", "AUD002", "AUD003", "AUD004", "AUD005", "AUD006"):
        assert check(rid, v).status == "pass", rid


# --- AUD001 ---------------------------------------------------------------------------------


def test_aud001_noisy_room_fails():
    r = check("AUD001", voice_from_spans(61.0, SPEECH, floor_dbfs=-42.0))
    assert r.status == "fail" and r.severity == "error"
    assert r.measured == pytest.approx(-42.0) and r.limit == -50.0
    assert "-42.0 dBFS" in r.message


def test_aud001_boundary():
    v = voice_from_spans(61.0, SPEECH, floor_dbfs=-50.0)
    assert check("AUD001", v, max_noise_floor_dbfs=-49.9).status == "pass"
    assert check("AUD001", v, max_noise_floor_dbfs=-50.1).status == "fail"


def test_aud001_skips_without_quiet_audio_and_on_digital_silence():
    assert check("AUD001", voice_from_spans(30.0, [(0.0, 30.0)])).status == "skip"
    r = check("AUD001", voice_from_spans(30.0, [], zeros=[(0.0, 30.0)]))
    assert r.status == "skip" and "MED009" in r.message


def test_aud001_ignores_tonal_sound_in_the_floor():
    # A tone over the whole listening part is AUD005's; the floor comes from the rest.
    v = voice_from_spans(61.0, SPEECH, floor_dbfs=-65.0, sounds=[(30.5, 61.0, -30.0, 40.0)])
    assert v.noise_floor_dbfs is None or v.noise_floor_dbfs < -60


# --- AUD002 ---------------------------------------------------------------------------------


def test_aud002_low_snr_warns():
    r = check("AUD002", voice_from_spans(61.0, SPEECH, speech_dbfs=-30.0, floor_dbfs=-45.0))
    assert r.status == "fail" and r.severity == "warning"
    assert r.measured == pytest.approx(15.0, abs=0.1)


def test_aud002_boundary():
    v = voice_from_spans(61.0, SPEECH, speech_dbfs=-25.0, floor_dbfs=-45.0)
    assert check("AUD002", v, min_snr_db=19.9).status == "pass"
    assert check("AUD002", v, min_snr_db=20.1).status == "fail"


# --- AUD003 ---------------------------------------------------------------------------------


def test_aud003_clipped_speech_warns_with_place():
    r = check("AUD003", voice_from_spans(61.0, SPEECH, clipped=[(10.0, 12.0, 20)]))
    assert r.status == "fail" and r.severity == "warning"
    assert r.measured == pytest.approx(2.0 / 30.0, abs=0.005)
    assert r.spans[0].start_s == pytest.approx(10.0, abs=0.02)


def test_aud003_single_peak_touching_full_scale_is_not_clipping():
    r = check("AUD003", voice_from_spans(61.0, SPEECH, clipped=[(10.0, 12.0, 1)]))
    assert r.status == "pass" and r.measured == 0.0


def test_aud003_clipping_outside_speech_is_ignored():
    assert (
        check("AUD003", voice_from_spans(61.0, SPEECH, clipped=[(40.0, 45.0, 50)])).status == "pass"
    )


def test_aud003_boundary():
    v = voice_from_spans(61.0, SPEECH, clipped=[(10.0, 10.1, 9)])  # 10 of ~3000 windows
    share = check("AUD003", v).measured
    assert share == pytest.approx(10 / 3000, rel=0.05)
    assert check("AUD003", v, max_clipped_share=share + 0.0001).status == "pass"
    assert check("AUD003", v, max_clipped_share=share - 0.0001).status == "fail"
    assert check("AUD003", v, min_clipped_samples=10).status == "pass"


# --- AUD004 ---------------------------------------------------------------------------------


def test_aud004_quiet_and_hot_speech_warn():
    quiet = check("AUD004", voice_from_spans(61.0, SPEECH, speech_dbfs=-41.0, floor_dbfs=-80.0))
    hot = check("AUD004", voice_from_spans(61.0, SPEECH, speech_dbfs=-6.0))
    assert (
        quiet.status == "fail"
        and "too quiet" in quiet.message
        and quiet.measured == pytest.approx(-41.0)
    )
    assert hot.status == "fail" and "too hot" in hot.message and hot.measured == pytest.approx(-6.0)
    assert "up" in quiet.hint and "down" in hot.hint


def test_aud004_boundaries():
    v = voice_from_spans(61.0, SPEECH, speech_dbfs=-35.0)
    assert check("AUD004", v, min_speech_dbfs=-35.1).status == "pass"
    assert check("AUD004", v, min_speech_dbfs=-34.9).status == "fail"
    v = voice_from_spans(61.0, SPEECH, speech_dbfs=-10.0)
    assert check("AUD004", v, max_speech_dbfs=-9.9).status == "pass"
    assert check("AUD004", v, max_speech_dbfs=-10.1).status == "fail"


# --- AUD005 ---------------------------------------------------------------------------------


def test_aud005_tone_in_listening_fails_with_span():
    v = voice_from_spans(61.0, SPEECH, sounds=[(40.0, 46.0, -35.0, 40.0)])
    r = check("AUD005", v)
    assert r.status == "fail" and "tonal" in r.message
    assert r.measured == pytest.approx(6.0, abs=2 * W)
    assert r.spans[0].start_s == pytest.approx(40.0, abs=W)
    assert check("SEG004", v).status == "pass"  # a tone is not speech


def test_aud005_knock_fails():
    v = voice_from_spans(61.0, SPEECH, sounds=[(50.0, 50.06, -25.0, 10.0)])
    r = check("AUD005", v)
    assert r.status == "fail" and "loud sound" in r.message
    assert r.spans[0].start_s == pytest.approx(50.0, abs=W)


def test_aud005_a_loud_moment_silero_calls_speech_is_not_a_knock():
    """The speaker's voice for a syllable in the listening part (0.15 s: too short for a speech
    run, Silero 0.95): speech, SEG004's to report, not "a loud sound (knock, typing)"."""
    v = voice_from_spans(61.0, [*SPEECH, (45.0, 45.15)])
    assert not v.speech[v.mask_between(45.0, 45.15)].any()  # no speech run: a transient
    r = check("AUD005", v)
    assert r.status == "pass", r.message
    # The same level with a knock's Silero probability is still a knock.
    knock = voice_from_spans(61.0, SPEECH, sounds=[(45.0, 45.15, -20.0, 10.0)])
    assert check("AUD005", knock).status == "fail"


def test_aud005_background_voice_fails_and_own_voice_does_not():
    quiet = voice_from_spans(61.0, [*SPEECH, (41.5, 43.5, -45.0)])
    loud = voice_from_spans(61.0, [*SPEECH, (41.5, 43.5, -20.0)])
    r = check("AUD005", quiet)
    assert r.status == "fail" and "another voice" in r.message
    assert check("AUD005", loud).status == "pass"  # that is the speaker: SEG004


def test_aud005_thresholds():
    short = voice_from_spans(61.0, SPEECH, sounds=[(40.0, 40.15, -55.0, 40.0)])
    faint = voice_from_spans(61.0, SPEECH, sounds=[(40.0, 46.0, -70.0, 40.0)])
    noisy = voice_from_spans(61.0, SPEECH, sounds=[(40.0, 46.0, -35.0, 24.0)])
    assert check("AUD005", short).status == "pass"  # a blip under min_tonal_s
    assert check("AUD005", faint).status == "pass"  # below min_tonal_level_dbfs
    assert check("AUD005", noisy, transient_db=40.0).status == "pass"
    assert check("AUD005", noisy, transient_db=40.0, min_tonality_db=23.9).status == "fail"
    knock = voice_from_spans(61.0, SPEECH, sounds=[(50.0, 50.06, -46.0, 10.0)])  # 19 dB over -65
    assert check("AUD005", knock, max_below_speech_db=30.0).status == "pass"
    assert check("AUD005", knock, max_below_speech_db=30.0, transient_db=18.9).status == "fail"
    # ... and 26 dB below the -20 dBFS voice: a small sound (a breath, a click), not a knock.
    assert check("AUD005", knock, transient_db=18.9).status == "pass"
    assert check("AUD005", knock, transient_db=18.9, max_below_speech_db=26.1).status == "fail"


def test_aud005_speech_tail_next_to_the_boundary_is_not_a_sound():
    v = voice_from_spans(61.0, SPEECH, sounds=[(30.5, 30.7, -30.0, 30.0)])
    assert check("AUD005", v).status == "pass"


# --- AUD006 ---------------------------------------------------------------------------------


def test_aud006_gated_listening_warns():
    v = voice_from_spans(61.0, SPEECH, zeros=[(31.0, 61.0)])
    r = check("AUD006", v)
    assert r.status == "fail" and r.severity == "warning"
    assert r.measured == pytest.approx(29.5, abs=2 * W)
    assert r.spans[0].start_s == pytest.approx(31.0, abs=W)


def test_aud006_gates_between_words_warn():
    gaps = [(5.0 + 3 * k, 5.2 + 3 * k) for k in range(8)]
    assert check("AUD006", voice_from_spans(61.0, SPEECH, zeros=gaps)).status == "fail"


def test_aud006_ignores_zeros_before_the_first_word_and_at_the_very_end():
    v = voice_from_spans(61.0, [(2.0, 32.0)], zeros=[(0.0, 1.5), (60.6, 61.0)])
    assert check("AUD006", v).status == "pass"


def test_aud006_boundary_and_all_zero_track():
    v = voice_from_spans(61.0, SPEECH, zeros=[(40.0, 40.5)])
    m = check("AUD006", v).measured
    assert m == pytest.approx(0.5, abs=2 * W)
    assert check("AUD006", v, max_digital_silence_s=m + 0.01).status == "pass"
    assert check("AUD006", v, max_digital_silence_s=m - 0.01).status == "fail"
    assert check("AUD006", voice_from_spans(30.0, [], zeros=[(0.0, 30.0)])).status == "skip"

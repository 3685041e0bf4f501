"""SEG001-SEG005 on hand-built voice evidence (audiomix.voice_from_spans): a passing, a failing
and a boundary value for each rule.  Milliseconds each; the analyser itself is tested in
test_voice.py, the rules on encoded clips in test_aud.py's end-to-end tests."""

from __future__ import annotations

import pytest
from audiomix import voice_from_spans

from validator.evidence import Evidence
from validator.pipeline import run_check
from validator.registry import load_all
from validator.settings import Settings

W = 0.032  # analyser window: spans come back quantised to it


def check(rule_id: str, voice, profile: str = "phoenix-4", **params):
    ev = Evidence(path="clip.mp4", size_bytes=0, voice=voice)
    s = Settings(profile=profile, params={rule_id: params} if params else {})
    return run_check(load_all()[rule_id], ev, s)


GOOD = voice_from_spans(61.0, [(0.5, 30.5)])


def test_good_take_passes_every_seg_rule():
    for rid in ("SEG001", "SEG002", "SEG003", "SEG004", "SEG005"):
        assert check(rid, GOOD).status == "pass", rid
    assert GOOD.speaking.start_s == pytest.approx(0.5, abs=W)
    assert GOOD.speaking.end_s == pytest.approx(30.5, abs=W)
    assert GOOD.listening.end_s == pytest.approx(61.0)


# --- SEG001 ---------------------------------------------------------------------------------


def test_seg001_short_speaking_fails_with_span():
    r = check("SEG001", voice_from_spans(61.0, [(0.5, 20.5)]))
    assert r.status == "fail" and r.severity == "error"
    assert r.measured == pytest.approx(20.0, abs=2 * W) and r.limit == 28.0
    assert r.spans[0].end_s == pytest.approx(20.5, abs=W)
    assert "needs 30 s" in r.message


def test_seg001_boundary_at_tolerance():
    v = voice_from_spans(61.0, [(0.5, 28.5)])
    d = v.speaking.end_s - v.speaking.start_s
    assert check("SEG001", v, tolerance_s=30.0 - d + 0.01).status == "pass"
    assert check("SEG001", v, tolerance_s=30.0 - d - 0.01).status == "fail"


def test_seg001_profile_phoenix3_needs_60s():
    assert check("SEG001", GOOD, profile="phoenix-3").status == "fail"


def test_seg001_no_speech_fails():
    r = check("SEG001", voice_from_spans(60.0, []))
    assert r.status == "fail" and r.measured == 0.0 and "no speech" in r.message


# --- SEG002 ---------------------------------------------------------------------------------


def test_seg002_short_listening_fails():
    r = check("SEG002", voice_from_spans(60.0, [(0.5, 45.0)]))
    assert r.status == "fail"
    assert r.measured == pytest.approx(15.0, abs=2 * W)
    assert r.spans[0].start_s == pytest.approx(45.0, abs=W)


def test_seg002_speech_to_the_end_has_no_listening():
    r = check("SEG002", voice_from_spans(60.0, [(0.5, 60.0)]))
    assert r.status == "fail" and r.measured == 0.0 and "runs to the end" in r.message


def test_seg002_boundary_at_tolerance():
    v = voice_from_spans(59.0, [(0.5, 31.0)])
    d = v.listening.end_s - v.listening.start_s
    assert check("SEG002", v, tolerance_s=30.0 - d + 0.01).status == "pass"
    assert check("SEG002", v, tolerance_s=30.0 - d - 0.01).status == "fail"


def test_seg002_profile_phoenix3_needs_60s():
    r = check("SEG002", GOOD, profile="phoenix-3")
    assert r.status == "fail" and r.limit == 58.0 and "phoenix-3 needs 60 s" in r.message


def test_seg002_skipped_without_speech():
    assert check("SEG002", voice_from_spans(60.0, [])).status == "skip"


# --- SEG003 ---------------------------------------------------------------------------------


def test_seg003_listening_first_fails():
    v = voice_from_spans(61.0, [(30.5, 61.0)])
    r = check("SEG003", v)
    assert r.status == "fail" and "listening came before speaking" in r.message
    assert r.spans[0].end_s == pytest.approx(30.5, abs=W)


def test_seg003_short_lead_in_passes():
    assert check("SEG003", voice_from_spans(65.0, [(4.0, 34.0)])).status == "pass"


def test_seg003_alternation_fails_with_the_pause():
    v = voice_from_spans(62.0, [(0.5, 10.5), (20.5, 32.0)])
    r = check("SEG003", v)
    assert r.status == "fail" and "alternate" in r.message
    assert r.spans[0].start_s == pytest.approx(10.5, abs=W)
    assert r.spans[0].end_s == pytest.approx(20.5, abs=W)


def test_seg003_pause_boundary():
    v = voice_from_spans(65.0, [(0.5, 15.0), (19.0, 34.0)])  # a 4 s pause
    pause = check("SEG003", v).measured
    assert pause == pytest.approx(4.0, abs=2 * W)
    assert check("SEG003", v, max_pause_s=pause + 0.01).status == "pass"
    assert check("SEG003", v, max_pause_s=pause - 0.01).status == "fail"


# --- SEG004 ---------------------------------------------------------------------------------


def test_seg004_remark_in_listening_fails_with_its_place():
    v = voice_from_spans(61.0, [(0.5, 30.5), (41.5, 43.5)])
    assert v.listening.start_s == pytest.approx(
        30.5, abs=W
    )  # the remark does not move the boundary
    r = check("SEG004", v)
    assert r.status == "fail"
    assert r.measured == pytest.approx(2.0, abs=2 * W)
    assert r.spans[0].start_s == pytest.approx(41.5, abs=W) and r.spans[0].end_s == pytest.approx(
        43.5, abs=W
    )
    assert "41.5" in r.message


def test_seg004_remark_after_the_full_listening_time_can_be_trimmed():
    late = check("SEG004", voice_from_spans(64.0, [(0.5, 30.5), (61.0, 63.0)]))
    early = check("SEG004", voice_from_spans(64.0, [(0.5, 30.5), (41.5, 43.5)]))
    assert late.status == early.status == "fail"
    assert "prepare --trim auto" in late.hint and "prepare" not in early.hint


def test_seg004_short_cough_within_allowance():
    v = voice_from_spans(61.0, [(0.5, 30.5), (45.0, 45.3)])
    r = check("SEG004", v)
    assert r.status == "pass" and 0 < r.measured <= 0.5


def test_seg004_boundary():
    v = voice_from_spans(61.0, [(0.5, 30.5), (45.0, 46.0)])
    m = check("SEG004", v).measured
    assert check("SEG004", v, max_speech_s=m + 0.01).status == "pass"
    assert check("SEG004", v, max_speech_s=m - 0.05).status == "fail"


def test_seg004_quiet_background_voice_is_left_to_aud005():
    v = voice_from_spans(61.0, [(0.5, 30.5), (41.5, 43.5, -45.0)])  # speaker at -20 dBFS
    assert check("SEG004", v).status == "pass"
    assert check("SEG004", v, background_voice_db=30.0).status == "fail"


# --- SEG005 ---------------------------------------------------------------------------------


def test_seg005_sparse_speaking_warns():
    bursts = [(0.5 + 3 * k, 1.5 + 3 * k) for k in range(10)]  # 1 s on, 2 s off
    r = check("SEG005", voice_from_spans(62.0, bursts))
    assert r.status == "fail" and r.severity == "warning"
    assert r.measured == pytest.approx(1 / 3, abs=0.05)
    assert len(r.spans) == 9  # the 2 s pauses


def test_seg005_boundary():
    v = voice_from_spans(62.0, [(0.5, 10.5), (12.5, 31.0)])
    share = check("SEG005", v).measured
    assert 0.9 < share < 1.0
    assert check("SEG005", v, min_speech_share=share - 0.001).status == "pass"
    assert check("SEG005", v, min_speech_share=share + 0.001).status == "fail"


def test_seg_rules_skip_without_audio():
    ev = Evidence(path="clip.mp4", size_bytes=0, missing={"voice": "the file has no audio stream"})
    for rid in ("SEG001", "SEG002", "SEG003", "SEG004", "SEG005"):
        r = run_check(load_all()[rid], ev, Settings())
        assert r.status == "skip" and "no audio stream" in r.message

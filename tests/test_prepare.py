"""prepare: the planner, trim planner, rates, tone curve, CFR scheduler and proof, on hand-built
reports and arrays (no media; milliseconds each)."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from validator.evidence import AudioData, Evidence, MediaInfo
from validator.prepare import PrepareOptions, make_plan, plan_trim, proof
from validator.prepare.plan import SIZE_LIMIT_BYTES, output_rate, plan_gain, snap_rate
from validator.prepare.repairs import (
    CfrScheduler,
    bt709_oetf,
    hlg_to_nits,
    pq_to_nits,
    rotate_yuv420,
    tone_curve,
)
from validator.profiles import PROFILES
from validator.registry import Span
from validator.report import Report, Result

P4 = PROFILES["phoenix-4"]


def media(**kw) -> MediaInfo:
    base = dict(
        container="mp4",
        format_name="mov,mp4",
        duration_s=60.0,
        size_bytes=10_000_000,
        has_video=True,
        has_audio=True,
        width=1920,
        height=1080,
        fps=30.0,
        fps_from_timestamps=30.0,
        video_codec="h264",
        pix_fmt="yuv420p",
        bit_depth=8,
        audio_codec="aac",
        sample_rate_hz=48000,
        channels=2,
        video_duration_s=60.0,
    )
    base.update(kw)
    return MediaInfo(**base)


def report(
    m: MediaInfo | None,
    fails: dict[str, tuple] | None = None,
    voice=None,
    audio=None,
    pts: np.ndarray | None = None,
    passes: tuple[str, ...] = (),
) -> Report:
    """fails: rule -> (message, measured, limit[, severity])."""
    ev = Evidence(path="in.mp4", size_bytes=1, media=m, voice=voice, audio=audio)
    if pts is not None:
        ev.stream = SimpleNamespace(video_pts_s=pts)
    results = []
    for rid, spec in (fails or {}).items():
        msg, measured, limit = spec[:3]
        sev = spec[3] if len(spec) > 3 else "error"
        results.append(Result(rid, rid.lower(), sev, "fail", msg, measured, limit))
    for rid in passes:
        results.append(Result(rid, rid.lower(), "error", "pass", "ok"))
    return Report(
        path="in.mp4",
        size_bytes=1,
        sha256=None,
        profile="phoenix-4",
        fail_on="error",
        results=results,
        media=m.to_dict() if m else None,
        evidence=ev,
    )


# ------------------------------------------------------------------------------ planner


def test_compliant_clip_is_stream_copied_with_nothing_to_repair():
    plan = make_plan(report(media(), passes=("MED002", "MED003")), PrepareOptions(trim="none"))
    assert plan.possible and plan.video == "copy" and plan.audio == "copy"
    assert plan.fixes == () and plan.unfixable == ()


def test_mov_is_remuxed_without_reencoding():
    plan = make_plan(report(media(container="mov"), {"MED002": ("container is mov", "mov", "mp4")}))
    assert plan.video == "copy" and plan.audio == "copy"
    assert [f.action for f in plan.fixes] == ["remux"] and plan.fixed_rules == ("MED002",)


def test_webm_vp9_opus_is_reencoded_both_streams():
    m = media(container="webm", video_codec="vp9", audio_codec="opus")
    plan = make_plan(
        report(
            m,
            {
                "MED002": ("webm", "webm", "mp4", "warning"),
                "MED003": ("vp9", "vp9", "h264"),
                "MED004": ("opus", "opus", "aac"),
            },
        )
    )
    assert plan.video == "encode" and plan.audio == "encode"
    assert set(plan.fixed_rules) == {"MED002", "MED003", "MED004"}
    assert plan.audio_rate == 48000


def test_rotation_flag_forces_encode_and_is_applied():
    plan = make_plan(report(media(rotation_deg=90, width=1080, height=1920)))
    assert plan.video == "encode" and plan.rotate_cw == 90
    assert any(f.action == "rotate" for f in plan.fixes)


def test_hdr_pq_is_tone_mapped_and_10bit_converted():
    m = media(
        pix_fmt="yuv420p10le", bit_depth=10, color_transfer="smpte2084", color_primaries="bt2020"
    )
    plan = make_plan(report(m, {"MED012": ("10-bit", 10, 8, "warning")}))
    assert plan.video == "encode" and plan.tone_map == "pq" and plan.source_matrix == "bt2020"
    assert "MED012" in plan.fixed_rules
    assert make_plan(report(media(color_transfer="arib-std-b67"))).tone_map == "hlg"


def test_low_frame_rate_is_unfixable_and_vfr_below_25_too():
    m = media(fps=20.0, fps_from_timestamps=20.0)
    plan = make_plan(
        report(
            m,
            {
                "MED006": ("20.00 fps (needs at least 25)", 20.0, 25.0),
                "MED010": ("varies", 0.3, 0.02, "warning"),
            },
        )
    )
    assert {u.rule for u in plan.unfixable} == {"MED006", "MED010"}
    assert "MED006" not in plan.fixed_rules and "MED010" not in plan.fixed_rules
    assert "record again" in next(u.reason for u in plan.unfixable if u.rule == "MED006")


def test_vfr_at_or_above_25_becomes_constant_at_the_nominal_rate():
    d = np.full(300, 1 / 30)
    d[::10] = 1 / 20  # every tenth interval is a slow one: mean ~29 fps, nominal 30
    pts = np.concatenate([[0.0], np.cumsum(d)])
    mean = (len(pts) - 1) / pts[-1]
    plan = make_plan(
        report(
            media(fps=mean, fps_from_timestamps=mean),
            {"MED010": ("varies", 0.1, 0.02, "warning")},
            pts=pts,
        )
    )
    assert plan.video == "encode" and plan.fps == Fraction(30) and "MED010" in plan.fixed_rules


def test_recording_problems_are_listed_as_unfixable_with_a_reason():
    plan = make_plan(
        report(
            media(),
            {
                "FAC003": ("face height is 12%", 0.12, 0.25),
                "MTH001": ("lips open in 30% of listening", 0.3, 0.05),
                "IMG002": ("face too dark", 40, 60),
                "MED007": ("640x360", 360, 720),
            },
        )
    )
    assert {u.rule for u in plan.unfixable} == {"FAC003", "MTH001", "IMG002", "MED007"}
    assert all(u.reason for u in plan.unfixable)
    assert plan.video == "copy"


def test_unreadable_input_cannot_be_prepared():
    plan = make_plan(report(None, {"MED001": ("cannot read the file: truncated", None, None)}))
    assert not plan.possible and plan.unfixable[0].rule == "MED001"


def test_too_long_clip_is_trimmed_by_voice_segments():
    voice = SimpleNamespace(speaking=Span(95.0, 126.0), listening=Span(126.0, 300.0))
    m = media(duration_s=300.0, video_duration_s=300.0)
    plan = make_plan(report(m, {"MED008": ("300 s long", 300.0, 180.0)}, voice=voice))
    assert plan.trim is not None and plan.trim.start_s == pytest.approx(94.0)
    assert plan.trim.end_s == pytest.approx(126.0 + 30.0 + 2.0)
    assert "MED008" in plan.fixed_rules and plan.video == "encode" and plan.audio == "encode"


def test_too_long_clip_without_segments_is_unfixable_and_says_why():
    m = media(duration_s=300.0)
    plan = make_plan(report(m, {"MED008": ("300 s long", 300.0, 180.0)}))
    u = next(u for u in plan.unfixable if u.rule == "MED008")
    assert "segments" in u.reason and plan.trim is None
    plan = make_plan(
        report(
            m,
            {"MED008": ("300 s long", 300.0, 180.0)},
            voice=SimpleNamespace(speaking=Span(95, 126), listening=Span(126, 300)),
        ),
        PrepareOptions(trim="none"),
    )
    assert "--trim none" in next(u for u in plan.unfixable if u.rule == "MED008").reason


def test_too_short_clip_is_unfixable():
    plan = make_plan(report(media(duration_s=41.0), {"MED008": ("41 s long", 41.0, 58.0)}))
    assert "longer" in next(u for u in plan.unfixable if u.rule == "MED008").reason


def test_oversized_file_gets_a_bitrate_that_fits_the_limit():
    dur = 1200.0
    plan = make_plan(
        report(
            media(duration_s=dur, size_bytes=900_000_000),
            {"MED005": ("900 MB", 900_000_000, 750_000_000)},
        ),
        PrepareOptions(trim="none"),
    )
    assert plan.video == "encode" and "MED005" in plan.fixed_rules
    worst = plan.max_video_bitrate * (dur + 1) / 8 + plan.audio_bitrate * dur / 8
    assert worst < SIZE_LIMIT_BYTES


def test_above_4k_is_scaled_to_2160_short_side():
    plan = make_plan(report(media(width=7680, height=4320)))
    assert plan.size == (3840, 2160) and plan.video == "encode"
    portrait = make_plan(report(media(width=4320, height=7680)))
    assert portrait.size == (2160, 3840)


def test_silent_stereo_channel_keeps_the_live_one_as_mono():
    audio = AudioData(
        pcm16k=np.zeros(16000, np.float32),
        sample_rate_hz=48000,
        channels=2,
        channel_rms=(0.05, 0.0),
        channel_peak=(0.5, 0.0),
        lr_correlation=None,
    )
    plan = make_plan(
        report(
            media(), {"MED013": ("right channel is silent", 48000, 16000, "warning")}, audio=audio
        )
    )
    assert plan.audio == "encode" and plan.audio_channel == 0 and "MED013" in plan.fixed_rules


def test_low_sample_rate_is_unfixable():
    audio = AudioData(
        pcm16k=np.zeros(16000, np.float32),
        sample_rate_hz=8000,
        channels=1,
        channel_rms=(0.05,),
        channel_peak=(0.5,),
        lr_correlation=None,
    )
    plan = make_plan(
        report(
            media(sample_rate_hz=8000, channels=1),
            {"MED013": ("sample rate 8000 Hz", 8000, 16000, "warning")},
            audio=audio,
        )
    )
    assert any(u.rule == "MED013" for u in plan.unfixable)


# ------------------------------------------------------------------------------ trimming


def test_trim_keeps_one_second_before_first_word_and_margin_after_listening():
    t = plan_trim(Span(20.0, 50.0), Span(50.0, 120.0), 120.0, P4)
    assert t is not None and t.start_s == pytest.approx(19.0) and t.end_s == pytest.approx(82.0)


def test_small_excess_is_not_worth_a_reencode():
    assert plan_trim(Span(3.0, 33.0), Span(33.0, 66.0), 66.0, P4) is None  # 2 s lead, 1 s tail
    t = plan_trim(Span(3.0, 33.0), Span(33.0, 90.0), 90.0, P4)  # only the tail is long
    assert t is not None and t.start_s == 0.0 and t.end_s == pytest.approx(65.0)


def test_trim_never_cuts_inside_speech():
    # A cough-length word straddles the planned end (63 s): the cut moves past it.
    t = plan_trim(
        Span(1.0, 31.0), Span(31.0, 120.0), 120.0, P4, speech=[Span(1.0, 31.0), Span(62.5, 64.0)]
    )
    assert t is not None and t.end_s == pytest.approx(66.0)
    # An earlier speech region than the speaking span moves the start too.
    t = plan_trim(
        Span(30.0, 60.0), Span(60.0, 95.0), 95.0, P4, speech=[Span(12.0, 13.0), Span(30.0, 60.0)]
    )
    assert t is not None and t.start_s == pytest.approx(11.0)


def test_no_segments_no_trim():
    assert plan_trim(None, None, 300.0, P4) is None
    t = plan_trim(Span(40.0, 70.0), None, 300.0, P4)  # listening unknown: only the lead-in goes
    assert t is not None and t.end_s is None and t.start_s == pytest.approx(39.0)


# ------------------------------------------------------------------------------ rates, gain


def test_snap_rate_prefers_the_nearest_standard_rate():
    assert snap_rate(30.0) == Fraction(30)
    assert snap_rate(29.97) == Fraction(30000, 1001)
    assert snap_rate(25.02) == Fraction(25)
    assert snap_rate(27.3) == Fraction(273, 10)


def test_output_rate_uses_declared_rate_for_steady_clips():
    pts = np.arange(100) / 25.0
    assert output_rate({"fps": 25.0}, pts) == Fraction(25)
    assert output_rate({"fps": None, "fps_from_timestamps": None}, pts) is None


def test_gain_is_gentle_bounded_and_respects_peaks():
    rng = np.random.default_rng(1)
    quiet = (rng.standard_normal(16000 * 3) * 0.003).astype(np.float32)  # about -50 LUFS
    a = AudioData(
        pcm16k=quiet,
        sample_rate_hz=16000,
        channels=1,
        channel_rms=(0.003,),
        channel_peak=(0.015,),
        lr_correlation=None,
    )
    gain, note = plan_gain(a)
    assert gain == pytest.approx(12.0) and "LUFS" in note  # capped at +12 dB
    hot_peak = AudioData(
        pcm16k=quiet,
        sample_rate_hz=16000,
        channels=1,
        channel_rms=(0.003,),
        channel_peak=(0.5,),
        lr_correlation=None,
    )
    gain, _ = plan_gain(hot_peak)
    assert gain <= -1.0 - 20 * np.log10(0.5) + 0.05  # the peak ceiling wins
    ok = (rng.standard_normal(16000 * 3) * 0.1).astype(np.float32)  # about -20 LUFS
    a = AudioData(
        pcm16k=ok,
        sample_rate_hz=16000,
        channels=1,
        channel_rms=(0.1,),
        channel_peak=(0.45,),
        lr_correlation=None,
    )
    assert plan_gain(a)[0] == 0.0


# ------------------------------------------------------------------------------ colour


def test_pq_and_hlg_reference_points():
    assert pq_to_nits(np.array([0.0]))[0] == pytest.approx(0.0, abs=1e-6)
    assert pq_to_nits(np.array([1.0]))[0] == pytest.approx(10000.0, rel=1e-4)
    assert pq_to_nits(np.array([0.5081]))[0] == pytest.approx(100.0, rel=0.01)  # ST 2084 table
    assert hlg_to_nits(np.array([1.0]))[0] == pytest.approx(1000.0, rel=1e-3)
    assert hlg_to_nits(np.array([0.0]))[0] == pytest.approx(0.0, abs=1e-9)


def test_tone_curve_is_linear_below_knee_monotonic_and_reaches_white_at_peak():
    x = np.linspace(0, 60, 5000)
    y = tone_curve(x)
    assert np.all(np.diff(y) >= -1e-12)
    assert y[0] == 0.0 and tone_curve(np.array([0.3]))[0] == pytest.approx(0.3)
    assert tone_curve(np.array([1000 / 203]))[0] == pytest.approx(1.0)
    ref_white = float(bt709_oetf(tone_curve(np.array([1.0])))[0])
    assert 0.8 < ref_white < 0.95  # 203-nit reference white is bright but below SDR peak


def test_rotate_yuv420_matches_cv2_rotation_of_the_luma():
    rng = np.random.default_rng(0)
    w, h = 8, 4
    a = rng.integers(0, 255, (h * 3 // 2, w), dtype=np.uint8)
    r = rotate_yuv420(a, w, h, 90)
    assert r.shape == (w * 3 // 2, h)
    assert np.array_equal(r[:w], np.rot90(a[:h], -1))
    assert np.array_equal(rotate_yuv420(rotate_yuv420(a, w, h, 180), w, h, 180), a)


# ------------------------------------------------------------------------------ CFR


def test_cfr_scheduler_passes_constant_rate_through_one_to_one():
    s = CfrScheduler(Fraction(30), 0.0, None)
    out = []
    for i in range(10):
        out += s.push(i / 30, i)
    out += s.flush(10 / 30)
    assert [n for n, _ in out] == list(range(10)) and [f for _, f in out] == list(range(10))


def test_cfr_scheduler_repeats_a_late_frame_and_honours_trim():
    times = [0, 1 / 30, 2 / 30, 4.4 / 30, 5 / 30]  # slot 3 is nearest to frame 2: it repeats
    s = CfrScheduler(Fraction(30), 0.0, None)
    out = []
    for i, t in enumerate(times):
        out += s.push(t, i)
    out += s.flush(6 / 30)
    assert [f for _, f in out] == [0, 1, 2, 2, 3, 4]
    s = CfrScheduler(Fraction(10), 0.5, 0.8)
    out = []
    for i in range(20):
        out += s.push(i / 10, i)
    out += s.flush(2.0)
    assert [f for _, f in out] == [5, 6, 7]


# ------------------------------------------------------------------------------ proof


def _rep(**status: str) -> Report:
    res = [Result(r, r.lower(), "error", s, f"{r} {s}") for r, s in status.items()]
    return Report(
        path="x", size_bytes=1, sha256=None, profile="phoenix-4", fail_on="error", results=res
    )


def test_proof_accepts_repairs_and_rejects_regressions_and_unrepaired_rules():
    plan = make_plan(report(media(container="mov"), {"MED002": ("mov", "mov", "mp4")}))
    before = _rep(MED002="fail", MED007="fail", FAC003="pass")
    assert proof.problems(plan, before, _rep(MED002="pass", MED007="fail", FAC003="pass")) == []
    bad = proof.problems(plan, before, _rep(MED002="fail", MED007="fail", FAC003="pass"))
    assert bad and "MED002 still fails" in bad[0]
    bad = proof.problems(plan, before, _rep(MED002="pass", MED007="fail", FAC003="fail"))
    assert bad and "FAC003 newly fails" in bad[0]
    text = proof.table(before, _rep(MED002="pass", MED007="fail", FAC003="pass"))
    assert "MED002" in text and "MED007" not in text


def test_speech_after_the_cut_is_repaired_by_the_trim_but_not_speech_before_it():
    voice = SimpleNamespace(speaking=Span(1.0, 31.0), listening=Span(31.0, 120.0))
    m = media(duration_s=120.0)
    late = Result(
        "SEG004",
        "speech-during-listening",
        "error",
        "fail",
        "2.0 s of speech",
        2.0,
        1.0,
        spans=(Span(100.0, 102.0),),
    )
    rep = report(m, voice=voice)
    rep.results.append(late)
    plan = make_plan(rep)
    assert plan.trim is not None and plan.trim.end_s == pytest.approx(63.0)
    assert "SEG004" in plan.fixed_rules and not any(u.rule == "SEG004" for u in plan.unfixable)
    early = Result(
        "SEG004",
        "speech-during-listening",
        "error",
        "fail",
        "2.0 s of speech",
        2.0,
        1.0,
        spans=(Span(45.0, 47.0), Span(100.0, 102.0)),
    )
    rep = report(m, voice=voice)
    rep.results.append(early)
    plan = make_plan(rep)
    assert "SEG004" not in plan.fixed_rules and any(u.rule == "SEG004" for u in plan.unfixable)

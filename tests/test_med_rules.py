"""MED rules as pure checks on hand-built Evidence: a passing, a failing and a boundary value each."""

from __future__ import annotations

import math

import numpy as np
import pytest

from validator.evidence import AudioData, Evidence, MediaInfo, StreamStats
from validator.pipeline import run_check
from validator.registry import load_all
from validator.settings import Settings

RULES = load_all()


def media(**kw) -> MediaInfo:
    base = dict(
        container="mp4",
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        duration_s=60.0,
        size_bytes=80_000_000,
        has_video=True,
        has_audio=True,
        width=1920,
        height=1080,
        coded_width=1920,
        coded_height=1080,
        fps=30.0,
        fps_from_timestamps=30.0,
        video_codec="h264",
        pix_fmt="yuv420p",
        bit_depth=8,
        color_transfer="bt709",
        audio_codec="aac",
        sample_rate_hz=48000,
        channels=2,
        video_duration_s=60.0,
        audio_duration_s=60.0,
    )
    base.update(kw)
    return MediaInfo(**base)


def stream(pts=None, **kw) -> StreamStats:
    pts = np.arange(1800) / 30.0 if pts is None else np.asarray(pts, float)
    base = dict(
        video_pts_s=pts,
        video_packet_bytes=np.full(len(pts), 5000),
        video_keyframe_pts_s=pts[::60],
        audio_decoded_s=60.0,
        video_decoded_s=float(pts[-1] + 1 / 30) if len(pts) else 0.0,
    )
    base.update(kw)
    return StreamStats(**base)


def audio(
    rate=48000, channels=2, rms=(0.05, 0.05), peak=(0.5, 0.5), corr=0.9, seconds=60.0
) -> AudioData:
    return AudioData(
        pcm16k=np.full(int(seconds * 16000), 0.01, np.float32),
        sample_rate_hz=rate,
        channels=channels,
        channel_rms=rms,
        channel_peak=peak,
        lr_correlation=corr,
    )


def evidence(m=None, s=None, a="default", size=None, open_error=None) -> Evidence:
    m = media() if m is None else m
    ev = Evidence(
        path="clip.mp4",
        size_bytes=size if size is not None else m.size_bytes,
        media=m,
        stream=stream() if s is None else s,
        audio=audio() if a == "default" else a,
        open_error=open_error,
    )
    return ev


def run(rule_id: str, ev: Evidence, **params):
    s = Settings(params={rule_id: params}) if params else Settings()
    return run_check(RULES[rule_id], ev, s)


def test_clean_evidence_passes_every_med_rule():
    ev = evidence()
    for rid in RULES:
        if rid.startswith("MED"):
            assert run(rid, ev).status == "pass", rid


# MED001
def test_med001_open_error_fails():
    r = run(
        "MED001", Evidence(path="x.mp4", size_bytes=0, open_error="the file is empty (0 bytes)")
    )
    assert r.status == "fail" and "empty" in r.message


def test_med001_no_video_stream_fails():
    assert run("MED001", evidence(media(has_video=False))).status == "fail"


def test_med001_zero_frames_fails():
    assert run("MED001", evidence(s=stream(pts=[]))).status == "fail"


# MED002
@pytest.mark.parametrize(
    "container,status,severity",
    [
        ("mp4", "pass", "error"),
        ("webm", "fail", "warning"),
        ("mov", "fail", "error"),
        ("mkv", "fail", "error"),
        ("avi", "fail", "error"),
    ],
)
def test_med002_container(container, status, severity):
    r = run("MED002", evidence(media(container=container)))
    assert (r.status, r.severity) == (status, severity)


# MED003 / MED004
@pytest.mark.parametrize("codec,status", [("h264", "pass"), ("hevc", "fail"), ("vp9", "fail")])
def test_med003_video_codec(codec, status):
    assert run("MED003", evidence(media(video_codec=codec))).status == status


@pytest.mark.parametrize("codec,status", [("aac", "pass"), ("opus", "fail"), ("mp3", "fail")])
def test_med004_audio_codec(codec, status):
    assert run("MED004", evidence(media(audio_codec=codec))).status == status


def test_med004_skips_without_audio():
    assert run("MED004", evidence(media(has_audio=False), a=None)).status == "skip"


# MED005: documented "less than 750 MB"
@pytest.mark.parametrize(
    "size,status", [(749_999_999, "pass"), (750_000_000, "fail"), (900_000_000, "fail")]
)
def test_med005_size_boundary(size, status):
    assert run("MED005", evidence(size=size)).status == status


def test_med005_param_override():
    assert run("MED005", evidence(size=1000), max_size_bytes=1000).status == "fail"
    assert run("MED005", evidence(size=999), max_size_bytes=1000).status == "pass"


# MED006
@pytest.mark.parametrize(
    "fps,status", [(30.0, "pass"), (25.0, "pass"), (24.99, "fail"), (23.976, "fail")]
)
def test_med006_fps_boundary(fps, status):
    assert run("MED006", evidence(media(fps=fps))).status == status


def test_med006_falls_back_to_timestamps():
    r = run("MED006", evidence(media(fps=None, fps_from_timestamps=20.0)))
    assert r.status == "fail" and r.measured == 20.0


# MED007
@pytest.mark.parametrize(
    "w,h,status,severity",
    [
        (1920, 1080, "pass", "error"),
        (1080, 1920, "pass", "error"),  # portrait: short side 1080
        (1280, 720, "fail", "warning"),
        (1279, 719, "fail", "error"),
        (640, 360, "fail", "error"),
    ],
)
def test_med007_resolution(w, h, status, severity):
    r = run("MED007", evidence(media(width=w, height=h)))
    assert (r.status, r.severity) == (status, severity)


# MED008: 60 s total, tolerance 2 s, max 3x
@pytest.mark.parametrize(
    "dur,status",
    [
        (60.0, "pass"),
        (58.0, "pass"),
        (57.9, "fail"),
        (180.0, "pass"),
        (180.1, "fail"),
        (12.0, "fail"),
    ],
)
def test_med008_duration_phoenix4(dur, status):
    assert run("MED008", evidence(media(duration_s=dur))).status == status


def test_med008_phoenix3_needs_two_minutes():
    ev = evidence(media(duration_s=90.0))
    assert run_check(RULES["MED008"], ev, Settings(profile="phoenix-3")).status == "fail"
    assert run_check(RULES["MED008"], ev, Settings(profile="phoenix-4")).status == "pass"
    ev = evidence(media(duration_s=118.0))
    assert run_check(RULES["MED008"], ev, Settings(profile="phoenix-3")).status == "pass"


# MED009
def test_med009_no_audio_stream():
    assert run("MED009", evidence(media(has_audio=False), a=None)).status == "fail"


def test_med009_decodes_to_nothing():
    assert run("MED009", evidence(a=audio(seconds=0))).status == "fail"


def test_med009_digital_silence_vs_quiet():
    assert run("MED009", evidence(a=audio(peak=(0.0, 0.0), rms=(0.0, 0.0)))).status == "fail"
    assert run("MED009", evidence(a=audio(peak=(1e-4, 0.0), rms=(1e-5, 0.0)))).status == "pass"


# MED010
def _pts_from_intervals(intervals):
    return np.concatenate([[0.0], np.cumsum(intervals)])


def test_med010_constant_rates_pass():
    for fps in (24, 25, 30, 60):
        pts = np.arange(600) / fps
        assert (
            run(
                "MED010",
                evidence(media(fps=float(fps), fps_from_timestamps=float(fps)), stream(pts)),
            ).status
            == "pass"
        )


def test_med010_millisecond_timestamps_pass():
    pts = np.round(np.arange(900) / 30.0, 3)  # MKV/WebM: intervals of 33/34 ms
    assert run("MED010", evidence(s=stream(pts))).status == "pass"


def test_med010_alternating_intervals_fail():
    iv = [1 / 40 if i % 2 else 1 / 20 for i in range(600)]  # mean ~26.7 fps, half of them at 20 fps
    pts = _pts_from_intervals(iv)
    m = media(fps=len(pts) / pts[-1], fps_from_timestamps=(len(pts) - 1) / pts[-1])
    r = run("MED010", evidence(m, stream(pts)))
    assert r.status == "fail" and r.measured == pytest.approx(0.5, abs=0.01)
    assert r.start_s is not None


def test_med010_share_boundary():
    # 2% of intervals slow-and-varying is allowed; 2.5% is not.
    def clip(n_slow):
        iv = [1 / 30] * 1000
        for i in range(n_slow):
            iv[i * 37] = 1 / 15
        pts = _pts_from_intervals(iv)
        return evidence(
            media(fps_from_timestamps=(len(pts) - 1) / pts[-1], fps=(len(pts) - 1) / pts[-1]),
            stream(pts),
        )

    assert run("MED010", clip(20)).status == "pass"
    assert run("MED010", clip(25)).status == "fail"


def test_med010_single_dropped_frame_is_not_vfr():
    iv = [1 / 30] * 900
    iv[450] = 1.0  # one second missing: EDT003's business
    pts = _pts_from_intervals(iv)
    assert (
        run(
            "MED010",
            evidence(
                media(fps_from_timestamps=(len(pts) - 1) / pts[-1] + 0.0, fps=29.0), stream(pts)
            ),
        ).status
        == "pass"
    )


def test_med010_declared_rate_mismatch():
    pts = np.arange(900) / 30.0
    r = run("MED010", evidence(media(fps=60.0, fps_from_timestamps=30.0), stream(pts)))
    assert r.status == "fail" and "declares" in r.message
    assert (
        run("MED010", evidence(media(fps=31.0, fps_from_timestamps=30.0), stream(pts))).status
        == "pass"
    )


# MED011
def test_med011_decode_errors():
    r = run(
        "MED011",
        evidence(s=stream(decode_errors=3, error_messages=["video at 12.00s: invalid data"])),
    )
    assert r.status == "fail" and "3 decode error" in r.message
    assert run("MED011", evidence(s=stream(decode_errors=3)), max_decode_errors=3).status == "pass"


def test_med011_truncated_video():
    pts = np.arange(900) / 30.0  # 30 s decoded of a declared 60 s
    r = run("MED011", evidence(s=stream(pts, audio_decoded_s=30.0)))
    assert (
        r.status == "fail"
        and "truncated" in r.message
        and r.start_s == pytest.approx(30.0, abs=0.1)
    )


@pytest.mark.parametrize(
    "adur,status", [(60.0, "pass"), (60.9, "pass"), (61.2, "fail"), (58.0, "fail")]
)
def test_med011_av_duration_boundary(adur, status):
    assert run("MED011", evidence(s=stream(audio_decoded_s=adur))).status == status


# MED012
@pytest.mark.parametrize(
    "depth,trc,status",
    [
        (8, "bt709", "pass"),
        (10, "bt709", "fail"),
        (8, "smpte2084", "fail"),
        (10, "arib-std-b67", "fail"),
    ],
)
def test_med012_hdr(depth, trc, status):
    assert run("MED012", evidence(media(bit_depth=depth, color_transfer=trc))).status == status


# MED013
@pytest.mark.parametrize(
    "rate,status", [(48000, "pass"), (16000, "pass"), (15999, "fail"), (8000, "fail")]
)
def test_med013_sample_rate(rate, status):
    assert run("MED013", evidence(a=audio(rate=rate))).status == status


def test_med013_silent_channel():
    r = run("MED013", evidence(a=audio(rms=(0.05, 0.0), corr=None)))
    assert r.status == "fail" and "right channel is silent" in r.message
    # Both channels quiet is a quiet recording, not a dead channel.
    assert run("MED013", evidence(a=audio(rms=(0.0005, 0.0), corr=None))).status == "pass"
    # Boundary: -60 dBFS is not below -60.
    assert run("MED013", evidence(a=audio(rms=(0.05, 10 ** (-60 / 20)), corr=0.1))).status == "pass"


@pytest.mark.parametrize(
    "corr,status", [(0.95, "pass"), (-0.49, "pass"), (-0.5, "fail"), (-0.99, "fail")]
)
def test_med013_antiphase(corr, status):
    assert run("MED013", evidence(a=audio(corr=corr))).status == status


def test_med013_mono_is_fine():
    assert (
        run("MED013", evidence(a=audio(channels=1, rms=(0.05,), peak=(0.5,), corr=None))).status
        == "pass"
    )


def test_db_helper_handles_zero():
    from validator.checks.med import _db

    assert _db(0.0) == -math.inf and _db(1.0) == 0.0

"""MED rules end to end on generated clips: each defect fails exactly its rule.

Clips are small (320x240, 2 s), so the size and duration rules are relaxed in `RELAXED` for every
defect except their own; MED007/MED008 are tested with the defaults on the same small clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clipgen import make_clip, room_tone, tone, truncate

from validator import Settings, UsageError, validate
from validator.media.source import open_input

RELAXED = Settings(
    select=("MED",),
    params={
        "MED007": {"min_short_side_px": 16, "error_short_side_px": 16},
        "MED008": {"tolerance_s": 59.0},
    },
)


def failing(report) -> set[str]:
    return {r.rule for r in report.results if r.status == "fail"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("med")
    two_s = 2.0
    alt = [1 / 40 if i % 2 else 1 / 20 for i in range(60)]  # mean 26.7 fps, half the gaps at 20 fps
    c = {
        "clean": make_clip(d / "clean.mp4"),
        "mov": make_clip(d / "clip.mov"),
        "mkv": make_clip(d / "clip.mkv"),
        "webm": make_clip(
            d / "clip.webm",
            vcodec="libvpx-vp9",
            acodec="libopus",
            video_options={"deadline": "realtime", "cpu-used": "8"},
        ),
        "hevc": make_clip(d / "hevc.mp4", vcodec="libx265"),
        "opus_in_mp4": make_clip(d / "opus.mp4", acodec="libopus"),
        "fps24": make_clip(d / "fps24.mp4", fps=24),
        "noaudio": make_clip(d / "noaudio.mp4", audio=None),
        "mutedaudio": make_clip(d / "muted.mp4", audio="silence"),
        "vfr": make_clip(d / "vfr.mp4", frame_times_s=list(np.concatenate([[0], np.cumsum(alt)]))),
        "tenbit": make_clip(d / "tenbit.mp4", pix_fmt="yuv420p10le"),
        "hdr": make_clip(d / "hdr.mp4", pix_fmt="yuv420p10le", color_trc=16),
        "8khz": make_clip(d / "8khz.mp4", sample_rate=8000),
        "22khz": make_clip(d / "22khz.mp4", sample_rate=22050),
        "onechannel": make_clip(
            d / "onech.mp4",
            audio=np.stack(
                [tone(two_s) + room_tone(two_s), np.zeros(int(two_s * 48000), np.float32)]
            ),
        ),
        "antiphase": make_clip(d / "anti.mp4", audio=np.stack([tone(two_s), -tone(two_s)])),
        "rotated": make_clip(d / "rotated.mp4", rotation_cw=90, size=(320, 176)),
        "faststart": make_clip(d / "faststart.mp4", duration_s=4.0, faststart=True),
        "audio_only": make_clip(d / "audio_only.m4a", vcodec=None),
        "unicode": make_clip(d / "clip é 中文 ✓.mp4"),
    }
    c["truncated_tail"] = truncate(c["faststart"], d / "truncated_tail.mp4", 0.55)
    c["truncated_head"] = truncate(
        c["clean"], d / "truncated_head.mp4", 0.5
    )  # moov at the end: lost
    data = bytearray(c["clean"].read_bytes())  # unknown codec tag in the sample description
    i = data.rfind(b"avc1")  # the last one is in moov/stsd (the first is the ftyp brand)
    data[i : i + 4] = b"zzzz"
    (d / "corrupt_header.mp4").write_bytes(bytes(data))
    c["corrupt_header"] = d / "corrupt_header.mp4"
    c["corrupt_data"] = _corrupt_video_packets(c["clean"], d / "corrupt_data.mp4")
    (d / "empty.mp4").write_bytes(b"")
    c["empty"] = d / "empty.mp4"
    (d / "random.mp4").write_bytes(np.random.default_rng(1).bytes(100_000))
    c["random"] = d / "random.mp4"
    (d / "text.mp4").write_text("this is not a video\n" * 100)
    c["text"] = d / "text.mp4"
    return c


def _corrupt_video_packets(src: Path, dst: Path) -> Path:
    """Overwrite bytes inside video packets 5-30 (found with the demuxer): the index stays
    intact, the decoder meets damaged slices."""
    with open_input(src) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.pos is not None and p.size > 50]
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(5)
    for pos, size in packets[5:30]:
        for k in rng.integers(pos + 8, pos + size, 20):
            data[k] = rng.integers(0, 255)
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize(
    "name,expected",
    [
        ("clean", set()),
        ("unicode", set()),
        ("mov", {"MED002"}),
        ("mkv", {"MED002"}),
        ("hevc", {"MED003"}),
        ("opus_in_mp4", {"MED004"}),
        ("fps24", {"MED006"}),
        ("noaudio", {"MED009"}),
        ("mutedaudio", {"MED009"}),
        ("vfr", {"MED010"}),
        ("tenbit", {"MED012"}),
        ("hdr", {"MED012"}),
        ("8khz", {"MED013"}),
        ("onechannel", {"MED013"}),
        ("antiphase", {"MED013"}),
        ("truncated_tail", {"MED011"}),
    ],
)
def test_each_defect_fails_exactly_its_rule(clips, name, expected):
    report = validate(clips[name], RELAXED)
    assert failing(report) == expected, [
        (r.rule, r.message) for r in report.results if r.status == "fail"
    ]


def test_webm_is_a_warning_and_names_its_codecs(clips):
    report = validate(clips["webm"], RELAXED)
    r = report.result("MED002")
    assert r.status == "fail" and r.severity == "warning"
    assert failing(report) == {"MED002", "MED003", "MED004"}  # VP9/Opus are not H.264/AAC


def test_a_rate_guessed_from_the_timebase_is_not_declared():
    """A browser's MediaRecorder WebM stores no frame duration: FFmpeg's only rate is its guess
    from the 1 ms timebase, 1000 fps.  That is not a declared rate (the decode pass measures the
    real one from the timestamps); a declared or plausible rate is kept."""
    from fractions import Fraction
    from types import SimpleNamespace

    from validator.media.probe import declared_fps

    ms = Fraction(1, 1000)
    recorder = SimpleNamespace(average_rate=None, guessed_rate=Fraction(1000), time_base=ms)
    assert declared_fps(recorder) is None
    declared = SimpleNamespace(average_rate=Fraction(30), guessed_rate=Fraction(1000), time_base=ms)
    assert declared_fps(declared) == 30.0
    guessed = SimpleNamespace(
        average_rate=None, guessed_rate=Fraction(25), time_base=Fraction(1, 25)
    )
    assert declared_fps(guessed) == 25.0  # a plain 25 fps stream with a 1/25 timebase
    none = SimpleNamespace(average_rate=None, guessed_rate=None, time_base=ms)
    assert declared_fps(none) is None


def test_report_shows_the_measured_rate_when_none_is_declared():
    from validator.render.text import media_line
    from validator.report import Report

    media = {"duration_s": 5.0, "width": 640, "height": 480, "container": "webm"}
    media |= {"video_codec": "vp8", "fps": None, "fps_from_timestamps": 29.06}
    rep = Report("take.webm", 1, None, "phoenix-4", "error", [], media=media)
    assert "29.06 fps (from timestamps)" in media_line(rep)
    rep.media = {**media, "fps": 30.0}
    assert "30.00 fps" in media_line(rep) and "from timestamps" not in media_line(rep)


def test_22khz_is_acceptable(clips):
    report = validate(clips["22khz"], RELAXED)
    assert report.media["sample_rate_hz"] == 22050 and failing(report) == set()


def test_small_short_clip_fails_resolution_and_duration_with_defaults(clips):
    report = validate(clips["clean"], Settings(select=("MED",)))
    assert failing(report) == {"MED007", "MED008"}
    assert report.result("MED007").severity == "error"


def test_file_size_limit_is_a_setting(clips):
    size = clips["clean"].stat().st_size
    s = RELAXED.merged(params={"MED005": {"max_size_bytes": size}})
    assert failing(validate(clips["clean"], s)) == {"MED005"}
    s = RELAXED.merged(params={"MED005": {"max_size_bytes": size + 1}})
    assert failing(validate(clips["clean"], s)) == set()


def test_rotation_is_applied_to_display_size(clips):
    report = validate(clips["rotated"], RELAXED)
    m = report.media
    assert m["rotation_deg"] == 90 and (m["width"], m["height"]) == (176, 320)


@pytest.mark.parametrize("name", ["empty", "random", "text", "truncated_head", "audio_only"])
def test_unreadable_inputs_fail_med001_and_skip_the_rest(clips, name):
    report = validate(clips[name], Settings(select=("MED",)))
    assert not report.passed
    assert report.result("MED001").status == "fail"
    assert failing(report) <= {"MED001", "MED002", "MED003", "MED009", "MED008", "MED007", "MED011"}


def test_empty_file_message(clips):
    assert "empty" in validate(clips["empty"]).result("MED001").message


def test_audio_only_file_says_so(clips):
    report = validate(clips["audio_only"], Settings(select=("MED",)))
    assert "no video stream" in report.result("MED001").message
    assert report.media["audio_codec"] == "aac"


def test_bad_calls_raise_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        validate(tmp_path / "missing.mp4")
    with pytest.raises(UsageError, match="directory"):
        validate(tmp_path)


def test_media_facts(clips):
    report = validate(clips["clean"], RELAXED)
    m = report.media
    assert (m["container"], m["video_codec"], m["audio_codec"]) == ("mp4", "h264", "aac")
    assert (m["width"], m["height"], m["fps"], m["sample_rate_hz"]) == (320, 240, 30.0, 48000)
    assert m["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert report.sha256 and len(report.sha256) == 64
    ev = report.evidence
    assert len(ev.stream.video_pts_s) == 60
    assert ev.audio.duration_s == pytest.approx(2.0, abs=0.1)


def test_huge_unreadable_file_reports_size_too(tmp_path):
    f = tmp_path / "huge.mp4"
    with open(f, "wb") as fh:  # sparse: 800 MB on paper, a few bytes on disk
        fh.write(b"\x00\x00\x00\x18ftypisom")
        fh.seek(800_000_000)
        fh.write(b"\x00")
    report = validate(f, Settings(select=("MED",)))
    assert failing(report) == {"MED001", "MED005"}


def test_device_file_is_a_usage_error():
    with pytest.raises(UsageError, match="not a regular file"):
        validate("/dev/null")


def test_streams_share_one_clock_when_video_starts_late(tmp_path):
    # Video begins 0.8 s after the audio (as in real stage recordings): a frame's time and a PCM
    # sample's time must refer to the same clock, or lip-sync checks see a fake 0.8 s offset.
    times = [0.8 + i / 30 for i in range(60)]
    clip = make_clip(tmp_path / "late_video.mp4", frame_times_s=times, duration_s=2.8)
    ev = validate(clip, Settings(select=("MED",))).evidence
    assert ev.stream.video_pts_s[0] == pytest.approx(0.8, abs=0.05)
    assert ev.audio.duration_s == pytest.approx(2.8, abs=0.1)


def test_late_audio_is_placed_on_the_common_clock(tmp_path):
    from clipgen import tone

    # 1 s of tone whose first sample is at 1.0 s, under 2 s of video starting at 0.
    clip = make_clip(
        tmp_path / "late_audio.mp4", audio=tone(1.0, level_dbfs=-10), audio_start_s=1.0
    )
    ev = validate(clip, Settings(select=("MED",))).evidence
    pcm = ev.audio.pcm16k
    loud = np.nonzero(np.abs(pcm) > 0.05)[0]
    assert loud[0] / 16000 == pytest.approx(1.0, abs=0.06)
    assert ev.stream.video_pts_s[0] == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize(
    "name", ["hevc", "truncated_tail", "random", "webm", "corrupt_header", "corrupt_data"]
)
def test_validate_prints_nothing(clips, name, capfd, caplog):
    # FFmpeg's log lines reach the user through Python logging (PyAV's callback) or straight on
    # file descriptor 2: neither may happen; decode problems are reported as MED011 instead.
    caplog.set_level("DEBUG")
    validate(clips[name])
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert [r.getMessage() for r in caplog.records if r.name.startswith("libav")] == []


def test_damaged_codec_header_is_unreadable_not_a_crash(clips):
    report = validate(clips["corrupt_header"], Settings(select=("MED",)))
    assert "cannot be decoded" in report.result("MED001").message


def test_damaged_frames_fail_stream_damaged(clips):
    report = validate(clips["corrupt_data"], RELAXED)
    assert report.result("MED001").status == "pass"
    assert report.result("MED011").status == "fail"

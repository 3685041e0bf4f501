"""prepare end to end on small generated clips: each repair, stream copy, trimming and sync,
metadata, HDR tone mapping.  Clips are 320x240 (trim: 160x120), a few seconds."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from clipgen import make_clip, room_tone, tone

from validator import Settings
from validator import prepare as prepare_pkg
from validator.media.decode import rotate_for_display
from validator.media.source import open_input, open_output
from validator.prepare import PrepareOptions, prepare
from validator.registry import Span

MED = Settings(select=("MED",))


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prep")


def video_packet_hashes(path: Path) -> list[str]:
    with open_input(path) as c:
        return [hashlib.sha256(bytes(p)).hexdigest() for p in c.demux(c.streams.video[0]) if p.size]


def first_frame_rgb(path: Path, apply_rotation: bool = True) -> np.ndarray:
    with open_input(path) as c:
        f = next(c.decode(video=0))
        img = f.to_ndarray(format="rgb24")
        return rotate_for_display(img, int(f.rotation or 0)) if apply_rotation else img


def status(report, rule: str) -> str:
    r = report.result(rule)
    return r.status if r else "absent"


def run(src: Path, d: Path, name: str, settings: Settings = MED, **opts):
    out = d / f"{name}.mp4"
    opts.setdefault("trim", "none")
    res = prepare(src, out, settings, PrepareOptions(**opts))
    assert res.output == out and out.exists()
    assert not list(d.glob(f".{name}.prepare-*"))  # the temporary file was renamed, nothing left
    return res


def test_compliant_clip_is_stream_copied_with_identical_video_packets(d):
    src = make_clip(d / "ok.mp4", duration_s=2)
    res = run(src, d, "ok_out")
    assert res.plan.video == "copy" and res.plan.audio == "copy"
    assert video_packet_hashes(src) == video_packet_hashes(res.output)
    assert [r.rule for r in res.after.failures] == [r.rule for r in res.before.failures]


def test_mov_is_remuxed_to_mp4_losslessly(d):
    src = make_clip(d / "in.mov", duration_s=2)
    res = run(src, d, "mov_out")
    assert status(res.before, "MED002") == "fail" and status(res.after, "MED002") == "pass"
    assert res.plan.video == "copy"
    assert video_packet_hashes(src) == video_packet_hashes(res.output)


def test_webm_vp9_opus_becomes_h264_aac_mp4(d):
    src = make_clip(d / "in.webm", duration_s=2, vcodec="libvpx-vp9", acodec="libopus")
    res = run(src, d, "webm_out")
    for rule in ("MED002", "MED003", "MED004"):
        assert status(res.before, rule) == "fail" and status(res.after, rule) == "pass", rule
    assert res.after.media["video_codec"] == "h264" and res.after.media["audio_codec"] == "aac"
    assert status(res.after, "MED011") == "pass"  # audio and video lengths still agree


def test_hevc_becomes_h264_and_keeps_the_picture(d):
    src = make_clip(d / "hevc.mp4", duration_s=1, vcodec="libx265")
    res = run(src, d, "hevc_out")
    assert status(res.before, "MED003") == "fail" and status(res.after, "MED003") == "pass"
    diff = np.abs(first_frame_rgb(src).astype(int) - first_frame_rgb(res.output).astype(int)).mean()
    assert diff < 12  # same picture, two lossy encodes of a busy test pattern


def test_rotation_flag_is_applied_to_the_pixels(d):
    def frame(i, t):
        img = np.zeros((240, 320, 3), np.uint8)
        img[:60, :80] = 255  # a white block top-left in coded orientation
        img[:, :, 1] = np.uint8(i % 200)
        return img

    src = make_clip(d / "rot.mp4", duration_s=1, rotation_cw=90, frame_fn=frame)
    res = run(src, d, "rot_out")
    assert res.after.media["rotation_deg"] == 0
    assert (res.after.media["width"], res.after.media["height"]) == (240, 320)
    shown_before = first_frame_rgb(src)  # display orientation of the input
    raw_after = first_frame_rgb(res.output, apply_rotation=False)  # no flag left to apply
    assert shown_before.shape == raw_after.shape
    assert np.abs(shown_before.astype(int) - raw_after.astype(int)).mean() < 6


def test_10bit_becomes_8bit(d):
    src = make_clip(d / "b10.mp4", duration_s=1, pix_fmt="yuv420p10le")
    res = run(src, d, "b10_out")
    assert status(res.before, "MED012") == "fail" and status(res.after, "MED012") == "pass"
    assert res.after.media["bit_depth"] == 8


def test_pq_hdr_is_tone_mapped_not_just_truncated(d):
    grey = np.full((240, 320, 3), 128, np.uint8)  # PQ signal 0.5: about 92 nits
    src = make_clip(
        d / "hdr.mp4",
        duration_s=0.5,
        vcodec="libx265",
        pix_fmt="yuv420p10le",
        color_trc=16,
        frame_fn=lambda i, t: grey,
    )
    res = run(src, d, "hdr_out")
    assert status(res.before, "MED012") == "fail" and status(res.after, "MED012") == "pass"
    assert res.after.media["color_transfer"] == "bt709"
    level = float(first_frame_rgb(res.output).mean())
    # 92 nits / 203-nit reference white = 0.45 linear -> 0.69 after the BT.709 OETF (176/255);
    # reading the PQ code values as SDR would have left it at 128.
    assert 165 < level < 188


def test_variable_frame_rate_becomes_constant_at_the_source_rate(d):
    dt = np.full(89, 1 / 30)
    dt[::8] = 1 / 18  # every eighth interval is slow: 12% of intervals, mean above 25 fps
    times = np.concatenate([[0.0], np.cumsum(dt)])
    dur = float(times[-1] + 1 / 30)
    audio = tone(dur, 220.0, 48000, -30.0) + room_tone(dur)
    src = make_clip(d / "vfr.mp4", frame_times_s=list(times), audio=audio)
    res = run(src, d, "vfr_out")
    assert status(res.before, "MED010") == "fail" and status(res.before, "MED006") == "pass"
    assert status(res.after, "MED010") == "pass" and status(res.after, "MED006") == "pass"
    assert res.after.media["fps"] == pytest.approx(30.0, abs=0.01)
    assert res.after.media["video_duration_s"] == pytest.approx(dur, abs=0.07)


def test_low_frame_rate_is_reported_unfixable_and_exit_code_says_fail(d):
    src = make_clip(d / "fps20.mp4", duration_s=1, fps=20)
    res = run(src, d, "fps20_out")
    assert any(u.rule == "MED006" for u in res.plan.unfixable)
    assert status(res.after, "MED006") == "fail" and res.exit_code == 1


# ------------------------------------------------------------------------------ trimming

FLASH_S = 30.0  # a white frame and a 1 kHz beep here, to check trimming keeps A/V in sync


@pytest.fixture(scope="module")
def long_clip(d) -> Path:
    dur, fps, sr = 70.0, 25, 16000

    def frame(i, t):
        v = 250 if FLASH_S <= t < FLASH_S + 0.2 else 20
        return np.full((120, 160, 3), v, np.uint8)

    audio = room_tone(dur, sr, -60.0)
    a, b = int(FLASH_S * sr), int((FLASH_S + 0.2) * sr)
    audio[a:b] += tone(0.2, 1000.0, sr, -12.0)[: b - a]
    return make_clip(
        d / "long.mp4",
        duration_s=dur,
        fps=fps,
        size=(160, 120),
        audio=audio,
        sample_rate=sr,
        frame_fn=frame,
        video_options={"preset": "ultrafast"},
    )


def _with_voice(monkeypatch, src: Path, speaking: Span, listening: Span) -> None:
    """Segments as the voice analyser would report them (hand-built: the trim is under test)."""
    real = prepare_pkg.validate

    def fake(path, settings=None, **kw):
        rep = real(path, settings, **kw)
        if Path(path) == src:
            rep.evidence.voice = SimpleNamespace(speaking=speaking, listening=listening)
        return rep

    monkeypatch.setattr(prepare_pkg, "validate", fake)


def test_long_lead_in_and_tail_are_trimmed_in_sync(d, long_clip, monkeypatch):
    _with_voice(monkeypatch, long_clip, Span(10.0, 25.0), Span(25.0, 70.0))
    settings = Settings(
        select=("MED",), params={"MED008": {"tolerance_s": 60, "max_duration_ratio": 1.0}}
    )
    res = run(long_clip, d, "long_out", settings=settings, trim="auto")
    t = res.plan.trim
    assert t is not None and t.start_s == pytest.approx(9.0) and t.end_s == pytest.approx(57.0)
    assert status(res.before, "MED008") == "fail" and status(res.after, "MED008") == "pass"
    assert res.after.media["duration_s"] == pytest.approx(48.0, abs=0.1)
    assert status(res.after, "MED011") == "pass"
    # The flash and the beep both moved from 30 s to 21 s.
    with open_input(res.output) as c:
        flash = [
            float(f.time) for f in c.decode(video=0) if f.to_ndarray(format="gray").mean() > 128
        ]
    with open_input(res.output) as c:
        chunks = [(float(f.time), f.to_ndarray().reshape(-1)) for f in c.decode(audio=0)]
    sr = 16000
    pcm = np.concatenate([x for _, x in chunks])
    start = chunks[0][0]
    env = np.array([np.abs(pcm[i : i + 160]).max() for i in range(0, len(pcm) - 160, 160)])
    beep = start + np.argmax(env > 0.1) * 160 / sr
    assert flash and flash[0] == pytest.approx(FLASH_S - 9.0, abs=0.05)
    assert beep == pytest.approx(FLASH_S - 9.0, abs=0.05)


# ------------------------------------------------------------------------------ metadata, gain


@pytest.fixture(scope="module")
def tagged(d) -> Path:
    plain = make_clip(d / "plain.mov", duration_s=1)
    out = d / "tagged.mov"
    with (
        open_input(plain) as inp,
        open_output(out, format="mov", options={"movflags": "use_metadata_tags"}) as o,
    ):
        o.metadata.update(
            {
                "location": "+48.8584+002.2945/",
                "make": "Apple",
                "model": "iPhone 15 Pro",
                "com.apple.quicktime.make": "Apple",
            }
        )
        vmap = {s: o.add_stream_from_template(s) for s in inp.streams}
        for p in inp.demux():
            if p.dts is None:
                continue
            p.stream = vmap[p.stream]
            o.mux(p)
    return out


def _tags(path: Path) -> str:
    with open_input(path) as c:
        return " ".join(f"{k}={v}" for k, v in c.metadata.items()).lower()


def test_device_and_location_metadata_are_dropped_unless_asked(d, tagged):
    assert "iphone" in _tags(tagged) and "+48.8584" in _tags(tagged)
    res = run(tagged, d, "tag_drop")
    tags = _tags(res.output)
    assert "iphone" not in tags and "48.8584" not in tags and "apple" not in tags
    kept = run(tagged, d, "tag_keep", keep_metadata=True)
    assert "iphone" in _tags(kept.output)


def test_loudness_gain_raises_a_quiet_voice(d):
    quiet = tone(2.0, 300.0, 48000, -45.0) + room_tone(2.0, 48000, -75.0)
    src = make_clip(d / "quiet.mp4", duration_s=2, audio=quiet)
    res = run(src, d, "quiet_out", loudness=True)
    assert res.plan.gain_db > 6 and res.plan.audio == "encode" and res.plan.video == "copy"
    rms_in = np.sqrt(np.mean(np.asarray(res.before.evidence.audio.pcm16k) ** 2))
    rms_out = np.sqrt(np.mean(np.asarray(res.after.evidence.audio.pcm16k) ** 2))
    assert 20 * np.log10(rms_out / rms_in) == pytest.approx(res.plan.gain_db, abs=1.0)


# ------------------------------------------------------------------------------ real speech


@pytest.mark.realmedia
def test_real_speech_lead_in_and_tail_are_trimmed_by_the_voice_analyser(d, shared_media):
    """Real speech (LibriSpeech/VCTK, ../shared/media/audio) after a 10 s silent lead-in and
    before 40 s of room tone: the voice analyser finds the segments, prepare cuts the lead-in to
    1 s and the tail to 2 s after the 30 s listening time, and every MED/SEG rule that passed
    still passes."""
    from audiomix import RATE, build, speech_track

    speech = speech_track(shared_media, 30.0)
    pcm, truth = build(speech, lead_s=10.0, listening_s=40.0, noise_dbfs=-65.0)
    dur = len(pcm) / RATE
    src = make_clip(
        d / "real_speech.mp4",
        duration_s=dur,
        fps=25,
        size=(160, 120),
        audio=pcm,
        sample_rate=RATE,
        frame_fn=lambda i, t: np.full((120, 160, 3), (i * 3) % 200 + 20, np.uint8),
        video_options={"preset": "ultrafast"},
    )
    settings = Settings(
        select=("MED", "SEG"),
        params={"MED007": {"error_short_side_px": 16, "min_short_side_px": 16}},
    )
    res = run(src, d, "real_speech_out", settings=settings, trim="auto")
    t = res.plan.trim
    assert t is not None
    assert t.start_s == pytest.approx(truth.onset_s - 1.0, abs=0.4)
    assert t.end_s == pytest.approx(truth.boundary_s + 32.0, abs=0.4)
    seg = res.after.segments
    assert seg["speaking"]["start_s"] == pytest.approx(1.0, abs=0.4)
    assert seg["listening"]["end_s"] - seg["listening"]["start_s"] == pytest.approx(32.0, abs=0.6)
    regressed = [c.rule for c in prepare_pkg.proof.changes(res.before, res.after) if c.regressed]
    assert regressed == []


def test_matroska_with_b_frames_and_pcm_is_remuxed_and_audio_encoded(d):
    # Matroska stores no decode timestamps for B-frame streams: the copy must keep those packets.
    src = make_clip(d / "in.mkv", duration_s=2, container_format="matroska", acodec="pcm_s16le")
    res = run(src, d, "mkv_out")
    assert res.plan.video == "copy" and res.plan.audio == "encode"
    assert video_packet_hashes(src) == video_packet_hashes(res.output)
    for rule in ("MED002", "MED004"):
        assert status(res.before, rule) == "fail" and status(res.after, rule) == "pass", rule
    assert status(res.after, "MED011") == "pass"


def test_cli_json_output_lists_plan_and_changes(d, capsys):
    import json

    from validator.cli import main

    src = make_clip(d / "cli.mov", duration_s=1)
    out = d / "cli_out.mp4"
    code = main(
        [
            "prepare",
            str(src),
            "-o",
            str(out),
            "--select",
            "MED",
            "--trim",
            "none",
            "--no-config",
            "--format",
            "json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 == doc["exit_code"]  # 320x240 still fails MED007: exit code as for `check`
    assert doc["output"] == str(out) and out.exists()
    assert {
        "rule": "MED002",
        "name": "container-not-mp4",
        "before": "fail",
        "after": "pass",
    } in doc["changes"]
    assert doc["plan"]["video"] == "copy" and any(
        u["rule"] == "MED007" for u in doc["plan"]["unfixable"]
    )
    assert doc["after"]["input"]["path"] == str(out)


def test_oversized_file_is_reencoded_under_the_size_limit(d):
    # A small limit stands in for 750 MB: the planner budgets bitrate from MED005's own threshold.
    src = make_clip(d / "big.mp4", duration_s=2, video_options={"crf": "8"})
    limit = int(src.stat().st_size * 0.6)
    settings = Settings(select=("MED",), params={"MED005": {"max_size_bytes": limit}})
    res = run(src, d, "big_out", settings=settings)
    assert status(res.before, "MED005") == "fail" and status(res.after, "MED005") == "pass"
    assert res.output.stat().st_size < limit


def test_hlg_hdr_is_tone_mapped(d):
    grey = np.full(
        (240, 320, 3), 128, np.uint8
    )  # HLG signal 0.5: about 51 nits on a 1000-nit display
    src = make_clip(
        d / "hlg.mp4",
        duration_s=0.5,
        vcodec="libx265",
        pix_fmt="yuv420p10le",
        color_trc=18,
        frame_fn=lambda i, t: grey,
    )
    res = run(src, d, "hlg_out")
    assert status(res.before, "MED012") == "fail" and status(res.after, "MED012") == "pass"
    # 51 / 203 = 0.25 linear (below the knee) -> 0.49 after the BT.709 OETF (125/255).
    assert 115 < float(first_frame_rgb(res.output).mean()) < 135

"""The voice analyser: synthetic signals (always run), real speech mixed with real noise at known
levels and boundaries (`shared_media`), and end-to-end clips encoded with PyAV and validated
with `--select SEG,AUD`: each defect must trigger exactly its rule."""

from __future__ import annotations

from pathlib import Path

import audiomix as am
import numpy as np
import pytest
from clipgen import make_clip

from validator import validate
from validator.analysis.voice import WINDOW_S, analyse, combine, segment
from validator.evidence import Evidence
from validator.pipeline import run_check
from validator.registry import load_all
from validator.settings import Settings

TOL_S = 0.3  # the boundary accuracy


# --- synthetic: always run ------------------------------------------------------------------


def test_levels_and_digital_silence():
    x = np.concatenate([am.sine(2.0, 1000.0, -20.0), np.zeros(32000, np.float32)])
    v = analyse(am.audio_data(x))
    assert v.n_windows == len(x) // 512
    assert (
        len(v.level_dbfs) == len(v.speech) == len(v.silero_prob) == len(v.webrtcvad) == v.n_windows
    )
    assert v.t_s[0] == pytest.approx(WINDOW_S / 2)
    assert np.median(v.level_dbfs[v.t_s < 2.0]) == pytest.approx(-20.0, abs=0.2)
    assert v.digital_silence[v.t_s > 2.1].all() and not v.digital_silence[v.t_s < 1.9].any()


def test_tone_fools_webrtcvad_but_is_not_speech():
    v = analyse(am.audio_data(am.sine(6.0, 440.0, -20.0)))
    assert v.webrtcvad.mean() > 0.5  # why webrtcvad never starts a speech run on its own
    assert v.silero_prob.max() < 0.5
    assert not v.speech.any() and v.speaking is None
    assert np.median(v.tonality_db) > 35


def test_noise_is_not_speech_and_sets_the_floor():
    v = analyse(am.audio_data(am.white(6.0, -40.0)))
    assert not v.speech.any()
    assert v.noise_floor_dbfs == pytest.approx(-40.0, abs=1.0)
    assert np.percentile(v.tonality_db, 99) < 25  # below AUD005's default


def test_combine_rules():
    n = 200
    prob = np.zeros(n, np.float32)
    web = np.zeros(n, bool)
    web[10:60] = True  # webrtcvad alone: nothing
    assert not combine(prob, web).any()
    prob[100:130] = 0.9
    prob[133:160] = 0.9  # a 3-window (0.1 s) gap closes
    prob[160:165] = 0.2  # low Silero extends only where webrtcvad agrees
    web[160:163] = True
    prob[180:183] = 0.9  # a 0.1 s blip is dropped
    s = combine(prob, web)
    runs = np.flatnonzero(np.diff(np.concatenate([[0], s.astype(int), [0]])))
    assert runs.tolist() == [100, 163]


def test_segment_keeps_a_late_remark_in_listening():
    s = np.zeros(1900, bool)
    s[20:940] = True  # 0.6-30 s speaking
    s[1300:1360] = True  # a 2 s remark at 41.6 s
    assert segment(s) == (20, 940)
    assert segment(np.zeros(10, bool)) is None


def test_sampling_at_video_times():
    x = np.concatenate([np.zeros(16000, np.float32), am.sine(1.0, 1000.0, -20.0)])
    v = analyse(am.audio_data(x))
    lv = v.level_at(np.array([-1.0, 0.5, 1.5, 99.0]))
    assert (
        lv[0] == -120 and lv[1] == -120 and lv[2] == pytest.approx(-20.0, abs=0.3) and lv[3] == -120
    )
    assert not v.speech_at(np.array([0.5, 1.5])).any()  # a tone is not speech


def test_stats_rows():
    v = analyse(am.audio_data(am.white(1.0, -50.0)))
    rows = v.stats_rows()
    assert len(rows) == v.n_windows
    assert set(rows[0]) >= {"t_s", "stream", "level_dbfs", "webrtcvad", "silero_prob", "speech"}
    assert rows[0]["stream"] == "audio" and rows[1]["t_s"] > rows[0]["t_s"]


def test_tiny_audio_never_crashes_a_rule():
    v = analyse(am.audio_data(np.full(100, 0.01, np.float32)))
    assert v.n_windows == 0 and v.speaking is None and v.listening is None
    ev = Evidence(path="x.mp4", size_bytes=0, voice=v)
    for rid, r in load_all().items():
        if rid[:3] in ("SEG", "AUD"):
            assert run_check(r, ev, Settings()).status in ("pass", "fail", "skip")


def test_damaged_samples_do_not_poison_the_timeline():
    x = am.white(2.0, -50.0)
    x[1000:1100] = np.nan
    v = analyse(am.audio_data(x))
    assert np.isfinite(v.level_dbfs).all() and np.isfinite(v.silero_prob).all()
    assert v.noise_floor_dbfs == pytest.approx(-50.0, abs=1.0)


def test_end_to_end_tone_clip(clipdir):
    # A tone over room tone (clipgen's default audio): no speech anywhere.
    p = make_clip(clipdir / "voice_tone.mp4", duration_s=4.0, fps=5, size=(160, 120))
    rep = validate(p, Settings(select=("SEG", "AUD")))
    res = {r.rule: r for r in rep.results}
    assert rep.segments == {"speaking": None, "listening": None}
    assert res["SEG001"].status == "fail" and "no speech" in res["SEG001"].message
    assert len(rep.evidence.stats_rows()) == rep.evidence.voice.n_windows


# --- real speech and noise ------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech(shared_media: Path) -> np.ndarray:
    return am.speech_track(shared_media, 30.0)


MIXES = {
    "room-tone-65": dict(noise_dbfs=-65.0),
    "digital-silence": dict(noise_dbfs=None),
    "noise-bed-45": dict(noise_dbfs=-45.0, noise="bed"),
    "noise-bed-35": dict(noise_dbfs=-35.0, noise="bed"),
    "noise-bed-25": dict(noise_dbfs=-25.0, noise="bed"),  # 9 dB below the voice
    "noise-recording-45": dict(noise_dbfs=-45.0, noise="recording"),
    "white-40": dict(noise_dbfs=-40.0),
}


@pytest.mark.parametrize("name", list(MIXES))
def test_boundary_on_real_speech_mixes(name, speech, shared_media):
    x, truth = am.build(speech, media=shared_media, **MIXES[name])
    v = analyse(am.audio_data(x))
    assert v.boundary_s == pytest.approx(truth.boundary_s, abs=TOL_S)
    assert v.onset_s == pytest.approx(truth.onset_s, abs=TOL_S)
    assert v.listening.end_s == pytest.approx(truth.end_s, abs=WINDOW_S)
    assert not v.speech_runs_in(v.listening)  # noise is never speech
    if MIXES[name]["noise_dbfs"] is not None and name != "noise-recording-45":
        assert v.noise_floor_dbfs == pytest.approx(MIXES[name]["noise_dbfs"], abs=1.5)


def test_boundary_on_a_natural_ending(shared_media):
    nat = np.concatenate([am.load_audio(shared_media / "audio" / f) for f in am.SPEECH_FILES[:6]])
    x, truth = am.build(nat, noise_dbfs=-60.0)
    v = analyse(am.audio_data(x))
    assert v.boundary_s == pytest.approx(truth.boundary_s, abs=TOL_S)


@pytest.mark.parametrize("kind", ["tone", "music"])
def test_tone_or_music_in_listening_is_not_speech(kind, speech):
    x, truth = am.build(speech, noise_dbfs=-65.0)
    sig = am.sine(29.0, 440.0, -30.0) if kind == "tone" else am.music(29.0, -30.0)
    x[-len(sig) :] += sig
    v = analyse(am.audio_data(x))
    assert v.boundary_s == pytest.approx(truth.boundary_s, abs=TOL_S)
    assert not v.speech_runs_in(v.listening)
    ev = Evidence(path="x.mp4", size_bytes=0, voice=v)
    rules = load_all()
    assert run_check(rules["AUD005"], ev, Settings()).status == "fail"
    assert run_check(rules["SEG004"], ev, Settings()).status == "pass"


def test_real_quiet_room_and_real_music(shared_media):
    v = analyse(am.audio_data(am.load_audio(shared_media / "real" / "lp_d9.mp4")))
    assert v.speaking is None and v.noise_floor_dbfs == pytest.approx(-62.5, abs=2.0)
    rep = validate(shared_media / "real" / "lp_src_s18.mp4", Settings(select=("AUD005",)))
    assert rep.results[0].status == "fail" and "tonal" in rep.results[0].message


# --- end to end: encoded clips, each defect triggers exactly its rule -------------------------

RATE = 48000


@pytest.fixture(scope="module")
def e2e(shared_media: Path, clipdir: Path):
    sp = am.speech_track(shared_media, 30.0, rate=RATE)
    remark = am.load_audio(shared_media / "audio" / "musetalk_eng.wav", RATE)[10 * RATE : 12 * RATE]
    cases: dict[str, tuple[np.ndarray, am.Truth]] = {}
    cases["clean"] = am.build(sp, noise_dbfs=-65.0, rate=RATE)
    cases["noisy"] = am.build(sp, noise_dbfs=-40.0, noise="bed", media=shared_media, rate=RATE)
    x, t = am.build(sp, noise_dbfs=-65.0, rate=RATE)
    x[40 * RATE : 46 * RATE] += am.sine(6.0, 440.0, -35.0, RATE)
    cases["tone"] = (x, t)
    x, t = am.build(sp, noise_dbfs=-65.0, rate=RATE)
    x[int(41.5 * RATE) : int(41.5 * RATE) + len(remark)] += remark
    cases["remark"] = (x, t)
    x, t = am.build(sp, noise_dbfs=-65.0, rate=RATE)
    x[int(41.5 * RATE) : int(41.5 * RATE) + len(remark)] += remark * np.float32(10 ** (-22 / 20))
    cases["other_voice"] = (x, t)  # the same remark 22 dB down: a television in the next room
    cases["gated"] = am.build(sp, noise_dbfs=None, rate=RATE)
    x, t = am.build(sp, noise_dbfs=-65.0, rate=RATE)
    x[int(30.5 * RATE) :] += am.knocks(30.0, [15.0, 20.0], -12.0, RATE)[: len(x) - int(30.5 * RATE)]
    cases["knocks"] = (x, t)
    x, t = am.build(np.clip(sp * 4.0, -1.0, 1.0), noise_dbfs=-65.0, rate=RATE)
    cases["hot"] = (x, t)
    out = {}
    for name, (x, truth) in cases.items():
        p = make_clip(
            clipdir / f"voice_{name}.mp4",
            duration_s=len(x) / RATE,
            fps=5,
            size=(160, 120),
            audio=x,
            sample_rate=RATE,
        )
        out[name] = (validate(p, Settings(select=("SEG", "AUD"))), truth)
    out["remark_audio"] = remark
    return out


EXPECTED_FAILS = {
    "clean": set(),
    "noisy": {"AUD001"},
    "tone": {"AUD005"},
    "remark": {"SEG004"},
    "other_voice": {"AUD005"},
    "gated": {"AUD006"},
    "knocks": {"AUD005"},
    "hot": {"AUD003", "AUD004"},
}


@pytest.mark.parametrize("name", list(EXPECTED_FAILS))
def test_each_defect_triggers_exactly_its_rule(name, e2e):
    rep, truth = e2e[name]
    fails = {r.rule for r in rep.results if r.status == "fail"}
    assert fails == EXPECTED_FAILS[name], [
        (r.rule, r.message) for r in rep.results if r.status == "fail"
    ]
    seg = rep.segments
    assert seg["speaking"]["end_s"] == pytest.approx(truth.boundary_s, abs=TOL_S)
    assert seg["listening"]["start_s"] == seg["speaking"]["end_s"]
    assert seg["speaking"]["start_s"] == pytest.approx(truth.onset_s, abs=TOL_S)


def test_findings_carry_their_place(e2e):
    res = {r.rule: r for r in e2e["remark"][0].results}
    (span,) = res["SEG004"].spans
    remark = e2e["remark_audio"]
    assert span.start_s == pytest.approx(41.5 + am.first_sound_s(remark, RATE), abs=TOL_S)
    assert span.end_s == pytest.approx(41.5 + am.last_sound_s(remark, RATE), abs=TOL_S)
    res = {r.rule: r for r in e2e["other_voice"][0].results}
    assert "another voice" in res["AUD005"].message
    assert res["AUD005"].spans[0].start_s == pytest.approx(
        41.5 + am.first_sound_s(remark, RATE), abs=TOL_S
    )
    res = {r.rule: r for r in e2e["knocks"][0].results}
    assert [round(s.start_s) for s in res["AUD005"].spans] == [45, 50]  # knocks at 45.5 and 50.5 s
    assert all(s.end_s - s.start_s < 0.2 for s in res["AUD005"].spans)
    res = {r.rule: r for r in e2e["tone"][0].results}
    assert res["AUD005"].spans[0].start_s == pytest.approx(40.0, abs=TOL_S)
    assert res["AUD005"].spans[-1].end_s == pytest.approx(46.0, abs=TOL_S)

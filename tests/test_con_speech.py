"""CON rules with the real recogniser: real human speech (not consent statements) must fail
CON001; consent statements generated with espeak-ng pass or fail the right rule.

Needs the [consent] extra, espeak-ng and ../shared/media (each skips with a reason when
absent).  The model is loaded once per session; each audio is recognised once per module."""

from __future__ import annotations

import audiomix as am
import numpy as np
import pytest

from validator.analysis import consent as c
from validator.evidence import Evidence
from validator.pipeline import run_check
from validator.registry import load_all
from validator.settings import Settings

cg = pytest.importorskip("consentgen")


@pytest.fixture(scope="session")
def recogniser():
    try:
        return c.load_recogniser()
    except c.RecogniserMissing as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def espeak():
    if not cg.have_espeak():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")


def judge(x: np.ndarray, mode: str = "start", name: str | None = None) -> dict[str, object]:
    settings = Settings(consent=mode, consent_name=name)
    ev = Evidence(path="x.mp4", size_bytes=1)
    ev.audio = am.audio_data(x)
    ev.consent = c._ConsentAnalyser(settings, None).finish(ev)
    assert ev.consent is not None
    rules = load_all()
    out: dict[str, object] = {
        r: run_check(rules[r], ev, settings) for r in ("CON001", "CON002", "CON003")
    }
    out["ev"] = ev.consent
    return out


def statuses(res: dict[str, object]) -> tuple[str, str, str]:
    return tuple(res[r].status for r in ("CON001", "CON002", "CON003"))  # type: ignore[attr-defined]


@pytest.mark.realmedia
@pytest.mark.parametrize(
    "source",
    ["whisper_jfk.flac", "rtvc_vctk_p240_00000.mp3", "rtvc_librispeech_1320_00000.mp3", "track"],
)
def test_real_speech_is_not_a_consent_statement(recogniser, shared_media, source):
    if source == "track":
        x = am.speech_track(shared_media, 30.0)  # LibriSpeech + VCTK + JFK, ~30 s
    else:
        x = am.load_audio(shared_media / "audio" / source)
    res = judge(x, name="John Smith")
    r1 = res["CON001"]
    assert r1.status == "fail" and r1.measured < 0.15, r1.message
    assert res["CON002"].status == "skip" and res["CON003"].status == "skip"


@pytest.fixture(scope="module")
def noise(shared_media):
    return am.noise_recording(shared_media, 20.0)


def spoken(name: str, wording: str = "give", voice: str = "en+m3") -> np.ndarray:
    return cg.concat(
        cg.silence(0.8), cg.speak(cg.statement(name, wording), voice=voice), cg.silence(1.0)
    )


@pytest.mark.realmedia
@pytest.mark.parametrize(
    "voice,wording,name,snr_db",
    [
        ("en+m3", "give", "John Smith", None),
        ("en-gb-x-rp+f2", "api", "Emily Clarke", 10.0),  # the API wording, real room noise
    ],
)
def test_generated_statement_passes_all_three(
    recogniser, espeak, noise, voice, wording, name, snr_db
):
    x = spoken(name, wording, voice)
    if snr_db is not None:
        x = cg.with_noise(x, noise, snr_db)
    res = judge(x, name=name)
    assert statuses(res) == ("pass", "pass", "pass"), [
        res[r].message for r in ("CON001", "CON002", "CON003")
    ]
    ev = res["ev"]
    assert ev.match.wording == ("give consent to" if wording == "give" else "consent")
    assert ev.match.start_s < 2.0 and ev.match.end_s > 12.0  # the span covers the statement


@pytest.mark.realmedia
def test_statement_with_another_name_fails_con003(recogniser, espeak):
    res = judge(spoken("Maria Garcia", "api"), name="John Smith")
    assert statuses(res) == ("pass", "pass", "fail"), res["CON003"].message
    assert 'expected "John Smith"' in res["CON003"].message


@pytest.mark.realmedia
def test_truncated_statement_fails_con002(recogniser, espeak):
    full = cg.statement("John Smith")
    x = cg.concat(
        cg.silence(0.5),
        cg.speak(full[: full.index("I understand")], voice="en+m3"),
        cg.silence(1.0),
    )
    res = judge(x)
    assert res["CON001"].status == "pass"
    r2 = res["CON002"]
    assert r2.status == "fail" and "understand" in r2.message and r2.measured < 0.7


@pytest.mark.realmedia
def test_statement_in_the_middle_fails_con001(recogniser, espeak, shared_media):
    jfk = am.load_audio(shared_media / "audio" / "whisper_jfk.flac")
    x = cg.concat(jfk, cg.silence(0.5), spoken("John Smith"))
    r1 = judge(x)["CON001"]
    assert r1.status == "fail" and "must open the clip" in r1.message, r1.message
    assert judge(x, mode="separate")["CON001"].status == "pass"


@pytest.mark.realmedia
def test_end_to_end_clip_with_statement_then_speech(recogniser, espeak, shared_media, tmp_path):
    from clipgen import make_clip

    from validator import validate

    vctk = am.load_audio(shared_media / "audio" / "rtvc_vctk_p240_00000.mp3")
    audio = cg.concat(spoken("John Smith"), vctk)
    clip = make_clip(
        tmp_path / "consent.mp4",
        duration_s=len(audio) / 16000,
        audio=audio,
        sample_rate=16000,
        fps=10,
        size=(160, 120),
    )
    r = validate(clip, Settings(select=("CON",), consent="start", consent_name="John Smith"))
    by = {x.rule: x for x in r.results}
    assert [by[k].status for k in ("CON001", "CON002", "CON003")] == ["pass"] * 3
    assert by["CON001"].to_dict()["measured"] >= 0.9 and by["CON001"].spans
    assert r.timings_s["consent"] > 0

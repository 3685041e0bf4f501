"""CON rules without the recogniser: normalisation, template alignment, name similarity, the
checks on hand-built evidence, settings/flags, and that consent off costs nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from clipgen import make_clip

from validator import validate
from validator.analysis import consent as c
from validator.errors import SettingsError
from validator.evidence import Evidence
from validator.pipeline import run_check
from validator.registry import load_all
from validator.settings import Settings

GIVE = (
    "I, Jane Doe, am currently speaking and give consent to Tavus to create an AI clone of me by "
    "using the audio and video samples I provide. I understand that this AI clone can be used "
    "to create videos that look and sound like me."
)
API = GIVE.replace("give consent to Tavus", "consent Tavus")
OTHER = (
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do "
    "for your country. I am speaking to you today about the weather and the audio of the video."
)


def words(text: str, t0: float = 0.0, step: float = 0.3) -> list[c.Word]:
    return [c.Word(w, t0 + i * step, t0 + i * step + 0.25) for i, w in enumerate(c.normalise(text))]


def evidence(text: str, mode: str = "start", name: str | None = None) -> Evidence:
    s = Settings(consent=mode, consent_name=name)
    ev = Evidence(path="x.mp4", size_bytes=1)
    share = s.rule_params("CON001").min_present_share
    ev.consent = c.evidence_from_words(
        mode, 40.0, words(text), text, min_present_share=share, expected_name=name
    )
    return ev


def check(ev: Evidence, rid: str):
    assert ev.consent is not None
    s = Settings(consent=ev.consent.mode, consent_name=ev.consent.expected_name)
    return run_check(load_all()[rid], ev, s)


def test_normalise_handles_contractions_numbers_fillers_and_ai():
    assert c.normalise("Um, I'm speaking - uh - to A.I. 3 times, mm-hmm.") == [
        "i",
        "am",
        "speaking",
        "to",
        "ai",
        "three",
        "times",
    ]
    assert c.normalise("an A I clone") == ["an", "ai", "clone"]
    assert c.number_words(42) == ["forty", "two"] and c.number_words(115)[:2] == ["one", "hundred"]


@pytest.mark.parametrize("text,wording", [(GIVE, "give consent to"), (API, "consent")])
def test_both_wordings_match_fully_with_the_name(text, wording):
    m = c.match_template(words(text))
    assert m.score == 1.0 and m.wording == wording and m.missing == []
    assert m.name == "jane doe" and m.first == 0


@pytest.mark.parametrize(
    "opening,name",
    [
        ("Hi, John Smith, I'm", "john smith"),
        ("I'm Maria Garcia, I'm", "maria garcia"),
        ("Hi, my name is Emily Clark and", "emily clark"),
        ("Chivano Conner, I'm", "chivano conner"),  # the recogniser lost the "I"
    ],
)
def test_name_found_in_recogniser_variants_of_the_opening(opening, name):
    tail = GIVE[GIVE.index("currently") :]
    m = c.match_template(words(f"{opening} {tail}"))
    assert m.name == name and m.first == 0 and m.score > 0.95


def test_other_speech_scores_near_zero_and_truncation_shows_missing_words():
    assert c.match_template(words(OTHER)).score < 0.15
    half = GIVE[: GIVE.index("I understand")]
    m = c.match_template(words(half))
    assert 0.5 < m.score < 0.65
    assert m.missing[:3] == ["i", "understand", "that"] and m.notes["missing_end"] == 18


def test_name_similarity_tolerates_spelling_but_not_another_name():
    assert c.name_similarity("jon smyth", "John Smith") > 0.7
    assert c.name_similarity("thomas carlsky", "Tomasz Kowalski") > 0.5
    assert c.name_similarity("maria garcia", "John Smith") < 0.3
    assert c.name_similarity(None, "John Smith") == 0.0


def test_checks_pass_on_a_full_statement_and_report_span_and_score():
    ev = evidence(GIVE, name="Jane Doe")
    r1, r2, r3 = (check(ev, r) for r in ("CON001", "CON002", "CON003"))
    assert (r1.status, r2.status, r3.status) == ("pass", "pass", "pass")
    assert r1.measured == 1.0 and r1.spans[0].start_s == 0.0 and r1.spans[0].end_s > 10
    assert r2.to_dict()["measured"] == 1.0


def test_other_speech_fails_con001_and_the_rest_skip():
    ev = evidence(OTHER, name="Jane Doe")
    r1 = check(ev, "CON001")
    assert r1.status == "fail" and "no consent statement at the start" in r1.message
    assert "heard" in r1.message and "fellow Americans" in r1.message
    assert check(ev, "CON002").status == "skip" and check(ev, "CON003").status == "skip"


def test_statement_after_other_speech_fails_con001_in_start_mode_only():
    text = OTHER + " " + GIVE
    r = check(evidence(text), "CON001")
    assert r.status == "fail" and "must open the clip" in r.message
    assert check(evidence(text, mode="separate"), "CON001").status == "pass"
    assert check(evidence(text), "CON002").status == "pass"  # the words are all there


def test_truncated_statement_fails_con002_with_the_missing_words():
    half = GIVE[: GIVE.index("I understand")]
    r = check(evidence(half), "CON002")
    assert r.status == "fail" and '"i understand that this ai clone' in r.message
    cut = GIVE[: GIVE.index("look and sound")]  # share still high, but the end is missing
    r = check(evidence(cut), "CON002")
    assert r.status == "fail" and "stops short" in r.message
    assert check(evidence(cut), "CON001").status == "pass"


def test_boundary_of_con002_share():
    ev = evidence(GIVE)
    ev.consent.match.score = 0.7
    assert check(ev, "CON002").status == "pass"
    ev.consent.match.score = 0.69
    assert check(ev, "CON002").status == "fail"


def test_wrong_or_missing_name_fails_con003_and_no_expected_name_skips():
    r = check(evidence(GIVE.replace("Jane Doe", "Maria Garcia"), name="Jane Doe"), "CON003")
    assert r.status == "fail" and 'heard the name "maria garcia", expected "Jane Doe"' in r.message
    r = check(evidence(GIVE.replace("I, Jane Doe, am", "I am"), name="Jane Doe"), "CON003")
    assert r.status == "fail" and "no name heard" in r.message
    r = check(evidence(GIVE), "CON003")
    assert r.status == "skip" and "consent-name" in r.message and "jane doe" in r.message


def test_retry_name_counts_when_better():
    ev = evidence(GIVE.replace("Jane Doe", "Brian"), name="Wei Zhang")
    assert check(ev, "CON003").status == "fail"
    ev.consent.name_retry = "wei zhang"
    assert check(ev, "CON003").status == "pass"


def test_settings_validate_consent_and_name():
    assert Settings().consent == "none"
    with pytest.raises(SettingsError, match="consent: 'begin' is not one of none, start, separate"):
        Settings(consent="begin")
    with pytest.raises(SettingsError, match="consent-name"):
        Settings(consent="start", consent_name="  ")
    assert "consent" not in Settings().to_dict()
    d = Settings(consent="separate", consent_name="Jane Doe").to_dict()
    assert d["consent"] == "separate" and d["consent_name"] == "Jane Doe"


def test_pyproject_keys_and_flags(tmp_path):
    from validator.cli import build_parser
    from validator.commands._common import settings_from_args
    from validator.settings import config_from_pyproject

    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.validator]\nconsent = "start"\nconsent-name = "Jane Doe"\n')
    assert config_from_pyproject(cfg) == {"consent": "start", "consent_name": "Jane Doe"}
    args = build_parser().parse_args(
        ["check", "--no-config", "--consent", "separate", "--consent-name", "Wei Zhang", "x.mp4"]
    )
    s = settings_from_args(args)
    assert (s.consent, s.consent_name) == ("separate", "Wei Zhang")


@pytest.fixture(scope="module")
def tone_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("con") / "tone.mp4", duration_s=1.0)


def test_consent_off_skips_saying_how_and_imports_nothing(tone_clip):
    code = (
        "import sys; from validator import validate, Settings;"
        f"r = validate({str(tone_clip)!r}, Settings(select=('CON',)));"
        "print([x.status for x in r.results], r.results[0].message);"
        "print('faster_whisper' in sys.modules, 'ctranslate2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert (
        lines[0].startswith("['skip', 'skip', 'skip']") and "--consent start|separate" in lines[0]
    )
    assert lines[1] == "False False"


def test_missing_extra_skips_with_the_install_line(tone_clip, monkeypatch):
    def missing():
        raise c.RecogniserMissing(f"the speech recogniser is not installed: {c.INSTALL}")

    monkeypatch.setattr(c, "load_recogniser", missing)
    r = validate(tone_clip, Settings(select=("CON",), consent="start"))
    assert {x.status for x in r.results} == {"skip"}
    assert 'pip install "replica-clip-validator[consent]"' in r.results[0].message


def test_separate_mode_skips_structure_rules_but_not_med(tone_clip, monkeypatch):
    monkeypatch.setattr(c, "recognise", lambda pcm, name=None: ([], ""))
    r = validate(tone_clip, Settings(select=("MED", "SEG", "MTH", "CON"), consent="separate"))
    by = {x.rule: x for x in r.results}
    seg = [x for x in r.results if x.rule[:3] in ("SEG", "MTH")]
    assert seg and all(x.status == "skip" and "consent video" in x.message for x in seg)
    assert any(x.status != "skip" for x in r.results if x.rule.startswith("MED"))
    assert by["CON001"].status == "fail" and "consent video" in by["CON001"].message


def test_corrupt_weights_are_a_model_error(monkeypatch):
    from validator.errors import ModelError

    try:
        c.model_dir()
    except c.RecogniserMissing:
        pytest.skip("the [consent] extra is not installed")
    entry = c._packaged_entry()
    bad = dict(entry, files=dict(entry["files"], **{"config.json": "0" * 64}))
    monkeypatch.setattr(c, "_packaged_entry", lambda: bad)
    c.load_recogniser.cache_clear()
    try:
        with pytest.raises(ModelError, match="corrupt: .*config.json"):
            c.load_recogniser()
    finally:
        c.load_recogniser.cache_clear()

"""Registry, settings and report-model invariants."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from validator import Settings, SettingsError
from validator.registry import SEVERITIES, load_all
from validator.report import Report, Result
from validator.settings import config_from_pyproject, find_project_config

ROOT = Path(__file__).resolve().parents[1]
RULES = load_all()
SPEC_RULES = ROOT.parent / "shared" / "spec" / "rules.md"


def test_ids_names_severities():
    for rid, r in RULES.items():
        assert re.fullmatch(r"[A-Z]{3}\d{3}", rid)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name), r.name
        assert r.severity in SEVERITIES
        assert r.hint and r.summary
    assert len({r.name for r in RULES.values()}) == len(RULES)


@pytest.mark.parametrize("rid", sorted(RULES))
def test_every_rule_is_documented(rid):
    doc = RULES[rid].doc
    for section in ("What it does", "Why it matters", "How to fix", "Example"):
        assert section in doc, f"{rid} docs lack '{section}'"
    for p in RULES[rid].params:
        assert p.doc and (
            p.minimum is not None or p.maximum is not None or isinstance(p.default, bool | str)
        ), p


def test_ids_and_names_match_the_spec_catalogue():
    if not SPEC_RULES.is_file():
        pytest.skip("../shared/spec/rules.md not available")
    spec = dict(re.findall(r"^\| ([A-Z]{3}\d{3}) \| ([a-z0-9-]+) \|", SPEC_RULES.read_text(), re.M))
    for rid, r in RULES.items():
        assert rid in spec, f"{rid} is not in the catalogue"
        # The catalogue reuses two FAC names for photo rules (multiple-faces, face-off-center);
        # names stay unique (`validator rules NAME`), so those PHO rules carry a "photo-" prefix.
        assert r.name == spec[rid] or (
            r.family == "PHO"
            and r.name == f"photo-{spec[rid]}"
            and any(x.name == spec[rid] for x in RULES.values())
        ), f"{rid}: {r.name} != {spec[rid]}"


def test_readme_rule_table_is_generated_from_the_registry():
    p = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr


def test_settings_defaults_and_validation():
    s = Settings()
    assert s.profile == "phoenix-4" and s.fail_on == "error" and s.is_selected("MED001")
    with pytest.raises(SettingsError, match="profile"):
        Settings(profile="phoenix-9")
    with pytest.raises(SettingsError, match="fail-on"):
        Settings(fail_on="info")
    with pytest.raises(SettingsError, match="sample-fps.*allowed 0.5 to 30"):
        Settings(sample_fps=0)
    with pytest.raises(
        SettingsError, match=r"rules.MED006.min_fps: 0 is out of range \(allowed 1 to 240\)"
    ):
        Settings(params={"MED006": {"min_fps": 0}})
    with pytest.raises(SettingsError, match="expected a number"):
        Settings(params={"MED006": {"min_fps": "fast"}})


def test_select_ignore_by_family_prefix_and_id():
    s = Settings(select=("MED",), ignore=("MED01",))
    assert s.is_selected("MED001") and not s.is_selected("MED010") and not s.is_selected("MED013")
    s = Settings(select="MED003,MED004")
    assert s.is_selected("MED004") and not s.is_selected("MED001")


def test_profile_then_override_resolution():
    s = Settings(profile="phoenix-3", params={"MED008": {"tolerance_s": "5"}})
    p = s.resolve(RULES["MED008"])
    assert p.tolerance_s == 5.0 and p.profile.total_s == 120.0
    merged = s.merged(params={"MED008": {"max_duration_ratio": 2}})
    assert merged.resolve(RULES["MED008"]).as_dict() == {
        "tolerance_s": 5.0,
        "max_duration_ratio": 2.0,
    }
    assert s.to_dict()["rule_params"]["MED008"]["tolerance_s"] == 5.0


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().profile = "phoenix-3"  # type: ignore[misc]


def test_pyproject_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname="x"\n[tool.validator]\nprofile = "phoenix-3"\nfail-on = "warning"\n'
        "[tool.validator.rules.MED006]\nmin_fps = 29\n"
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    found = find_project_config(sub)
    assert found == tmp_path / "pyproject.toml"
    s = Settings(**config_from_pyproject(found))
    assert (s.profile, s.fail_on, s.resolve(RULES["MED006"]).min_fps) == (
        "phoenix-3",
        "warning",
        29.0,
    )
    (tmp_path / "pyproject.toml").write_text("[tool.validator\n")
    with pytest.raises(SettingsError, match="invalid TOML"):
        config_from_pyproject(tmp_path / "pyproject.toml")


def test_passed_follows_fail_on():
    warn = Result("MED012", "hdr-or-high-bit-depth", "warning", "fail", "10-bit")
    err = Result("MED003", "video-codec-not-h264", "error", "fail", "hevc")
    ok = Result("MED001", "unreadable-media", "error", "pass", "ok")
    skip = Result("MED004", "audio-codec-not-aac", "error", "skip", "no audio")
    mk = lambda results, fail_on="error": Report("c.mp4", 1, None, "phoenix-4", fail_on, results)  # noqa: E731
    assert mk([ok, skip, warn]).passed
    assert not mk([ok, warn], "warning").passed
    assert not mk([ok, err]).passed


def test_report_json_round_trip():
    r = Report(
        "c.mp4",
        10,
        "ab",
        "phoenix-4",
        "error",
        [
            Result(
                "MED011",
                "stream-damaged",
                "error",
                "fail",
                "truncated",
                3,
                0,
                "errors",
                "copy again",
            )
        ],
        media={"container": "mp4"},
        timings_s={"total": 1.23456},
    )
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    back = Report.from_dict(d)
    assert back.to_dict() == d
    assert d["results"][0]["start_s"] is None and d["timings_s"]["total"] == 1.235

"""FAC rules: pure checks on hand-built FaceEvidence (pass, fail, boundary), then composite
clips built from real GRID frames (each defect triggers exactly its rule), then real footage."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from facecomp import KINDS, face_evidence, make_face_clip

from validator import validate
from validator.checks.fac import runs
from validator.errors import SettingsError
from validator.evidence import Evidence
from validator.pipeline import run_check
from validator.registry import Span, load_all
from validator.settings import Settings

RULES = load_all()
FAC = [r for r in RULES if r.startswith("FAC")]


def same(spans, expected) -> bool:
    return len(spans) == len(expected) and all(
        abs(a.start_s - b[0]) < 1e-6 and abs(a.end_s - b[1]) < 1e-6
        for a, b in zip(spans, expected, strict=True)
    )


def run(rule_id: str, faces, voice=None, **params):
    ev = Evidence(path="clip.mp4", size_bytes=1, faces=faces, voice=voice)
    return run_check(
        RULES[rule_id], ev, Settings(params={rule_id: params}) if params else Settings()
    )


def test_clean_face_evidence_passes_every_fac_rule():
    f = face_evidence()
    for rid in FAC:
        assert run(rid, f).status == "pass", (rid, run(rid, f).message)


def test_no_face_at_all_fails_fac001_and_skips_the_rest():
    n = 20
    f = face_evidence(
        n, present=np.zeros(n, bool), detected=np.zeros(n, bool), n_faces=np.zeros(n, np.int32)
    )
    assert run("FAC001", f).status == "fail"
    for rid in (
        "FAC003",
        "FAC004",
        "FAC005",
        "FAC006",
        "FAC007",
        "FAC008",
        "FAC009",
        "FAC010",
        "FAC011",
    ):
        assert run(rid, f).status == "skip", rid


def test_runs_bridge_and_span_ends():
    t = np.arange(10) / 5
    m = np.array([0, 1, 1, 0, 0, 0, 1, 0, 1, 0], bool)
    assert same(runs(m, t, 0.2), [(0.2, 0.6), (1.2, 1.4), (1.6, 1.8)])
    assert same(runs(m, t, 0.2, bridge_s=0.4), [(0.2, 0.6), (1.2, 1.8)])


# -- FAC001 ---------------------------------------------------------------------------------


def _gap(n, idx):
    d = np.ones(n, bool)
    d[list(idx)] = False
    return d


def test_fac001_boundary_gap_and_share():
    n = 200
    # 2 missing samples (0.4 s) and 1% share: passes; 3 in a row (0.6 s): fails with a span.
    r = run("FAC001", face_evidence(n, detected=_gap(n, [50, 51])))
    assert r.status == "pass"
    r = run("FAC001", face_evidence(n, detected=_gap(n, [50, 51, 52])))
    assert r.status == "fail" and same(r.spans, [(10.0, 10.6)])
    # Scattered single misses: 5 of 200 = 2.5% > 2%.
    r = run("FAC001", face_evidence(n, detected=_gap(n, [10, 40, 80, 120, 160])))
    assert r.status == "fail" and "5 of 200" in r.message
    assert run("FAC001", face_evidence(n, detected=_gap(n, [10, 40, 80, 120]))).status == "pass"


def test_fac001_covered_face_is_not_missing():
    n = 50
    pres = np.ones(n, bool)
    pres[10:20] = False  # detected but no landmarks: FAC011's business
    assert run("FAC001", face_evidence(n, present=pres)).status == "pass"
    assert run("FAC011", face_evidence(n, present=pres)).status == "fail"


# -- FAC002 ---------------------------------------------------------------------------------


def _other(n, idx, score=0.9, height=0.2):
    s, h = np.full(n, np.nan), np.full(n, np.nan)
    s[list(idx)], h[list(idx)] = score, height
    return dict(other_score=s, other_height=h)


def test_fac002_second_face():
    n = 50
    assert run("FAC002", face_evidence(n, **_other(n, [5, 6]))).status == "pass"  # 0.4 s
    r = run("FAC002", face_evidence(n, **_other(n, [5, 6, 7])))  # 0.6 s
    assert r.status == "fail" and same(r.spans, [(1.0, 1.6)])
    # Seen once per second (the fine search rate) for 3 s: one event.
    r = run("FAC002", face_evidence(n, **_other(n, [10, 15, 20, 25])))
    assert r.status == "fail" and same(r.spans, [(2.0, 5.2)])
    # Low-confidence detections (background clutter) and tiny faces do not count.
    assert run("FAC002", face_evidence(n, **_other(n, range(20), score=0.7))).status == "pass"
    assert run("FAC002", face_evidence(n, **_other(n, range(20), height=0.03))).status == "pass"


# -- FAC003 / FAC004 / FAC005 ---------------------------------------------------------------


@pytest.mark.parametrize(
    "h,status,severity",
    [
        (0.30, "pass", None),
        (0.25, "pass", None),
        (0.24, "fail", "warning"),
        (0.15, "fail", "warning"),
        (0.14, "fail", "error"),
    ],
)
def test_fac003_face_height(h, status, severity):
    r = run("FAC003", face_evidence(height_ratio=np.full(50, h)))
    assert r.status == status
    if severity:
        assert r.severity == severity and f"{round(h * 100)}% of the frame" in r.message


@pytest.mark.parametrize("h,status", [(0.5, "pass"), (0.62, "pass"), (0.63, "fail")])
def test_fac004_face_too_large(h, status):
    assert run("FAC004", face_evidence(height_ratio=np.full(50, h))).status == status


@pytest.mark.parametrize(
    "cx,status", [(0.5, "pass"), (0.351, "pass"), (0.34, "fail"), (0.70, "fail")]
)
def test_fac005_off_centre(cx, status):
    c = np.tile([cx, 0.5], (50, 1))
    r = run("FAC005", face_evidence(centre=c))
    assert r.status == status
    if cx == 0.34:
        assert "left of centre" in r.message


# -- FAC006 ---------------------------------------------------------------------------------


def test_fac006_head_cut_off():
    n = 50
    top = np.full(n, 0.1)
    top[:5] = -0.02  # 10%: allowed
    assert run("FAC006", face_evidence(n, head_top=top)).status == "pass"
    top[:6] = -0.02  # 12%
    r = run("FAC006", face_evidence(n, head_top=top))
    assert r.status == "fail" and "top of the head" in r.message and same(r.spans, [(0.0, 1.2)])
    chin = np.full(n, 1.05)
    r = run("FAC006", face_evidence(n, chin=chin))
    assert r.status == "fail" and "chin" in r.message
    assert run("FAC006", face_evidence(n, chin=np.full(n, 0.99))).status == "pass"


# -- FAC007 / FAC008 ------------------------------------------------------------------------


def test_fac007_turned_away():
    n = 50
    yaw = np.zeros(n)
    yaw[10:12] = 40  # 0.4 s: a glance
    assert run("FAC007", face_evidence(n, yaw=yaw)).status == "pass"
    yaw[10:14] = 40  # 0.8 s
    r = run("FAC007", face_evidence(n, yaw=yaw))
    assert r.status == "fail" and same(r.spans, [(2.0, 2.8)]) and "yaw" in r.message
    pitch = np.zeros(n)
    pitch[20:30] = -26
    assert run("FAC007", face_evidence(n, pitch=pitch)).status == "fail"
    assert run("FAC007", face_evidence(n, yaw=np.full(n, 25.0))).status == "pass"


@pytest.mark.parametrize(
    "pitch,status", [(0.0, "pass"), (15.0, "pass"), (-15.5, "fail"), (20.0, "fail")]
)
def test_fac008_camera_angle(pitch, status):
    r = run("FAC008", face_evidence(pitch=np.full(50, pitch)))
    assert r.status == status
    if pitch == 20.0:
        assert "below eye level" in r.message


# -- FAC009 ---------------------------------------------------------------------------------


def test_fac009_distance():
    n = 100
    steady = 0.4 + 0.01 * np.sin(np.arange(n))
    assert run("FAC009", face_evidence(n, height_ratio=steady)).status == "pass"
    lean = np.linspace(0.35, 0.50, n)  # spread ~0.13/0.425 = 31%
    r = run("FAC009", face_evidence(n, height_ratio=lean))
    assert r.status == "fail" and r.spans
    small = np.linspace(0.40, 0.48, n)  # ~16%
    assert run("FAC009", face_evidence(n, height_ratio=small)).status == "pass"


# -- FAC010 ---------------------------------------------------------------------------------


def test_fac010_movement_overall_and_while_listening():
    n = 100
    assert run("FAC010", face_evidence(n, motion=np.full(n, 0.35))).status == "pass"
    r = run("FAC010", face_evidence(n, motion=np.full(n, 0.5)))
    assert r.status == "fail" and "0.50 face heights/s" in r.message
    # Calm while speaking, restless while listening (second half).
    m = np.full(n, 0.05)
    m[50:] = 0.3
    voice = SimpleNamespace(speaking=Span(0, 10), listening=Span(10, 20))
    r = run("FAC010", face_evidence(n, motion=m), voice=voice)
    assert r.status == "fail" and "while listening" in r.message
    assert r.spans and r.spans[0].start_s >= 10.0
    assert run("FAC010", face_evidence(n, motion=m)).status == "pass"  # no voice: overall only


# -- FAC011 ---------------------------------------------------------------------------------


def _regions(n: int, covered: dict[int, int], delta_e: float = 20.0, texture: float = 1.0):
    """Region measurements with `covered[i]` of the five regions of sample i changed."""
    de, tex = np.full((n, 5), 2.0), np.ones((n, 5))
    for i, k in covered.items():
        de[i, :k], tex[i, :k] = delta_e, texture
    return {"region_delta_e": de, "region_texture_ratio": tex}


def test_fac011_occlusion():
    n = 50
    cov = {10: 3, 11: 3, 12: 3}  # 0.6 s of three covered patches
    r = run("FAC011", face_evidence(n, **_regions(n, cov)))
    assert r.status == "fail" and same(r.spans, [(2.0, 2.6)])
    cov[12] = 2  # 0.4 s: a passing hand
    assert run("FAC011", face_evidence(n, **_regions(n, cov))).status == "pass"
    two_everywhere = {i: 2 for i in range(n)}  # 0.4 of the regions, all clip long
    assert run("FAC011", face_evidence(n, **_regions(n, two_everywhere))).status == "pass"
    # Texture alone counts too (a patterned cover of the same colour).
    tex = _regions(n, {10: 3, 11: 3, 12: 3}, delta_e=2.0, texture=2.5)
    assert run("FAC011", face_evidence(n, **tex)).status == "fail"


def test_fac011_region_thresholds_are_the_rules_params(tmp_path):
    """The colour distance and texture ratio that make a region 'changed' are FAC011's
    parameters (they were constants in the analyser): set in the config, they move the
    verdict on the same measurements."""
    from validator.settings import config_from_pyproject

    n = 50
    cov = {i: 3 for i in range(10, 16)}  # 1.2 s of three patches
    colour = face_evidence(n, **_regions(n, cov, delta_e=10.0))
    texture = face_evidence(n, **_regions(n, cov, delta_e=2.0, texture=2.5))
    assert run("FAC011", colour).status == "pass"  # 10 < 14 (default)
    assert run("FAC011", texture).status == "fail"  # 2.5 > 2 (default)
    assert run("FAC011", colour, max_region_delta_e=9.0).status == "fail"
    assert run("FAC011", texture, max_region_texture_ratio=3.0).status == "pass"
    (tmp_path / "pyproject.toml").write_text(
        "[tool.validator.rules.FAC011]\nmax_region_delta_e = 9.5\nmax_region_texture_ratio = 3\n"
    )
    s = Settings(**config_from_pyproject(tmp_path / "pyproject.toml"))
    assert s.to_dict()["rule_params"]["FAC011"]["max_region_delta_e"] == 9.5
    ev = Evidence(path="clip.mp4", size_bytes=1, faces=colour)
    assert run_check(RULES["FAC011"], ev, s).status == "fail"
    ev = Evidence(path="clip.mp4", size_bytes=1, faces=texture)
    assert run_check(RULES["FAC011"], ev, s).status == "pass"
    with pytest.raises(SettingsError):  # bounded
        Settings(params={"FAC011": {"max_region_texture_ratio": 1.0}})


# -- composites from real GRID frames ---------------------------------------------------------

EXPECTED = {
    "clean": set(),
    "small": {"FAC003"},
    "offcentre": {"FAC005"},
    "headcut": {"FAC006"},
    "twofaces": {"FAC002"},
    "gap": {"FAC001"},
    "zoom": {"FAC009"},
    "covered": {"FAC011"},
    "turned": {"FAC007"},
}


@pytest.fixture(scope="module")
def composite_reports(shared_media, clipdir):
    out = {}
    for kind in KINDS:
        path = make_face_clip(clipdir, kind, shared_media)
        out[kind] = validate(path, Settings(select=("FAC",)))
    return out


@pytest.mark.realmedia
@pytest.mark.parametrize("kind", KINDS)
def test_each_composite_triggers_exactly_its_rule(composite_reports, kind):
    r = composite_reports[kind]
    failing = {x.rule for x in r.results if x.status == "fail"}
    assert failing == EXPECTED[kind], [(x.rule, x.message) for x in r.results if x.status == "fail"]


@pytest.mark.realmedia
def test_composite_measurements(composite_reports):
    small = composite_reports["small"].evidence.faces
    assert 0.15 < np.median(small.height_ratio[small.present]) < 0.25
    gap = composite_reports["gap"].evidence.faces
    missing = gap.t_s[~gap.detected]
    assert missing.min() >= 1.0 and missing.max() < 2.5
    two = composite_reports["twofaces"].evidence.faces
    assert (two.n_faces == 2).mean() > 0.9


@pytest.mark.realmedia
def test_real_grid_and_listener_pass_framing_rules(shared_media):
    for name in ("grid_lbbc2a.mpg", "lp_d9.mp4"):
        r = validate(
            shared_media / "real" / name,
            Settings(select=("FAC001", "FAC002", "FAC003", "FAC005", "FAC006", "FAC007")),
        )
        bad = [(x.rule, x.message) for x in r.results if x.status != "pass"]
        assert not bad, (name, bad)


@pytest.mark.realmedia
def test_real_full_body_clip_is_too_small(shared_media):
    r = validate(shared_media / "real" / "lp_src_s13.mp4", Settings(select=("FAC003",)))
    res = r.results[0]
    assert res.status == "fail" and res.severity == "error" and res.measured < 0.12

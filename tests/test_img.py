"""IMG001-IMG008: hand-built evidence at passing, failing and boundary values, then generated
degradations of a good clip (each must trigger exactly its own IMG/EDT rule) and real footage."""

from __future__ import annotations

from pathlib import Path

import degrade as D
import numpy as np
import pytest

from validator.analysis.continuity import ContinuityEvidence, cut_args
from validator.analysis.image import ImageEvidence
from validator.evidence import Evidence
from validator.registry import load_all
from validator.settings import Settings

RULES = load_all()
DT = 0.2


def img(n: int = 50, **cols) -> ImageEvidence:
    base = dict(
        has_face=np.ones(n, bool),
        face_h_frac=np.full(n, 0.4),
        face_x=np.full(n, 0.9),
        face_y=np.full(n, 0.4),
        sharpness=np.full(n, 0.6),
        brightness=np.full(n, 0.5),
        scene=np.full(n, 0.45),
        clipped=np.zeros(n),
        crushed=np.zeros(n),
        lr_stops=np.zeros(n),
        tb_stops=np.zeros(n),
        side_stops=np.zeros(n),
        noise=np.full(n, 0.3),
        warmth=np.full(n, 0.6),
        shake=np.full(n, 0.001),
        bg_motion=np.zeros(n),
    )
    base["shake"][0] = np.nan
    base["bg_motion"][0] = np.nan
    for k, v in cols.items():
        base[k] = np.asarray(v, dtype=bool if k == "has_face" else float)
    return ImageEvidence(
        t_s=np.arange(n) * DT, sample_interval_s=DT, transfer="sdr", bit_depth=8, **base
    )


def cont(n: int = 50, cut_at: int | None = None) -> ContinuityEvidence:
    corr = np.full(n, 0.98)
    corr[0] = np.nan
    hd = np.full(n, 0.03)
    cells = np.full(n, 0.05)
    if cut_at is not None:
        corr[cut_at], hd[cut_at], cells[cut_at] = 0.05, 0.5, 0.9
    return ContinuityEvidence(
        t_s=np.arange(n) * DT,
        corr_prev=corr,
        hist_dist=hd,
        cells_changed=cells,
        diff=np.full(n, 2.0),
        diff_peak=np.full(n, 4.0),
        luma=np.full(n, 100.0),
        thumbs=np.zeros((n, 48, 64), np.uint8),
        sample_interval_s=DT,
        frame_pts_s=np.arange(n * 5) / 25.0,
        packet_bytes=np.full(n * 5, 900),
        tiny_packet=np.zeros(n * 5, bool),
        declared_fps=25.0,
        shot_breaks=(),
    ).with_shot_breaks(*cut_args(Settings()))  # as the analyser sets them


def check(
    rule_id: str, image: ImageEvidence, continuity: ContinuityEvidence | None = None, **params
):
    ev = Evidence(path="x", size_bytes=1)
    ev.image = image
    ev.continuity = continuity if continuity is not None else cont(image.n)
    settings = Settings(params={rule_id: params}) if params else Settings()
    r = RULES[rule_id]
    return r.check(ev, settings.resolve(r))


def series(n: int, value: float, at: int, after: float) -> np.ndarray:
    x = np.full(n, value)
    x[at:] = after
    return x


# -- IMG001 -----------------------------------------------------------------------------------


def test_img001_sharp_blurry_and_boundary():
    assert check("IMG001", img(sharpness=np.full(50, 0.6))).status == "pass"
    out = check("IMG001", img(sharpness=np.full(50, 0.3)))
    assert out.status == "fail" and "0.30" in out.message and out.spans[0].start_s == 0.0
    assert check("IMG001", img(sharpness=np.full(50, 0.42))).status == "pass"  # at the limit
    part = series(50, 0.6, 40, 0.3)  # 20% blurry: allowed (max 25%)
    assert check("IMG001", img(sharpness=part)).status == "pass"
    out = check("IMG001", img(sharpness=series(50, 0.6, 30, 0.3)))  # 40% blurry
    assert out.status == "fail" and out.spans[0].start_s == pytest.approx(6.0)


def test_img001_without_faces_judges_the_centre_and_says_so():
    out = check("IMG001", img(has_face=np.zeros(50), sharpness=np.full(50, 0.2)))
    assert out.status == "fail" and "no face found" in out.message


# -- IMG002 -----------------------------------------------------------------------------------


def test_img002_bright_dark_dim_and_boundary():
    assert check("IMG002", img()).status == "pass"
    out = check("IMG002", img(brightness=np.full(50, 0.12)))
    assert out.status == "fail" and out.severity is None and "12%" in out.message
    assert (
        check("IMG002", img(brightness=np.full(50, 0.20))).severity == "warning"
    )  # error limit: not below
    out = check("IMG002", img(brightness=np.full(50, 0.24)))
    assert out.status == "fail" and out.severity == "warning"
    assert check("IMG002", img(brightness=np.full(50, 0.27))).status == "pass"


def test_img002_dark_scene_with_a_lit_face_fails():
    out = check("IMG002", img(brightness=np.full(50, 0.35), scene=np.full(50, 0.10)))
    assert out.status == "fail" and "scene" in out.message and out.measured == pytest.approx(0.10)
    assert check("IMG002", img(scene=np.full(50, 0.15))).status == "pass"


def test_img002_crushed_face():
    out = check("IMG002", img(crushed=np.full(50, 0.4)))
    assert out.status == "fail" and "crushed" in out.message
    assert check("IMG002", img(crushed=np.full(50, 0.25))).status == "pass"


# -- IMG003 -----------------------------------------------------------------------------------


def test_img003_clipped_bright_and_boundary():
    assert check("IMG003", img()).status == "pass"
    out = check("IMG003", img(clipped=np.full(50, 0.3)))
    assert out.status == "fail" and "30%" in out.message
    assert check("IMG003", img(clipped=np.full(50, 0.05))).status == "pass"
    assert check("IMG003", img(brightness=np.full(50, 0.9))).status == "fail"
    assert check("IMG003", img(brightness=np.full(50, 0.85))).status == "pass"


# -- IMG004 -----------------------------------------------------------------------------------


def test_img004_side_and_vertical_balance():
    assert check("IMG004", img(lr_stops=np.full(50, 0.4))).status == "pass"
    out = check("IMG004", img(lr_stops=np.full(50, -1.5)))
    assert (
        out.status == "fail"
        and "brighter on the right of the picture" in out.message
        and out.measured == 1.5
    )
    assert check("IMG004", img(lr_stops=np.full(50, 1.0))).status == "pass"
    assert check("IMG004", img(tb_stops=np.full(50, 1.5))).status == "fail"
    assert check("IMG004", img(tb_stops=np.full(50, 1.25))).status == "pass"
    assert check("IMG004", img(has_face=np.zeros(50), lr_stops=np.full(50, 3))).status == "skip"


def test_img004_light_on_mirrored_patches():
    # 2 stops: the dark side gets a quarter of the light.
    out = check("IMG004", img(side_stops=np.full(50, -2.0)))
    assert out.status == "fail" and out.measured == 2.0 and out.limit == 1.5
    assert "from the right of the picture to the left" in out.message and "25%" in out.message
    assert out.spans and out.spans[0].start_s == 0.0
    assert check("IMG004", img(side_stops=np.full(50, 1.5))).status == "pass"  # boundary
    assert check("IMG004", img(side_stops=np.full(50, 1.51))).status == "fail"
    # The median over the clip: a minority of shadowed samples (a hand, a turn) passes.
    mostly_even = np.r_[np.full(30, 0.3), np.full(20, 2.5)]
    assert check("IMG004", img(side_stops=mostly_even)).status == "pass"
    # Too few judged samples (turned head, no landmarks): the face halves alone decide.
    few = np.full(50, np.nan)
    few[:4] = 3.0
    out = check("IMG004", img(side_stops=few))
    assert out.status == "pass" and "light left/right" not in out.message
    assert check("IMG004", img(side_stops=few, lr_stops=np.full(50, 1.2))).status == "fail"
    assert check("IMG004", img(side_stops=np.full(50, np.nan))).status == "pass"


# -- IMG005 -----------------------------------------------------------------------------------


def test_img005_step_is_found_with_its_span():
    out = check("IMG005", img(brightness=series(50, 0.5, 30, 0.25)))  # 1 stop down at 6.0 s
    assert out.status == "fail" and "drops 1.0 stops at 6.0 s" in out.message
    assert out.spans[0].start_s == pytest.approx(6.0) and out.spans[0].end_s == pytest.approx(9.8)


def test_img005_steady_small_step_and_boundary():
    assert check("IMG005", img()).status == "pass"
    assert check("IMG005", img(brightness=series(50, 0.5, 30, 0.5 * 2**-0.4))).status == "pass"
    assert check("IMG005", img(brightness=series(50, 0.5, 30, 0.5 * 2**-0.5))).status == "pass"
    assert check("IMG005", img(brightness=series(50, 0.5, 30, 0.5 * 2**-0.6))).status == "fail"


def test_img005_drift_and_colour_shift():
    drift = 0.5 * 2 ** np.linspace(0, -1.0, 50)  # a slow 1-stop fade: no single step
    out = check("IMG005", img(brightness=drift))
    assert out.status == "fail" and "between" in out.message
    out = check("IMG005", img(warmth=series(50, 0.6, 25, 1.1)))
    assert out.status == "fail" and "colour" in out.message


def test_img005_a_jump_to_another_face_is_not_a_lighting_change():
    x = series(50, 0.9, 30, 0.3)  # the face box jumps 0.6 frame heights (1.5 face heights)
    dim_other = img(brightness=series(50, 0.5, 30, 0.2), face_x=x)
    assert check("IMG005", dim_other).status == "pass"
    near = img(brightness=series(50, 0.5, 30, 0.2), face_x=series(50, 0.9, 30, 0.65))
    assert check("IMG005", near).status == "fail"  # 0.625 face heights: the same face


def test_img005_leaves_a_change_across_a_cut_to_edt001():
    change = img(brightness=series(50, 0.5, 30, 0.2))
    assert check("IMG005", change, cont(50, cut_at=30)).status == "pass"
    assert check("IMG005", change, cont(50, cut_at=10)).status == "fail"


# -- IMG006 -----------------------------------------------------------------------------------


def test_img006_noise_levels():
    assert check("IMG006", img()).status == "pass"
    out = check("IMG006", img(noise=np.full(50, 6.0)))
    assert out.status == "fail" and "6.0 levels" in out.message
    assert check("IMG006", img(noise=np.full(50, 2.0))).status == "pass"
    assert check("IMG006", img(noise=np.full(50, np.nan))).status == "skip"


# -- IMG007 / IMG008 --------------------------------------------------------------------------


def shake_with(k: int, value: float = 0.04, n: int = 50) -> np.ndarray:
    s = np.full(n, 0.001)
    s[0] = np.nan
    s[10 : 10 + k] = value
    return s


def test_img007_shaky_steady_and_boundaries():
    assert check("IMG007", img()).status == "pass"
    out = check("IMG007", img(shake=shake_with(10)))  # 10 of 49 intervals at 0.2/s
    assert out.status == "fail" and out.spans[0].start_s == pytest.approx(1.8)
    assert out.spans[0].end_s == pytest.approx(3.8)
    assert check("IMG007", img(shake=shake_with(4))).status == "pass"  # 8% of intervals
    assert check("IMG007", img(shake=shake_with(10, 0.02))).status == "pass"  # exactly 0.1/s
    assert check("IMG007", img(shake=shake_with(10)), max_moving_share=0.25).status == "pass"


def test_img007_skips_without_background_and_ignores_cuts():
    assert check("IMG007", img(shake=np.full(50, np.nan))).status == "skip"
    s = shake_with(0)
    s[[20, 21, 22, 23, 24, 25]] = 0.3
    cut = cont(50, cut_at=22)
    assert check("IMG007", img(shake=s), cut).status == "fail"
    s2 = shake_with(0)
    s2[[20, 22]] = 0.3
    s2[24] = 0.3
    assert check("IMG007", img(shake=s2), cont(50, cut_at=22)).status == "pass"  # 2 left < 3


def test_img008_background_motion():
    assert check("IMG008", img()).status == "pass"
    m = np.zeros(50)
    m[0] = np.nan
    m[20:30] = 0.2
    out = check("IMG008", img(bg_motion=m))
    assert out.status == "fail" and "20%" in out.message and out.severity is None
    m[20:30] = 0.08  # at the limit
    assert check("IMG008", img(bg_motion=m)).status == "pass"
    assert check("IMG008", img(bg_motion=np.full(50, np.nan))).status == "skip"


# -- generated degradations -------------------------------------------------------------------

OWN = [r for r in RULES if r[:3] in ("IMG", "EDT")]


@pytest.fixture(scope="module")
def source(request) -> tuple[list, list, float, str]:
    """The good clip, a second take to splice in, where the face is, and which kind it is."""
    try:
        sm = request.getfixturevalue("shared_media")
    except pytest.skip.Exception:
        sm = None
    frames = D.source_frames(sm)
    return (
        frames,
        D.other_frames(sm, len(frames)),
        D.face_centre_frac(sm),
        ("real" if sm else "syn"),
    )


DEGRADATIONS = {
    "clean": (lambda f, o, c: f, None),
    "darkened": (lambda f, o, c: D.gain(f, 0.3), "IMG002"),
    "blown_out": (lambda f, o, c: D.gain(f, 2.6), "IMG003"),
    "blurred": (lambda f, o, c: D.blurred(f), "IMG001"),
    "side_lit": (lambda f, o, c: D.side_lit(f, c), "IMG004"),
    "noisy": (lambda f, o, c: D.noisy(f), "IMG006"),
    "brightness_step": (lambda f, o, c: D.brightness_step(f), "IMG005"),
    "jittered": (lambda f, o, c: D.jittered(f), "IMG007"),
    "walker": (lambda f, o, c: D.walker(f), "IMG008"),
    "spliced": (lambda f, o, c: D.spliced(f, o), "EDT001"),
    "dissolved": (lambda f, o, c: D.dissolved(f, o), "EDT001"),
    "repeated_run": (lambda f, o, c: D.repeated_run(f), "EDT002"),
    "dropped_second": (lambda f, o, c: f, "EDT003"),
}


@pytest.fixture(scope="module")
def degraded(source, clipdir: Path) -> dict[str, dict[str, object]]:
    frames, other, centre, kind = source
    out = {}
    settings = Settings()
    for name, (fn, _) in DEGRADATIONS.items():
        times = D.dropped_second_times(len(frames)) if name == "dropped_second" else None
        p = D.write(clipdir / f"img_{kind}_{name}.mp4", fn(frames, other, centre), times=times)
        ev = D.analyse(p, settings)
        out[name] = {rid: RULES[rid].check(ev, settings.resolve(RULES[rid])) for rid in OWN}
    return out


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_each_degradation_triggers_exactly_its_rule(degraded, name):
    expected = DEGRADATIONS[name][1]
    fails = {rid: o.message for rid, o in degraded[name].items() if o.status == "fail"}
    assert set(fails) == ({expected} if expected else set()), fails


def test_degradation_spans_point_at_the_defect(degraded):
    step = degraded["brightness_step"]["IMG005"]
    assert step.spans[0].start_s == pytest.approx(3.0, abs=0.25)
    cut = degraded["spliced"]["EDT001"]
    assert cut.spans[0].start_s <= 3.0 <= cut.spans[0].end_s + 0.05
    fade = degraded["dissolved"]["EDT001"]  # a 1 s cross-fade from 2.5 s
    assert "transition" in fade.message and len(fade.spans) == 1
    assert 2.2 <= fade.spans[0].start_s <= 2.6 and 3.2 <= fade.spans[0].end_s <= 3.7
    frozen = degraded["repeated_run"]["EDT002"]
    assert frozen.spans[0].start_s == pytest.approx(2.0, abs=0.25)
    assert frozen.spans[0].end_s == pytest.approx(3.2, abs=0.3)
    gap = degraded["dropped_second"]["EDT003"]
    assert gap.spans[0].start_s == pytest.approx(3.0, abs=0.1) and gap.measured == pytest.approx(
        1.0, abs=0.05
    )
    shake = degraded["jittered"]["IMG007"]
    assert shake.spans[0].start_s >= 1.7 and shake.spans[-1].end_s <= 4.3
    walker = degraded["walker"]["IMG008"]
    assert walker.spans[0].start_s >= 0.7 and walker.spans[-1].end_s <= 4.3


# -- real footage -----------------------------------------------------------------------------


@pytest.mark.realmedia
def test_dim_stage_clip_fails_img002_and_edt001(shared_media):
    from validator import validate

    report = validate(
        shared_media / "real" / "fr_short_hamilton_clip.mp4", Settings(select=("IMG002", "EDT001"))
    )
    res = {r.rule: r for r in report.results}
    assert res["IMG002"].status == "fail" and res["IMG002"].severity == "error"
    assert "scene is dark" in res["IMG002"].message
    cuts = res["EDT001"]
    assert cuts.status == "fail" and cuts.measured >= 3
    assert all(sp.end_s - sp.start_s <= 1.2 for sp in cuts.spans)
    # The cut to the audience, 7.1 s into the video stream, is one of them.  The video stream
    # starts 0.84 s after the audio, and times are on the file's common clock: ~7.95 s.
    assert any(sp.start_s <= 7.95 <= sp.end_s for sp in cuts.spans)


@pytest.mark.realmedia
@pytest.mark.parametrize("name", ["grid_pwij3p.mpg", "lp_src_s18.mp4"])
def test_studio_clips_pass_every_img_and_edt_rule(shared_media, name):
    ev = D.analyse(shared_media / "real" / name)
    s = Settings()
    outcomes = {rid: RULES[rid].check(ev, s.resolve(RULES[rid])) for rid in OWN}
    assert {rid: o.message for rid, o in outcomes.items() if o.status == "fail"} == {}


def test_tiny_and_flat_clips_do_not_break_the_analysers(clipdir):
    from clipgen import make_clip

    p = make_clip(
        clipdir / "img_tiny.mp4",
        duration_s=0.5,
        fps=25,
        size=(32, 24),
        audio=None,
        frame_fn=lambda i, t: np.zeros((24, 32, 3), np.uint8),
    )
    ev = D.analyse(p)
    assert ev.image.n >= 2 and ev.continuity.n >= 2
    outcomes = {rid: RULES[rid].check(ev, Settings().resolve(RULES[rid])) for rid in OWN}
    assert outcomes["IMG002"].status == "fail"  # black is dark
    assert outcomes["EDT002"].status == "fail"  # and frozen
    assert all(o.status in ("pass", "fail", "skip") for o in outcomes.values())


def test_hdr_pq_clip_is_read_on_the_sdr_equivalent_scale(clipdir):
    from clipgen import make_clip

    grey = lambda i, t: np.full((240, 320, 3), 128, np.uint8)  # noqa: E731
    pq = make_clip(
        clipdir / "img_pq.mp4",
        duration_s=0.4,
        fps=25,
        audio=None,
        pix_fmt="yuv420p10le",
        color_trc=16,
        frame_fn=grey,
    )  # 16 = SMPTE ST 2084 (PQ)
    sdr = make_clip(clipdir / "img_sdr_grey.mp4", duration_s=0.4, fps=25, audio=None, frame_fn=grey)
    e_pq, e_sdr = D.analyse(pq), D.analyse(sdr)
    assert e_pq.image.transfer == "pq" and e_sdr.image.transfer == "sdr"
    # Code 0.5 in PQ is ~92 cd/m2: 0.72 of SDR white, not 0.5.
    assert e_sdr.image.scene[0] == pytest.approx(0.5, abs=0.03)
    assert e_pq.image.scene[0] == pytest.approx(0.72, abs=0.05)


@pytest.mark.realmedia
@pytest.mark.parametrize(
    "name, fails, passes",
    [
        ("lp_d12.mp4", {"IMG007"}, {"IMG001", "IMG002", "IMG005", "EDT001"}),  # handheld selfie
        ("lp_d20.mp4", {"IMG008"}, {"IMG002", "IMG007", "EDT001"}),  # dusk, palm fronds behind
    ],
)
def test_real_handheld_and_outdoor_clips(shared_media, name, fails, passes):
    ev = D.analyse(shared_media / "real" / name)
    s = Settings()
    status = {rid: RULES[rid].check(ev, s.resolve(RULES[rid])).status for rid in fails | passes}
    assert {rid for rid in fails if status[rid] == "fail"} == fails
    assert {rid for rid in passes if status[rid] == "pass"} == passes


# Real clips whose face IMG004 judges on the mirrored patches (frontal, big enough), with their
# own light.  The shadow is built in linear light between the cheekbones (a quarter of the light
# on the far cheek), as in the rule's calibration.
SHADOWED = ("dfrf_french.mp4", "grid_lrwp9a.mpg", "lp_d9.mp4")


@pytest.fixture(scope="module")
def shadow_pair(shared_media, clipdir: Path) -> dict[str, dict[str, object]]:
    from validator import validate

    out = {}
    for name in SHADOWED:
        frames = D.read_frames(shared_media / "real" / name, 60, size=None)
        clean = D.write(clipdir / f"img4_{name}_clean.mp4", frames)
        im = D.analyse(clean).image
        h, w = frames[0].shape[:2]
        fx = float(np.nanmedian(im.face_x[im.has_face])) * h / w
        fw = float(np.nanmedian(im.face_h_frac[im.has_face])) * h / w
        shadow = D.write(
            clipdir / f"img4_{name}_shadow.mp4",
            D.side_shadow(frames, fx - fw / 4, fx + fw / 4, 0.25),
        )
        out[name] = {
            k: {r.rule: r for r in validate(p, Settings()).results}
            for k, p in (("clean", clean), ("shadow", shadow))
        }
    return out


@pytest.mark.realmedia
@pytest.mark.parametrize("name", SHADOWED)
def test_real_face_shadowed_to_a_quarter_fails_img004_only(shadow_pair, name):
    clean, shadow = shadow_pair[name]["clean"], shadow_pair[name]["shadow"]
    assert clean["IMG004"].status == "pass"
    assert (
        shadow["IMG004"].status == "fail" and "light on the face falls" in shadow["IMG004"].message
    )
    newly = {
        rid: r.message
        for rid, r in shadow.items()
        if r.severity == "error" and r.status == "fail" and clean[rid].status != "fail"
    }
    assert newly == {}


# The real clips that come nearest IMG004's limits (every real clip was measured for the
# calibration; these are the ones at risk): lp_d11, a child lit about 2:1 from her left (1.26
# stops on the patches, the highest real face), lp_src_s13 (a full-body dancer whose 63 px face
# reads 1.58 and is too small to judge on the patches), and the next highest.
NEAR_LIMIT = (
    "lp_d11.mp4",
    "lp_src_s13.mp4",
    "lp_d13.mp4",
    "w2lgfpgan_kim_7s_raw.mp4",
    "sadtalker_WDA_BobMenendez_000.mp4",
    "lp_src_s18.mp4",
)


@pytest.mark.realmedia
@pytest.mark.parametrize("name", NEAR_LIMIT)
def test_real_clips_pass_img004(shared_media, name):
    ev = D.analyse(shared_media / "real" / name)
    out = RULES["IMG004"].check(ev, Settings().resolve(RULES["IMG004"]))
    assert out.status == "pass", out.message

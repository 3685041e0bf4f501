"""EDT001-EDT003 on hand-built continuity evidence (passing, failing, boundary values).  The
generated degradations (spliced, repeated run, dropped second) run end to end in test_img.py,
which checks every IMG and EDT rule on each of them."""

from __future__ import annotations

import numpy as np
import pytest

from validator.analysis.continuity import ContinuityEvidence
from validator.evidence import Evidence
from validator.registry import load_all
from validator.settings import Settings

RULES = load_all()
DT = 0.2


TEX_A = np.random.default_rng(1).integers(0, 255, (48, 64)).astype(np.uint8)
TEX_B = np.random.default_rng(2).integers(0, 255, (48, 64)).astype(np.uint8)


def cont(
    n: int = 50,
    *,
    corr=None,
    hist=None,
    peak=None,
    pts=None,
    packets=None,
    cells=None,
    thumbs=None,
    fps: float = 25.0,
) -> ContinuityEvidence:
    def arr(x, default):
        a = np.full(n, default) if x is None else np.asarray(x, float)
        a = a.copy()
        a[0] = np.nan
        return a

    pts = np.arange(int(n * DT * fps)) / fps if pts is None else np.asarray(pts, float)
    packets = np.full(len(pts), 900) if packets is None else np.asarray(packets)
    tiny = packets <= max(48, 0.03 * float(np.median(packets)))
    thumbs = np.repeat(TEX_A[None], n, axis=0) if thumbs is None else thumbs
    return ContinuityEvidence(
        t_s=np.arange(n) * DT,
        corr_prev=arr(corr, 0.98),
        hist_dist=arr(hist, 0.03),
        cells_changed=arr(cells, 0.9),
        diff=arr(None, 2.0),
        diff_peak=arr(peak, 3.0),
        luma=np.full(n, 100.0),
        thumbs=thumbs,
        sample_interval_s=DT,
        frame_pts_s=pts,
        packet_bytes=packets,
        tiny_packet=tiny,
        declared_fps=fps,
        shot_breaks=(),  # what the IMG rules read; EDT001 judges the arrays with its params
    )


def check(rule_id: str, co: ContinuityEvidence, **params):
    ev = Evidence(path="x", size_bytes=1)
    ev.continuity = co
    settings = Settings(params={rule_id: params}) if params else Settings()
    r = RULES[rule_id]
    return r.check(ev, settings.resolve(r))


def with_value(n: int, default: float, at: dict[int, float]) -> np.ndarray:
    a = np.full(n, default)
    for i, v in at.items():
        a[i] = v
    return a


# -- EDT001 -----------------------------------------------------------------------------------


def test_edt001_cut_found_with_its_span():
    out = check(
        "EDT001", cont(corr=with_value(50, 0.98, {30: 0.1}), hist=with_value(50, 0.03, {30: 0.4}))
    )
    assert out.status == "fail" and out.message.startswith("1 cut (at 5.9 s)")
    assert (out.spans[0].start_s, out.spans[0].end_s) == pytest.approx((5.8, 6.0))


def test_edt001_continuous_and_boundaries():
    assert check("EDT001", cont()).status == "pass"
    # Low correlation but the same colours (fast motion): not a cut.
    assert check("EDT001", cont(corr=with_value(50, 0.98, {30: 0.1}))).status == "pass"
    at_limit = cont(corr=with_value(50, 0.98, {30: 0.3}), hist=with_value(50, 0.03, {30: 0.4}))
    assert check("EDT001", at_limit).status == "pass"
    assert check("EDT001", at_limit, max_corr=0.35).status == "fail"
    hist_limit = cont(corr=with_value(50, 0.98, {30: 0.1}), hist=with_value(50, 0.03, {30: 0.1}))
    assert check("EDT001", hist_limit).status == "fail"  # distance at the limit counts


def fade(steps: dict[int, float], end_shot: np.ndarray = TEX_B, n: int = 50) -> ContinuityEvidence:
    """Each listed step changes the colours by the given distance but looks continuous (0.9);
    from the last of them on, the picture is `end_shot`."""
    thumbs = np.repeat(TEX_A[None], n, axis=0)
    thumbs[max(steps) :] = end_shot
    return cont(
        corr=with_value(n, 0.98, {i: 0.9 for i in steps}),
        hist=with_value(n, 0.03, steps),
        thumbs=thumbs,
    )


def test_edt001_dissolve_found_as_a_transition():
    out = check("EDT001", fade({20: 0.3, 21: 0.3, 22: 0.3}))
    assert out.status == "fail" and out.message.startswith("1 transition")
    assert (out.spans[0].start_s, out.spans[0].end_s) == pytest.approx((3.8, 4.4))
    assert (
        check("EDT001", fade({20: 0.3, 21: 0.3, 22: 0.3}), include_transitions=False).status
        == "pass"
    )


def test_edt001_transition_boundaries():
    assert check("EDT001", fade({20: 0.3, 21: 0.3})).status == "fail"  # 0.6 in all: at the limit
    assert check("EDT001", fade({20: 0.29, 21: 0.3})).status == "pass"
    assert check("EDT001", fade({20: 0.29, 21: 0.3}), min_transition_colour=0.5).status == "fail"
    assert check("EDT001", fade({20: 0.6})).status == "pass"  # one step is not a run
    # Colours change for a while but the shot at the end is the same one: a lighting fade.
    assert check("EDT001", fade({20: 0.3, 21: 0.3, 22: 0.3}, end_shot=TEX_A)).status == "pass"


def test_edt001_a_person_leaving_a_close_shot_is_not_a_cut():
    # The stage clip at 1.6 s: the singer's head leaves the frame; correlation 0.04, histogram
    # distance 0.15, but the audience behind stays: half of the cells change.
    co = cont(
        corr=with_value(50, 0.98, {30: 0.04}),
        hist=with_value(50, 0.03, {30: 0.15}),
        cells=with_value(50, 0.1, {30: 0.5}),
    )
    assert check("EDT001", co).status == "pass"
    at_limit = cont(
        corr=with_value(50, 0.98, {30: 0.04}),
        hist=with_value(50, 0.03, {30: 0.15}),
        cells=with_value(50, 0.1, {30: 0.6}),
    )
    assert check("EDT001", at_limit).status == "fail"


def test_edt001_too_few_samples():
    assert check("EDT001", cont(n=1)).status == "skip"


# -- EDT002 -----------------------------------------------------------------------------------


def test_edt002_frozen_samples():
    out = check("EDT002", cont(peak=with_value(50, 3.0, {i: 0.0 for i in range(20, 26)})))
    assert out.status == "fail" and "1.2 s" in out.message
    assert (out.spans[0].start_s, out.spans[0].end_s) == pytest.approx((3.8, 5.0))


def test_edt002_still_but_alive_and_boundaries():
    assert check("EDT002", cont(peak=np.full(50, 0.5))).status == "pass"  # a still person
    one = cont(peak=with_value(50, 3.0, {20: 0.0}))  # one identical pair = 0.2 s
    assert check("EDT002", one).status == "pass"
    two = cont(peak=with_value(50, 3.0, {20: 0.0, 21: 0.0}))  # 0.4 s: at the limit
    assert check("EDT002", two).status == "fail"
    assert check("EDT002", two, min_frozen_s=0.5).status == "pass"
    at_level = cont(peak=with_value(50, 3.0, {20: 0.25, 21: 0.25}))
    assert check("EDT002", at_level).status == "pass"


def test_edt002_tiny_packet_run_with_refinement_packets():
    packets = np.full(250, 900)
    packets[100:125] = 30  # 1.0 s of repeated frames...
    packets[[104, 108, 112]] = 120  # ...with the encoder refining every fourth frame
    out = check("EDT002", cont(packets=packets))
    assert out.status == "fail" and out.spans[0].start_s == pytest.approx(99 / 25)
    short = np.full(250, 900)
    short[100:108] = 30  # 0.32 s
    assert check("EDT002", cont(packets=short)).status == "pass"


# -- EDT003 -----------------------------------------------------------------------------------


def test_edt003_dropped_second():
    pts = np.concatenate([np.arange(75) / 25, 4.0 + np.arange(75) / 25])
    out = check("EDT003", cont(pts=pts))
    assert out.status == "fail" and out.measured == pytest.approx(1.0, abs=0.01)
    assert out.spans[0].start_s == pytest.approx(74 / 25) and out.spans[0].end_s == pytest.approx(
        4.0
    )


def test_edt003_constant_rate_and_boundaries():
    assert check("EDT003", cont()).status == "pass"
    one_frame = np.delete(np.arange(250) / 25, 100)  # one dropped frame: 0.04 s missing
    assert check("EDT003", cont(pts=one_frame)).status == "pass"
    assert check("EDT003", cont(pts=one_frame), min_missing_s=0.04).status == "fail"
    three = np.delete(np.arange(250) / 25, [100, 101, 102])  # 0.12 s missing
    assert check("EDT003", cont(pts=three)).status == "fail"


def test_edt003_leaves_variable_frame_rate_to_med010():
    d = np.where(np.arange(300) % 2, 1 / 30, 1 / 15)  # alternating 30/15 fps: VFR
    out = check("EDT003", cont(pts=np.cumsum(d)))
    assert out.status == "skip" and "MED010" in out.message


def test_edt003_too_few_frames():
    assert check("EDT003", cont(pts=[0.0, 0.04])).status == "skip"
    assert check("EDT003", cont(pts=[0.0, 0.0, 0.0])).status == "skip"


def _med010_and_edt003(pts: np.ndarray, fps: float = 25.0):
    from validator.evidence import MediaInfo, StreamStats

    ev = Evidence(path="x", size_bytes=1)
    ev.media = MediaInfo(
        container="mp4",
        format_name="mp4",
        duration_s=float(pts[-1]),
        size_bytes=1,
        has_video=True,
        has_audio=False,
        fps=fps,
        fps_from_timestamps=(len(pts) - 1) / (pts[-1] - pts[0]),
    )
    ev.stream = StreamStats(
        video_pts_s=pts, video_packet_bytes=np.full(len(pts), 900), video_keyframe_pts_s=pts[:1]
    )
    ev.continuity = cont(pts=pts)
    s = Settings()
    return (
        RULES["MED010"].check(ev, s.resolve(RULES["MED010"])),
        RULES["EDT003"].check(ev, s.resolve(RULES["EDT003"])),
    )


def test_an_isolated_gap_in_a_full_length_clip_is_edt003_only():
    pts = np.arange(60 * 25) / 25.0
    pts = np.concatenate([pts[:750], pts[775:]])  # one second missing at 30 s
    med010, edt003 = _med010_and_edt003(pts)
    assert med010.status == "pass"
    assert edt003.status == "fail" and edt003.spans[0].start_s == pytest.approx(29.96)


def test_a_variable_frame_rate_is_med010_only():
    pts = np.cumsum(np.where(np.arange(1500) % 2, 1 / 30, 1 / 15))
    med010, edt003 = _med010_and_edt003(pts, fps=30.0)
    assert med010.status == "fail"
    assert edt003.status == "skip"


# -- the shot breaks the continuity analyser measures for the IMG rules -------------------------


def _two_shots(path, fade_s: float = 0.0):
    """4 s: a blue-green texture, then from 2 s a red one (a hard cut, or a cross-fade of
    `fade_s` seconds); both drift a little every frame, so neither looks frozen."""
    from clipgen import make_clip

    rng = np.random.default_rng(5)
    a = rng.integers(0, 255, (240, 320, 3)).astype(np.uint8)
    a[..., 0] //= 4  # little red
    b = np.kron(rng.integers(0, 255, (15, 20, 3)), np.ones((16, 16, 1))).astype(np.uint8)
    b[..., 1:] //= 4  # mostly red, large blocks

    def frame(i: int, t: float) -> np.ndarray:
        k = float(np.clip((t - 2.0) / fade_s, 0, 1)) if fade_s else float(t >= 2.0)
        img = (1 - k) * np.roll(a, i, axis=1) + k * np.roll(b, i, axis=0)
        return img.astype(np.uint8)

    return make_clip(path, duration_s=4.0, fps=25, frame_fn=frame, audio=None)


@pytest.mark.parametrize("fade_s", [0.0, 1.0])
@pytest.mark.parametrize(
    "params",
    [{}, {"include_transitions": False}, {"max_corr": -1.0}],
    ids=["defaults", "no-transitions", "no-cuts"],
)
def test_continuity_shot_breaks_are_what_edt001_judges(tmp_path, fade_s, params):
    from validator import validate

    clip = _two_shots(tmp_path / "two.mp4", fade_s)
    s = Settings(select=("EDT001", "IMG005"), params={"EDT001": params} if params else {})
    rep = validate(clip, s)
    co = rep.evidence.continuity
    edt = next(r for r in rep.results if r.rule == "EDT001")
    assert co.shot_breaks == tuple((sp.start_s, sp.end_s) for sp in edt.spans)
    if not params:  # the clip has one shot change, found at 2 s (cut) or over the fade
        assert len(co.shot_breaks) == 1 and edt.status == "fail"
        a, b = co.shot_breaks[0]
        assert a < 2.0 + fade_s and b >= 2.0
    elif "max_corr" in params:
        assert co.shot_breaks == () and edt.status == "pass"
    if fade_s:
        # IMG005 leaves the fade's brightness change to EDT001 exactly when it is a break.
        img = next(r for r in rep.results if r.rule == "IMG005")
        assert img.status == ("pass" if co.shot_breaks else "fail"), img.message

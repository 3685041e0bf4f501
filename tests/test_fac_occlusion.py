"""FAC011's reference: each sample's skin patches are compared with the same patches over the
seconds around it, not with the whole clip.  A composite of two real people (a real speaker,
then a real listener) read the shorter part as "covered" for all of it against a whole-clip
median; a local reference absorbs such lasting changes and still finds a hand raised for a
moment."""

from __future__ import annotations

import numpy as np
import pytest
from clipgen import make_clip
from facecomp import FrameStream, place

from validator import validate
from validator.analysis.faces import occlusion_share, region_changes
from validator.settings import Settings

W, H, FPS = 640, 360, 5


def test_local_reference_absorbs_a_lasting_change_and_keeps_a_brief_one():
    rng = np.random.default_rng(0)
    base = np.array([60.0, 140.0, 140.0, 5.0])
    regions = np.tile(base, (300, 5, 1)) + rng.normal(0, 0.5, (300, 5, 4))
    regions[200:, :, 1] += 25.0  # from 40 s on (5/s) every patch looks different: lasting
    regions[100:110, :, 2] -= 25.0  # 2 s of a different colour: a hand
    whole = occlusion_share(*region_changes(regions), 14.0, 2.0)
    local = occlusion_share(*region_changes(regions, half_window=30), 14.0, 2.0)
    assert whole[200:].mean() == 1.0  # the old, whole-clip reference: covered for 20 s
    assert local[200:].max() == 0.0 and local[:100].max() == 0.0
    assert (local[100:110] == 1.0).all()


def _composite(path, first, second, s1, s2, cover=None):
    fa, fb = FrameStream(str(first)), FrameStream(str(second))  # read as the clip is made
    texture = np.random.default_rng(1).integers(30, 90, (64, 64, 3), dtype=np.uint8)

    def fn(i, t):
        c = np.full((H, W, 3), 90, np.uint8)
        img = fa[int(t * 25)] if t < s1 else fb[int((t - s1) * 25)]
        place(c, img, 1.0, 0.5, 0.5)
        if cover and cover[0] <= t < cover[1]:
            y0, y1, x0, x1 = int(0.55 * H), int(0.95 * H), int(0.37 * W), int(0.63 * W)
            c[y0:y1, x0:x1] = np.resize(texture, (y1 - y0, x1 - x0, 3))
        return c

    return make_clip(path, duration_s=s1 + s2, fps=FPS, size=(W, H), frame_fn=fn)


@pytest.mark.realmedia
@pytest.mark.parametrize(
    "first,second",
    [
        ("sadtalker_RD_Radio2_000.mp4", "lp_d9.mp4"),  # long hair, earrings; then a man, glasses
        ("w2lgfpgan_kim_7s_raw.mp4", "lp_src_s18.mp4"),  # long hair; then long red hair
    ],
)
def test_a_real_speaker_then_a_real_listener_is_not_covered(shared_media, clipdir, first, second):
    real = shared_media / "real"
    path = _composite(
        clipdir / f"occ_{first[:8]}_{second[:6]}.mp4", real / first, real / second, 7.0, 15.0
    )
    r = validate(path, Settings(select=("FAC011", "FAC001")))
    res = {x.rule: x for x in r.results}
    assert res["FAC011"].status == "pass", res["FAC011"].message
    assert res["FAC001"].status == "pass", res["FAC001"].message


@pytest.mark.realmedia
def test_a_hand_over_the_face_for_two_seconds_is_still_found(shared_media, clipdir):
    real = shared_media / "real"
    path = _composite(
        clipdir / "occ_cover.mp4",
        real / "sadtalker_RD_Radio2_000.mp4",
        real / "lp_d9.mp4",
        7.0,
        15.0,
        cover=(13.0, 15.0),
    )
    r = validate(path, Settings(select=("FAC011",)))
    x = r.results[0]
    assert x.status == "fail", x.message
    assert any(s.start_s <= 14.0 <= s.end_s for s in x.spans)

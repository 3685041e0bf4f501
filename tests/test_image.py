"""The image and continuity analysers on hand-made frames (no decoding) and a 10-bit clip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from clipgen import make_clip

from validator.analysis.continuity import ContinuityAnalyser
from validator.analysis.image import ImageAnalyser, hlg_to_sdr, pq_to_sdr
from validator.evidence import Evidence, Frame, MediaInfo, StreamStats
from validator.settings import Settings

W, H = 320, 240
BOX = (120, 50, 200, 150)


def media(bit_depth: int = 8, trc: str | None = "bt709") -> MediaInfo:
    return MediaInfo(
        container="mp4",
        format_name="mp4",
        duration_s=2.0,
        size_bytes=1,
        has_video=True,
        has_audio=False,
        width=W,
        height=H,
        fps=25.0,
        bit_depth=bit_depth,
        color_transfer=trc,
    )


def texture(seed: int = 0, w: int = W, h: int = H) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (h // 4, w // 4, 3)).astype(np.uint8)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(img, (3, 3), 0)


def frame(img: np.ndarray, i: int, box=BOX) -> Frame:
    f = Frame(i, i * 0.2, np.ascontiguousarray(img), 1.0, None)
    f.notes["face_box"] = box
    return f


def run_image(images: list[np.ndarray], box=BOX, m: MediaInfo | None = None):
    a = ImageAnalyser(Settings(), m or media())
    for i, img in enumerate(images):
        a.on_frame(frame(img, i, box))
    return a.finish(Evidence(path="x", size_bytes=1))


def shift(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return cv2.warpAffine(
        img,
        np.float32([[1, 0, dx], [0, 1, dy]]),
        (img.shape[1], img.shape[0]),
        borderMode=cv2.BORDER_REFLECT,
    )


def test_exposure_of_a_flat_grey_face_region():
    img = np.full((H, W, 3), 128, np.uint8)
    img[60:140, 130:190] = 255  # clipped patch inside the face box
    im = run_image([img])
    x0, y0, x1, y1 = BOX
    assert im.brightness[0] == pytest.approx(img[y0:y1, x0:x1].mean() / 255, abs=0.01)
    assert im.clipped[0] == pytest.approx(80 * 60 / ((x1 - x0) * (y1 - y0)), abs=0.01)
    assert im.crushed[0] == 0.0
    assert im.has_face[0]
    assert im.face_h_frac[0] == pytest.approx(100 / H)


def test_missing_face_box_uses_the_centre_and_says_so():
    im = run_image([texture()], box=None)
    assert not im.has_face[0]
    sel, real = im.face_or_all()
    assert sel.all() and not real
    assert np.isfinite(im.sharpness[0])


def test_sharpness_falls_with_blur_and_not_with_exposure():
    sharp_img = texture(1)
    im = run_image(
        [sharp_img, cv2.GaussianBlur(sharp_img, (0, 0), 3), (sharp_img * 0.4).astype(np.uint8)]
    )
    assert im.sharpness[1] < im.sharpness[0] - 0.15
    assert im.sharpness[2] == pytest.approx(im.sharpness[0], abs=0.05)


def test_sharpness_does_not_depend_on_face_size():
    base = texture(2, 160, 160)
    small = np.zeros((H, W, 3), np.uint8)
    small[40:120, 120:200] = cv2.resize(base, (80, 80), interpolation=cv2.INTER_AREA)
    big = np.zeros((480, 640, 3), np.uint8)
    big[80:240, 240:400] = base
    a = run_image([small], box=(120, 40, 200, 120)).sharpness[0]
    b = run_image([big], box=(240, 80, 400, 240)).sharpness[0]
    assert abs(a - b) < 0.12


def test_noise_estimate_follows_added_noise():
    clean = cv2.GaussianBlur(texture(3), (0, 0), 2)
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, 8, clean.shape), 0, 255).astype(np.uint8)
    assert run_image([clean]).noise[0] < 1.0
    assert 5.0 < run_image([noisy]).noise[0] < 11.0
    carried = run_image([clean] + [noisy] * 5)  # measured once a second (5 samples at 0.2 s)
    assert carried.noise[4] == carried.noise[0] and carried.noise[5] > 5.0


def test_lighting_balance_sign_and_size():
    img = np.full((H, W, 3), 160, np.uint8)
    img[:, 160:] = 40  # right half of the face two stops darker
    im = run_image([img])
    assert im.lr_stops[0] == pytest.approx(2.0, abs=0.1)
    assert abs(im.tb_stops[0]) < 0.05


def test_camera_shift_and_local_motion_in_the_background():
    a = texture(4)
    b = shift(a, 8, 0)  # the camera moved 8 px
    c = b.copy()
    c[10:60, 10:90] = 255 - c[10:60, 10:90]  # and then something moved top-left
    im = run_image([a, a, b, c])
    assert np.isnan(im.shake[0])
    assert im.shake[1] < 0.005 and im.bg_motion[1] < 0.01
    assert im.shake[2] == pytest.approx(8 * 256 / W / (H * 256 / W), rel=0.25)
    assert im.bg_motion[2] < 0.02  # the shift itself is compensated
    assert im.bg_motion[3] > 0.05


def test_gain_change_is_not_motion():
    a = texture(5)
    im = run_image([a, (a * 0.5).astype(np.uint8)])
    assert im.shake[1] < 0.005
    assert im.bg_motion[1] < 0.02


def test_hdr_transfer_maps_to_sdr_scale():
    assert float(pq_to_sdr(np.array(0.58))) == pytest.approx(1.0, abs=0.03)  # 203 nits
    assert float(pq_to_sdr(np.array(0.0))) == 0.0
    assert float(hlg_to_sdr(np.array(0.75))) == pytest.approx(1.0)
    img = np.full((H, W, 3), 128, np.uint8)
    sdr = run_image([img]).brightness[0]
    pq = run_image([img], m=media(10, "smpte2084")).brightness[0]
    assert pq > sdr  # PQ code 0.5 is ~92 nits: brighter in SDR terms than SDR code 0.5


def test_ten_bit_source_read_at_native_depth(clipdir):
    from degrade import analyse

    colour = (170, 150, 120)
    p8 = make_clip(
        clipdir / "img_8bit.mp4",
        duration_s=0.4,
        fps=25,
        audio=None,
        frame_fn=lambda i, t: np.full((240, 320, 3), colour, np.uint8),
    )
    p10 = make_clip(
        clipdir / "img_10bit.mp4",
        duration_s=0.4,
        fps=25,
        audio=None,
        pix_fmt="yuv420p10le",
        frame_fn=lambda i, t: np.full((240, 320, 3), colour, np.uint8),
    )
    e8, e10 = analyse(p8), analyse(p10)
    assert e10.image.bit_depth == 10 and e8.image.bit_depth == 8
    assert e10.image.scene[0] == pytest.approx(e8.image.scene[0], abs=0.01)


def test_stats_rows_have_time_stream_and_metrics():
    im = run_image([texture(6), texture(6)])
    rows = im.stats_rows()
    assert len(rows) == 2 and rows[0]["stream"] == "video" and rows[1]["t_s"] == 0.2
    assert rows[0]["img_shake"] is None and isinstance(rows[1]["img_sharpness"], float)


# -- continuity --------------------------------------------------------------------------------


def run_cont(images: list[np.ndarray], pts=None, packets=None):
    a = ContinuityAnalyser(Settings(), media())
    for i, img in enumerate(images):
        a.on_frame(frame(img, i))
    ev = Evidence(path="x", size_bytes=1)
    n = len(images) * 5
    ev.stream = StreamStats(
        video_pts_s=np.asarray(pts if pts is not None else np.arange(n) / 25.0),
        video_packet_bytes=np.asarray(packets if packets is not None else [900] * n),
        video_keyframe_pts_s=np.zeros(1),
    )
    return a.finish(ev)


def test_cut_breaks_structure_but_a_lighting_step_does_not():
    a, b = texture(7), texture(8)
    co = run_cont([a, a, (a * 0.5).astype(np.uint8), b])
    assert co.corr_prev[1] > 0.99
    assert co.corr_prev[2] > 0.95  # half the light: same picture
    assert co.corr_prev[3] < 0.3 and co.hist_dist[3] > 0.1
    assert [(round(a, 3), round(b, 3)) for a, b, _ in co.cuts(0.3, 0.1)] == [(0.4, 0.6)]


def test_identical_samples_have_no_difference_and_tiny_packets_are_flagged():
    a = texture(9)
    co = run_cont([a, a, shift(a, 1, 0)], packets=[5000, 20, 900, 900, 12, 900])
    assert co.diff_peak[1] == 0.0 and co.diff_peak[2] > 1.0
    assert co.tiny_packet.tolist() == [False, True, False, False, True, False]
    assert co.stats_rows()[1]["cont_diff_peak"] == 0.0


def test_flat_pictures_do_not_crash():
    black = np.zeros((H, W, 3), np.uint8)
    co = run_cont([black, black, np.full((H, W, 3), 200, np.uint8)])
    assert co.corr_prev[1] == 1.0 and co.corr_prev[2] == 0.0
    im = run_image([black, black])
    assert im.brightness[0] == 0.0 and im.crushed[0] == 1.0


def test_changed_cells_tell_a_cut_from_something_leaving_a_corner():
    a, b = texture(10), texture(11)
    half = a.copy()
    half[:, : W // 2] = b[:, : W // 2]  # the left half replaced (a person walked out of it)
    co = run_cont([a, a, half, b])
    assert co.cells_changed[1] == 0.0
    assert co.cells_changed[2] == pytest.approx(0.5, abs=0.13)
    assert co.cells_changed[3] == pytest.approx(0.5, abs=0.13)  # then the right half
    corr, cells = co.compare(1, 3)  # two steps apart: everything changed
    assert cells >= 0.75 and corr < 0.3
    assert co.thumbs.shape == (4, 48, 64) and co.thumbs.dtype == np.uint8


def test_side_light_on_mirrored_patches_is_in_linear_light():
    from validator.analysis.image import SIDE_PAIRS, _side_stops

    code = np.full((300, 400), 160, np.uint8)
    code[:, 200:] = 80  # half the code value on the right: 2^2.2 less light
    lm = np.zeros((468, 2), np.float32)
    lm[:, 1] = 150
    lm[234, 0], lm[454, 0], lm[1, 0] = 100, 300, 200
    for k, (a, b) in enumerate(SIDE_PAIRS):
        lm[a] = (130 + 5 * k, 110 + 12 * k)
        lm[b] = (270 - 5 * k, 110 + 12 * k)

    def to_sdr(c):
        return c.astype(np.float32) / 255.0

    assert _side_stops(code, to_sdr, lm) == pytest.approx(2.2, abs=0.05)
    assert _side_stops(code[:, ::-1].copy(), to_sdr, lm) == pytest.approx(-2.2, abs=0.05)
    turned = lm.copy()
    turned[1, 0] = 240  # nose 70% of the way across: head turned
    assert np.isnan(_side_stops(code, to_sdr, turned))
    assert np.isnan(_side_stops(code, to_sdr, None))
    small = lm.copy()
    small[:, 0] = 200 + (lm[:, 0] - 200) * 0.3  # a 60 px face
    assert np.isnan(_side_stops(code, to_sdr, small))
    dark = np.full((300, 400), 10, np.uint8)  # near black: no ratio
    assert np.isnan(_side_stops(dark, to_sdr, lm))

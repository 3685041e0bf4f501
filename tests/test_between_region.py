"""The frames between samples convert only the rectangle the mouth track needs
(`_BetweenFrame.region`): the pixels must be those the whole analysis image holds there, for
every display rotation and for analysis scales that do and do not divide the frame size."""

from __future__ import annotations

import numpy as np
import pytest
from clipgen import make_clip

from validator.media.decode import decode_pass
from validator.media.probe import open_media


def _pattern(i: int, t: float) -> np.ndarray:
    """A picture with fine detail in brightness (stripes, grain) and smooth colour, as a face
    has, different on every frame.  (Sharp colour detail would differ by a few levels more:
    the cut piece's chroma is upsampled without the decoded frame's chroma siting.)"""
    rng = np.random.default_rng(i)
    h, w = 360, 640
    y, x = np.mgrid[0:h, 0:w]
    detail = 40 * np.sin((x + 3 * i) / 3.0) * np.cos(y / 5.0) + rng.normal(0, 6, (h, w))
    colour = np.stack([x * 150 / w, y * 150 / h, (x + y + 7 * i) * 100 / (w + h)], -1)
    return np.clip(colour + 40 + detail[..., None], 0, 255).astype(np.uint8)


def _between_frames(path, short_side_px: int):
    got = []
    container, media = open_media(path)
    decode_pass(
        container,
        media,
        sample_fps=2.0,
        short_side_px=short_side_px,
        frame_sinks=[lambda f: None],
        between_sinks=[got.append],
    )
    return got


def _pattern_clip(clipdir, rotation: int):
    """The 1 s 640x360 test-pattern clip at `rotation`, made once per session."""
    path = clipdir / f"region_rot{rotation}.mp4"
    if not path.exists():
        make_clip(
            path,
            duration_s=1.0,
            fps=10,
            size=(640, 360),
            frame_fn=_pattern,
            rotation_cw=rotation or None,
            audio=None,
        )
    return path


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("short_side_px", [180, 360, 240])
def test_region_matches_the_whole_image(clipdir, rotation, short_side_px):
    path = _pattern_clip(clipdir, rotation)
    frames = _between_frames(path, short_side_px)
    assert len(frames) >= 4
    native = 0
    for f in frames[:4]:
        rect = (37.3, 21.8, 141.2, 160.6)
        piece, ox, oy = f.region(*rect)
        native += "image" not in f.__dict__
        whole = f.image
        h, w = whole.shape[:2]
        # The piece covers the rectangle (clipped to the image) ...
        assert ox <= rect[0] and oy <= rect[1]
        assert ox + piece.shape[1] >= min(w, rect[2]) and oy + piece.shape[0] >= min(h, rect[3])
        ref = whole[oy : oy + piece.shape[0], ox : ox + piece.shape[1]].astype(int)
        assert ref.shape == piece.shape
        # ... with the whole image's pixels, a level or two apart at most away from its edges
        # (a piece cut one analysis pixel off the grid reads ~1.5 levels apart on average).
        d = np.abs(ref - piece)[3:-3, 3:-3]
        assert d.mean() < 0.25 and d.max() <= 3, (d.mean(), d.max())
    # 640x360 -> 320x180 (grids meet every 2 native pixels) and 640x360 unscaled are cut from
    # the decoded planes; 640x360 -> 426x240 meets every 320 pixels: the whole image is made.
    assert native == (0 if short_side_px == 240 else 4)


def _fresh_conversion(monkeypatch, f, rect):
    """The region as it was converted before the kept scaler and frames: the cut copied into a
    new frame, converted by a new scaler with swscale's default threads."""
    import av
    from av.video.reformatter import VideoReformatter

    from validator.media import decode

    def fresh_piece(pw, ph, fmt):
        return av.VideoFrame(pw, ph, fmt)

    def fresh_scale(frame, width, height, kind, threads=None):
        out = VideoReformatter().reformat(frame, width=width, height=height, format="bgr24")
        return out.to_ndarray()

    with monkeypatch.context() as m:
        m.setattr(decode, "_region_piece", fresh_piece)
        m.setattr(decode, "_scale", fresh_scale)
        return decode._native_region(f.av_frame, f._target, f._rotation, rect)


@pytest.mark.parametrize("rotation", [0, 90])
def test_kept_scaler_and_frames_give_the_same_pixels(clipdir, rotation, monkeypatch):
    """Crops of changing sizes, back and forth (so kept frames are reused with other contents
    and sizes are evicted): every one bit-identical to a fresh conversion of the same cut."""
    path = _pattern_clip(clipdir, rotation)
    frames = _between_frames(path, 180)
    rng = np.random.default_rng(3)
    sizes = set()
    for f in frames:
        for _ in range(12):
            side = rng.choice([20.0, 33.3, 41.7, 57.1, 64.0, 70.2, 90.5, 101.0, 118.9, 131.0])
            x0, y0 = rng.uniform(-10, 100), rng.uniform(-10, 60)
            rect = (x0, y0, x0 + side, y0 + side * rng.uniform(0.8, 1.2))
            got = f.region(*rect)
            want = _fresh_conversion(monkeypatch, f, rect)
            assert want is not None and "image" not in f.__dict__
            assert got[1:] == want[1:] and np.array_equal(got[0], want[0])
            sizes.add(got[0].shape)
    assert len(sizes) > 8  # more sizes than frames are kept: evictions happened


def test_a_pyav_without_reformat_threads_gives_the_same_crops(clipdir, monkeypatch):
    """PyAV 14 (the lowest version allowed) has no `threads=` in `reformat()`: the crops fall
    back to FFmpeg's default threads, with the same pixels."""
    import av.video.reformatter as avr

    from validator.media import decode

    frames = _between_frames(_pattern_clip(clipdir, 0), 180)
    rect = (10.0, 12.0, 80.0, 90.0)
    want = [f.region(*rect) for f in frames]

    class Old:  # PyAV 14's reformatter, as far as `_scale` sees it
        def __init__(self):
            self.inner = avr.VideoReformatter()

        def reformat(self, frame, *args, **kwargs):
            if "threads" in kwargs:
                raise TypeError("reformat() got an unexpected keyword argument 'threads'")
            return self.inner.reformat(frame, *args, **kwargs)

    monkeypatch.setattr(decode, "VideoReformatter", Old)
    monkeypatch.setattr(decode, "_SCALERS", decode.threading.local())
    monkeypatch.setattr(decode, "_REFORMAT_THREADS", True)
    frames = _between_frames(_pattern_clip(clipdir, 0), 180)
    got = [f.region(*rect) for f in frames]
    assert decode._REFORMAT_THREADS is False
    assert len(got) == len(want) > 0
    for g, w in zip(got, want, strict=True):
        assert g[1:] == w[1:] and np.array_equal(g[0], w[0])


class _WholeImageOnly:
    """A between frame seen without `region()`: the mouth track converts the whole image."""

    def __init__(self, frame):
        self.frame, self.t_s, self.index = frame, frame.t_s, -1

    @property
    def image(self):
        return self.frame.image


def _mouth_track(path, whole_image: bool):
    from validator.analysis.faces import FaceAnalyser
    from validator.settings import Settings

    container, media = open_media(path)
    a = FaceAnalyser(Settings(), media)
    between = (lambda f: a.on_between_frame(_WholeImageOnly(f))) if whole_image else None
    decode_pass(
        container,
        media,
        sample_fps=5.0,
        short_side_px=720,
        frame_sinks=[a.on_frame],
        between_sinks=[between or a.on_between_frame],
    )
    fe = a.finish(None)
    return fe.mouth_t_s, fe.mouth_open_track


@pytest.mark.realmedia
def test_mouth_track_from_regions_matches_the_whole_image(shared_media):
    """The 1080p real speaker (analysed at 1280x720, grids meeting every 6 native pixels):
    the track from the converted crops is the track from whole images, frame for frame
    (measured: largest difference 0.0045, 99th percentile 0.003, of an opening whose
    frame-to-frame spread is 0.09)."""
    path = shared_media / "real" / "w2lgfpgan_kim_7s_raw.mp4"
    t0, m0 = _mouth_track(path, whole_image=True)
    t1, m1 = _mouth_track(path, whole_image=False)
    assert len(t0) > 150 and np.array_equal(t0, t1)
    assert np.max(np.abs(m0 - m1)) < 0.01


def test_kept_frames_are_reused_and_bounded():
    """A size seen again gets its kept frame back; the frames kept stay within the count and
    byte limits (crops of a 4K close-up are ~6 MB each), in a thread of their own."""
    import threading

    from validator.media import decode

    out = {}

    def run():
        first = decode._region_piece(600, 400, "yuv420p")
        out["again"] = decode._region_piece(600, 400, "yuv420p") is first
        for k in range(40):
            decode._region_piece(600 + 6 * k, 400, "yuv420p")
            kept = decode._PIECES.by_size
            out.setdefault("most", 0)
            out["most"] = max(out["most"], len(kept))
        for _ in range(3):
            decode._region_piece(3840, 2160, "yuv420p")
            decode._region_piece(3000, 2000, "yuv420p")
            kept = decode._PIECES.by_size
            out["bytes"] = max(out.get("bytes", 0), sum(w * h * 3 // 2 for w, h, _ in kept))
        out["newest"] = list(decode._PIECES.by_size)[-1]

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert out["again"]
    assert out["most"] == decode._MAX_PIECES
    assert out["bytes"] <= decode._MAX_PIECE_BYTES
    assert out["newest"] == (3000, 2000, "yuv420p")

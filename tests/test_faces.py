"""The face analyser: the notes it leaves for the image analyser, the evidence and stats rows it
returns, a clip without a face, a tilting head the landmark crop must follow, and real footage
(the main face found in every sample of frontal clips: glasses, low light, portrait)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from clipgen import make_clip
from facecomp import load_frames

from validator.analysis.faces import FaceAnalyser, FaceEvidence
from validator.evidence import Frame
from validator.media.decode import decode_pass
from validator.media.probe import open_media
from validator.settings import Settings


def analyse(path, fps: float = 5.0, record: list | None = None) -> FaceEvidence:
    container, media = open_media(path)
    a = FaceAnalyser(Settings(sample_fps=fps), media)

    def sink(frame: Frame) -> None:
        a.on_frame(frame)
        if record is not None:
            record.append(
                (
                    frame.width,
                    frame.height,
                    frame.notes.get("face_box", "unset"),
                    frame.notes.get("face_landmarks", "unset"),
                )
            )

    try:
        decode_pass(
            container, media, sample_fps=fps, short_side_px=720, frame_sinks=[sink], progress=None
        )
    finally:
        container.close()
    return a.finish(None)


def test_clip_without_a_face(clipdir):
    path = make_clip(clipdir / "noface.mp4", duration_s=1.0, fps=10, size=(320, 240))
    notes: list = []
    f = analyse(path, record=notes)
    assert len(f) == 5 and not f.present.any() and not f.detected.any()
    assert (f.n_faces == 0).all() and np.isnan(f.height_ratio).all()
    assert all(box is None and lm is None for _, _, box, lm in notes)
    rows = f.stats_rows()
    assert rows[0]["stream"] == "video" and rows[0]["face_present"] is False
    assert rows[0]["face_height_ratio"] is None


@pytest.mark.realmedia
def test_notes_and_evidence_on_a_real_face(shared_media):
    notes: list = []
    f = analyse(shared_media / "real" / "grid_bbaf2n.mpg", record=notes)
    assert f.present.all() and (f.n_faces == 1).all()
    for w, h, box, lm in notes:
        x0, y0, x1, y1 = box
        assert all(isinstance(v, int) for v in box)
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert lm.shape == (468, 2) and lm.dtype == np.float32
        # The box is the landmarks' extent (clipped).
        assert abs(lm[:, 1].max() - y1) <= 1.5 and abs(lm[:, 0].min() - x0) <= 1.5
    assert 0.4 < np.median(f.height_ratio) < 0.55
    assert np.all(np.abs(f.yaw) < 10) and np.all(np.abs(f.roll) < 5)
    # Lips closed in the trailing silence, open in speech (GRID: sentence ends ~2.2 s).
    assert np.max(f.mouth_open[f.t_s > 2.3]) < 0.06
    assert np.max(f.mouth_open[(f.t_s > 1.0) & (f.t_s < 2.2)]) > 0.08
    row = f.stats_rows()[3]
    for key in (
        "t_s",
        "stream",
        "face_height_ratio",
        "face_centre_x",
        "face_centre_y",
        "yaw_deg",
        "pitch_deg",
        "roll_deg",
        "mouth_open",
        "teeth",
        "face_motion",
        "face_count",
    ):
        assert key in row
    assert row["stream"] == "video" and row["face_count"] == 1


@pytest.mark.realmedia
def test_landmark_crop_follows_a_tilting_head(shared_media):
    """Rotate a real frame progressively: the tracker's crop is rotated by the eye line, so the
    face stays found and the measured roll follows the rotation."""
    img = np.ascontiguousarray(
        load_frames(str(shared_media / "real" / "grid_brbk7n.mpg"))[10][:, :, ::-1]
    )
    h, w = img.shape[:2]
    a = FaceAnalyser(Settings(), None)
    angles = list(range(0, 46, 5))
    for i, ang in enumerate(angles):
        m = cv2.getRotationMatrix2D((w / 2, h * 0.55), ang, 1.0)
        a.on_frame(
            Frame(i, i * 0.2, cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE), 1.0)
        )
    f = a.finish(None)
    assert f.present.all()
    base = f.roll[0]
    # OpenCV's positive angle turns the picture counter-clockwise: the eye line's angle drops.
    assert np.allclose(base - f.roll, angles, atol=4)
    assert np.all(f.mouth_open < 0.1)


@pytest.mark.realmedia
@pytest.mark.parametrize("name", ["grid_lbax4n.mpg", "lp_d20.mp4", "lp_d13.mp4"])
def test_main_face_found_in_every_sample(shared_media, name):
    """Glasses (GRID lbax4n), low light at dusk (lp_d20), a portrait phone selfie (lp_d13)."""
    f = analyse(shared_media / "real" / name)
    assert f.present.all(), f"face missing at {f.t_s[~f.present]}"
    assert (f.n_faces == 1).all()
    assert math.isfinite(f.analyse_ms)

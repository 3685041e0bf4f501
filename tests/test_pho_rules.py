"""PHO rules on hand-built evidence: a passing, a failing and a boundary value each."""

from __future__ import annotations

import numpy as np
import pytest

from validator import Settings
from validator.photo.load import PhotoInfo
from validator.photo.measure import FaceFound, PhotoMeasure
from validator.photo.validate import PhotoEvidence, rules_for
from validator.pipeline import run_check
from validator.registry import load_all


def info(**kw) -> PhotoInfo:
    base = dict(format="jpeg", width=810, height=1080, size_bytes=1000)
    base.update(kw)
    return PhotoInfo(**base)


def face(**kw) -> PhotoMeasure:
    """A clean frontal head-and-shoulders measurement (the portrait's figures)."""
    pm = PhotoMeasure(810, 1080)
    pm.faces = [FaceFound((280, 150, 530, 520), 0.95, 1.0)]
    pm.landmarks = np.zeros((468, 3))
    pm.face_box = (260.0, 140.0, 550.0, 520.0)
    pm.face_height_px = 362.0
    pm.skull_top_y, pm.chin_y = 64.0, 516.0
    pm.yaw_deg, pm.pitch_deg, pm.roll_deg, pm.gaze_h = -0.7, 10.8, 5.6, -0.04
    pm.eye_open = 0.28
    pm.shoulder_room = 1.56
    pm.shoulder_width, pm.shoulders_cut = 2.6, (False, False)
    pm.focus, pm.luma, pm.clipped, pm.dark, pm.side_ratio = 0.075, 0.51, 0.0, 0.0, 0.81
    pm.centre_offset = 0.02
    for k, v in kw.items():
        setattr(pm, k, v)
    return pm


def run(rid: str, pm: PhotoMeasure | None = None, inf: PhotoInfo | None = None, **settings):
    s = Settings(**settings)
    ev = PhotoEvidence("x.jpg", 1000)
    ev.photo_info = inf or info()
    ev.photo = pm if pm is not None else face()
    ev.photo_face = ev.photo if ev.photo.faces else None
    if ev.photo_face is None:
        ev.missing["photo_face"] = "no face found in the photo (PHO003)"
    return run_check(load_all()[rid], ev, s)


def test_photo_rules_are_only_the_pho_family_and_clip_rules_exclude_them():
    assert [r.id for r in rules_for("photo")] == [f"PHO{i:03d}" for i in range(1, 14)]
    assert not any(r.family == "PHO" for r in rules_for("video"))


def test_clean_measurement_passes_every_rule_but_the_skipped_accessories():
    for rid in [f"PHO{i:03d}" for i in range(1, 13)]:
        assert run(rid).status == "pass", rid
    r = run("PHO013")
    assert r.status == "skip" and "no bundled model" in r.message


def test_pho001_formats():
    assert run("PHO001", inf=info(format="png")).status == "pass"
    r = run("PHO001", inf=info(format="webp"))
    assert r.failed and r.severity == "error" and "prepare" in r.message
    r = run("PHO001", inf=info(format="png", frames=12))
    assert r.failed and "animated" in r.message
    r = run("PHO001", inf=info(mode="CMYK"))
    assert r.failed and r.severity == "warning"
    r = run("PHO001", inf=info(format="png", bit_depth=16, mode="I;16"))
    assert r.failed and r.severity == "warning" and "16-bit" in r.message


def test_pho001_unreadable():
    s = Settings()
    ev = PhotoEvidence("x.jpg", 10, open_error="the jpeg data is truncated or damaged (x)")
    r = run_check(load_all()["PHO001"], ev, s)
    assert r.failed and "truncated" in r.message
    r2 = run_check(load_all()["PHO005"], ev, s)
    assert r2.status == "skip"


@pytest.mark.parametrize(
    ("w", "h", "status"), [(512, 512, "pass"), (511, 900, "fail"), (474, 474, "fail")]
)
def test_pho002_short_side(w, h, status):
    assert run("PHO002", inf=info(width=w, height=h)).status == status


def test_pho003_and_pho004():
    none = PhotoMeasure(810, 1080, candidates=2)
    r = run("PHO003", none)
    assert r.failed and "2 candidates" in r.message
    assert run("PHO004", none).status == "skip"
    assert run("PHO005", none).status == "skip"  # no face: the face rules are not evaluated
    two = face(faces=[FaceFound((0, 0, 100, 300), 0.9, 1), FaceFound((0, 0, 100, 90), 0.9, 1)])
    assert run("PHO004", two).failed  # 0.30 of the main face: counts (boundary)
    small = face(faces=[FaceFound((0, 0, 100, 300), 0.9, 1), FaceFound((0, 0, 50, 89), 0.9, 1)])
    assert run("PHO004", small).status == "pass"
    unsure = face(faces=[FaceFound((0, 0, 100, 300), 0.9, 1), FaceFound((0, 0, 100, 300), 0.59, 1)])
    assert run("PHO004", unsure).status == "pass"  # a background pattern the detector half-sees
    sure = face(faces=[FaceFound((0, 0, 100, 300), 0.9, 1), FaceFound((0, 0, 100, 300), 0.6, 1)])
    assert run("PHO004", sure).failed


@pytest.mark.parametrize(
    ("kw", "status"),
    [
        ({"yaw_deg": 25.0}, "pass"),
        ({"yaw_deg": -25.5}, "fail"),
        ({"pitch_deg": 26.0}, "fail"),
        ({"roll_deg": 15.0}, "pass"),
        ({"roll_deg": -15.5}, "fail"),
        ({"roll_deg": 95.0, "turned_deg": 270}, "fail"),
        ({"gaze_h": 0.2}, "pass"),
        ({"gaze_h": -0.25}, "fail"),
    ],
)
def test_pho005_pose_and_gaze(kw, status):
    r = run("PHO005", face(**kw))
    assert r.status == status
    if "turned_deg" in kw:
        assert "anticlockwise" in r.message


def test_pho006_head_in_frame():
    assert run("PHO006", face(skull_top_y=10.8)).status == "pass"  # 1% of 1080, boundary
    r = run("PHO006", face(skull_top_y=-43.0))
    assert r.failed and "above the image" in r.message
    assert run("PHO006", face(chin_y=1075.0)).failed
    assert run("PHO006", face(face_box=(-5.0, 140.0, 300.0, 520.0))).failed


def test_pho007_subject_size():
    assert run("PHO007", face(face_height_px=216.0)).status == "pass"  # 0.2 of 1080
    assert run("PHO007", face(face_height_px=215.0)).failed
    edge = face(face_height_px=149.6)
    edge.height = 600
    assert run("PHO007", edge).status == "pass"  # 150 whole pixels, 25%
    small = face(face_height_px=149.0)
    small.height = 600
    assert run("PHO007", small).failed  # 25% but under 150 px


def test_pho008_shoulders_by_profile():
    assert run("PHO008", face(shoulder_room=0.5)).status == "pass"
    r = run("PHO008", face(shoulder_room=0.22))
    assert r.failed and r.severity == "warning"
    assert run("PHO008", face(shoulder_room=0.8), profile="phoenix-4.5").failed
    cut = face(shoulder_room=1.6, shoulders_cut=(True, True))
    assert run("PHO008", cut).status == "pass"
    r = run("PHO008", cut, profile="phoenix-4.5")
    assert r.failed and "left and right" in r.message


@pytest.mark.parametrize(("v", "status"), [(0.04, "pass"), (0.039, "fail"), (0.013, "fail")])
def test_pho009_focus(v, status):
    assert run("PHO009", face(focus=v)).status == status


def test_pho010_lighting():
    assert run("PHO010", face(luma=0.3)).status == "pass"
    assert "dark" in run("PHO010", face(luma=0.25)).message
    assert "blown" in run("PHO010", face(clipped=0.17)).message
    assert "shadow" in run("PHO010", face(side_ratio=0.39)).message
    assert run("PHO010", face(side_ratio=0.45)).status == "pass"


def test_pho011_and_pho012_warnings():
    assert run("PHO011", face(centre_offset=0.15)).status == "pass"
    r = run("PHO011", face(centre_offset=-0.175))
    assert r.failed and r.severity == "warning" and "left" in r.message
    assert run("PHO012", face(eye_open=0.15)).status == "pass"
    r = run("PHO012", face(eye_open=0.11))
    assert r.failed and r.severity == "warning"
    assert run("PHO012", face(eye_open=None)).status == "skip"


def test_thresholds_are_settable():
    r = run(
        "PHO002", inf=info(width=600, height=600), params={"PHO002": {"min_short_side_px": 640}}
    )
    assert r.failed

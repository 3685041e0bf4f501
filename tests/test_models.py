"""The bundled face models: checksums verified on load, clear ModelError (exit 3) when a file is
missing or altered, the extract script's own verification, and the BlazeFace anchor layout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from validator.analysis import face_models as fm
from validator.errors import ModelError
from validator.photo.models import IRIS_FILE, SEGMENTATION_FILE

ROOT = Path(__file__).resolve().parent.parent
WHEEL = Path("/tmp/mpwheel/mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl")


@pytest.fixture()
def model_copy(tmp_path) -> Path:
    d = tmp_path / "models"
    shutil.copytree(ROOT / "models", d)
    return d


def test_manifest_lists_every_model_with_licence_and_matching_checksum():
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    files = {m["file"] for m in manifest["models"]}
    assert files == {fm.DETECTOR_FILE, fm.LANDMARK_FILE, IRIS_FILE, SEGMENTATION_FILE}
    for m in manifest["models"]:
        assert m["licence"] == "Apache-2.0"
        assert m["source"].startswith("mediapipe-0.10.21 wheel: mediapipe/modules/")
        assert fm.verified_model_bytes(m["file"], ROOT / "models")  # checksum matches


def test_models_found_in_checkout_and_load():
    assert fm.find_model_dir() in fm.model_dirs()
    det = fm.BlazeFace(ROOT / "models")
    mesh = fm.FaceMesh(ROOT / "models")
    assert det.anchors.shape == (896, 2) and mesh.INPUT == 192


def test_corrupted_model_raises_model_error_naming_the_file(model_copy):
    p = model_copy / fm.DETECTOR_FILE
    data = bytearray(p.read_bytes())
    data[1000] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt: .*face_detection_short_range.tflite") as e:
        fm.BlazeFace(model_copy)
    assert e.value.exit_code == 3
    assert "\n" not in str(e.value)


def test_missing_model_raises_model_error(model_copy):
    (model_copy / fm.LANDMARK_FILE).unlink()
    with pytest.raises(ModelError, match="missing: .*face_landmark.tflite"):
        fm.FaceMesh(model_copy)


def test_no_model_folder_raises_model_error(monkeypatch, tmp_path):
    monkeypatch.setattr(fm, "model_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ModelError, match="face models not found"):
        fm.find_model_dir()


def test_validate_raises_model_error_when_models_are_corrupt(monkeypatch, model_copy, tmp_path):
    """The pipeline surfaces ModelError (exit code 3) instead of a report or a traceback."""
    from clipgen import make_clip

    from validator import validate
    from validator.settings import Settings

    (model_copy / fm.LANDMARK_FILE).write_bytes(b"not a model")
    monkeypatch.setattr(fm, "model_dirs", lambda: [model_copy])
    fm.load_models.cache_clear()
    clip = make_clip(tmp_path / "c.mp4", duration_s=0.5, fps=10)
    try:
        with pytest.raises(ModelError, match="face_landmark.tflite"):
            validate(clip, Settings(select=("FAC001",)))
    finally:
        fm.load_models.cache_clear()


def test_anchor_grid_matches_mediapipe_short_range_layout():
    a = fm._ssd_anchors()
    # Stride 8: 16x16 cells x 2 anchors, then stride 16 (3 layers): 8x8 cells x 6 anchors.
    assert np.allclose(a[0], [0.5 / 16, 0.5 / 16]) and np.allclose(a[1], a[0])
    assert np.allclose(a[512], [0.5 / 8, 0.5 / 8]) and np.allclose(a[517], a[512])
    assert np.allclose(a[-1], [7.5 / 8, 7.5 / 8])


def test_extract_script_check_passes_on_bundled_models():
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "extract_models.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ok ") == 4  # face detector, face mesh, iris, segmentation


def test_extract_script_check_fails_on_altered_model(model_copy):
    (model_copy / fm.DETECTOR_FILE).write_bytes(b"x")
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "extract_models.py"),
            "--check",
            "--out",
            str(model_copy),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "BAD face_detection_short_range.tflite" in r.stdout


@pytest.mark.skipif(not WHEEL.is_file(), reason="mediapipe 0.10.21 wheel not downloaded")
def test_extract_script_reproduces_models_from_the_wheel(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "extract_models.py"),
            str(WHEEL),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for name in (fm.DETECTOR_FILE, fm.LANDMARK_FILE):
        assert (tmp_path / name).read_bytes() == (ROOT / "models" / name).read_bytes()


def test_loads_on_opencv_4_without_engine_constants(monkeypatch, model_copy):
    """OpenCV 4.9/4.10 (inside the declared range) have no `cv2.dnn.ENGINE_CLASSIC`: the model
    must still load (one engine there), not die with AttributeError (issue 13, item 1)."""
    import cv2

    calls = []
    real = cv2.dnn.readNetFromTFLite

    def fake_read(*args):
        calls.append(args)
        return real(args[0])

    monkeypatch.delattr(cv2.dnn, "ENGINE_CLASSIC")
    monkeypatch.setattr(cv2.dnn, "readNetFromTFLite", fake_read)
    net = fm._load_net(fm.DETECTOR_FILE, model_copy)
    assert net is not None
    assert calls and len(calls[0]) == 1  # called without an engine argument

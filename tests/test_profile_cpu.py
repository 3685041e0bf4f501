"""scripts/profile_cpu.py: the per-part CPU figures behind README "Speed" (the floor)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location(
        "profile_cpu", ROOT / "scripts" / "profile_cpu.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_part_is_measured_and_the_functions_come_back(shared_media):
    from validator import pipeline
    from validator.analysis import face_models, voice

    before = (pipeline._timed_sink, voice.silero_probs)
    detector, mesh = face_models.load_models()
    acc = _script().profile(str(shared_media / "real" / "lp_d11.mp4"))

    for part in ("faces.on_frame", "faces.on_between_frame", "image.on_frame"):
        assert acc[part][1] > 0, part
    for model in ("model: detector", "model: landmarks", "silero"):
        assert acc[model][1] > 0 and acc[model][0] > 0, model
    # The models run inside the face analyser's sinks, on the same thread: their CPU is part
    # of the sinks' (what the floor subtracts from "the rest" must not be counted twice).
    faces = acc["faces.on_frame"][0] + acc["faces.on_between_frame"][0]
    models = acc["model: detector"][0] + acc["model: landmarks"][0]
    assert models <= faces + 0.01
    assert acc["validate: process CPU"][0] >= faces
    # A second profile in the same process (or any later test) sees the untimed functions.
    assert (pipeline._timed_sink, voice.silero_probs) == before
    assert "forward" not in vars(detector.net) and "forward" not in vars(mesh.net)

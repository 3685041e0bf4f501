"""OpenCV in one thread (`VALIDATOR_CV2_THREADS=1`, what the command line sets) measures exactly
what OpenCV's default thread pool measures: only the speed may differ."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from clipgen import make_clip

from validator import Settings, validate


def _plain(report) -> dict:
    d = report.to_dict()
    d.pop("timings_s")
    return d


def _both(clip: Path) -> tuple[dict, dict]:
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(max(2, before))
        pooled = _plain(validate(clip, Settings()))
        cv2.setNumThreads(1)
        single = _plain(validate(clip, Settings()))
    finally:
        cv2.setNumThreads(before)
    return pooled, single


def test_generated_clip_same_report(tmp_path: Path) -> None:
    pooled, single = _both(make_clip(tmp_path / "c.mp4", duration_s=3.0, size=(640, 360)))
    assert pooled == single


def test_real_speaker_same_report(shared_media: Path) -> None:
    clip = shared_media / "real" / "grid_bbaf2n.mpg"
    pooled, single = _both(clip)
    assert pooled == single
    assert any(r["status"] != "skip" for r in pooled["results"] if r["rule"].startswith("FAC"))


@pytest.mark.parametrize("value", ["1", "2"])
def test_the_setting_is_applied(value: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import validator.analysis.face_models, cv2; print(cv2.getNumThreads())",
        ],
        env={**os.environ, "VALIDATOR_CV2_THREADS": value},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == value

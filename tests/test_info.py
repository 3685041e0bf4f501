"""`validator info CLIP`: media facts without a verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clipgen import make_clip, tone

from validator.commands.info import facts_text, media_facts


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "validator", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_facts_of_a_rotated_clip_with_declared_and_measured_rate(tmp_path):
    # A 1 kHz sine: BS.1770 loudness is its mean square in dB - 0.691, plus the K-weighting's
    # gain at 1 kHz (+0.69 dB).
    audio = tone(3.0, 1000.0, 48000, -20.0)
    clip = make_clip(
        tmp_path / "rot.mp4", duration_s=3.0, size=(320, 240), rotation_cw=90, audio=audio
    )
    f = media_facts(str(clip))
    assert "error" not in f
    assert f["container"]["format"] == "mp4" and f["container"]["duration_s"] == pytest.approx(
        3.0, abs=0.1
    )
    assert [s["type"] for s in f["streams"]] == ["video", "audio"]
    v = f["video"]
    assert v["rotation_deg"] == 90 and (v["display_width"], v["display_height"]) == (240, 320)
    assert v["fps_declared"] == pytest.approx(30.0) and v["fps_measured"] == pytest.approx(
        30.0, abs=0.1
    )
    assert v["frames_decoded"] == 90
    a = f["audio"]
    assert a["codec"] == "aac" and a["sample_rate_hz"] == 48000
    peak = float(np.max(np.abs(audio)))
    assert a["peak_dbfs"] == pytest.approx(20 * np.log10(peak), abs=1.0)  # AAC overshoots a little
    mean_square_db = 10 * np.log10(np.mean(audio.astype(np.float64) ** 2))
    assert a["loudness_lufs"] == pytest.approx(mean_square_db - 0.691 + 0.69, abs=0.5)
    t = facts_text(f)
    assert "rotated 90 deg" in t and "30 fps declared, 30 fps measured" in t and "LUFS" in t


def test_variable_rate_shows_declared_and_measured_apart(tmp_path):
    times = [i / 30 for i in range(30)] + [1.0 + i / 12 for i in range(24)]  # 30 fps then 12 fps
    clip = make_clip(tmp_path / "vfr.mp4", duration_s=3.0, frame_times_s=times)
    v = media_facts(str(clip))["video"]
    assert v["frames_decoded"] == len(times)
    assert v["fps_measured"] < 25


def test_cli_json_text_and_errors(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", audio="silence")
    p = run_cli("info", str(clip), "--format", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["audio"]["loudness_lufs"] is None  # digital silence: no loudness, no crash
    assert "passed" not in doc  # facts, not a verdict
    p = run_cli("info", str(clip), cwd=tmp_path)
    assert p.returncode == 0 and "loudness not measurable" in p.stdout
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 100)
    p = run_cli("info", str(junk), cwd=tmp_path)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "junk.mp4" in p.stderr
    p = run_cli("info", str(tmp_path / "missing.mp4"), cwd=tmp_path)
    assert p.returncode == 2 and "missing.mp4" in p.stderr and "Traceback" not in p.stderr


def test_info_on_a_photo_shows_its_facts(tmp_path):
    """A photo (told by its first bytes, whatever its name) gets its own facts: size as
    displayed after the EXIF orientation, mode, transparency, metadata, decode health."""
    from PIL import Image

    photo = tmp_path / "still.mp4"  # the name says clip; the first bytes say PNG
    Image.new("RGBA", (64, 48), (120, 90, 60, 128)).save(photo, format="PNG")
    p = run_cli("info", str(photo), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "PNG, 64x48 as displayed" in p.stdout and "RGBA 8-bit, transparency" in p.stdout
    assert "no EXIF" in p.stdout and "decode      clean" in p.stdout

    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown turned 90 degrees clockwise
    Image.new("RGB", (80, 40), (200, 180, 160)).save(turned, exif=exif, quality=90)
    doc = json.loads(run_cli("info", str(turned), "--format", "json", cwd=tmp_path).stdout)
    assert doc["kind"] == "photo" and not doc.get("error")
    ph = doc["photo"]
    assert (ph["width"], ph["height"], ph["rotation_deg"], ph["orientation"]) == (40, 80, 90, 6)
    assert ph["has_exif"] and not ph["has_gps"] and ph["decode"] == "clean"

    # A truncated JPEG: its header facts, the damage named, exit 1; a bomb refused by its header.
    cut = tmp_path / "cut.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)).save(cut, quality=95)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    p = run_cli("info", str(cut), cwd=tmp_path)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "JPEG, 400x400" in p.stdout and "truncated" in p.stdout
    assert p.stderr.count("\n") == 1 and "cut.jpg: not a readable image" in p.stderr

"""`validator prepare` on photos: what it repairs, what it refuses, and its safety."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import photogen as pg
import pytest
from PIL import Image

from validator import validate
from validator.errors import UsageError
from validator.prepare import PrepareOptions, prepare


def _sha(p) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def portrait(shared_media):
    return pg.portrait(shared_media)


@pytest.mark.realmedia
def test_off_centre_photo_is_cropped_centred(portrait, tmp_path):
    src = pg.save(pg.shift_left(portrait, 0.3), tmp_path / "off.jpg", quality=95)
    digest = _sha(src)
    res = prepare(src, tmp_path / "out.jpg")
    assert _sha(src) == digest  # the input is never written
    assert res.before.result("PHO011").failed
    assert res.after is not None and res.after.passed
    assert res.after.result("PHO011").status == "pass"
    assert any(f.action == "crop" for f in res.plan.fixes)


@pytest.mark.realmedia
def test_small_subject_is_cropped_without_upscaling(portrait, tmp_path):
    src = pg.save(pg.small_in_frame(portrait, 0.5), tmp_path / "small.jpg", quality=95)
    res = prepare(src, tmp_path / "out.png")
    assert res.before.result("PHO007").failed and res.after.result("PHO007").status == "pass"
    with Image.open(tmp_path / "out.png") as im:
        assert im.format == "PNG" and im.mode == "RGB"
        w, h = im.size
    # The crop keeps the source's pixels 1:1: never larger than the source region.
    assert min(w, h) >= 512 and h <= 1080


@pytest.mark.realmedia
def test_too_few_pixels_is_said_not_upscaled(portrait, tmp_path):
    src = pg.save(pg.small_in_frame(portrait, 0.3), tmp_path / "tiny.jpg", quality=95)
    res = prepare(src, tmp_path / "out.jpg")
    assert res.after is not None and res.after.result("PHO007").failed
    assert any("never upscales" in n or "only" in n for n in res.plan.notes)
    assert "PHO007" in {u.rule for u in res.plan.unfixable}
    assert res.exit_code == 1


@pytest.mark.realmedia
def test_exif_rotation_applied_and_location_dropped(portrait, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 0.0)
    src = tmp_path / "phone.jpg"
    Image.fromarray(pg.rotate_pixels(portrait, 270)).save(src, quality=95, exif=exif)
    assert validate(src).media["has_gps"]
    res = prepare(src, tmp_path / "out.jpg")
    assert res.after.passed
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.size == (810, 1080) and not im.getexif()
    assert res.after.media["orientation"] == 1 and not res.after.media["has_gps"]


@pytest.mark.realmedia
def test_sideways_photo_without_tag_is_turned(portrait, tmp_path):
    src = pg.save(pg.rotate_pixels(portrait, 90), tmp_path / "side.png")
    res = prepare(src, tmp_path / "out.jpg")
    assert res.before.result("PHO005").failed
    assert res.after.result("PHO005").status == "pass" and res.after.passed


def test_webp_cmyk_16bit_converted_to_8bit_srgb(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (600, 600, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.webp")
    res = prepare(tmp_path / "a.webp", tmp_path / "a.jpg")
    assert res.before.result("PHO001").failed and res.after.result("PHO001").status == "pass"
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg")
    res = prepare(tmp_path / "c.jpg", tmp_path / "c_out.jpg")
    assert res.after.result("PHO001").status == "pass"
    with Image.open(tmp_path / "c_out.jpg") as im:
        assert im.mode == "RGB"


def test_output_name_and_input_safety(tmp_path):
    src = tmp_path / "p.png"
    Image.fromarray(np.zeros((600, 600, 3), np.uint8)).save(src)
    with pytest.raises(UsageError, match="JPEG or PNG"):
        prepare(src, tmp_path / "out.mp4")
    with pytest.raises(UsageError, match="input file itself"):
        prepare(src, src, options=PrepareOptions(overwrite=True))
    (tmp_path / "exists.jpg").write_bytes(b"x")
    with pytest.raises(UsageError, match="already exists"):
        prepare(src, tmp_path / "exists.jpg")


def test_cli_prepare_photo_json_and_unreadable(tmp_path):
    src = tmp_path / "p.png"
    Image.fromarray(np.zeros((600, 600, 3), np.uint8)).save(src)
    p = subprocess.run(
        [sys.executable, "-m", "validator", "prepare", str(src), "-o", str(tmp_path / "o.jpg"),
         "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    doc = json.loads(p.stdout)
    assert doc["plan"]["kind"] == "photo" and doc["after"]["kind"] == "photo"
    # The text report of a photo that still fails (no face) asks for a new photo, not a clip.
    p = subprocess.run(
        [sys.executable, "-m", "validator", "prepare", str(src), "-o", str(tmp_path / "t.jpg")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 1 and "still fails (PHO003)" in p.stdout, p.stdout
    assert "these need a new photo or a better source" in p.stdout
    bad = tmp_path / "cut.jpg"
    full = tmp_path / "full.jpg"
    Image.fromarray(np.zeros((600, 600, 3), np.uint8)).save(full)
    bad.write_bytes(full.read_bytes()[:300])
    p = subprocess.run(
        [sys.executable, "-m", "validator", "prepare", str(bad), "-o", str(tmp_path / "o2.jpg")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "Nothing can be written" in p.stdout and not (tmp_path / "o2.jpg").exists()


@pytest.mark.realmedia
def test_heic_is_read_measured_and_converted(portrait, tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    src = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(portrait).save(src, format="HEIF", quality=90)
    rep = validate(src)
    assert rep.result("PHO001").failed and "JPEG or PNG" in rep.result("PHO001").message
    assert {r.rule for r in rep.failures} == {"PHO001"}  # everything else measured and fine
    res = prepare(src, tmp_path / "out.jpg")
    assert res.after.passed and res.after.media["format"] == "jpeg"


def test_huge_photo_is_downscaled(tmp_path):
    src = tmp_path / "huge.jpg"
    Image.fromarray(np.full((6000, 4500, 3), 128, np.uint8)).save(src, quality=80)
    res = prepare(src, tmp_path / "out.jpg")
    assert any(f.action == "scale" for f in res.plan.fixes)
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.size == (3072, 4096)

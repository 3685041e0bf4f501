"""The photo path on real pictures, derived defects, bad inputs, folders and reports."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import photogen as pg
import pytest
from PIL import Image

from validator import Settings, validate
from validator.render import render

ERRORS = {f"PHO{i:03d}" for i in (1, 2, 3, 4, 5, 6, 7, 9, 10)}


def failing_errors(report) -> set[str]:
    return {r.rule for r in report.results if r.failed and r.severity == "error"}


@pytest.fixture(scope="module")
def portrait(shared_media):
    return pg.portrait(shared_media)


@pytest.mark.realmedia
def test_clean_portrait_passes_every_error_rule(portrait, tmp_path):
    rep = validate(pg.save(portrait, tmp_path / "clean.jpg", quality=95))
    assert rep.kind == "photo" and rep.passed
    assert failing_errors(rep) == set()
    assert rep.result("PHO013").status == "skip"
    assert {r.rule for r in rep.results} == {f"PHO{i:03d}" for i in range(1, 14)}
    assert rep.media["width"] == 810 and rep.media["format"] == "jpeg"


DEFECTS = [
    ("crop_top", lambda p: pg.crop_top(p, 0.15), "PHO006"),
    ("dark", lambda p: pg.darken(p, 0.2), "PHO010"),
    ("shadow", lambda p: pg.side_shadow(p, 0.2), "PHO010"),
    ("blur", lambda p: pg.blur(p, 2.0), "PHO009"),
    ("upscaled", lambda p: pg.upscaled_from(p, 0.25), "PHO009"),
    ("two_people", pg.side_by_side, "PHO004"),
    ("downscaled", lambda p: pg.downscale(p, 400), "PHO002"),
    ("sideways_no_exif", lambda p: pg.rotate_pixels(p, 90), "PHO005"),
    ("tilted", lambda p: pg.tilt(p, 30), "PHO005"),
    ("small", lambda p: pg.small_in_frame(p, 0.4), "PHO007"),
]


@pytest.mark.realmedia
@pytest.mark.parametrize(("name", "make", "rule"), DEFECTS, ids=[d[0] for d in DEFECTS])
def test_each_derived_defect_fails_its_rule_and_no_unrelated_error(
    portrait, tmp_path, name, make, rule
):
    rep = validate(pg.save(make(portrait), tmp_path / f"{name}.png"))
    assert failing_errors(rep) == {rule}, [(r.rule, r.message) for r in rep.failures]


@pytest.mark.realmedia
def test_real_eyes_turned_aside_fail_pho005_on_gaze(shared_media, tmp_path):
    """lp_d0 frame 25: head frontal (yaw -4), eyes turned hard to the image's right."""
    rep = validate(pg.save(pg.clip_frame(shared_media, "lp_d0.mp4", 25), tmp_path / "g.png"))
    r = rep.result("PHO005")
    assert failing_errors(rep) == {"PHO005"} and "eyes look" in r.message and r.measured > 0.2
    # The same face looking into the lens (lp_d6 frame 300, |gaze| 0.002) is not flagged.
    rep = validate(pg.save(pg.clip_frame(shared_media, "lp_d6.mp4", 300), tmp_path / "s.png"))
    assert rep.result("PHO005").status == "pass"


@pytest.mark.realmedia
def test_background_pattern_is_not_a_second_person(shared_media, tmp_path):
    """lp_src_s18 frame 225: plants behind her give a box the mesh half-confirms (0.55)."""
    rep = validate(pg.save(pg.clip_frame(shared_media, "lp_src_s18.mp4", 225), tmp_path / "r.png"))
    assert rep.result("PHO004").status == "pass" and len(rep.evidence.photo.faces) == 2


@pytest.mark.realmedia
def test_real_closed_eyes_warn_and_nothing_else_fails(shared_media, tmp_path):
    rep = validate(pg.save(pg.kim_frame(shared_media, 30), tmp_path / "blink.jpg", quality=95))
    assert failing_errors(rep) == set() and rep.passed
    r = rep.result("PHO012")
    assert r.failed and r.severity == "warning" and r.measured < 0.15


@pytest.mark.realmedia
def test_sideways_with_exif_orientation_is_measured_upright(portrait, tmp_path):
    stored = pg.rotate_pixels(portrait, 270)  # as a phone stores a portrait
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    rep = validate(path)
    assert rep.media["orientation"] == 6 and rep.media["rotation_deg"] == 90
    assert (rep.media["width"], rep.media["height"]) == (810, 1080)
    assert failing_errors(rep) == set()


@pytest.mark.realmedia
def test_tight_crop_warns_for_shoulders_and_stricter_for_phoenix_45(portrait, tmp_path):
    rep = validate(pg.save(pg.crop_tight_bottom(portrait, 0.55), tmp_path / "tight.png"))
    assert failing_errors(rep) == set()
    assert rep.result("PHO008").failed and rep.result("PHO008").severity == "warning"
    clean = pg.save(portrait, tmp_path / "clean.png")
    assert validate(clean).result("PHO008").status == "pass"
    # Her shoulders run past both sides of the 810 px crop: phoenix-4.5 wants both in frame.
    assert validate(clean, Settings(profile="phoenix-4.5")).result("PHO008").failed


@pytest.mark.realmedia
def test_shared_photos(shared_media):
    photos = shared_media / "photos"
    for f in sorted(photos.iterdir()):
        rep = validate(f)
        assert rep.kind == "photo" and rep.result("PHO003").status == "pass", f.name
        assert rep.result("PHO004").status == "pass", f.name
    small = validate(photos / "st_people_0.png")
    assert failing_errors(small) == {"PHO002"}
    rgba = validate(photos / "st_happy1.png")
    assert rgba.result("PHO001").severity == "warning" and rgba.media["has_alpha"]
    assert validate(photos / "st_art_16.png").result("PHO006").failed  # face cut at the top
    assert validate(photos / "lp_s0.jpg").result("PHO007").failed  # full figure, small face


# --- bad inputs -------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "validator", *args], capture_output=True, text=True, timeout=120
    )


def _rgb(w=600, h=800, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_truncated_jpeg_is_pho001_and_nothing_else_is_judged(tmp_path):
    full = tmp_path / "full.jpg"
    Image.fromarray(_rgb()).save(full, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[:4000])
    rep = validate(cut)
    r = rep.result("PHO001")
    assert r.failed and "truncated" in r.message
    assert all(x.status == "skip" for x in rep.results if x.rule not in ("PHO001", "PHO002"))
    p = _cli("check", str(cut))
    assert p.returncode == 1 and "Traceback" not in p.stderr


def _header_png(path, w: int, h: int) -> None:
    """A PNG declaring w x h whose data stops after a few rows (what matters is the header)."""
    raw = zlib.compressobj(9)
    body = b"".join(raw.compress(b"\x00" * (w + 1)) for _ in range(50)) + raw.flush()

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    path.write_bytes(png + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def test_png_over_the_decode_limit_is_refused_before_decoding(tmp_path):
    _header_png(tmp_path / "big.png", 8000, 7000)  # 56 MP: Pillow would decode it
    r = validate(tmp_path / "big.png").result("PHO001")
    assert r.failed and "8000x7000 (56 MP)" in r.message and "50 MP limit" in r.message


def test_png_bomb_refused_from_its_header(tmp_path):
    """30000x30000 grey PNG (a 900 MP image in ~1 MB): refused before decoding."""
    w = h = 30000
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * w
    body = b"".join(raw.compress(row) for _ in range(200)) + raw.flush()  # rows cut short

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    path = tmp_path / "bomb.png"
    path.write_bytes(png + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    rep = validate(path)
    r = rep.result("PHO001")
    assert r.failed and "30000x30000" in r.message and "limit" in r.message
    p = _cli("check", str(path))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    # The summary line names what could not be read: an image, not "media" (a clip's word).
    assert "the file could not be read as an image" in p.stdout, p.stdout


def test_cmyk_16bit_alpha_and_animated(tmp_path):
    Image.fromarray(_rgb()).convert("CMYK").save(tmp_path / "cmyk.jpg")
    r = validate(tmp_path / "cmyk.jpg").result("PHO001")
    assert r.failed and r.severity == "warning" and "CMYK" in r.message
    g16 = (np.linspace(0, 65535, 600 * 800).reshape(800, 600)).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    rep = validate(tmp_path / "g16.png")
    assert rep.media["bit_depth"] == 16 and rep.result("PHO001").severity == "warning"
    rgba = np.dstack([_rgb(), np.full((800, 600), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert validate(tmp_path / "a.png").media["has_alpha"]
    frames = [Image.fromarray(_rgb(64, 64, seed=i)) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    r = validate(tmp_path / "anim.gif").result("PHO001")
    assert r.failed and r.severity == "error" and "3 frames" in r.message


def test_kind_comes_from_content_not_name(tmp_path):
    Image.fromarray(_rgb()).save(tmp_path / "really_a_photo.mp4", format="PNG")
    assert validate(tmp_path / "really_a_photo.mp4").kind == "photo"
    (tmp_path / "notes.jpg").write_text("not a picture\n")
    rep = validate(tmp_path / "notes.jpg")
    assert rep.kind == "video" and rep.result("MED001").failed
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert validate(tmp_path / "empty.jpg").result("MED001").failed


# --- reports and folders ---------------------------------------------------------------------


def test_photo_json_has_kind_and_no_segments_and_round_trips(tmp_path):
    from validator.report import Report

    Image.fromarray(_rgb()).save(tmp_path / "p.png")
    doc = validate(tmp_path / "p.png").to_dict()
    assert list(doc)[:2] == ["schema_version", "kind"] and doc["kind"] == "photo"
    assert "segments" not in doc
    assert {"width", "height", "format", "orientation"} <= set(doc["media"])
    back = Report.from_dict(json.loads(json.dumps(doc)))
    assert back.kind == "photo" and back.to_dict() == doc
    for fmt in ("text", "junit", "html"):
        assert render(fmt, [validate(tmp_path / "p.png")])


def test_folder_with_photos_and_clips_gives_one_report_per_file(tmp_path):
    from clipgen import make_clip

    d = tmp_path / "mixed"
    d.mkdir()
    make_clip(d / "clip.mp4", duration_s=1.0)
    Image.fromarray(_rgb()).save(d / "photo.jpg")
    Image.fromarray(_rgb()).save(d / "photo2.png")
    p = _cli("check", str(d), "--format", "json", "--no-cache")
    assert p.returncode in (0, 1), p.stderr
    docs = json.loads(p.stdout)
    docs = docs if isinstance(docs, list) else docs.get("reports", docs)
    kinds = sorted(x.get("kind", "video") for x in docs)
    assert kinds == ["photo", "photo", "video"]


@pytest.mark.realmedia
def test_html_report_draws_the_photo(portrait, tmp_path):
    path = pg.save(portrait, tmp_path / "p.jpg")
    out = tmp_path / "r.html"
    p = _cli("check", str(path), "--format", "html", "-o", str(out), "--no-cache")
    assert p.returncode == 0, p.stderr
    html = out.read_text()
    assert "What the models saw" in html and "data:image/jpeg;base64," in html
    assert "estimated top of the skull" in html


def test_heif_without_a_decoder_is_a_clear_pho001(tmp_path, monkeypatch):
    import validator.photo.load as load

    monkeypatch.setattr(load, "_register_heif", lambda: False)
    f = tmp_path / "x.heic"
    f.write_bytes(b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100)
    r = validate(f).result("PHO001")
    assert r.failed and "no HEIF decoder" in r.message and "pillow-heif" in r.message


def test_cached_photo_report_keeps_its_picture(tmp_path):
    rgb = np.zeros((700, 600, 3), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "p.png")
    cache = tmp_path / "cache"
    for _ in range(2):
        p = _cli("check", str(tmp_path / "p.png"), "--format", "html", "--cache-dir", str(cache))
        assert p.returncode == 1 and "What the models saw" in p.stdout
    assert "data:image/jpeg;base64," in p.stdout


def test_a_selection_with_no_rule_for_the_input_is_refused_not_passed(tmp_path):
    """`--select MED` on a photo (or `--select PHO` on a clip) judges nothing: refused as a
    usage error (exit 2) naming the file, like a selection that matches no rule ID, instead
    of a PASS with zero rules evaluated.  In a folder run the other files are still judged."""
    from clipgen import make_clip

    from validator.errors import UsageError

    rng = np.random.default_rng(0)
    photo = pg.save(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), tmp_path / "p.png")
    clip = make_clip(tmp_path / "c.mp4")
    with pytest.raises(UsageError, match=r"p\.png: no selected rule applies to a photo"):
        validate(photo, Settings(select=("MED",)))
    with pytest.raises(UsageError, match=r"c\.mp4: no selected rule applies to a video clip"):
        validate(clip, Settings(select=("PHO",)))
    assert validate(photo, Settings(select=("PHO001",))).result("PHO001").status == "pass"

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "validator", "check", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    p = cli("--select", "MED", str(photo))
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "no selected rule applies to a photo" in p.stderr
    assert "Traceback" not in p.stderr
    p = cli("--select", "MED", "--format", "json", str(tmp_path))  # the folder: clip and photo
    assert p.returncode == 2
    assert "c.mp4" in p.stdout and "no selected rule applies to a photo" in p.stderr

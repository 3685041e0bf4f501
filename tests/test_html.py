"""HTML report: content and self-containment on hand-built reports (milliseconds), the timeline
lanes built from `stats_rows()` columns, and a real headless-Chromium render of the sample clip
and of a failing generated clip (skipped when chromium is not installed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from clipgen import make_clip
from fakedevices import CHROMIUM, HEADLESS_ARGS

from validator.analysis.thumbnails import ThumbnailAnalyser
from validator.evidence import Evidence, Frame, MediaInfo
from validator.registry import Span
from validator.render import render
from validator.report import Report, Result
from validator.timeline import Timeline

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_media" / "sample.mp4"


class _Rows:
    def __init__(self, rows):
        self.rows = rows

    def stats_rows(self):
        return self.rows


def _media(duration_s: float = 10.0) -> MediaInfo:
    return MediaInfo(
        container="mp4",
        format_name="mov,mp4",
        duration_s=duration_s,
        size_bytes=1000,
        has_video=True,
        has_audio=True,
        width=320,
        height=240,
        fps=30.0,
        video_codec="h264",
        audio_codec="aac",
    )


def _thumbs(duration_s: float = 10.0):
    a = ThumbnailAnalyser(None, None)
    for i in range(int(duration_s * 5)):
        img = np.full((240, 320, 3), (i * 5) % 255, np.uint8)
        a.on_frame(Frame(i, i / 5, img, 1.0))
    return a.finish(None)


def _evidence(with_faces: bool = True) -> Evidence:
    ev = Evidence(path="clip.mp4", size_bytes=1000)
    ev.media = _media()
    ev.voice = _Rows(
        [
            {
                "t_s": i * 0.032,
                "stream": "audio",
                "speech": int(i * 0.032 < 5),
                "level_dbfs": -20.0 if i * 0.032 < 5 else -60.0,
            }
            for i in range(312)
        ]
    )
    if with_faces:
        ev.faces = _Rows(
            [
                {
                    "t_s": i / 5,
                    "stream": "video",
                    "face_height_ratio": 0.3,
                    "mouth_open": None if i == 7 else 0.1 * (i % 3),
                }
                for i in range(50)
            ]
        )
    else:
        ev.missing["faces"] = "the face model is not installed"
    ev.image = _Rows([{"t_s": i / 5, "stream": "video", "img_brightness": 0.5} for i in range(50)])
    ev.thumbnails = _thumbs()
    return ev


def _report(ev=None, path: str = "clip.mp4") -> Report:
    results = [
        Result("MED001", "unreadable-media", "error", "pass", "readable mp4 file"),
        Result(
            "FAC003",
            "face-too-small",
            "error",
            "fail",
            "face height is 18% of the frame (needs at least 25%)",
            0.18,
            0.25,
            "ratio",
            "sit closer to the camera",
            (Span(6.0, 8.0),),
        ),
        Result(
            "MED010",
            "variable-frame-rate",
            "warning",
            "fail",
            "20% of intervals vary",
            0.2,
            0.02,
            "ratio",
            "constant frame rate",
            (Span(2.0, 3.0),),
        ),
        Result(
            "MED008",
            "duration-out-of-range",
            "error",
            "fail",
            "10.0 s long",
            10.0,
            58.0,
            "s",
            "record one take",
        ),
        Result(
            "AUD001",
            "background-noise",
            "error",
            "skip",
            "not evaluated: the file has no audio stream",
        ),
    ]
    return Report(
        path=path,
        size_bytes=1000,
        sha256="ab" * 32,
        profile="phoenix-4",
        fail_on="error",
        results=results,
        media=_media().to_dict(),
        segments={
            "speaking": {"start_s": 0.0, "end_s": 5.0},
            "listening": {"start_s": 5.0, "end_s": 10.0},
        },
        evidence=ev,
    )


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?!data:|#)|url\(|<script|<link|@import""", re.I)


def test_page_has_verdict_rules_timeline_and_thumbnails():
    page = render("html", [_report(_evidence())])
    assert page.startswith("<!doctype html>")
    assert ">FAIL<" in page
    for text in (
        "FAC003",
        "face height is 18% of the frame (needs at least 25%)",
        "Fix: sit closer to the camera",
        "0.18 / 0.25 ratio",
        "not evaluated: the file has no audio stream",
        "speaking 0:00.0-0:05.0",
        "listening 0:05.0-0:10.0",
        "voice activity",
        "audio level",
        "mouth opening",
        "face size",
        "brightness",
        "Frames that matter",
        "Filmstrip",
    ):
        assert text in page, text
    # both failing spans are drawn across the lanes and on the rule's own row
    assert page.count('class="failspan"') == 2 and page.count('class="failrow"') == 2
    # the worst-moment thumbnails of the two rules with a place in time, plus the filmstrip
    assert page.count('<figure class="rule') == 2
    assert page.count("data:image/jpeg;base64,") >= 2 + 6
    assert "Failing for the clip as a whole (no place in time): MED008" in page
    assert not EXTERNAL.search(page)


def test_missing_analyser_drops_its_lanes_and_says_why():
    page = render("html", [_report(_evidence(with_faces=False))])
    assert "mouth opening" not in page.split("Not shown")[0]
    assert "Not shown: mouth opening (the face model is not installed)." in page
    assert "Not shown: face size (the face model is not installed)." in page
    assert "voice activity" in page and "brightness" in page


def test_gaps_stay_gaps():
    tl = Timeline.from_evidence(_evidence(), _report().results)
    mouth = next(lane for lane in tl.lanes if lane.key == "mouth")
    assert mouth.values[7] is None and mouth.values[8] is not None
    # rows of other analysers on the same stream are not read as gaps
    face = next(lane for lane in tl.lanes if lane.key == "face")
    assert None not in face.values and len(face.values) == 50


def test_report_without_evidence_still_renders_segments_and_spans():
    page = render("html", [_report(None)])
    assert "not available for this report" in page
    assert page.count('class="failspan"') == 2 and "speaking 0:00.0-0:05.0" in page


def test_passing_consent_statement_is_marked_on_the_timeline():
    """Where the consent statement was heard shows on a row of its own (green, not a failure),
    one mark for the CON rules that share its span; nothing else on the page changes."""
    plain = _report(None)
    report = _report(None)
    heard = (Span(0.5, 4.2),)
    for rule_id, name in (
        ("CON001", "consent-statement-missing"),
        ("CON002", "consent-statement-incomplete"),
        ("CON003", "consent-name-mismatch"),
    ):
        report.results.append(
            Result(rule_id, name, "error", "pass", "heard the statement", spans=heard)
        )
    page, before = render("html", [report]), render("html", [plain])
    assert 'class="passrow"' not in before
    assert page.count('class="passrow"') == 1
    assert "consent statement heard 0:00.5-0:04.2 (CON001, CON002, CON003 pass)" in page
    assert page.count('class="failspan"') == before.count('class="failspan"') == 2
    heights = [
        int(re.search(r'<svg class="timeline" viewBox="0 0 \d+ (\d+)"', p).group(1))
        for p in (before, page)
    ]
    assert heights[1] > heights[0]  # the row has room of its own


def test_text_is_escaped():
    page = render("html", [_report(_evidence(), path='<script>alert("x")</script>.mp4')])
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_stored_timeline_renders_the_same_page():
    rep = _report(_evidence())
    live = render("html", [rep])
    stored = Report.from_dict(rep.to_dict())
    stored.timeline = Timeline.from_dict(
        Timeline.from_evidence(rep.evidence, rep.results).to_dict()
    )
    strip = re.compile(r"generated [^.]*\.")
    assert strip.sub("", render("html", [stored])) == strip.sub("", live)


def test_many_clips_one_page_with_summary():
    ok = _report(None, "ok.mp4")
    ok.results = [r for r in ok.results if not r.failed]
    page = render("html", [ok, _report(_evidence(), "bad.mp4")])
    assert "1 of 2 clips passed" in page
    assert 'href="#clip-1"' in page and 'id="clip-2"' in page


def test_thumbnail_memory_is_bounded_and_spread():
    a = ThumbnailAnalyser(None, None, max_thumbs=20)
    img = np.zeros((720, 1280, 3), np.uint8)
    for i in range(3000):  # 10 minutes at 5 fps
        a.on_frame(Frame(i, i / 5, img, 1.0))
    th = a.finish(None)
    assert len(th) < 20 and th.width == 240 and th.height == 135
    assert th.times_s[0] == 0.0 and th.times_s[-1] > 500  # still covers the whole clip
    assert th.nearest(300.0)[0] == pytest.approx(300.0, abs=600 / len(th))


# --- real browser ---------------------------------------------------------------------------

# The warning band over a lane: #e08600 at 16% over the lane background #f4f6f8.
BAND_RGB = np.array([241, 228, 208])


def _screenshot(page: Path, out: Path, tmp: Path) -> np.ndarray:
    cmd = [
        CHROMIUM,
        *HEADLESS_ARGS,
        f"--user-data-dir={tmp / 'profile'}",
        f"--screenshot={out}",
        "--window-size=1200,1000",
        "--hide-scrollbars",
        page.as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=90, check=False)
    img = cv2.imread(str(out))
    assert img is not None, f"chromium wrote no screenshot of {page}"
    return img[:, :, ::-1]  # RGB


def _band_pixels(rgb: np.ndarray) -> int:
    return int((np.abs(rgb.astype(int) - BAND_RGB).max(axis=2) <= 6).sum())


def _check_html(clip: Path, out: Path, *extra: str) -> None:
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "validator",
            "check",
            str(clip),
            "--format",
            "html",
            "-o",
            str(out),
            "--select",
            "MED",
            "--no-cache",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert p.returncode in (0, 1), p.stderr
    assert out.is_file()


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


@needs_chromium
def test_chromium_marks_failing_span(tmp_path):
    # A failing clip: 30 fps, with 1.5-3.0 s recorded at 12 fps (MED010, a warning, with a span).
    times = [i / 30 for i in range(45)] + [1.5 + i / 12 for i in range(1, 19)]
    times += [times[-1] + (i + 1) / 30 for i in range(30)]
    vfr = make_clip(tmp_path / "vfr.mp4", duration_s=4.0, size=(320, 240), frame_times_s=times)
    page = tmp_path / "vfr.html"
    _check_html(vfr, page)
    text = page.read_text()
    assert 'class="failspan"' in text and ">FAIL<" in text and not EXTERNAL.search(text)
    shot = _screenshot(page, tmp_path / "vfr.png", tmp_path)
    assert shot.std() > 20  # not a blank page
    # The 1.5 s band over the timeline's lanes is visible: at 1200 px it is ~300 px wide and as
    # tall as the lanes.  A page without a failing span has none of this colour (next test).
    assert _band_pixels(shot) > 5000, _band_pixels(shot)


@needs_chromium
@pytest.mark.skipif(not SAMPLE.is_file(), reason="sample_media/sample.mp4 is absent")
def test_chromium_renders_sample_clip(tmp_path):
    page = tmp_path / "sample.html"
    _check_html(
        SAMPLE, page, "--sample-fps", "0.5"
    )  # the fewest frames: this test is about rendering
    text = page.read_text()
    assert ">PASS<" in text and "Filmstrip" in text and "data:image/jpeg;base64," in text
    assert "speaking 0:" in text and "voice activity" in text and not EXTERNAL.search(text)
    shot = _screenshot(page, tmp_path / "sample.png", tmp_path)
    assert shot.std() > 20
    assert _band_pixels(shot) < 500  # nothing fails: no band


def test_unreadable_file_has_no_timeline_but_renders():
    rep = _report(None)
    rep.media = None
    rep.segments = {"speaking": None, "listening": None}
    rep.results = [
        Result("MED001", "unreadable-media", "error", "fail", "not a media file", hint="re-export")
    ]
    page = render("html", [rep])
    assert "No timeline: the file could not be read as media." in page and ">FAIL<" in page


def test_clips_that_could_not_be_processed_are_listed():
    from validator.render.html import render as render_html

    page = render_html(
        [_report(None, "ok.mp4")], errors=[{"path": "x.mp4", "message": "boom", "exit_code": 3}]
    )
    assert "0 of 2 clips passed" in page
    assert "could not be checked: boom" in page and ">ERROR<" in page

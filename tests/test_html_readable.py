"""HTML report, issue 13 item 6: long findings do not wash the timeline, labels are never cut,
lanes show the threshold that judges them, the frames that matter outline the face and enlarge
the mouth, passing rows are folded and one skip reason is one row."""

from __future__ import annotations

import re

import numpy as np
from test_html import EXTERNAL, _evidence, _report

from validator.analysis.thumbnails import ThumbnailAnalyser
from validator.evidence import Frame
from validator.registry import Span
from validator.render import render
from validator.report import Result
from validator.settings import Settings
from validator.timeline import Still, Timeline


def _with(report, *results):
    report.results = [*report.results, *results]
    return report


def test_a_finding_covering_the_clip_does_not_wash_the_lanes():
    long = Result("MTH003", "audio-video-mismatch", "error", "fail", "x", spans=(Span(0.2, 9.9),))
    page = render("html", [_with(_report(_evidence()), long)])
    washes = re.findall(r'<rect class="failspan"[^>]*><title>([A-Z]+\d+)', page)
    assert "MTH003" not in washes and {"FAC003", "MED010"} <= set(washes)
    assert page.count('class="failedge"') == 2  # its two edges, dashed
    assert page.count('class="failrow"') == 3  # still drawn on its own row


def test_rule_labels_are_never_cut():
    r = Result(
        "SEG001", "speaking-segment-too-short", "error", "fail", "x", spans=(Span(1.0, 2.0),)
    )
    page = render("html", [_with(_report(_evidence()), r)])
    assert "SEG001 speaking-segment-too-short<" in page and "…" not in page
    label = re.search(r"<text [^>]*>SEG001 speaking-segment-too-short<", page).group(0)
    assert 'textLength="' in label  # squeezed to the gutter's width, not clipped


def test_lanes_show_their_thresholds_from_the_settings():
    rep = _report(_evidence())
    rep.settings = Settings().to_dict()
    page = render("html", [rep])
    lines = re.findall(r'<line class="threshold"[^>]*><title>([^<]+)</title>', page)
    assert "MTH001 lips apart above 0.1" in lines
    assert "FAC003 too small below 0.25" in lines
    assert any(t.startswith("IMG002 too dark below") for t in lines)
    rep.settings = Settings(params={"MTH001": {"open_ratio": 0.2}}).to_dict()
    assert "MTH001 lips apart above 0.2" in render("html", [rep])


def test_frames_that_matter_outline_the_face_and_enlarge_the_mouth():
    ev = _evidence()
    rep = _report(ev)
    mth = Result(
        "MTH001", "lips-open-while-listening", "error", "fail", "x", spans=(Span(6.0, 8.0),)
    )
    rep.results.append(mth)
    tl = Timeline.from_evidence(ev, rep.results)
    mouth = tl.stills[0].jpeg  # any JPEG will do as the mouth picture
    stills = tuple(
        Still(
            s.t_s,
            s.jpeg,
            s.rule,
            s.caption,
            (0.3, 0.2, 0.7, 0.8),
            mouth if s.rule == "MTH001" else None,
        )
        for s in tl.stills
    )
    rep.timeline = Timeline(tl.duration_s, tl.lanes, stills, tl.missing)
    page = render("html", [rep])
    assert page.count('class="facebox"') == 3  # FAC003, MED010 and MTH001 frames
    assert page.count('<img class="mouth"') == 1  # only for the mouth rule
    assert "mouth opening" in page.split("Frames that matter")[1].split("Filmstrip")[0]
    assert not EXTERNAL.search(page)
    # the face box and mouth survive the cache
    again = Timeline.from_dict(rep.timeline.to_dict())
    assert again.stills[0].face_box == (0.3, 0.2, 0.7, 0.8)
    assert any(s.mouth_jpeg == mouth for s in again.stills)


def test_thumbnails_keep_face_box_and_mouth_crop_from_the_faces_notes():
    a = ThumbnailAnalyser(None, None)
    img = np.full((480, 640, 3), 128, np.uint8)
    lm = np.zeros((468, 2), np.float32)
    lm[:, 0], lm[:, 1] = 320, 300
    lm[61], lm[291], lm[0], lm[17] = (290, 330), (350, 330), (320, 318), (320, 345)
    f = Frame(0, 0.0, img, 1.0)
    f.notes["face_box"] = (240, 150, 400, 380)
    f.notes["face_landmarks"] = lm
    a.on_frame(f)
    a.on_frame(Frame(1, 0.4, img, 1.0))  # no face on this one
    th = a.finish(None)
    box, mouth = th.extras(0.0)
    assert box == (240 / 640, 150 / 480, 400 / 640, 380 / 480)
    assert mouth is not None and mouth[:2] == b"\xff\xd8"
    import cv2

    crop = cv2.imdecode(np.frombuffer(mouth, np.uint8), cv2.IMREAD_COLOR)
    assert crop.shape[1] == 160  # at analysis resolution, not from the 240 px thumbnail
    assert th.extras(0.4) == (None, None)


def test_passing_rows_are_folded_and_one_skip_reason_is_one_row():
    rep = _report(_evidence())
    reason = "not evaluated: the file could not be read: not a media file"
    rep.results = (
        [Result(f"IMG00{i}", f"rule-{i}", "error", "skip", reason) for i in range(1, 9)]
        + [Result("MED002", "container-not-mp4", "error", "pass", "mp4")]
        + rep.results
    )
    page = render("html", [rep])
    assert page.count(reason) == 1 and "IMG001 IMG002" in page and "8 rules" in page
    folded = page.split('<details class="passes">')[1].split("</details>")[0]
    assert "2 rules passed" in folded and "MED002" in folded and "MED001" in folded
    assert "MED002" not in page.split('<details class="passes">')[0].split("<h3>Rules</h3>")[1]

"""The local page in a real browser: Debian's Chromium driven by Playwright for Python (which
downloads nothing: it is given /usr/bin/chromium).  One server and one browser for the module.

A passing clip (real GRID footage composited by facecomp, H.264/AAC MP4), a failing clip (the
same picture in a QuickTime .mov: MED002, which `prepare` repairs) and a real photo are dropped
through the file input.  The server runs with the relaxed MED rules the generated clips are
made for (clipgen.RELAX_MED_ARGS) plus PHO001 (a selection with no rule for a photo is refused
for it, so the photo gets the cheap format rule); the page shows that selection.  Every request the page
makes is intercepted and must go to the local server.

The photo: `validate("photo.jpg")` takes the photo path, a report of kind "photo" judged by the
PHO rules; its card shows a verdict and exactly the failing rule IDs of the server's report.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from clipgen import RELAX_MED_ARGS, make_clip
from facecomp import DURATION_S, FPS, H, W, frame_fn, make_face_clip
from fakedevices import BROWSER_MARKS, CHROMIUM, HEADLESS_ARGS, pw
from webserver import Served

LAUNCH_ARGS = [
    *HEADLESS_ARGS,
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
]
PHOTO = "lp_s0.jpg"
MAX_UPLOAD_MB = 5

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def files(shared_media, tmp_path_factory):
    d = tmp_path_factory.mktemp("webfiles")
    good = make_face_clip(d, "clean", shared_media)
    fixable = make_clip(
        d / "face_fix.mov",
        duration_s=DURATION_S,
        fps=FPS,
        size=(W, H),
        frame_fn=frame_fn("clean", shared_media),
    )
    photo = d / PHOTO
    shutil.copyfile(shared_media / "photos" / PHOTO, photo)
    # The same photo as WebP: PHO001 fails (the platform takes JPEG or PNG), `prepare` converts.
    from PIL import Image

    webp = d / "portrait.webp"
    with Image.open(photo) as im:
        im.convert("RGB").save(webp, quality=92)
    return {"good": good, "fixable": fixable, "photo": photo, "webp": webp}


# The relaxed MED rules, and PHO001 so that the photo has a rule (PHO001 needs no model).
SERVER_ARGS = [("MED,PHO001" if a == "MED" else a) for a in RELAX_MED_ARGS]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Served(
        tmp_path_factory.mktemp("portal"), *SERVER_ARGS, "--max-upload-mb", str(MAX_UPLOAD_MB)
    ) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


class Portal:
    def __init__(self, page, server, requests, foreign):
        self.page, self.server, self.requests, self.foreign = page, server, requests, foreign

    def card(self, name: str):
        return self.page.locator(f'.card[data-name="{name}"]')

    def wait_all_done(self, timeout_s: float = 240) -> None:
        self.page.wait_for_function(
            "() => { const cs = [...document.querySelectorAll('.card')];"
            " return cs.length && cs.every(c => ['done','error'].includes(c.dataset.state)); }",
            timeout=timeout_s * 1000,
        )

    def shown_rules(self, name: str) -> list[str]:
        return self.card(name).locator(".rule").evaluate_all("els => els.map(e => e.dataset.rule)")

    def server_job(self, name: str) -> dict:
        return next(j for j in self.server.jobs() if j["name"] == name)


@pytest.fixture(scope="module")
def portal(browser, server, files):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    requests: list[str] = []
    foreign: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(server.base + "/") or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            foreign.append(url)
            r.abort()

    ctx.route("**/*", route)
    ctx.on("request", lambda req: requests.append(req.url))
    page = ctx.new_page()
    page.goto(server.url)
    page.set_input_files(
        "#file-input", [str(files[k]) for k in ("good", "fixable", "photo", "webp")]
    )
    p = Portal(page, server, requests, foreign)
    p.wait_all_done()
    yield p
    assert not foreign, f"the page tried to reach other hosts: {foreign}"
    assert all(u.startswith((server.base + "/", "data:", "blob:")) for u in requests), requests
    ctx.close()


def test_page_loads_only_from_the_local_server(portal):
    assert portal.requests, "no request was seen: interception is not working"
    assert not portal.foreign
    assert (
        portal.page.locator("#scope")
        .inner_text()
        .startswith("Checking with the server's settings: rules: MED")
    )


def test_dropped_files_show_live_progress_then_verdicts_and_rule_ids(portal, files):
    good, bad, photo = (files[k].name for k in ("good", "fixable", "photo"))
    for name in (good, bad, photo):
        card = portal.card(name)
        assert card.count() == 1, name
        job = portal.server_job(name)
        assert job["state"] == "done", job
        verdict = "PASS" if job["report"]["passed"] else "FAIL"
        assert card.locator(".verdict").inner_text() == verdict, name
        failing = sorted(r["rule"] for r in job["report"]["results"] if r["status"] == "fail")
        assert sorted(portal.shown_rules(name)) == failing, name
        # Live: the card went through "running" (stage events pushed by the server) before
        # "done", and each stage it was told about has a chip.
        seen = card.get_attribute("data-states").split()
        assert seen[-1] == "done" and "running" in seen[:-1], (name, seen)
        stages = card.locator(".stage").evaluate_all("els => els.map(e => e.dataset.stage)")
        first = "photo" if name == photo else "decode"
        assert stages[:2] == ["upload", first], stages
    assert portal.card(good).locator(".verdict").inner_text() == "PASS"
    assert portal.card(bad).locator(".verdict").inner_text() == "FAIL"
    assert portal.shown_rules(bad) == ["MED002"]
    assert portal.card(bad).locator(".fix-button").count() == 1
    assert (
        portal.card(photo).locator(".fix-button").count() == 0
    )  # a photo is not a clip to prepare
    # The photo goes the photo path: a report of kind "photo", judged by no clip rule (the
    # server here selects the MED family and PHO001, so PHO001 is its one rule).
    photo_report = portal.server_job(photo)["report"]
    assert photo_report["kind"] == "photo"
    assert [r["rule"] for r in photo_report["results"]] == ["PHO001"]
    stages = (
        portal.card(good).locator(".stage").evaluate_all("els => els.map(e => e.dataset.stage)")
    )
    assert {"faces", "voice"} <= set(stages), stages  # the timeline's analysers ran, live
    # The failing rule's message and fix come from the report.
    res = next(r for r in portal.server_job(bad)["report"]["results"] if r["rule"] == "MED002")
    item = portal.card(bad).locator('.rule[data-rule="MED002"]')
    assert item.locator(".rule-msg").inner_text() == res["message"]
    assert res["hint"] in item.locator(".rule-hint").inner_text()


def test_report_frame_is_the_html_renderers_timeline_and_frames(portal, files):
    card = portal.card(files["good"].name)
    details = card.locator("details.report")
    assert details.get_attribute("open") is None  # a pass: folded away
    details.locator("summary").click()
    frame = card.locator("iframe.report").content_frame
    assert frame.locator("svg.timeline").count() == 1
    assert frame.locator("h1").inner_text() == "Training-clip report"
    assert frame.locator(".strip figure img").count() > 0  # the filmstrip of real frames
    lanes = frame.locator("svg.timeline text").all_text_contents()
    assert any("face size" in t for t in lanes), lanes
    # The frame grows to its content (no scrollbar inside the card).
    height = card.locator("iframe.report").evaluate("f => f.getBoundingClientRect().height")
    assert height >= frame.locator("body").evaluate("b => b.scrollHeight")


def test_screenshot_after_a_check(portal, tmp_path):
    out = Path(os.environ.get("VALIDATOR_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    portal.page.screenshot(path=str(out / "portal.png"))
    portal.page.screenshot(path=str(out / "portal-full.png"), full_page=True)
    assert (out / "portal.png").stat().st_size > 10_000


def _fix_and_download(card, rule: str, tmp_path: Path) -> Path:
    """Click the card's Fix it, wait for the repair, check that `rule` went from an error to a
    pass in the before/after table, and save the download under the name it is offered as."""
    card.locator(".fix-button").click()
    link = card.locator("a.download")
    link.wait_for(timeout=180_000)
    row = card.locator(f'tr[data-rule="{rule}"] td')
    assert row.all_inner_texts()[2:] == ["fail (error)", "pass"]
    with card.page.expect_download() as dl:
        link.click()
    download = dl.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    return saved


def test_fix_it_downloads_a_clip_that_check_passes(portal, files, tmp_path, capsys):
    import json

    from validator import cli

    card = portal.card(files["fixable"].name)
    saved = _fix_and_download(card, "MED002", tmp_path)
    assert saved.name == "face_fix-prepared.mp4"
    assert card.locator(".after-verdict").inner_text() == "PASS"
    capsys.readouterr()
    code = cli.main(["check", str(saved), *RELAX_MED_ARGS, "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc
    assert next(r for r in doc["results"] if r["rule"] == "MED002")["status"] == "pass"


def test_fix_it_on_a_photo_downloads_a_jpeg(portal, files, tmp_path):
    """A WebP photo fails PHO001; its card offers a photo (not an MP4), and the download is a
    JPEG that the photo rules pass."""
    from validator import Settings, validate

    card = portal.card(files["webp"].name)
    assert "upload-ready JPEG photo" in card.locator(".fix").inner_text()
    saved = _fix_and_download(card, "PHO001", tmp_path)
    assert saved.name == "portrait-prepared.jpg"
    assert saved.read_bytes()[:3] == b"\xff\xd8\xff"
    assert validate(saved, Settings(select=("PHO001",))).result("PHO001").status == "pass"


def test_profile_and_warnings_toggle_reach_the_server(portal, files):
    page = portal.page
    page.select_option("#profile", "phoenix-3")
    page.check("#warnings-fail")
    data = files["good"].read_bytes()
    page.set_input_files(
        "#file-input", [{"name": "long-profile.mp4", "mimeType": "video/mp4", "buffer": data}]
    )
    portal.wait_all_done()
    job = portal.server_job("long-profile.mp4")
    assert job["report"]["profile"] == "phoenix-3"
    assert job["report"]["settings"]["fail_on"] == "warning"
    card = portal.card("long-profile.mp4")
    assert "profile phoenix-3 · warnings fail" in card.locator(".sub").inner_text()
    # 3 s is nowhere near phoenix-3's 60 + 60 s, even with the relaxed tolerance.
    assert card.locator(".verdict").inner_text() == "FAIL"
    assert "MED008" in portal.shown_rules("long-profile.mp4")
    page.select_option("#profile", "phoenix-4")
    page.uncheck("#warnings-fail")


def test_hostile_name_is_shown_as_text_and_big_file_refused(portal, files):
    page = portal.page
    hostile = '<img src=x onerror="window.__pwned=1">.mov'
    big = b"\0" * (MAX_UPLOAD_MB * 1_000_000 + 1)
    page.set_input_files(
        "#file-input",
        [
            {
                "name": hostile,
                "mimeType": "video/quicktime",
                "buffer": files["fixable"].read_bytes(),
            },
            {"name": "huge.mp4", "mimeType": "video/mp4", "buffer": big},
        ],
    )
    portal.wait_all_done()
    card = portal.card("huge.mp4")
    assert card.locator(".verdict").inner_text() == "ERROR"
    msg = card.locator(".message").inner_text()
    assert msg.startswith("huge.mp4: 5.0 MB is larger than this page accepts (5.0 MB)")
    assert "750.0 MB" in msg
    names = page.locator(".card .name").all_inner_texts()
    assert hostile in names
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".card img").count() == 0
    # The same bytes as face_fix.mov: the cached report, under the new name.
    job = portal.server_job(hostile)
    assert job["cached"] and job["report"]["input"]["path"] == hostile


def test_reload_keeps_the_cards_and_clear_removes_them(portal):
    page = portal.page
    before = sorted(page.locator(".card[data-job-id] .name").all_inner_texts())
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('.card').length > 0")
    portal.wait_all_done()
    assert sorted(page.locator(".card .name").all_inner_texts()) == before
    page.click("#clear")
    page.wait_for_function("() => document.querySelectorAll('.card').length === 0")
    # The cards go on the server's pushed event, the status line when the POST's answer is in:
    # either may come first, so wait for the status (it must still say "Cleared ...").
    page.wait_for_function(
        "() => /^(Cleared |Nothing to clear|Could not clear)/"
        ".test(document.querySelector('#status').textContent.trim())",
        timeout=30000,
    )
    assert page.locator("#status").inner_text().startswith("Cleared ")
    assert portal.server.jobs() == []

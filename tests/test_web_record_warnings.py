"""Record mode's live warnings during the take, in a real browser: the fake camera plays a real
GRID speaker (grid_lbax4n, who opens his mouth wide) talking for 3 s, then the empty backdrop for
1.5 s (he stepped out of the picture), looped.  While the script says "listen", the live check
warns "lips apart while listening" (MTH001) and "face lost" (FAC001), each with its time and
phase.  The take is then stopped before its end (back to "Check files"): it is dropped, not
checked or kept."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from clipgen import RELAX_MED_ARGS, room_tone
from facecomp import H, W, _backdrop, load_frames, place
from fakedevices import BROWSER_MARKS, launch, make_wav, make_y4m, pw, record_page
from webserver import Served

pytestmark = BROWSER_MARKS
SPEAK_S, LISTEN_S = 3, 7
SPEAKER = "grid_lbax4n.mpg"
ON_S, OFF_S = 3.0, 1.5  # in the picture, then out of it


@pytest.fixture(scope="module")
def page(shared_media, tmp_path_factory):
    d = tmp_path_factory.mktemp("warndev")
    frames = load_frames(str(shared_media / "real" / SPEAKER))  # 25 fps
    bg = _backdrop(frames[0])

    def fn(i: int, t: float) -> np.ndarray:
        canvas = np.empty((H, W, 3), np.uint8)
        canvas[:] = bg
        if t < ON_S:
            place(canvas, frames[min(int(t * 25), len(frames) - 1)], 1.0, 0.5, 0.5)
        return canvas

    fps = 30
    y4m = make_y4m(d / "speaker.y4m", fn, int((ON_S + OFF_S) * fps), fps=fps)
    wav = make_wav(d / "room.wav", room_tone(3.0))
    args = [*RELAX_MED_ARGS, "--take-seconds", f"{SPEAK_S},{LISTEN_S}"]
    with Served(d / "srv", *args) as server, pw.sync_playwright() as p:
        b = launch(p, y4m, wav)
        try:
            pg = record_page(b, server.url)
            pg.server = server
            yield pg
        finally:
            b.close()


def warned_in_listen(rule: str) -> str:
    return (
        f"() => {{ const li = document.querySelector('#take-warnings li[data-rule={rule}]');"
        " return li && li.dataset.phase === 'listen'; }"
    )


def test_lips_apart_and_face_lost_while_listening_are_warned(page):
    page.wait_for_function("() => window.__liveStats.frames >= 2", timeout=90_000)
    page.click("#start-take")
    page.wait_for_selector('#phase[data-phase="listen"]', timeout=30_000)
    # Each within the listening part (the loop shows both at least once every 4.5 s).
    for rule in ("MTH001", "FAC001"):
        page.wait_for_function(warned_in_listen(rule), timeout=(LISTEN_S - 0.5) * 1000)
    assert page.locator("#phase").get_attribute("data-phase") == "listen"
    lips = page.locator('#take-warnings li[data-rule="MTH001"]').inner_text()
    assert "(listen)" in lips and "lips apart" in lips, lips
    lost = page.locator('#take-warnings li[data-rule="FAC001"]').inner_text()
    assert "(listen)" in lost, lost
    # The time is when the frame was captured, in the take: within the listening part.
    for text in (lips, lost):
        at = float(re.search(r" at ([0-9.]+) s", text).group(1))
        assert SPEAK_S - 0.5 <= at <= SPEAK_S + LISTEN_S, text
    if os.environ.get("VALIDATOR_SCREENSHOT_DIR"):  # README's walk-through
        page.screenshot(
            path=os.path.join(os.environ["VALIDATOR_SCREENSHOT_DIR"], "record-3-warnings.png"),
            full_page=True,
        )


def takes(page) -> tuple[int, int]:
    cards = page.locator('.card[data-name^="take-"]').count()
    return cards, len([j for j in page.server.jobs() if j["name"].startswith("take-")])


def test_a_take_stopped_before_its_end_is_dropped(page):
    page.click("#mode-check")  # stops the camera, and the first test's take if still going
    page.wait_for_timeout(1000)
    before = takes(page)
    page.click("#mode-record")
    page.click("#start-camera")
    page.wait_for_function("() => !document.querySelector('#start-take').disabled")
    page.click("#start-take")
    page.wait_for_selector('#phase[data-phase="speak"]', timeout=30_000)
    page.wait_for_timeout(1000)  # recording
    page.click("#mode-check")
    page.wait_for_timeout((SPEAK_S + LISTEN_S) * 1000)  # past its planned end
    assert page.locator("#phase").is_hidden()
    assert "nothing was kept" in page.locator("#prompt").inner_text()
    assert takes(page) == before

"""Record mode's take plan follows the profile: phoenix-3 speaks 60 s then listens 60 s,
phoenix-4 30 + 30 (the server's plan, `validator.profiles`).  The page shows the plan before the
take, and the take's own timer starts from it; the take is then stopped before its end (back to
"Check files"), so nothing is recorded for two minutes and nothing is uploaded."""

from __future__ import annotations

import re

import numpy as np
import pytest
from clipgen import room_tone
from fakedevices import CHROMIUM, launch, make_wav, make_y4m, pw
from webserver import Served, web_missing

from validator.profiles import PROFILES

pytestmark = [
    pytest.mark.skipif(web_missing() is not None, reason=web_missing() or ""),
    pytest.mark.skipif(pw is None, reason="playwright is not installed (pip install playwright)"),
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    d = tmp_path_factory.mktemp("plandev")
    # The plan needs a camera, not a face: a plain grey picture and a quiet room.
    y4m = make_y4m(d / "grey.y4m", lambda i, t: np.full((360, 640, 3), 128, np.uint8), 10)
    wav = make_wav(d / "room.wav", room_tone(1.0))
    with Served(d / "srv", "--select", "MED") as server, pw.sync_playwright() as p:
        b = launch(p, y4m, wav)
        try:
            ctx = b.new_context(permissions=["camera", "microphone"])
            pg = ctx.new_page()
            pg.goto(server.url)
            pg.server = server
            yield pg
        finally:
            b.close()


def plan(page) -> tuple[float, float]:
    el = page.locator("#take-plan")
    return float(el.get_attribute("data-speak-s")), float(el.get_attribute("data-listen-s"))


@pytest.mark.parametrize("profile, expected", [("phoenix-3", (60, 60)), ("phoenix-4", (30, 30))])
def test_the_take_plan_follows_the_profile(page, profile, expected):
    assert (PROFILES[profile].speaking_s, PROFILES[profile].listening_s) == expected
    page.select_option("#profile", profile)
    page.click("#mode-record")
    assert plan(page) == expected
    text = page.locator("#take-plan").inner_text()
    assert f"{expected[0]} s speaking" in text and f"{expected[1]} s listening" in text, text
    page.click("#start-camera")
    page.wait_for_function("() => !document.querySelector('#start-take').disabled")
    page.click("#start-take")
    # The speak timer, read as soon as the phase starts, counts down from the plan's figure.
    timer = page.wait_for_function(
        "() => { const p = document.querySelector('#phase[data-phase=speak] .timer');"
        " return p && p.textContent; }",
        timeout=30_000,
        polling=50,
    ).json_value()
    secs = int(re.fullmatch(r"(\d+) s", timer).group(1))
    assert expected[0] - 2 <= secs <= expected[0], timer
    page.click("#mode-check")  # stops the camera: the take is dropped
    page.wait_for_function("() => document.querySelector('#phase').hidden", timeout=5_000)
    page.wait_for_timeout(1000)
    assert page.locator('.card[data-name^="take-"]').count() == 0
    assert not [j for j in page.server.jobs() if j["name"].startswith("take-")]

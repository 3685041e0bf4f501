"""Record mode with a dark fake camera (the same real GRID face at 12% brightness): the live
readout says the face is too dark, with the rule's own advice, before any take is recorded."""

from __future__ import annotations

import numpy as np
from clipgen import RELAX_MED_ARGS, room_tone
from facecomp import frame_fn
from fakedevices import BROWSER_MARKS, launch, make_wav, make_y4m, pw, record_page
from webserver import Served

pytestmark = BROWSER_MARKS


def test_a_dark_feed_reads_too_dark(shared_media, tmp_path):
    src = frame_fn("clean", shared_media)
    y4m = make_y4m(
        tmp_path / "dark.y4m", lambda i, t: (src(i, t) * np.float32(0.12)).astype(np.uint8), 30
    )
    wav = make_wav(tmp_path / "room.wav", room_tone(2.0))
    (tmp_path / "srv").mkdir()
    with Served(tmp_path / "srv", *RELAX_MED_ARGS) as server, pw.sync_playwright() as p:
        b = launch(p, y4m, wav)
        try:
            page = record_page(b, server.url)
            page.wait_for_function("() => window.__liveStats.frames >= 4", timeout=90_000)
            li = page.locator('#readouts li[data-rule="IMG002"]')
            assert li.get_attribute("data-status") == "fail", li.inner_text()
            text = li.inner_text()
            assert "too dark" in text and "→ add light in front of you" in text
            # The failing readouts are listed first: what to change comes before what is fine.
            first = page.locator("#readouts li").first
            assert first.get_attribute("data-status") == "fail"
        finally:
            b.close()

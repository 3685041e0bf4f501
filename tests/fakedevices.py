"""Files for Chromium's fake camera and microphone, made from real footage at test time.

    y4m = make_y4m(path, frame_fn, n_frames, fps=25, size=(640, 360))   # --use-file-for-fake-video-capture
    wav = make_wav(path, samples_float32, rate=48000)                    # --use-file-for-fake-audio-capture

Chromium loops both files for as long as the page captures.
"""

from __future__ import annotations

import shutil
import wave
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from webserver import web_missing

from validator.media.source import open_output

try:
    import playwright.sync_api as pw
except ImportError:  # pragma: no cover - depends on the environment
    pw = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The marks of every test that drives the page in a real browser (`pytestmark = BROWSER_MARKS`).
BROWSER_MARKS = [
    pytest.mark.realmedia,
    pytest.mark.skipif(web_missing() is not None, reason=web_missing() or ""),
    pytest.mark.skipif(pw is None, reason="playwright is not installed (pip install playwright)"),
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
    ),
]
# Chromium headless, alone: nothing in the background reaches the network.
HEADLESS_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BASE_ARGS = [
    *HEADLESS_ARGS,
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def launch(p, y4m: Path, wav: Path):
    """Debian's Chromium (Playwright downloads nothing) with a fake camera and microphone."""
    return p.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *BASE_ARGS,
            f"--use-file-for-fake-video-capture={y4m}",
            f"--use-file-for-fake-audio-capture={wav}",
        ],
    )


def record_page(browser, url: str, **context: object):
    """A page of `browser` (camera and microphone allowed) at `url`, in Record mode with the
    camera started."""
    ctx = browser.new_context(permissions=["camera", "microphone"], **context)
    page = ctx.new_page()
    page.goto(url)
    page.click("#mode-record")
    page.click("#start-camera")
    return page


def make_y4m(
    path: Path,
    frame_fn: Callable[[int, float], np.ndarray],
    n_frames: int,
    fps: int = 25,
    size: tuple[int, int] = (640, 360),
) -> Path:
    out = open_output(path, format="yuv4mpegpipe")
    try:
        s = out.add_stream("rawvideo", rate=Fraction(fps))
        s.width, s.height = size
        s.pix_fmt = "yuv420p"
        for i in range(n_frames):
            img = np.ascontiguousarray(frame_fn(i, i / fps))
            fr = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
            for pkt in s.encode(fr):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    finally:
        out.close()
    return path


def make_wav(path: Path, samples: np.ndarray, rate: int = 48000) -> Path:
    x = np.clip(np.asarray(samples, np.float32), -1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path

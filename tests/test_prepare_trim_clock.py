"""prepare's trim uses the decode pass's clock: one origin, the earliest stream start.

The trim times in a plan come from the report (voice segments), which the decode pass measures
from the earliest stream start.  A clip whose audio starts 0.5 s after its video has its origin
at the video's start, so the cut must not move by the audio's lead.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from clipgen import make_clip

from validator.media.source import open_input
from validator.prepare.plan import Plan, Trim
from validator.prepare.repairs import write

FPS = 30
RATE = 48000


def _bar(i: int, t: float) -> np.ndarray:
    """Frame i: a white 4-px bar at x = 20 + 2 i on black, so its position says which frame."""
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, 20 + 2 * i : 24 + 2 * i] = 255
    return img


def _burst_audio(duration_s: float, burst_at_s: float) -> np.ndarray:
    a = np.zeros(int(duration_s * RATE), np.float32)
    i0 = int(burst_at_s * RATE)
    n = int(0.1 * RATE)
    a[i0 : i0 + n] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(n) / RATE)
    return a


def _first_frame_index(path) -> float:
    """Which source frame the output's first frame is, from the bar's position."""
    with open_input(path) as c:
        frame = next(c.decode(video=0))
        cols = frame.to_ndarray(format="gray").astype(np.float64).mean(axis=0)
    x = np.flatnonzero(cols > 128)
    return (float(x.mean()) - 1.5 - 20) / 2


def _burst_onset_s(path) -> float:
    """Output time (from the video's first frame) of the first loud audio sample."""
    with open_input(path) as c:
        v0 = float(c.streams.video[0].start_time * c.streams.video[0].time_base)
        a_start = None
        chunks = []
        for frame in c.decode(audio=0):
            if a_start is None:
                a_start = float(frame.pts * frame.time_base)
            chunks.append(frame.to_ndarray().reshape(frame.to_ndarray().shape[0], -1)[0])
        a = np.concatenate(chunks)
        rate = c.streams.audio[0].rate
    loud = np.flatnonzero(np.abs(a) > 0.1)
    return a_start + loud[0] / rate - v0


@pytest.mark.parametrize("audio_lead_s", [0.0, 0.5])
def test_trim_cuts_at_the_report_clock_when_audio_starts_late(tmp_path, audio_lead_s):
    # Video 0-4 s; audio starts `audio_lead_s` later and has a burst at clip time 2.0 s.
    src = make_clip(
        tmp_path / "late_audio.mp4",
        duration_s=4.0,
        fps=FPS,
        frame_fn=_bar,
        audio=_burst_audio(4.0 - audio_lead_s, 2.0 - audio_lead_s),
        sample_rate=RATE,
        audio_start_s=audio_lead_s,
    )
    plan = Plan(
        possible=True,
        video="encode",
        audio="encode",
        fps=Fraction(FPS),
        trim=Trim(1.0, 3.0, "test"),  # on the report's clock: video start = 0
    )
    dst = tmp_path / "out.mp4"
    write(plan, src, dst)
    # The first kept frame is the one at 1.0 s (frame 30), not at 1.0 s + the audio's lead.
    assert _first_frame_index(dst) == pytest.approx(30, abs=1)
    # And the sound stays with the picture: the burst at clip time 2.0 s is at 1.0 s.
    assert _burst_onset_s(dst) == pytest.approx(1.0, abs=0.03)

"""Generated test clips: PyAV writes every container/stream defect on demand.

    make_clip(path, duration_s=2, fps=30, size=(320, 240))            # clean H.264/AAC MP4
    make_clip(path, vcodec="libx265")                                   # HEVC
    make_clip(path.with_suffix(".webm"), vcodec="libvpx-vp9", acodec="libopus")
    make_clip(path, audio=None)                                         # video only
    make_clip(path, frame_times_s=[...])                                # VFR / gaps
    make_clip(path, rotation_cw=90)                                     # phone portrait flag
    make_clip(path, frame_fn=lambda i, t: rgb_uint8_array)              # your own pictures
    make_clip(path, audio=np.array(...), sample_rate=16000)             # your own sound

Audio arrays are float32 in [-1, 1], shaped (samples,) for mono or (channels, samples).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from validator.media.source import open_output

FrameFn = Callable[[int, float], np.ndarray]

# Generated clips are small and short: these CLI flags select the MED rules with the size and
# duration limits relaxed, so a clip fails only the defect it was built to have.
RELAX_MED_ARGS = [
    "--select",
    "MED",
    "--set",
    "MED007.min_short_side_px=16",
    "--set",
    "MED007.error_short_side_px=16",
    "--set",
    "MED008.tolerance_s=59",
]

_QUIET = {"libx265": {"x265-params": "log-level=none"}}


def moving_pattern(width: int, height: int) -> FrameFn:
    """A textured picture that changes every frame (so nothing looks frozen)."""
    yy, xx = np.mgrid[0:height, 0:width]

    def fn(i: int, t: float) -> np.ndarray:
        r = (xx * 3 + i * 5) % 256
        g = (yy * 2 + i * 3) % 256
        b = ((xx + yy) // 2 + i * 7) % 256
        return np.stack([r, g, b], axis=-1).astype(np.uint8)

    return fn


def room_tone(
    duration_s: float, sample_rate: int = 48000, level_dbfs: float = -60.0, seed: int = 0
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(duration_s * sample_rate)).astype(np.float32)
    return x * np.float32(10 ** (level_dbfs / 20))


def tone(
    duration_s: float, freq_hz: float = 440.0, sample_rate: int = 48000, level_dbfs: float = -20.0
) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    return (np.sin(2 * np.pi * freq_hz * t) * 10 ** (level_dbfs / 20) * np.sqrt(2)).astype(
        np.float32
    )


def make_clip(
    path: str | os.PathLike[str],
    *,
    duration_s: float = 2.0,
    fps: float = 30,
    size: tuple[int, int] = (320, 240),
    vcodec: str | None = "libx264",
    pix_fmt: str | None = None,
    acodec: str | None = "aac",
    audio: np.ndarray | None | str = "tone",
    sample_rate: int = 48000,
    channels: int | None = None,
    frame_fn: FrameFn | None = None,
    frame_times_s: Sequence[float] | None = None,
    rotation_cw: int | None = None,
    container_format: str | None = None,
    video_options: dict[str, str] | None = None,
    color_trc: int | None = None,
    faststart: bool = False,
    audio_start_s: float = 0.0,
) -> Path:
    """Write a clip.  `audio="tone"` is a quiet 220 Hz tone over room tone; `None` or
    `acodec=None` writes no audio stream; `vcodec=None` writes no video stream."""
    path = Path(path)
    w, h = size
    if isinstance(audio, str):
        if audio == "tone":
            audio = tone(duration_s, 220.0, sample_rate, -30.0) + room_tone(duration_s, sample_rate)
        elif audio == "silence":
            audio = np.zeros(int(duration_s * sample_rate), np.float32)
        else:
            raise ValueError(audio)
    if acodec is None:
        audio = None
    out = open_output(
        path,
        format=container_format,
        options={"movflags": "faststart"} if faststart else None,
    )
    try:
        vs = None
        if vcodec is not None:
            rate = Fraction(fps).limit_denominator(1001)
            vs = out.add_stream(
                vcodec, rate=rate, options=dict(video_options or _QUIET.get(vcodec, {}))
            )
            vs.width, vs.height = w, h
            vs.pix_fmt = pix_fmt or ("yuv420p" if vcodec not in ("mjpeg",) else "yuvj420p")
            if color_trc is not None:
                vs.codec_context.color_trc = color_trc
            if rotation_cw:
                vs.set_display_rotation(-rotation_cw)  # FFmpeg's angle is counter-clockwise
            if frame_times_s is not None:
                vs.codec_context.time_base = Fraction(1, 90000)
        as_ = None
        if audio is not None:
            audio = np.asarray(audio, np.float32)
            if audio.ndim == 1:
                audio = audio[None, :]
            nch = channels or audio.shape[0]
            if audio.shape[0] != nch:
                audio = np.repeat(audio[:1], nch, axis=0)
            layout = {1: "mono", 2: "stereo"}.get(nch, f"{nch}c")
            as_ = out.add_stream(acodec, rate=sample_rate, layout=layout)
        if vs is not None:
            fn = frame_fn or moving_pattern(w, h)
            times = (
                list(frame_times_s)
                if frame_times_s is not None
                else [i / fps for i in range(int(round(duration_s * fps)))]
            )
            for i, t in enumerate(times):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(fn(i, t)), format="rgb24")
                if frame_times_s is not None:
                    frame.pts = int(round(t * 90000))
                    frame.time_base = Fraction(1, 90000)
                for pkt in vs.encode(frame):
                    out.mux(pkt)
            for pkt in vs.encode():
                out.mux(pkt)
        if as_ is not None:
            fmt = (
                as_.codec_context.codec.audio_formats[0].name
                if as_.codec_context.codec.audio_formats
                else "fltp"
            )
            block = 1024 if acodec in ("aac", "libopus", "mp2", "libmp3lame") else 4096
            n = audio.shape[1]
            pos = 0
            while pos < n:
                chunk = audio[:, pos : pos + block]
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(chunk), format="fltp", layout=as_.layout.name
                )
                frame.sample_rate = sample_rate
                frame.pts = pos + int(round(audio_start_s * sample_rate))
                frame.time_base = Fraction(1, sample_rate)
                if fmt != "fltp":
                    for f2 in av.AudioResampler(
                        format=fmt, layout=as_.layout.name, rate=sample_rate
                    ).resample(frame):
                        for pkt in as_.encode(f2):
                            out.mux(pkt)
                else:
                    for pkt in as_.encode(frame):
                        out.mux(pkt)
                pos += block
            for pkt in as_.encode():
                out.mux(pkt)
    finally:
        out.close()
    return path


def truncate(src: str | os.PathLike[str], dst: str | os.PathLike[str], keep_ratio: float) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * keep_ratio)])
    return Path(dst)

"""Degraded clips for the IMG/EDT tests, built from a good clip.

`source_frames()` reads the good clip (a real face from ../shared/media/real when present,
otherwise a synthetic textured "head and shoulders" scene) into memory once; each `make_*`
function writes one degradation with `clipgen.make_clip`:

    gain (darkened / blown out), blurred, side_lit, noisy, brightness_step, jittered, walker,
    spliced, repeated_run, dropped_second_times

`analyse(path)` runs the decode pass with the faces (when that analyser exists), image and
continuity analysers and returns the Evidence, so a test can run checks on it without the rest
of the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from clipgen import make_clip

from validator.analysis import load_all as load_analysers
from validator.evidence import Evidence
from validator.media.decode import decode_pass
from validator.media.probe import open_media
from validator.media.source import open_input
from validator.settings import Settings

FPS = 25
DURATION_S = 5.0
SIZE = (512, 288)  # w, h (lp_src_s18 is 1280x720)


def read_frames(
    path: str | Path, n: int, size: tuple[int, int] | None = SIZE, start: int = 0
) -> list[np.ndarray]:
    """Up to `n` RGB frames from `path`, resized to `size` (None: as they are); loops the clip
    if it is short."""
    out: list[np.ndarray] = []
    with open_input(path) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i < start:
                continue
            rgb = f.to_ndarray(format="rgb24")
            out.append(rgb if size is None else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
            if len(out) >= n:
                break
    while out and len(out) < n:  # ping-pong so a loop point is not a cut
        out.extend(out[::-1][: n - len(out)])
    return out


def synthetic_frames(n: int, size: tuple[int, int] = SIZE, seed: int = 1) -> list[np.ndarray]:
    """A lit, textured room with a face-like oval that sways and talks, plus a little sensor
    noise (so nothing looks frozen).  Another `seed` is another room and camera position."""
    w, h = size
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.integers(60, 200, (h, w, 3)).astype(np.uint8), (0, 0), 3)
    yy, xx = np.mgrid[0:h, 0:w]
    period = 11.0 + 9.0 * (seed % 3)
    stripes = np.sin((xx if seed % 2 else yy) / period)
    tint = np.array([1.0, 1.0, 1.0] if seed % 2 else [0.6, 0.9, 1.4], np.float32)
    base = (
        ((base * 0.6 + 60 + (30 if seed % 2 else 55) * stripes[..., None]) * tint)
        .clip(0, 255)
        .astype(np.float32)
    )
    x_face = w // 2 + (0 if seed % 2 else -w // 5)
    frames = []
    for i in range(n):
        f = base.copy()
        cx = x_face + int(round(6 * np.sin(i / 5.3)))
        cv2.rectangle(f, (cx - 90, int(h * 0.62)), (cx + 90, h), (40, 60, 120), -1)  # shoulders
        cv2.ellipse(f, (cx, int(h * 0.40)), (55, 72), 0, 0, 360, (200, 160, 135), -1)  # face
        cv2.circle(f, (cx - 20, int(h * 0.36)), 6, (40, 30, 30), -1)
        cv2.circle(f, (cx + 20, int(h * 0.36)), 6, (40, 30, 30), -1)
        cv2.ellipse(f, (cx, int(h * 0.48)), (18, 3 + (i * 7) % 11), 0, 0, 360, (120, 50, 50), -1)
        f += rng.normal(0, 2.0, f.shape)
        frames.append(f.clip(0, 255).astype(np.uint8))
    return frames


def source_frames(shared_media: Path | None, n: int = int(DURATION_S * FPS)) -> list[np.ndarray]:
    """The good clip: lp_src_s18 (a still woman in a lit room with plants behind her) when real footage is
    available, else the synthetic scene."""
    if shared_media is not None:
        p = shared_media / "real" / "lp_src_s18.mp4"
        if p.is_file():
            return read_frames(p, n)
    return synthetic_frames(n)


def write(path: Path, frames: list[np.ndarray], *, times: list[float] | None = None) -> Path:
    if path.exists():
        return path
    h, w = frames[0].shape[:2]
    return make_clip(
        path,
        duration_s=len(frames) / FPS,
        fps=FPS,
        size=(w, h),
        frame_fn=lambda i, t: frames[i],
        frame_times_s=times,
        audio=None,
    )


def gain(frames: list[np.ndarray], g: float) -> list[np.ndarray]:
    return [np.clip(f.astype(np.float32) * g, 0, 255).astype(np.uint8) for f in frames]


def blurred(frames: list[np.ndarray], sigma: float = 4.0) -> list[np.ndarray]:
    return [cv2.GaussianBlur(f, (0, 0), sigma) for f in frames]


def noisy(frames: list[np.ndarray], sigma: float = 14.0, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8) for f in frames]


def brightness_step(
    frames: list[np.ndarray], at_s: float = 3.0, g: float = 0.5
) -> list[np.ndarray]:
    k = int(at_s * FPS)
    return frames[:k] + gain(frames[k:], g)


def jittered(
    frames: list[np.ndarray], from_s: float = 2.0, to_s: float = 4.0, px: int = 16, seed: int = 0
) -> list[np.ndarray]:
    """Handheld shake: every frame in [from_s, to_s) shifted by a random offset up to `px`."""
    rng = np.random.default_rng(seed)
    out = list(frames)
    h, w = frames[0].shape[:2]
    for i in range(int(from_s * FPS), int(to_s * FPS)):
        dx, dy = rng.integers(-px, px + 1, 2)
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        out[i] = cv2.warpAffine(frames[i], m, (w, h), borderMode=cv2.BORDER_REFLECT)
    return out


def other_frames(shared_media: Path | None, n: int) -> list[np.ndarray]:
    """A second take for splicing: another studio clip (GRID, similar light) or another
    synthetic room."""
    if shared_media is not None:
        p = shared_media / "real" / "grid_pwij3p.mpg"
        if p.is_file():
            return read_frames(p, n)
    return synthetic_frames(n, seed=2)


def spliced(
    frames: list[np.ndarray], other: list[np.ndarray], at_s: float = 3.0
) -> list[np.ndarray]:
    """Two takes joined at `at_s`: the rest of the clip comes from `other`."""
    k = int(at_s * FPS)
    return frames[:k] + other[: len(frames) - k]


def repeated_run(
    frames: list[np.ndarray], from_s: float = 2.0, to_s: float = 3.2
) -> list[np.ndarray]:
    a, b = int(from_s * FPS), int(to_s * FPS)
    return frames[:a] + [frames[a]] * (b - a) + frames[b:]


def dropped_second_times(n: int, at_s: float = 3.0, gap_s: float = 1.0) -> list[float]:
    """Timestamps of `n` frames at FPS with `gap_s` of frames missing at `at_s`."""
    return [i / FPS + (gap_s if i / FPS >= at_s else 0.0) for i in range(n)]


def analyse(path: str | Path, settings: Settings | None = None) -> Evidence:
    """Decode pass with the faces (if present), image and continuity analysers."""
    settings = settings or Settings()
    registry = load_analysers()
    container, media = open_media(Path(path))
    ev = Evidence(path=str(path), size_bytes=Path(path).stat().st_size, media=media)
    names = [n for n in ("faces", "image", "continuity") if n in registry]
    analysers = [(n, registry[n].factory(settings, media)) for n in names]
    stats, audio = decode_pass(
        container,
        media,
        sample_fps=settings.sample_fps,
        short_side_px=settings.analysis_short_side_px,
        frame_sinks=[a.on_frame for _, a in analysers],
    )
    ev.stream, ev.audio = stats, audio
    for n, a in analysers:
        setattr(ev, n, a.finish(ev))
    return ev


def walker(frames: list[np.ndarray], from_s: float = 1.0, to_s: float = 4.0) -> list[np.ndarray]:
    """Someone walks behind: a dark, person-sized shape paces to and fro across the left of the
    background (about 1 m/s at head-and-shoulders scale)."""
    out = list(frames)
    h, w = frames[0].shape[:2]
    a, b = int(from_s * FPS), int(to_s * FPS)
    bw, bh = max(8, w // 8), int(h * 0.6)
    span = int(w * 0.3) - bw
    step = max(1, w // 80)  # pixels per frame
    for i in range(a, min(b, len(frames))):
        pos = ((i - a) * step) % (2 * span)
        x = pos if pos < span else 2 * span - pos
        f = frames[i].copy()
        f[int(h * 0.05) : int(h * 0.05) + bh, x : x + bw] = (35, 30, 45)
        out[i] = f
    return out


def side_lit(
    frames: list[np.ndarray], centre_frac: float = 0.5, low: float = 0.25
) -> list[np.ndarray]:
    """Light from the left only: brightness falls to `low` on the right of a steep ramp at the
    face's centre (`centre_frac` of the width)."""
    h, w = frames[0].shape[:2]
    x = (np.arange(w) - w * centre_frac) / (w / 24)
    g = (low + (1 - low) * (1 - np.tanh(x)) / 2).astype(np.float32)[None, :, None]
    return [np.clip(f * g, 0, 255).astype(np.uint8) for f in frames]


def face_centre_frac(shared_media: Path | None) -> float:
    """Where the face of `source_frames()` is, as a share of the width (measured with the faces
    analyser: lp_src_s18's face box spans x 261-353 of 512)."""
    if shared_media is not None and (shared_media / "real" / "lp_src_s18.mp4").is_file():
        return 0.6
    return 0.5


def dissolved(
    frames: list[np.ndarray], other: list[np.ndarray], at_s: float = 2.5, length_s: float = 1.0
) -> list[np.ndarray]:
    """Two takes joined by a cross-fade of `length_s` starting at `at_s`."""
    a, n = int(at_s * FPS), max(1, int(length_s * FPS))
    out = list(frames[:a])
    for k in range(len(frames) - a):
        w = min(1.0, (k + 1) / n)
        mixed = frames[a + k].astype(np.float32) * (1 - w) + other[k].astype(np.float32) * w
        out.append(mixed.clip(0, 255).astype(np.uint8))
    return out


def side_shadow(
    frames: list[np.ndarray], x0_frac: float, x1_frac: float, low: float = 0.25
) -> list[np.ndarray]:
    """Light from the left only, in linear light: the light falling on the scene is full up to
    `x0_frac` of the width, falls linearly to `low` of it at `x1_frac` (put the face between
    the two) and stays there.  Code values are decoded with a 2.2 gamma, scaled, re-encoded, so
    `low=0.25` is a face that gets a quarter of the light (2 stops) on its far side."""
    h, w = frames[0].shape[:2]
    x = np.arange(w, dtype=np.float32) / w
    ramp = np.clip((x - x0_frac) / max(1e-6, x1_frac - x0_frac), 0, 1)
    g = (1 - (1 - low) * ramp)[None, :, None] ** (1 / 2.2)
    return [np.clip(f.astype(np.float32) * g, 0, 255).astype(np.uint8) for f in frames]

"""Build sample_media/sample.mp4: the demo clip the README's first command validates.

    python scripts/make_sample.py [--out sample_media/sample.mp4]

Needs (build time only, not to run the validator): `espeak-ng` (Debian package) for the speech
and scikit-image for the photograph.  What it makes:

- picture: NASA's public-domain portrait of astronaut Eileen Collins (shipped inside
  scikit-image as `skimage.data.astronaut()`), upscaled 3x into a 1920x1080 frame with the face
  about 30% of the frame height, with a slow +-1% zoom at constant speed so no two frames are
  identical;
- sound: 48 kHz mono; 0.5 s of room tone, 30.5-35 s of espeak-ng speech (the consent statement
  and a short self-introduction, sentence by sentence with 0.3 s pauses), then 30 s of quiet room tone (-62 dBFS RMS noise, not digital
  silence);
- 30 fps constant, H.264 High 8-bit 4:2:0 (CRF 30, preset slow, faststart), AAC 96 kbit/s, MP4.

A still photograph of a smiling person cannot close or move its lips, so MTH001 and MTH003
rightly fail the sample; every other rule passes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from validator.media.source import open_input, open_output

W, H, FPS, RATE = 1920, 1080, 30, 48000
LEAD_IN_S, LISTEN_S = 0.5, 30.0
TEXT = (
    "I, Alex Morgan, am currently speaking and give consent to Tavus to create an AI clone of me "
    "by using the audio and video samples I provide. I understand that this AI clone can be used "
    "to create videos that look and sound like me. "
    "Hello, and thank you for taking the time to watch this short recording. "
    "I work as a product designer, and most of my day is spent talking with people about what "
    "they need. I like long walks, good coffee, and learning new languages. "
    "This clip will help train a digital replica, so I am speaking clearly, "
    "looking straight at the camera, and keeping my head still. "
    "In a moment I will stop talking and simply listen, with my lips closed."
)


def speech(min_s: float = 30.5, gap_s: float = 0.3) -> np.ndarray:
    """Sentences spoken one by one, joined by short pauses, until at least `min_s` seconds."""
    if not shutil.which("espeak-ng"):
        sys.exit("make_sample: espeak-ng is needed to build the sample (apt-get install espeak-ng)")
    sentences = [x.strip() + "." for x in TEXT.split(".") if x.strip()]
    parts: list[np.ndarray] = []
    total = 0
    with tempfile.TemporaryDirectory() as d:
        for i, sentence in enumerate(sentences * 3):
            if total >= min_s * RATE:
                break
            wav = Path(d) / f"s{i}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-us", "-s", "165", "-g", "2", "-w", str(wav), sentence],
                check=True,
            )
            x = decode_mono(wav)
            parts += [x, np.zeros(int(gap_s * RATE), np.float32)]
            total += len(x) + int(gap_s * RATE)
    return np.concatenate(parts[:-1])


def decode_mono(path: Path) -> np.ndarray:
    out = []
    with open_input(path) as c:
        res = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in c.decode(audio=0):
            for f in res.resample(frame):
                out.append(f.to_ndarray().reshape(-1))
        for f in res.resample(None):
            out.append(f.to_ndarray().reshape(-1))
    x = np.concatenate(out).astype(np.float32)
    return x / max(1e-6, np.abs(x).max()) * 0.5  # peak -6 dBFS


def room_tone(n: int, dbfs: float = -62.0, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n)
    # Gentle low-pass: room tone is darker than white noise.
    pink = np.convolve(white, np.ones(8) / 8, mode="same")
    pink /= np.sqrt(np.mean(pink**2))
    return (pink * 10 ** (dbfs / 20)).astype(np.float32)


def portrait() -> np.ndarray:
    from skimage import data

    img = data.astronaut()  # RGB 512x512, public domain (NASA)
    # In the 512 px photograph the hair starts at y~14 and the face is centred at x~226, with the
    # face box (brows to chin) about 1/5 of 512 px.  Scale 3 makes the face box about 30% of the
    # 1080 px frame height; the head sits centred with ~100 px of headroom, shoulders below.
    scale = 3.0
    big = cv2.resize(img, (int(512 * scale), int(512 * scale)), interpolation=cv2.INTER_CUBIC)
    canvas = np.empty((H, W, 3), np.uint8)
    grad = np.linspace(70, 110, W, dtype=np.float32)
    canvas[:] = np.stack([grad, grad * 1.02, grad * 1.05], axis=-1).astype(np.uint8)[None, :, :]
    x0, y0 = int(W / 2 - 226 * scale), int(100 - 14 * scale)
    xs, xe = max(0, x0), min(W, x0 + big.shape[1])
    ys, ye = max(0, y0), min(H, y0 + big.shape[0])
    canvas[ys:ye, xs:xe] = big[ys - y0 : ye - y0, xs - x0 : xe - x0]
    return canvas


def zoom_at(t: float, period_s: float = 12.0, amplitude: float = 0.01) -> float:
    """Triangle wave: the picture never stops moving (a sine would pause at its turning points,
    and a paused still photograph is, rightly, a frozen picture to EDT002)."""
    phase = (t / period_s) % 1.0
    return 1.0 + amplitude * (4 * abs(phase - 0.5) - 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "sample_media" / "sample.mp4")
    )
    args = ap.parse_args()
    out = Path(args.out)
    voice = speech()
    audio = np.concatenate(
        [
            room_tone(int(LEAD_IN_S * RATE), seed=1),
            voice + room_tone(len(voice), seed=2),
            room_tone(int(LISTEN_S * RATE), seed=3),
        ]
    )
    duration = len(audio) / RATE
    base = portrait()
    n_frames = int(np.ceil(duration * FPS))

    fd, tmp = tempfile.mkstemp(suffix=".mp4", dir=out.parent)
    os.close(fd)
    try:
        with open_output(tmp, options={"movflags": "faststart"}) as c:
            v = c.add_stream("libx264", rate=FPS, options={"crf": "30", "preset": "slow"})
            v.width, v.height, v.pix_fmt = W, H, "yuv420p"
            a = c.add_stream("aac", rate=RATE, layout="mono")
            a.bit_rate = 96_000
            for i in range(n_frames):
                t = i / FPS
                z = zoom_at(t)
                m = cv2.getRotationMatrix2D((W / 2, H * 0.45), 0.0, z)
                frame = cv2.warpAffine(
                    base, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
                )
                for p in v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    c.mux(p)
            for p in v.encode():
                c.mux(p)
            block = 1024
            for pos in range(0, len(audio), block):
                f = av.AudioFrame.from_ndarray(
                    audio[None, pos : pos + block], format="fltp", layout="mono"
                )
                f.sample_rate, f.pts, f.time_base = RATE, pos, Fraction(1, RATE)
                for p in a.encode(f):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(
        f"wrote {out}: {duration:.1f} s, speech {LEAD_IN_S:.1f}-{LEAD_IN_S + len(voice) / RATE:.1f} s, "
        f"{out.stat().st_size / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

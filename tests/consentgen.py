"""Spoken consent statements generated with espeak-ng (Debian package `espeak-ng`), as 16 kHz
float32 mono arrays, for the CON tests and the calibration script.

    x = speak(statement("Jane Doe"), voice="en-us+f3")
    x = with_noise(x, noise, snr_db=15)           # real room noise from ../shared/media/audio

Nothing here is a consent statement from a real person; the real-speech negatives come from
../shared/media/audio (tests/audiomix.py).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from audiomix import load_audio, rms_dbfs, scale_to

RATE = 16000
GIVE = (
    "I, {name}, am currently speaking and give consent to Tavus to create an AI clone of me by "
    "using the audio and video samples I provide. I understand that this AI clone can be used "
    "to create videos that look and sound like me."
)
# The API reference's wording ("consent Tavus").
API = GIVE.replace("give consent to Tavus", "consent Tavus")
VOICES = ("en-us", "en-gb", "en-us+f3", "en+m3", "en-gb-x-rp+f2", "en-us+m7")


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def statement(name: str = "Jane Doe", wording: str = "give") -> str:
    return (GIVE if wording == "give" else API).format(name=name)


def speak(text: str, voice: str = "en-us", wpm: int = 165, dbfs: float = -22.0) -> np.ndarray:
    """espeak-ng's rendering of `text`, resampled to 16 kHz, at `dbfs` RMS."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "s.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(out), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        x = load_audio(out, RATE)
    return scale_to(x, dbfs)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def with_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`x` plus real noise (looped to length) at `snr_db` below the speech's RMS."""
    reps = -(-len(x) // len(noise))
    n = np.tile(noise, reps)[: len(x)]
    n = scale_to(n, rms_dbfs(x) - snr_db)
    return np.clip(x + n, -1, 1).astype(np.float32)


def concat(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(p, np.float32) for p in parts])

"""Test audio built from real recordings: real speech, then a listening part of room tone or
real noise, mixed at known levels with a known speech->silence boundary.

    sp = speech_track(media, 30.0)                 # LibriSpeech/VCTK/JFK concatenated, ~30 s
    x, truth = build(sp, listening_s=30.0, noise_dbfs=-45.0, noise="bed")
    ad = audio_data(x)                             # AudioData for the voice analyser directly
    v = voice_from_spans(60, [(0.5, 30.5)])        # hand-built VoiceEvidence for check tests

The boundary truth is where the speech *file* stops (the last file is cut inside a word, so the
end of speech is sharp and known to the sample) - not something the analyser under test says.
Sources are in ../shared/media/audio (see MANIFEST.md); nothing is copied into the repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from validator.analysis.voice import WINDOW_S, VoiceEvidence, evidence_from_windows
from validator.evidence import AudioData
from validator.media.source import open_input

RATE = 16000
SPEECH_FILES = (
    "rtvc_librispeech_1320_00000.mp3",
    "rtvc_librispeech_3575_00000.mp3",
    "rtvc_librispeech_6829_00000.mp3",
    "rtvc_vctk_p240_00000.mp3",
    "rtvc_librispeech_8230_00000.mp3",
    "whisper_jfk.flac",
    "rtvc_vctk_p260_00000.mp3",
)
NOISE_FILE = "dfn_noise_freesound_573577.wav"
# The noise recording opens with a transient that peaks at full scale; skip it.
NOISE_SKIP_S = 0.6


def load_audio(path: str | Path, rate: int = RATE) -> np.ndarray:
    """Decode any audio file (or a video's audio) to float32 mono at `rate` with PyAV."""
    out: list[np.ndarray] = []
    with open_input(path) as c:
        res = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in c.decode(audio=0):
            for g in res.resample(frame):
                out.append(g.to_ndarray().reshape(-1))
        for g in res.resample(None):
            out.append(g.to_ndarray().reshape(-1))
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def rms_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def scale_to(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x * 10 ** ((dbfs - rms_dbfs(x)) / 20)).astype(np.float32)


def speech_track(media: Path, min_s: float = 30.0, rate: int = RATE) -> np.ndarray:
    """Real speech files joined end to end (whole files) until at least `min_s` seconds, cut at
    `min_s`, then trimmed to 50 ms after the last sound with a 10 ms fade: the recordings carry
    their own hiss (JFK: -39 dBFS), which must not run on into the listening part and stop dead."""
    parts: list[np.ndarray] = []
    total = 0
    i = 0
    while total < min_s * rate:
        x = load_audio(media / "audio" / SPEECH_FILES[i % len(SPEECH_FILES)], rate)
        x = x / max(1.0, float(np.abs(x).max()))  # JFK peaks above 1.0 after resampling
        parts.append(x)
        total += len(x)
        i += 1
    x = np.concatenate(parts)[: int(min_s * rate)].astype(np.float32)
    x = x[: int((last_sound_s(x, rate) + 0.05) * rate)]
    fade = int(0.01 * rate)
    x[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return x


def noise_recording(media: Path, duration_s: float, rate: int = RATE) -> np.ndarray:
    """The real CC0 noise recording (with its clatter events), looped to `duration_s`."""
    x = load_audio(media / "audio" / NOISE_FILE, rate)[int(NOISE_SKIP_S * rate) :]
    n = int(duration_s * rate)
    return np.tile(x, n // len(x) + 1)[:n].astype(np.float32)


def noise_bed(
    media: Path, duration_s: float, dbfs: float, rate: int = RATE, seed: int = 0
) -> np.ndarray:
    """Stationary noise with the long-term spectrum of the real noise recording (random-phase
    resynthesis): a steady background at a known RMS level, without the recording's events."""
    src = load_audio(media / "audio" / NOISE_FILE, rate)[int(NOISE_SKIP_S * rate) :]
    n = int(duration_s * rate)
    mag = np.abs(np.fft.rfft(src))
    # Interpolate the source magnitude spectrum onto the target length's bins.
    f_src = np.linspace(0, 1, len(mag))
    f_dst = np.linspace(0, 1, n // 2 + 1)
    m = np.interp(f_dst, f_src, mag)
    rng = np.random.default_rng(seed)
    ph = np.exp(2j * np.pi * rng.random(len(m)))
    y = np.fft.irfft(m * ph, n)
    return scale_to(y.astype(np.float32), dbfs)


def white(duration_s: float, dbfs: float, rate: int = RATE, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return scale_to(rng.standard_normal(int(duration_s * rate)).astype(np.float32), dbfs)


def sine(duration_s: float, freq_hz: float, dbfs: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(duration_s * rate)) / rate
    return (np.sin(2 * np.pi * freq_hz * t) * np.sqrt(2) * 10 ** (dbfs / 20)).astype(np.float32)


def music(duration_s: float, dbfs: float, rate: int = RATE) -> np.ndarray:
    """Synthetic music: a chord progression of harmonic notes changing every 0.5 s."""
    t = np.arange(int(duration_s * rate)) / rate
    roots = [220.0, 261.6, 196.0, 246.9]
    y = np.zeros_like(t)
    for k in range(int(np.ceil(duration_s / 0.5))):
        sel = (t >= k * 0.5) & (t < (k + 1) * 0.5)
        tt = t[sel] - k * 0.5
        env = np.exp(-tt * 3.0)
        for ratio in (1.0, 1.26, 1.5):
            f = roots[k % 4] * ratio
            for h in (1, 2, 3):
                y[sel] += env * np.sin(2 * np.pi * f * h * tt) / h
    return scale_to(y.astype(np.float32), dbfs)


def knocks(
    duration_s: float, at_s: list[float], dbfs_peak: float = -12.0, rate: int = RATE
) -> np.ndarray:
    """Knocks on a desk at the given times: a damped 250 Hz thud plus low-passed noise (most
    energy below 2 kHz, as a knock on wood has), 40 ms, peaking at `dbfs_peak`."""
    y = np.zeros(int(duration_s * rate), np.float32)
    rng = np.random.default_rng(3)
    k = int(0.04 * rate)
    t = np.arange(k) / rate
    noise = rng.standard_normal(k)
    alpha = np.exp(-2 * np.pi * 2000.0 / rate)  # one-pole low-pass at 2 kHz
    for i in range(1, k):
        noise[i] = (1 - alpha) * noise[i] + alpha * noise[i - 1]
    shape = np.exp(-t / 0.008) * (np.sin(2 * np.pi * 250.0 * t) + noise / np.abs(noise).max())
    shape = (shape * 10 ** (dbfs_peak / 20) / np.abs(shape).max()).astype(np.float32)
    for a in at_s:
        i = int(a * rate)
        y[i : i + k] += shape[: len(y) - i]
    return y


@dataclass(frozen=True)
class Truth:
    onset_s: float
    boundary_s: float
    end_s: float


def build(
    speech: np.ndarray,
    *,
    lead_s: float = 0.5,
    listening_s: float = 30.0,
    noise_dbfs: float | None = -65.0,
    noise: str = "white",
    media: Path | None = None,
    rate: int = RATE,
) -> tuple[np.ndarray, Truth]:
    """lead-in + speech + listening, with a noise bed over everything (`noise`: "white",
    "bed" = stationary real-noise spectrum, "recording" = the real noise with its events;
    `noise_dbfs=None`: digital silence around the speech).  Returns (pcm, truth)."""
    lead = int(lead_s * rate)
    n = lead + len(speech) + int(listening_s * rate)
    x = np.zeros(n, np.float32)
    x[lead : lead + len(speech)] = speech
    if noise_dbfs is not None:
        dur = n / rate
        if noise == "white":
            bed = white(dur, noise_dbfs, rate)
        elif noise == "bed":
            assert media is not None
            bed = noise_bed(media, dur, noise_dbfs, rate)
        elif noise == "recording":
            assert media is not None
            bed = scale_to(noise_recording(media, dur, rate), noise_dbfs)
        else:
            raise ValueError(noise)
        x = x + bed[:n]
    onset = lead_s + first_sound_s(speech, rate)
    return x, Truth(onset_s=onset, boundary_s=lead_s + last_sound_s(speech, rate), end_s=n / rate)


def first_sound_s(x: np.ndarray, rate: int = RATE, above_db: float = 20.0) -> float:
    """Start of the first 10 ms window more than `above_db` over the track's quietest tenth."""
    w = rate // 100
    n = len(x) // w
    lv = 10 * np.log10(np.mean(np.square(x[: n * w].reshape(n, w)), axis=1) + 1e-20)
    thr = np.percentile(lv, 10) + above_db
    return float(np.argmax(lv > thr) * w / rate)


def audio_data(x: np.ndarray, rate: int = RATE, channels: int = 1) -> AudioData:
    """AudioData as the decode pass would build it from a 16 kHz mono track."""
    x = np.asarray(x, np.float32)
    spw = rate // 100
    n = -(-len(x) // spw)
    pad = np.zeros(n * spw, np.float32)
    pad[: len(x)] = x
    clipped = (np.abs(pad.reshape(n, spw)) >= 0.999).sum(axis=1).astype(np.int32)
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    peak = float(np.abs(x).max()) if len(x) else 0.0
    return AudioData(
        pcm16k=np.clip(x, -1, 1).astype(np.float32),
        sample_rate_hz=rate,
        channels=channels,
        channel_rms=(rms,) * channels,
        channel_peak=(peak,) * channels,
        lr_correlation=None,
        clipped_per_10ms=clipped,
        samples_per_10ms=spw,
    )


def last_sound_s(x: np.ndarray, rate: int = RATE, above_db: float = 20.0) -> float:
    """End of the last 10 ms window more than `above_db` over the track's quietest tenth."""
    w = rate // 100
    n = len(x) // w
    lv = 10 * np.log10(np.mean(np.square(x[: n * w].reshape(n, w)), axis=1) + 1e-20)
    thr = np.percentile(lv, 10) + above_db
    return float((n - np.argmax(lv[::-1] > thr)) * w / rate)


# --- hand-built evidence for pure check tests ---------------------------------------------

SpanSpec = tuple[float, float] | tuple[float, float, float]


def voice_from_spans(
    duration_s: float,
    speech: Sequence[SpanSpec] = (),
    *,
    speech_dbfs: float = -20.0,
    floor_dbfs: float = -65.0,
    sounds: Sequence[tuple[float, float, float, float]] = (),
    zeros: Sequence[tuple[float, float]] = (),
    clipped: Sequence[tuple[float, float, int]] = (),
) -> VoiceEvidence:
    """VoiceEvidence from a description instead of audio.  Windows inside `speech` spans get a
    Silero probability of 0.95 and `speech_dbfs` (or the span's own third value); the rest
    `floor_dbfs` and 0.02.  `sounds`: (start, end, level_dbfs, tonality_db) non-speech sounds;
    `zeros`: digital silence; `clipped`: (start, end, full-scale samples per 10 ms)."""
    w = WINDOW_S
    n = int(duration_s / w)  # whole windows, as the analyser counts them
    t = (np.arange(n) + 0.5) * w
    level = np.full(n, floor_dbfs, np.float32)
    prob = np.full(n, 0.02, np.float32)
    ton = np.full(n, 12.0, np.float32)
    zero = np.zeros(n, bool)
    for s in speech:
        m = (t >= s[0]) & (t < s[1])
        level[m] = s[2] if len(s) > 2 else speech_dbfs
        prob[m] = 0.95
    for a, b, lv, tn in sounds:
        m = (t >= a) & (t < b)
        level[m] = lv
        ton[m] = tn
    for a, b in zeros:
        m = (t >= a) & (t < b)
        zero[m] = True
        level[m] = -120.0
    n10 = int(round(duration_s * 100))
    clip = np.zeros(n10, np.int32)
    t10 = (np.arange(n10) + 0.5) * 0.01
    for a, b, c in clipped:
        clip[(t10 >= a) & (t10 < b)] = c
    return evidence_from_windows(
        level_dbfs=level,
        silero_prob=prob,
        webrtcvad=prob > 0.5,
        tonality_db=ton,
        digital_silence=zero,
        duration_s=duration_s,
        clipped_per_10ms=clip,
        native_samples_per_10ms=480,
    )

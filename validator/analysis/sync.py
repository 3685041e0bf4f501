"""Lip-sync measurement: how well mouth motion follows the voice, at which audio lag, and how
sure that is.  A library for MTH003 (checks/mth.py); it registers no analyser: the inputs are
the face analyser's mouth track (`FaceEvidence.mouth_t_s` / `mouth_open_track`, every decoded
frame up to ~30/s) and the decode pass's 16 kHz PCM.

Method (measured on ../shared/media/real, see MTH003's docstring for the figures):

- audio: the speech band (300-3000 Hz) level in dB, 32 ms windows every 10 ms, floored 50 dB
  under the loudest window and lightly smoothed (30 ms); its change over +-20 ms gives voice
  onsets (rising) and offsets (falling);
- video: the mouth opening (inner-lip gap / mouth width) and its frame-to-frame change;
- two Pearson correlations over the frames within 0.5 s of speech, for audio lags of
  -1..+1 s in 20 ms steps: opening against level, and opening change against level change
  (mouth *motion* against voice onsets: a held smile or a closed "m" do not move, so they do
  not count against the clip).  Their mean is the sync curve;
- confidence: the same correlation with the audio circularly shifted by 1.5 s or more (where
  nothing can line up) gives the clip's own chance level; the curve is expressed as z-scores
  against it.  The chance spread shrinks as speech gets longer, so the same true sync reads a
  higher z on a longer clip, and a few seconds of speech cannot reach a confident verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 16000
SPEECH_BAND_HZ = (300.0, 3000.0)
HOP_S = 0.01
FLOOR_DB = 50.0  # level floor under the loudest window: silence is silence, whatever its level
DIFF_S = 0.02  # level change measured over +-20 ms (one video frame at 25 fps)
ACTIVE_GUARD_S = 0.5  # frames this close to speech are compared (onsets, ends)
LAG_MAX_S = 1.0
LAG_STEP_S = 0.02
NULL_MIN_SHIFT_S = 1.5  # circular shifts this large cannot line anything up
NULL_SD_FLOOR = 0.02  # chance spread is never taken as smaller than this
CHANCE_BLOCK = 2048  # rolls whose chance maxima are taken together (bounded memory)


@dataclass(frozen=True)
class SyncResult:
    lags_s: np.ndarray
    corr: np.ndarray  # mean of the two correlations at each audio lag
    circ: np.ndarray  # the same mean with the audio rolled by k samples, every k
    base: np.ndarray  # rolls far enough (>= 1.5 s) to be chance
    rate: float  # compared samples per second (roll k is about -k / rate seconds of lag)
    n: int  # compared video frames
    speech_s: float  # seconds of speech among them
    rate_hz: float  # mouth samples per second

    def chance(self, lo_s: float, hi_s: float) -> tuple[float, float]:
        """Mean and spread of the best chance correlation over a lag range as wide as
        [lo_s, hi_s]: for each far roll, the maximum over the neighbouring rolls spanning it."""
        w = max(1, int(round((hi_s - lo_s) * self.rate)) + 1)
        # CHANCE_BLOCK rolls at a time: the (rolls x w) window table of a 10-minute clip's
        # track at once was ~20 MB; each roll's maximum is the same whatever the block.
        m = np.empty(len(self.base), self.circ.dtype)
        for a in range(0, len(self.base), CHANCE_BLOCK):
            idx = (self.base[a : a + CHANCE_BLOCK, None] + np.arange(w)[None, :]) % len(self.circ)
            m[a : a + CHANCE_BLOCK] = self.circ[idx].max(1)
        return float(m.mean()), max(NULL_SD_FLOOR, float(m.std()))

    def best(self, lo_s: float, hi_s: float) -> tuple[float, float, float]:
        """(lag s, correlation, z) of the best lag within [lo_s, hi_s]; z against chance over
        a range as wide."""
        m = (self.lags_s >= lo_s - 1e-9) & (self.lags_s <= hi_s + 1e-9)
        i = np.flatnonzero(m)[int(np.argmax(self.corr[m]))]
        mu, sd = self.chance(lo_s, hi_s)
        c = float(self.corr[i])
        return float(self.lags_s[i]), c, (c - mu) / sd

    @property
    def peak(self) -> tuple[float, float, float]:
        """(lag s, correlation, z) of the best lag in the whole search range."""
        return self.best(float(self.lags_s[0]), float(self.lags_s[-1]))


def speech_band_db(pcm: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(t_s, level_db) of the speech band, 32 ms windows every 10 ms, smoothed over 30 ms.
    `pcm`: an array or the decode pass's `buffers.Spilled`, read a batch of windows at a time."""
    win, hop = 512, int(round(HOP_S * RATE))
    if len(pcm) < win + hop:
        return None
    n = 1 + (len(pcm) - win) // hop
    power = np.empty(n, np.float64)
    window = np.hanning(win).astype(np.float32)
    freqs = np.fft.rfftfreq(win, 1.0 / RATE)
    band = (freqs >= SPEECH_BAND_HZ[0]) & (freqs <= SPEECH_BAND_HZ[1])
    step = 1024  # windows per FFT batch (~17 MB of temporaries; 4096 took ~70 MB): bounded
    idx = np.arange(win)[None, :] + hop * np.arange(step)[:, None]
    for a in range(0, n, step):
        b = min(n, a + step)
        x = np.asarray(pcm[hop * a : hop * (b - 1) + win], np.float32)
        spec = np.abs(np.fft.rfft(x[idx[: b - a]] * window, axis=1)) ** 2
        power[a:b] = spec[:, band].sum(1) / win
    db = 10 * np.log10(np.maximum(power, 1e-10))
    db = np.maximum(db, db.max() - FLOOR_DB)
    k = np.hanning(5)[1:-1]
    db = np.convolve(db, k / k.sum(), mode="same")
    t = (np.arange(n) * hop + win / 2) / RATE
    return t, db


def _near(times: np.ndarray, marks: np.ndarray, guard: float) -> np.ndarray:
    if len(marks) == 0:
        return np.zeros(len(times), bool)
    i = np.clip(np.searchsorted(marks, times), 1, max(1, len(marks) - 1))
    lo = np.abs(times - marks[np.maximum(i - 1, 0)])
    hi = np.abs(times - marks[np.minimum(i, len(marks) - 1)])
    return np.minimum(lo, hi) <= guard


def _zscore(x: np.ndarray) -> np.ndarray | None:
    sd = float(np.std(x))
    if sd < 1e-9:
        return None
    return (x - x.mean()) / sd


def measure(
    mouth_t: np.ndarray,
    mouth_open: np.ndarray,
    pcm: np.ndarray,
    speech_t: np.ndarray,
    window_s: float,
    span: tuple[float, float] | None = None,
) -> SyncResult | None:
    """The sync curve of a mouth track against the audio.  `speech_t` are the centres of the
    voice analyser's speech windows (each `window_s` long); only frames within 0.5 s of speech
    (and inside `span`, if given) are compared.  None when there is too little to compare."""
    env = speech_band_db(pcm)
    if env is None:
        return None
    ta, lev = env
    d = int(round(DIFF_S / HOP_S))
    dlev = np.zeros_like(lev)
    dlev[d:-d] = lev[2 * d :] - lev[: -2 * d]
    t = np.asarray(mouth_t, np.float64)
    mo = np.asarray(mouth_open, np.float64)
    ok = np.isfinite(mo)
    if span is not None:
        ok &= (t >= span[0]) & (t < span[1])
    ok &= _near(t, np.sort(np.asarray(speech_t, np.float64)), ACTIVE_GUARD_S)
    # Opening change between consecutive frames, placed between them.
    dt = np.diff(t)
    step = float(np.median(dt)) if len(dt) else 0.0
    pair = ok[1:] & ok[:-1] & (dt <= 1.5 * step + 1e-6)
    tm = (t[1:] + t[:-1]) / 2
    dmo = np.diff(np.where(np.isfinite(mo), mo, 0.0))
    t1, v1 = t[ok], mo[ok]
    t2, v2 = tm[pair], dmo[pair]
    if len(t1) < 20 or len(t2) < 20:
        return None
    v1, v2 = _zscore(v1), _zscore(v2)
    if v1 is None or v2 is None:
        return None
    lags = np.round(np.arange(-LAG_MAX_S, LAG_MAX_S + 1e-9, LAG_STEP_S), 6)
    curves, circular = [], []
    for tv, v, a in ((t1, v1, lev), (t2, v2, dlev)):
        c = np.full(len(lags), np.nan)
        for k, lag in enumerate(lags):
            x = _zscore(np.interp(tv + lag, ta, a))
            if x is None:
                return None
            c[k] = float(np.dot(x, v) / len(v))
        curves.append(c)
        x0 = _zscore(np.interp(tv, ta, a))
        # r[k] = correlation of the mouth with the (unlagged) audio samples rolled by k, for
        # every k at once.
        r = np.fft.irfft(np.conj(np.fft.rfft(x0)) * np.fft.rfft(v), n=len(v)) / len(v)
        circular.append(r)
    n = min(len(r) for r in circular)
    rate = n / max(1e-9, float(t1[-1] - t1[0]))
    circ = (circular[0][:n] + circular[1][:n]) / 2
    corr = (curves[0] + curves[1]) / 2
    # Chance: the audio rolled by 1.5 s or more against the mouth, where nothing lines up.  For
    # each such roll, the best correlation over the same spread of lags as the question asked
    # (look-elsewhere: a maximum over many lags is larger than one correlation).
    k0 = int(np.ceil(NULL_MIN_SHIFT_S * rate))
    base = np.arange(k0, n - k0)
    if len(base) < 10:
        return None
    speech_s = float(len(speech_t) * window_s)
    if span is not None:
        st = np.asarray(speech_t)
        speech_s = float(((st >= span[0]) & (st < span[1])).sum() * window_s)
    rate_hz = len(t1) / max(1e-9, float(t1[-1] - t1[0]))
    return SyncResult(
        lags_s=lags,
        corr=corr,
        circ=circ,
        base=base,
        rate=rate,
        n=int(len(t1)),
        speech_s=speech_s,
        rate_hz=rate_hz,
    )

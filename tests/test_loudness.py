"""validator/loudness.py measures what pyloudnorm measures (BS.1770-4 integrated loudness),
without scipy; `prepare --loudness` plans the same gain with it."""

from __future__ import annotations

import numpy as np
import pytest

from validator.evidence import AudioData
from validator.loudness import integrated_loudness
from validator.prepare.plan import plan_gain

pyloudnorm = pytest.importorskip("pyloudnorm")


def _signals(rate: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    t = np.arange(int(12 * rate)) / rate
    return {
        "noise": 0.1 * rng.standard_normal(len(t)),
        "tone 1 kHz": 0.3 * np.sin(2 * np.pi * 1000 * t),
        "tone 50 Hz": 0.3 * np.sin(2 * np.pi * 50 * t),
        "tone 6 kHz quiet": 0.01 * np.sin(2 * np.pi * 6000 * t),
        # speech-like bursts and near-silence: both gates matter
        "gated": np.where(
            (t % 2) < 0.7, 0.2 * rng.standard_normal(len(t)), 1e-4 * rng.standard_normal(len(t))
        ),
        "stereo": 0.1 * rng.standard_normal((len(t), 2)) * [1.0, 0.3],
        "short": 0.1 * rng.standard_normal(int(0.45 * rate)),
    }


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_matches_pyloudnorm_on_generated_signals(rate):
    for name, x in _signals(rate).items():
        ours = integrated_loudness(x, rate)
        ref = pyloudnorm.Meter(rate).integrated_loudness(x)
        assert ours == pytest.approx(ref, abs=0.01), name


def test_silence_and_too_short():
    assert integrated_loudness(np.zeros(16000), 16000) == float("-inf")
    assert integrated_loudness(1e-6 * np.ones(16000), 16000) == float("-inf")  # below -70 LUFS
    with pytest.raises(ValueError):
        integrated_loudness(np.zeros(1000), 16000)


def _decode_16k_mono(path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        res = av.AudioResampler(format="flt", layout="mono", rate=16000)
        chunks = []
        for frame in c.decode(audio=0):
            for f in res.resample(frame):
                chunks.append(f.to_ndarray().reshape(-1))
        chunks += [f.to_ndarray().reshape(-1) for f in res.resample(None)]
    return np.concatenate(chunks).astype(np.float64)


@pytest.mark.realmedia
def test_matches_pyloudnorm_on_real_speech_and_noise(shared_media):
    names = [
        "audio/rtvc_librispeech_1320_00000.mp3",
        "audio/rtvc_vctk_p240_00000.mp3",
        "audio/whisper_jfk.flac",
        "audio/dfn_noise_freesound_573577.wav",
        "audio/musetalk_eng.wav",
    ]
    for name in names:
        x = _decode_16k_mono(shared_media / name)
        ours, ref = integrated_loudness(x, 16000), pyloudnorm.Meter(16000).integrated_loudness(x)
        assert ours == pytest.approx(ref, abs=0.01), name
        # what prepare --loudness plans from it: the same gain (within 0.1 dB) as with pyloudnorm
        a = AudioData(
            pcm16k=x.astype(np.float32),
            sample_rate_hz=16000,
            channels=1,
            channel_rms=(float(np.sqrt(np.mean(x**2))),),
            channel_peak=(float(np.max(np.abs(x))),),
            lr_correlation=None,
        )
        gain, _ = plan_gain(a)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(
                "validator.loudness.integrated_loudness",
                lambda pcm, rate: float(pyloudnorm.Meter(rate).integrated_loudness(pcm)),
            )
            ref_gain, _ = plan_gain(a)
        assert gain == pytest.approx(ref_gain, abs=0.1), name

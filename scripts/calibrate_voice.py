"""Print the voice analyser's calibration figures (quoted in checks/seg.py and checks/aud.py).

    /tmp/venv/bin/python scripts/calibrate_voice.py [../shared/media]

Builds mixes of real speech (LibriSpeech, VCTK, JFK) with room tone / real noise at known levels
(tests/audiomix.py), runs the analyser on them and on the real clips, and prints boundary error,
noise floor, speech level, tonality and timing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import audiomix as am  # noqa: E402

from validator.analysis.voice import analyse  # noqa: E402


def describe(name: str, x: np.ndarray, truth: am.Truth | None = None) -> None:
    t0 = time.perf_counter()
    v = analyse(am.audio_data(x))
    dt = time.perf_counter() - t0
    err = ""
    if truth is not None and v.boundary_s is not None:
        err = f" boundary {v.boundary_s:6.2f} (truth {truth.boundary_s:6.2f}, err {v.boundary_s - truth.boundary_s:+.2f})" \
              f" onset {v.onset_s:5.2f} (truth {truth.onset_s:5.2f})"
    sp = v.speaking
    sh = v.speech[v.mask_between(sp.start_s, sp.end_s)].mean() if sp else float("nan")
    lis = v.listening
    lm = v.mask_between(lis.start_s, lis.end_s) & ~v.speech if lis else np.zeros(v.n_windows, bool)
    ton = np.percentile(v.tonality_db[lm], [50, 90, 99]) if lm.any() else [np.nan] * 3
    lsp = sum(r.end_s - r.start_s for r in v.speech_runs_in(lis))
    nf = f"{v.noise_floor_dbfs:6.1f}" if v.noise_floor_dbfs is not None else "  none"
    sl = f"{v.speech_level_dbfs:6.1f}" if v.speech_level_dbfs is not None else "  none"
    print(f"{name:34s} {len(x) / 16000:5.1f}s {dt * 1000:5.0f}ms speaking={sp} listening={lis}\n"
          f"{'':34s} noise {nf} speech {sl} share {sh:.2f} listen-speech {lsp:.2f}s "
          f"listen tonality p50/p90/p99 {ton[0]:.1f}/{ton[1]:.1f}/{ton[2]:.1f}{err}")


def main(media: Path) -> None:
    sp = am.speech_track(media, 30.0)
    for label, kw in [
        ("clean room tone -65", dict(noise_dbfs=-65.0)),
        ("digital silence", dict(noise_dbfs=None)),
        ("noise bed -55", dict(noise_dbfs=-55.0, noise="bed")),
        ("noise bed -45", dict(noise_dbfs=-45.0, noise="bed")),
        ("noise bed -35", dict(noise_dbfs=-35.0, noise="bed")),
        ("noise recording -45", dict(noise_dbfs=-45.0, noise="recording")),
        ("white -40", dict(noise_dbfs=-40.0)),
    ]:
        x, truth = am.build(sp, media=media, **kw)
        describe(label, x, truth)
    # Natural ending: whole files, the last one ends in its own trailing pause.
    files = [am.load_audio(media / "audio" / f) for f in am.SPEECH_FILES[:6]]
    nat = np.concatenate(files)
    x, truth = am.build(nat, noise_dbfs=-60.0, media=media)
    describe("natural end (JFK) -60", x, truth)
    mus = am.load_audio(media / "audio" / "musetalk_eng.wav")
    describe("musetalk 60 s", mus)
    x, truth = am.build(mus[: 33 * 16000], noise_dbfs=-60.0)
    describe("musetalk 33 s + 30 s", x, truth)
    for extra, sig in [("tone 440 -30", am.sine(30, 440, -30)), ("music -30", am.music(30, -30)),
                       ("noise-recording -30", am.scale_to(am.noise_recording(media, 30), -30))]:
        x, truth = am.build(sp, noise_dbfs=-65.0)
        x[-len(sig):] += sig
        describe(f"listening + {extra}", x, truth)
    for f in sorted((media / "real").iterdir()):
        try:
            x = am.load_audio(f)
        except Exception as e:  # noqa: BLE001
            print(f"{f.name}: no audio ({type(e).__name__})")
            continue
        if len(x) == 0:
            print(f"{f.name}: no audio")
            continue
        describe(f.name, x)
    # Timing of the whole analysis on 60 s.
    t0 = time.perf_counter()
    for _ in range(3):
        analyse(am.audio_data(mus))
    print(f"analysis of 60 s: {(time.perf_counter() - t0) / 3 * 1000:.0f} ms per run")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "media")

"""Print the voice analyser's calibration figures (quoted in checks/seg.py and checks/aud.py).

    /tmp/venv/bin/python scripts/calibrate_voice.py [../shared/media]
    /tmp/venv/bin/python scripts/calibrate_voice.py --bench [../shared/media]   # timing only

1. Mixes of real speech (LibriSpeech, VCTK, JFK joined to 30 s; tests/audiomix.py) with room
   tone, real noise and a stationary bed of that noise's spectrum at known levels, tones and
   synthetic music, each encoded to an H.264/AAC 48 kHz clip with PyAV and validated with
   `--select SEG,AUD`: boundary error against the known end of speech, and every rule's value.
2. The audio of every clip in ../shared/media/real, validated the same way.
3. The analysis time of 60 s of audio (on top of the decode pass): the analyser alone, and the
   pipeline's own `timings_s` for a 60 s 1280x720 clip with the MuseTalk recording.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import audiomix as am  # noqa: E402
from clipgen import make_clip  # noqa: E402

from validator import validate  # noqa: E402
from validator.analysis.voice import analyse  # noqa: E402
from validator.settings import Settings  # noqa: E402

RATE = 48000


def show(name: str, path: Path, truth: am.Truth | None = None) -> None:
    rep = validate(path, Settings(select=("SEG", "AUD")))
    v = rep.evidence.voice
    head = f"{name:28s}"
    if v is None:
        print(f"{head} no voice evidence: {rep.evidence.missing.get('voice')}")
        return
    sp, ls = v.speaking, v.listening
    seg = (
        f"speaking {sp.start_s:5.2f}-{sp.end_s:5.2f} ({sp.end_s - sp.start_s:4.1f} s)"
        if sp
        else "speaking none"
    ) + (f" listening {ls.end_s - ls.start_s:4.1f} s" if ls else " listening none")
    if truth is not None and v.boundary_s is not None:
        seg += f" | boundary err {v.boundary_s - truth.boundary_s:+.2f} s, onset err {v.onset_s - truth.onset_s:+.2f} s"
    lm = (
        v.mask_between(ls.start_s, ls.end_s) & ~v.near_speech(0.25)
        if ls
        else np.zeros(v.n_windows, bool)
    )
    if lm.any():
        seg += " | listening tonality p50/p90/p99/max " + "/".join(
            f"{x:.1f}" for x in np.percentile(v.tonality_db[lm], [50, 90, 99, 100])
        )
    print(f"{head} {seg}")
    vals = []
    for r in rep.results:
        m = (
            "-"
            if r.measured is None
            else (f"{r.measured:.4g}" if isinstance(r.measured, float) else str(r.measured))
        )
        vals.append(
            f"{r.rule[:1]}{r.rule[3:]}{'!' if r.status == 'fail' else ('~' if r.status == 'skip' else '')}={m}"
        )
    print(f"{'':28s} {' '.join(vals)}")


def bench(media: Path) -> None:
    mus16 = am.audio_data(am.load_audio(media / "audio" / "musetalk_eng.wav"))
    wall, cpu = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        analyse(mus16)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"voice analysis of 60 s of audio, 5 runs: CPU median {np.median(cpu) * 1000:.0f} ms, "
        f"wall median {np.median(wall) * 1000:.0f} ms, best {min(wall) * 1000:.0f} ms"
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench_voice_"))
    x = am.load_audio(media / "audio" / "musetalk_eng.wav", RATE)
    p = make_clip(
        tmp / "bench.mp4",
        duration_s=len(x) / RATE,
        fps=30,
        size=(1280, 720),
        audio=x,
        sample_rate=RATE,
    )
    for _ in range(2):
        rep = validate(p, Settings(select=("SEG", "AUD")))
        t = rep.timings_s
        print(
            f"pipeline on a 60 s 1280x720 30 fps clip, --select SEG,AUD: decode {t['decode']:.2f} s, "
            f"voice {t['voice']:.2f} s, checks {t['checks'] * 1000:.0f} ms, total {t['total']:.2f} s"
        )


def main(media: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="calib_voice_"))
    sp = am.speech_track(media, 30.0, rate=RATE)
    remark = am.load_audio(media / "audio" / "musetalk_eng.wav", RATE)[10 * RATE : 12 * RATE]
    cases: dict[str, tuple[np.ndarray, am.Truth]] = {}
    for label, kw in [
        ("room tone -65", dict(noise_dbfs=-65.0)),
        ("digital silence (gate)", dict(noise_dbfs=None)),
        ("noise bed -55", dict(noise_dbfs=-55.0, noise="bed")),
        ("noise bed -45", dict(noise_dbfs=-45.0, noise="bed")),
        ("noise bed -40", dict(noise_dbfs=-40.0, noise="bed")),
        ("noise bed -35", dict(noise_dbfs=-35.0, noise="bed")),
        ("noise bed -25", dict(noise_dbfs=-25.0, noise="bed")),
        ("noise recording -45", dict(noise_dbfs=-45.0, noise="recording")),
        ("white -40", dict(noise_dbfs=-40.0)),
    ]:
        cases[label] = am.build(sp, media=media, rate=RATE, **kw)
    nat = np.concatenate([am.load_audio(media / "audio" / f, RATE) for f in am.SPEECH_FILES[:6]])
    cases["natural end (JFK) -60"] = am.build(nat, noise_dbfs=-60.0, rate=RATE)
    mus = am.load_audio(media / "audio" / "musetalk_eng.wav", RATE)
    cases["musetalk 33 s + 30 s"] = am.build(
        mus[: 33 * RATE], lead_s=0.0, noise_dbfs=-60.0, rate=RATE
    )
    for extra, sig in [
        ("tone 440 -35 @40-46", am.sine(6, 440, -35, RATE)),
        ("music -30 @31-60", am.music(29, -30, RATE)),
        ("knocks -12 peak @45,50", am.knocks(30.0, [15.0, 20.0], -12.0, RATE)),
        ("remark 2 s @41.5", remark),
        ("other voice -22 dB @41.5", remark * np.float32(10 ** (-22 / 20))),
    ]:
        x, t = am.build(sp, noise_dbfs=-65.0, rate=RATE)
        at = {"tone": 40.0, "musi": 31.0, "knoc": 30.5, "rema": 41.5, "othe": 41.5}[extra[:4]]
        i = int(at * RATE)
        x[i : i + len(sig)] += sig[: len(x) - i]
        cases[f"+ {extra}"] = (x, t)
    x, t = am.build(np.clip(sp * 4.0, -1, 1), noise_dbfs=-65.0, rate=RATE)
    cases["hot: speech +12 dB, clipped"] = (x, t)
    x, t = am.build(sp * np.float32(10 ** (-22 / 20)), noise_dbfs=-70.0, rate=RATE)
    cases["quiet: speech -22 dB"] = (x, t)
    x = np.concatenate(
        [am.white(30.0, -65.0, RATE), am.build(sp, lead_s=0.0, listening_s=0.5, rate=RATE)[0]]
    )
    cases["silence first, then speech"] = (x, None)
    print("Mixes (encoded H.264/AAC 48 kHz; rules: S=SEG, A=AUD; ! fail, ~ skip):")
    for name, (x, truth) in cases.items():
        p = make_clip(
            tmp / "c.mp4",
            duration_s=len(x) / RATE,
            fps=5,
            size=(160, 120),
            audio=x,
            sample_rate=RATE,
        )
        show(name, p, truth)
    print("\nReal clips (../shared/media/real):")
    for f in sorted((media / "real").iterdir()):
        show(f.name, f)
    print()
    bench(media)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--bench"]
    where = Path(args[0]) if args else ROOT.parent / "shared" / "media"
    if "--bench" in sys.argv:
        bench(where)
    else:
        main(where)

"""Benchmark: the validator's cost as ratios against a plain full decode of the same file.

    python scripts/benchmark.py [CLIP] [--repeat N]

CLIP defaults to sample_media/sample.mp4 (64 s, 1080p30 H.264/AAC).  In the same run it times:

- baseline: a plain PyAV decode of every video and audio frame (frame threads on, as the
  validator uses), nothing else;
- `validate()` with only the MED rules (probe + the one decode pass + MED checks);
- `validate()` with every rule (all analysers), with its per-stage timings;
- any `scripts/bench_*.py` module's `run(clip, baseline_s)` (e.g. prepare: stream copy vs
  re-encode).

Each figure is the best of --repeat runs; ratios are figure / baseline.  Not a test: timings
depend on the machine; the ratios are what to compare between changes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from validator import Settings, validate  # noqa: E402
from validator.media.source import open_input  # noqa: E402


def plain_decode(path: str) -> float:
    t = time.perf_counter()
    with open_input(path) as c:
        streams = [s for s in (c.streams.video[:1] + c.streams.audio[:1])]
        for s in streams:
            s.thread_type = "AUTO"
        for packet in c.demux(*streams):
            for _ in packet.decode():
                pass
    return time.perf_counter() - t


def best(fn, repeat: int):
    results = [fn() for _ in range(repeat)]
    return min(results, key=lambda r: r[0] if isinstance(r, tuple) else r)


def main() -> int:
    ap = argparse.ArgumentParser(description="Time the validator against a plain decode.")
    ap.add_argument("clip", nargs="?", default=str(ROOT / "sample_media" / "sample.mp4"))
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    clip = args.clip

    with open_input(clip) as c:
        v = c.streams.video[0]
        desc = f"{c.duration / 1e6:.1f} s, {v.codec_context.width}x{v.codec_context.height}, {float(v.average_rate):.0f} fps"
    print(f"clip: {clip} ({desc})")

    base = best(lambda: plain_decode(clip), args.repeat)

    def timed(settings: Settings):
        t = time.perf_counter()
        r = validate(clip, settings)
        return time.perf_counter() - t, r

    med_s, _ = best(lambda: timed(Settings(select=("MED",))), args.repeat)
    full_s, full = best(lambda: timed(Settings()), args.repeat)

    rows = [
        ("plain full decode (baseline)", base),
        ("validate, MED rules only", med_s),
        ("validate, all rules", full_s),
    ]
    print(f"\n{'what':<44}{'seconds':>10}{'x baseline':>12}")
    for label, secs in rows:
        print(f"{label:<44}{secs:>10.2f}{secs / base:>12.2f}")
    print(f"{'MED overhead beyond the decode pass':<44}{med_s - base:>10.2f}")
    print("\nstages of the full run (seconds):")
    for k, v in full.timings_s.items():
        print(f"  {k:<20}{v:>8.3f}")
    faces = full.evidence.faces if full.evidence is not None else None
    n_samples = len(faces.t_s) if faces is not None and hasattr(faces, "t_s") else 0
    if n_samples:
        print(f"\nper sampled frame ({n_samples} samples at {Settings().sample_fps:g} fps):")
        for stage in ("faces", "image", "continuity", "thumbnails"):
            secs = full.timings_s.get(f"{stage}_frames", 0.0) + full.timings_s.get(stage, 0.0)
            if secs:
                print(f"  {stage:<20}{1000 * secs / n_samples:>8.1f} ms")

    for extra in sorted((ROOT / "scripts").glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(extra.stem, extra)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(f"\n{extra.stem}:")
        for label, secs in mod.run(clip, base):
            print(f"  {label:<42}{secs:>10.2f}{secs / base:>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

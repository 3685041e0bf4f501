"""Where one clip's CPU goes, and the least that any run of every rule could cost on it.

    python scripts/profile_cpu.py [CLIP] [--repeat N] [--goal RATIO]

Three measurements, all on this machine, in one run:

- the plain decode (`benchmark.PLAIN`: every video and audio frame, frame threads on) as a
  whole process, N times alternating with the start-up process below; the medians are kept;
- the start-up: a process that imports the validator and its analysers and loads the face
  models and Silero, doing nothing else (what every run pays before its first frame);
- one `validate()` of every rule in this process, with each frame analyser's sink timed with
  `time.thread_time()` (CPU of the thread that runs it), each face model's runs counted and
  timed the same way, and Silero's windows (the voice gate's thread) likewise.

Then the floor: the plain decode's CPU + the model runs + the start-up + Silero, i.e. what a
run would cost if every conversion, measurement and rule were free, against the CPU budget of
`--goal` times the plain decode's wall on two cores (2 CPU-s per wall second, perfectly
overlapped).  What is left between the two is all the rest of the analysis may cost.

Not a test: absolute figures depend on the machine and its load; compare shares and counts.
The frame threads' and FFmpeg's own threads are not split out: "the rest" is the process CPU
of `validate()` minus the sinks, the models' share inside them and Silero.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchmark  # noqa: E402  (scripts/benchmark.py: the plain decode and process timing)

START = r"""
import validator.cli
from validator.pipeline import load_analysers
from validator.analysis import voice
from validator.analysis.face_models import load_models
load_analysers()
load_models()
voice._silero()
"""


def _thread_timed(fn, acc: list[float]):
    def wrapped(*a, **k):
        t = time.thread_time()
        try:
            return fn(*a, **k)
        finally:
            acc[0] += time.thread_time() - t
            acc[1] += 1

    return wrapped


def profile(clip: str) -> dict[str, list[float]]:
    """One `validate()` of every rule, CPU per part (thread CPU seconds, calls)."""
    from validator import pipeline
    from validator.analysis import face_models, voice

    acc: dict[str, list[float]] = {}

    def timed_sink(name, fn, timings):
        a = acc.setdefault(f"{name}.{fn.__name__}", [0.0, 0])
        return _thread_timed(fn, a)

    detector, mesh = face_models.load_models()
    saved = [
        (pipeline, "_timed_sink", pipeline._timed_sink),
        (voice, "silero_probs", voice.silero_probs),
        (detector.net, "forward", None),  # an instance attribute over the class's method
        (mesh.net, "forward", None),
    ]
    pipeline._timed_sink = timed_sink
    for key, model in (("model: detector", detector.net), ("model: landmarks", mesh.net)):
        model.forward = _thread_timed(model.forward, acc.setdefault(key, [0.0, 0]))
    voice.silero_probs = _thread_timed(voice.silero_probs, acc.setdefault("silero", [0.0, 0]))
    try:
        pipeline.validate(clip)  # once untimed: imports, caches, page cache
        for a in acc.values():
            a[0], a[1] = 0.0, 0
        w0, c0 = time.perf_counter(), time.process_time()
        pipeline.validate(clip)
        acc["validate: wall"] = [time.perf_counter() - w0, 1]
        acc["validate: process CPU"] = [time.process_time() - c0, 1]
    finally:  # a caller in the same process (a test) gets the untimed functions back
        for obj, name, value in saved:
            if value is None:
                obj.__dict__.pop(name, None)
            else:
                setattr(obj, name, value)
    return acc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip", nargs="?", default=str(benchmark.ROOT / "sample_media" / "sample.mp4"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--goal", type=float, default=None, help="the goal ratio to a plain decode")
    args = ap.parse_args()
    # As the command line sets it (read when the face models' module is imported).
    os.environ.setdefault("VALIDATOR_CV2_THREADS", "1")
    clip = str(Path(args.clip).resolve())
    benchmark.compile_tree(benchmark.ROOT)
    runs = benchmark.alternate(
        {"plain": benchmark.plain(Path(clip)), "start": [benchmark.PY, "-c", START]},
        args.repeat,
    )
    plain, start = runs["plain"], runs["start"]
    acc = profile(clip)
    models = sum(v[0] for k, v in acc.items() if k.startswith("model:"))
    silero = acc["silero"][0]
    sinks = {k: v for k, v in acc.items() if "." in k}
    total = acc["validate: process CPU"][0]
    print(f"{benchmark.describe(Path(clip))}")
    print(f"plain decode: {plain['wall']:.2f} s wall, {plain['cpu']:.2f} CPU-s")
    print(f"start-up (imports, models, Silero): {start['cpu']:.2f} CPU-s")
    print(
        f"validate(), every rule: {acc['validate: wall'][0]:.2f} s wall, {total:.2f} CPU-s "
        "(in this process, after one warm-up run)"
    )
    for k, (s, n) in sorted(sinks.items(), key=lambda kv: -kv[1][0]):
        print(f"  {k:34s} {s:6.2f} CPU-s  {n:5d} calls  {1000 * s / max(n, 1):6.2f} ms each")
    for k in ("model: detector", "model: landmarks", "silero"):
        s, n = acc[k]
        print(f"  {k:34s} {s:6.2f} CPU-s  {n:5d} runs   {1000 * s / max(n, 1):6.2f} ms each")
    rest = total - sum(s for s, _ in sinks.values()) - silero
    print(f"  {'the rest (decode pass, finish)':34s} {rest:6.2f} CPU-s")
    floor = plain["cpu"] + models + start["cpu"] + silero
    print(
        f"floor: plain decode {plain['cpu']:.2f} + model runs {models:.2f} + start-up "
        f"{start['cpu']:.2f} + Silero {silero:.2f} = {floor:.2f} CPU-s"
    )
    if args.goal:
        budget = args.goal * plain["wall"] * 2
        now = start["cpu"] + total
        print(
            f"goal {args.goal:g}x: {args.goal * plain['wall']:.2f} s wall, at most "
            f"{budget:.2f} CPU-s on two cores; the floor takes {100 * floor / budget:.0f}% of it, "
            f"leaving {budget - floor:.2f} CPU-s for everything else (now "
            f"{now - floor:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

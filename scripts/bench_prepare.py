"""Benchmark `validator prepare` on a 60 s 1080p clip: stream copy vs re-encode.

    python scripts/bench_prepare.py [CLIP]      # without CLIP a 60 s 1080p30 clip is generated

`run(clip_path, baseline_s)` is imported by scripts/benchmark.py.  Each figure is wall time of the
whole library call (validate IN with the MED rules, write, validate OUT), so it is what a user
waits for.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _timed(clip: Path, out: Path, reencode: bool) -> tuple[float, str]:
    from validator import Settings
    from validator.prepare import PrepareOptions, prepare

    t0 = time.perf_counter()
    res = prepare(
        clip,
        out,
        Settings(select=("MED",)),
        PrepareOptions(trim="none", reencode=reencode, overwrite=True),
    )
    return time.perf_counter() - t0, res.plan.video


def run(clip_path: str, baseline_s: float) -> list[tuple[str, float]]:
    """Labelled seconds: prepare with stream copy, and with a forced re-encode.  `baseline_s`
    is the caller's reference (scripts/benchmark.py prints the ratio); not used here."""
    from validator.prepare.plan import PRESET

    clip = Path(clip_path)
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench_prepare_") as d:
        for reencode, label in (
            (False, "prepare, stream copy"),
            (True, f"prepare, re-encode (x264 {PRESET})"),
        ):
            seconds, video = _timed(clip, Path(d) / "out.mp4", reencode)
            if not reencode and video != "copy":
                label = "prepare, plan needed re-encode"
            rows.append((label, seconds))
    return rows


def _make_clip(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from clipgen import make_clip, moving_pattern

    base = moving_pattern(1920, 1080)
    return make_clip(
        folder / "bench_1080p_60s.mp4",
        duration_s=60.0,
        fps=30,
        size=(1920, 1080),
        frame_fn=base,
        video_options={"preset": "veryfast", "crf": "20"},
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?", help="a 60 s 1080p clip (default: generate one)")
    args = ap.parse_args(argv)
    from validator import Settings, validate

    with tempfile.TemporaryDirectory(prefix="bench_clip_") as d:
        clip = Path(args.clip) if args.clip else _make_clip(Path(d))
        t0 = time.perf_counter()
        validate(clip, Settings(select=("MED",)))
        baseline = time.perf_counter() - t0
        print(f"{'validate --select MED (reference)':<42} {baseline:7.2f} s")
        for label, seconds in run(str(clip), baseline):
            print(f"{label:<42} {seconds:7.2f} s   ({seconds / baseline:.1f}x reference)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

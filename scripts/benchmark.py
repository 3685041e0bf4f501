"""Benchmark: what a user waits for, as ratios to a plain PyAV decode of the same file.

    python scripts/benchmark.py [CLIP] [--repeat N] [--folder-clips N] [--no-phone] [--extras]
                                [--inline] [--against OLD_TREE] [--long N]

Every figure is a whole process, start to exit (interpreter start, imports, model loading
included), and every ratio compares two processes timed in the same run, alternating with each
other (A B A B ...) so that a machine whose CPU is shared or throttled slows both alike.  The
figure kept is the median of --repeat runs (default 3).

Cases (each against its own plain decode: every video and audio frame decoded with PyAV, frame
threads on, nothing else):

- phone-like: CLIP (default the bundled sample) re-encoded as Android phones write it, 1080p30
  H.264 High at 16 Mbit/s with no B-frames, with a sensor's temporal noise added to the luma so
  that the bits are real picture (made once, kept in a temp folder keyed by the source's size
  and mtime);
- the sample itself (64 s 1080p30, low bitrate);
- `--select MED` on both;
- B-frames (the phone-like encode with 3 B-frames between references): the plain decode with
  and without `skip_frame=NONREF`, i.e. what skipping non-reference frames for analysis could
  buy at most;
- a folder of --folder-clips copies of the sample with `--jobs 1` and `--jobs 2`: clips per
  minute;
- memory in clip length: every rule's peak on CLIP and on CLIP looped --long times (10 by
  default: ~10.7 minutes of the sample, packets copied, no re-encode);
- with --extras, any `scripts/bench_*.py` module's `run(clip, baseline_s)` (prepare).

The validator's byte code is compiled once before timing and the processes run without
PYTHONDONTWRITEBYTECODE, as an installed package runs (pip compiles it at install).

Peak memory is the largest maximum resident set (VmHWM, polled every 50 ms) of the process
and its children (the `--jobs` workers).  CPU is user + system
seconds of the process and its children.  Not a test: absolute timings depend on the machine
(and on what else it runs); the ratios are what to compare between changes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
# Not the repository: `python -m` puts the working folder first on sys.path, which would shadow
# --against's PYTHONPATH.  The installed (editable) package is found from anywhere.
CWD = tempfile.gettempdir()

PLAIN = r"""
import sys, av
c = av.open(open(sys.argv[1], "rb"))  # a file object: the name is never a URL
streams = c.streams.video[:1] + c.streams.audio[:1]
for s in streams:
    s.thread_type = "AUTO"
skip = len(sys.argv) > 2
if skip:
    c.streams.video[0].codec_context.skip_frame = "NONREF"
for packet in c.demux(*streams):
    for _ in packet.decode():
        pass
"""


def installed_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an installed package: byte code compiled once and read from then on
    (pip compiles it at install).  With PYTHONDONTWRITEBYTECODE set (some sandboxes set it) and
    no __pycache__, every start would compile the validator's sources again (~0.3 s of CPU,
    more than the whole `--select MED` overhead on the sample)."""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_tree(tree: Path) -> None:
    """Byte code for a source tree's validator package, as an installed package has it."""
    subprocess.run(
        [PY, "-m", "compileall", "-q", str(tree / "validator")],
        check=False,
        stdout=subprocess.DEVNULL,
        env=installed_env(),
    )


def run_process(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one whole process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=installed_env(env),
        cwd=CWD,
        text=True,
    )
    hwm = [0]

    def vm_hwm_kb(pid: int) -> int | None:
        try:
            with open(f"/proc/{pid}/status") as f:
                kb = [int(x.split()[1]) for x in f if x.startswith("VmHWM:")]
        except OSError:
            return None
        return kb[0] if kb else None

    def descendants(pid: int) -> list[int]:
        """Every process below `pid` (children are listed per thread of their parent)."""
        out, todo = [], [pid]
        while todo:
            parent = todo.pop()
            try:
                tids = os.listdir(f"/proc/{parent}/task")
            except OSError:
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{parent}/task/{tid}/children") as f:
                        kids = [int(x) for x in f.read().split()]
                except OSError:
                    continue
                out += kids
                todo += kids
        return out

    def poll() -> None:
        # VmHWM of each process's own memory map (its peak RSS since exec), the largest of the
        # process and its children (--jobs workers): wait4's ru_maxrss would start from this
        # benchmark's own RSS, which a forked child inherits as a floor.
        while True:  # until the process is a zombie (no memory map left) or gone
            own = vm_hwm_kb(p.pid)
            if own is None:
                return
            kids = [vm_hwm_kb(c) or 0 for c in descendants(p.pid)]
            hwm[0] = max(hwm[0], own, *kids)
            time.sleep(0.05)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    out = p.stdout.read() if p.stdout else ""
    watcher.join()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode not in (0, 1):
        raise SystemExit(f"benchmark: {' '.join(cmd)} exited {p.returncode}")
    return {
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "rss_mb": (hwm[0] or ru.ru_maxrss) / 1024,
        "stdout": out,
    }


def plain(clip: Path, nonref: bool = False) -> list[str]:
    return [PY, "-c", PLAIN, str(clip)] + (["nonref"] if nonref else [])


def check(*args: str) -> list[str]:
    return [PY, "-m", "validator", "check", "--no-cache", *args]


def env_with(**kv: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(kv)
    return env


def alternate(cmds: dict[str, object], repeat: int) -> dict[str, dict[str, float]]:
    """Run each command `repeat` times, interleaved; median wall and CPU, max RSS.  A command is
    an argv list, or (argv, environment)."""
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in cmds}
    for _ in range(repeat):
        for k, cmd in cmds.items():
            argv, env = cmd if isinstance(cmd, tuple) else (cmd, None)
            runs[k].append(run_process(argv, env))
    out = {}
    for k, rs in runs.items():
        out[k] = {
            "wall": statistics.median(r["wall"] for r in rs),
            "cpu": statistics.median(r["cpu"] for r in rs),
            "rss_mb": max(r["rss_mb"] for r in rs),
            "stdout": rs[-1]["stdout"],
        }
    return out


def encode(src: Path, dst: Path, *, bframes: bool) -> Path:
    """Re-encode `src` as 1080p30 H.264 High (16 Mbit/s; no B-frames unless `bframes`)."""
    if dst.exists():
        return dst
    import av

    tmp = dst.with_suffix(".part.mp4")
    with av.open(src.open("rb")) as inp, av.open(tmp.open("wb"), "w", format="mp4") as out:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        rate = vin.average_rate or 30
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        v.profile = "High"
        v.bit_rate = 16_000_000
        v.options = {
            "preset": "veryfast",
            "maxrate": "16M",
            "bufsize": "32M",
            # x264's adaptive choice puts almost no B-frames in the sample's steady picture (10
            # of 1930 frames): a fixed pattern of 3 between references (the middle one kept as
            # a reference, b-pyramid) is what a camera's encoder writes.
            "x264-params": "bframes=3:b-adapt=0" if bframes else "bframes=0",
            **({} if bframes else {"bf": "0"}),
        }
        a = out.add_stream_from_template(ain) if ain is not None else None  # audio copied
        streams = [vin] + ([ain] if ain is not None else [])
        tb = Fraction(rate.denominator, rate.numerator) if hasattr(rate, "denominator") else None
        n = 0
        for packet in inp.demux(*streams):
            if packet.stream.type == "video":
                for frame in packet.decode():
                    frame = _sensor_noise(frame, n)
                    frame.pts, frame.time_base = n, tb or Fraction(1, int(rate))
                    n += 1
                    out.mux(v.encode(frame))
            elif a is not None and packet.dts is not None:
                packet.stream = a
                out.mux(packet)
        out.mux(v.encode())
    tmp.rename(dst)
    return dst


def loop(src: Path, dst: Path, times: int) -> Path:
    """`src` played `times` times in a row, packets copied (no re-encode): a long clip with the
    sample's own picture and sound, for memory in clip length."""
    if dst.exists():
        return dst
    import av

    tmp = dst.with_suffix(".part.mp4")
    with av.open(tmp.open("wb"), "w", format="mp4") as out:
        outs = None
        for _ in range(times):
            with av.open(src.open("rb")) as inp:
                streams = inp.streams.video[:1] + inp.streams.audio[:1]
                if outs is None:
                    outs = {s.index: out.add_stream_from_template(s) for s in streams}
                    offset = {s.index: 0 for s in streams}
                    span = {s.index: 0 for s in streams}
                    tbs = {s.index: s.time_base for s in streams}  # the packets' time bases
                for packet in inp.demux(*streams):
                    if packet.dts is None:
                        continue
                    i = packet.stream.index
                    end = packet.pts + (packet.duration or 0)
                    span[i] = max(span[i], end)
                    packet.pts += offset[i]
                    packet.dts += offset[i]
                    packet.stream = outs[i]
                    out.mux(packet)
            # The next copy starts where the longest stream of this one ended, in each stream's
            # own time base.
            end_s = max(span[i] * tbs[i] for i in outs)
            for i in outs:
                offset[i] += round(end_s / tbs[i])
                span[i] = 0
    tmp.rename(dst)
    return dst


_NOISE: list = []


def _sensor_noise(frame, n: int):
    """The frame with a phone sensor's temporal noise on its luma (sigma 3 of 255): the
    sample's clean synthetic frames would otherwise never cost an encoder 16 Mbit/s, and a
    bit rate made of padding would not cost a decoder anything."""
    import av
    import numpy as np

    yuv = frame.to_ndarray(format="yuv420p")
    h = frame.height
    if not _NOISE:
        rng = np.random.default_rng(0)
        _NOISE.extend(
            np.clip(rng.normal(0, 3, (h, frame.width)), -8, 8).astype(np.int16) for _ in range(7)
        )
    y = yuv[:h].astype(np.int16) + _NOISE[n % len(_NOISE)]
    yuv[:h] = np.clip(y, 0, 255).astype(np.uint8)
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p")


def describe(clip: Path) -> str:
    import av

    with av.open(clip.open("rb")) as c:
        v = c.streams.video[0]
        br = (clip.stat().st_size * 8 / (c.duration / 1e6)) / 1e6 if c.duration else 0
        return (
            f"{c.duration / 1e6:.0f} s {v.codec_context.width}x{v.codec_context.height} "
            f"{float(v.average_rate):.0f} fps {v.codec_context.name} "
            f"{v.codec_context.profile}, {br:.1f} Mbit/s"
        )


def row(label: str, r: dict[str, float], base: dict[str, float]) -> str:
    return (
        f"| {label} | {base['wall']:.2f} | {r['wall']:.2f} | {r['wall'] / base['wall']:.2f}x "
        f"| {r['cpu'] / base['cpu']:.2f}x | {r['rss_mb']:.0f} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description="Whole-process ratios to a plain PyAV decode.")
    ap.add_argument("clip", nargs="?", default=str(ROOT / "sample_media" / "sample.mp4"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--folder-clips", type=int, default=4)
    ap.add_argument("--no-phone", action="store_true", help="skip the phone-like clip")
    ap.add_argument("--no-bframes", action="store_true", help="skip the B-frame clip")
    ap.add_argument("--extras", action="store_true", help="also run scripts/bench_*.py")
    ap.add_argument(
        "--long",
        type=int,
        default=10,
        metavar="N",
        help="memory in clip length: peak of every rule on CLIP looped N times against CLIP "
        "itself (0: skip)",
    )
    ap.add_argument(
        "--inline",
        action="store_true",
        help="also time every rule with the analysers in the decode loop (VALIDATOR_FRAME_THREAD=0)",
    )
    ap.add_argument(
        "--against",
        metavar="DIR",
        help="also time another source tree's validator (e.g. an older commit: git archive)",
    )
    args = ap.parse_args()
    compile_tree(ROOT)
    if args.against:
        compile_tree(Path(args.against).resolve())
    src = Path(args.clip).resolve()
    st = src.stat()
    work = Path(tempfile.gettempdir()) / f"validator-bench-{st.st_size}-{int(st.st_mtime)}"
    work.mkdir(exist_ok=True)

    clips = {"sample": src}
    if not args.no_phone:
        print("making the phone-like clip (once) ...", file=sys.stderr)
        clips["phone-like"] = encode(src, work / "phone.mp4", bframes=False)
    for name, clip in clips.items():
        print(f"{name}: {clip} ({describe(clip)})")

    print("\n| clip | plain decode s | validator s | x decode (wall) | x decode (CPU) | peak MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    stages = {}
    for name, clip in clips.items():
        cmds: dict[str, object] = {
            "plain": plain(clip),
            "all": check(str(clip), "--format", "json"),
            "med": check(str(clip), "--select", "MED", "--format", "json"),
        }
        if args.inline:
            cmds["inline"] = (
                check(str(clip), "--format", "json"),
                env_with(VALIDATOR_FRAME_THREAD="0"),
            )
        if args.against:
            other = env_with(PYTHONPATH=str(Path(args.against).resolve()))
            cmds["before-all"] = (check(str(clip), "--format", "json"), other)
            cmds["before-med"] = (check(str(clip), "--select", "MED", "--format", "json"), other)
        res = alternate(cmds, args.repeat)
        print(row(f"{name}, every rule", res["all"], res["plain"]))
        if args.inline:
            print(
                row(
                    f"{name}, every rule, analysers in the decode loop", res["inline"], res["plain"]
                )
            )
        if args.against:
            print(row(f"{name}, every rule, {args.against}", res["before-all"], res["plain"]))
        print(row(f"{name}, `--select MED`", res["med"], res["plain"]))
        if args.against:
            print(row(f"{name}, `--select MED`, {args.against}", res["before-med"], res["plain"]))
        try:
            stages[name] = json.loads(res["all"]["stdout"])["timings_s"]
        except (ValueError, KeyError):
            pass

    if not args.no_bframes:
        print("\nmaking the B-frame clip (once) ...", file=sys.stderr)
        bclip = encode(src, work / "bframes3.mp4", bframes=True)
        res = alternate({"plain": plain(bclip), "nonref": plain(bclip, nonref=True)}, args.repeat)
        print(f"\nB-frame clip ({describe(bclip)}):")
        print(
            f"  plain decode {res['plain']['wall']:.2f} s; skipping non-reference frames "
            f"{res['nonref']['wall']:.2f} s ({res['nonref']['wall'] / res['plain']['wall']:.2f}x)"
        )

    if args.folder_clips > 1:
        folder = work / "folder"
        folder.mkdir(exist_ok=True)
        for k in range(args.folder_clips):
            dst = folder / f"clip{k}.mp4"
            if not dst.exists():
                os.link(src, dst) if src.stat().st_dev == folder.stat().st_dev else dst.write_bytes(
                    src.read_bytes()
                )
        n = args.folder_clips
        res = alternate(
            {
                "one": check(str(folder), "--jobs", "1", "--format", "json"),
                "two": check(str(folder), "--jobs", "2", "--format", "json"),
            },
            max(1, args.repeat - 1),
        )
        print(f"\nfolder of {n} copies of the sample (every rule):")
        for k, label in (("one", "--jobs 1"), ("two", "--jobs 2")):
            r = res[k]
            print(
                f"  {label}: {r['wall']:.1f} s, {60 * n / r['wall']:.1f} clips/min, "
                f"peak {r['rss_mb']:.0f} MB (largest process)"
            )

    if args.long > 1:
        print(f"\nmaking the {args.long}x looped clip (once) ...", file=sys.stderr)
        lclip = loop(src, work / f"loop{args.long}.mp4", args.long)
        res = alternate(
            {
                "one": check(str(src), "--format", "json"),
                "long": check(str(lclip), "--format", "json"),
            },
            1,
        )
        one, lng = res["one"]["rss_mb"], res["long"]["rss_mb"]
        print(f"\nmemory in clip length (every rule; {describe(lclip)}):")
        print(
            f"  peak {one:.0f} MB on the clip, {lng:.0f} MB looped {args.long}x "
            f"({lng / one:.2f}x; goal: within 1.10x and under 400 MB)"
        )

    for name, t in stages.items():
        print(f"\nstages inside validate() on {name} (seconds):")
        for k, v in t.items():
            print(f"  {k:<20}{v:>8.3f}")

    if args.extras:
        base = alternate({"plain": plain(src)}, 1)["plain"]["wall"]
        for extra in sorted((ROOT / "scripts").glob("bench_*.py")):
            spec = importlib.util.spec_from_file_location(extra.stem, extra)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            print(f"\n{extra.stem}:")
            for label, secs in mod.run(str(src), base):
                print(f"  {label:<42}{secs:>10.2f}{secs / base:>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

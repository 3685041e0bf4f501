"""The seeded hostile corpus (tests/hostile.py): a few hundred damaged, odd and non-media files
built at test time from generated clips, a piece of the sample and (when present) a real clip.
Every file goes through `validate()` in a child process with a per-file timeout and its peak
memory measured; a sample goes through `validator check --jobs 2` and `prepare`.  No file may
crash, hang, exhaust memory, raise anything but the documented errors, or change; damaged MP4s
and non-media must be reported as such."""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import subprocess
import sys
from pathlib import Path

import hostile as H
import pytest
from clipgen import RELAX_MED_ARGS, make_clip

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_media" / "sample.mp4"
PER_FILE_TIMEOUT_S = 60.0  # generous: the machine may be busy; a hang is forever
MAX_PEAK_RSS_MB = 600.0  # measured 178 MB over 266 files (face models loaded)
FULL_EVERY = 40  # every n-th file is also run with every rule (face models on damaged frames)

DRIVER = r"""
import json, os, sys, traceback
from validator import Settings, validate
from validator.errors import UsageError, ValidatorError

MED = Settings(select=("MED",))
FULL = Settings()
def peak_rss_mb():
    # This process's own peak (VmHWM), not ru_maxrss: Linux carries that over from the parent
    # through fork and exec, so a child of a large pytest process reports the parent's peak.
    for status_line in open("/proc/self/status"):
        if status_line.startswith("VmHWM:"):
            return int(status_line.split()[1]) / 1024


for line in sys.stdin:
    path, full = json.loads(line)
    out = {}
    try:
        r = validate(path, FULL if full else MED, keep_evidence=False)
        out["fails"] = [x.rule for x in r.results if x.status == "fail"]
        out["passed"] = r.passed
    except UsageError as e:
        out["usage"] = str(e)
    except ValidatorError as e:
        out["error"] = f"{type(e).__name__}: {e}"
    except BaseException as e:
        out["error"] = "".join(traceback.format_exception(e))[-1500:]
    out["rss_mb"] = peak_rss_mb()
    print(json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, request) -> list[H.Case]:
    d = tmp_path_factory.mktemp("corpus")
    b = d / "bases"
    b.mkdir()
    small = (160, 120)
    bases = [
        make_clip(b / "gen.mp4", size=small),
        make_clip(b / "gen_fast.mp4", size=small, faststart=True),
        make_clip(b / "gen.mov", size=small),
        make_clip(b / "gen.mkv", size=small),
        make_clip(b / "gen.ts", size=small, container_format="mpegts"),
        H.fragmented(b, "gen_frag.mp4", duration_s=2.0),
        H.sample_piece(SAMPLE, b / "sample_1s.mp4"),
    ]
    real = ROOT.parent / "shared" / "media" / "real" / "grid_bbaf2n.mpg"
    if real.is_file():
        bases.append(real)
    cases = H.corpus(d / "files", bases, n=240, seed=11)
    cases += H.special_files(d / "special")
    cases += H.odd_names(d / "names", bases[0])
    cases += [
        H.Case(H.aac_many_channels(d), "audio", "63 channels", "damaged"),
        H.Case(H.format_change_ts(d), "audio", "format change", "damaged"),
        H.Case(H.png_claiming(d, 16000, 16000, container_too=True, name="p1.mov"), "pixels", ""),
        H.Case(H.png_claiming(d, 16000, 16000, container_too=False, name="p2.mov"), "pixels", ""),
        H.Case(make_clip(d / "wide.mp4", size=(4000, 8), duration_s=0.5), "aspect", "4000x8"),
        H.Case(H.set_display_matrix(bases[0], d / "rot45.mp4", 45), "matrix", "45"),
        H.Case(H.set_display_matrix(bases[0], d / "rot0.mp4", None), "matrix", "zero"),
    ]
    return cases


def _expect(case: H.Case) -> str:
    """What the right answer is.  A cut MP4/MOV is always detectable (the index or a box runs
    past the end of the file), and a cut Matroska file up to 90% (its header declares the
    duration); a cut MPEG-TS is a valid shorter stream, so nothing is asserted for it."""
    if case.expect != "any":
        return case.expect
    if case.category == "truncate":
        ext = case.path.suffix
        frac = float(case.note)
        if ext in (".mp4", ".mov") or (ext == ".mkv" and frac <= 0.9):
            return "damaged"
    return "any"


def test_every_hostile_file_gets_an_answer(corpus):
    originals = {c.path: _digest(c.path) for c in corpus if c.category != "special"}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    problems: list[str] = []
    peak = 0.0
    try:
        for i, case in enumerate(corpus):
            full = i % FULL_EVERY == 0
            proc.stdin.write(json.dumps([os.fspath(case.path), full]) + "\n")
            proc.stdin.flush()
            if not sel.select(timeout=PER_FILE_TIMEOUT_S):
                pytest.fail(f"{case.path.name} ({case.category} {case.note}): no answer in "
                            f"{PER_FILE_TIMEOUT_S:.0f} s (a hang)")  # fmt: skip
            line = proc.stdout.readline()
            if not line:
                pytest.fail(
                    f"{case.path.name} ({case.category} {case.note}): the process died "
                    f"(exit {proc.wait()}): {proc.stderr.read()[-2000:]}"
                )
            res = json.loads(line)
            peak = max(peak, res["rss_mb"])
            what = f"{case.path.name} ({case.category} {case.note})"
            expect = _expect(case)
            if "error" in res:
                problems.append(f"{what}: {res['error']}")
            elif expect == "refused":
                if "usage" not in res or "not a regular file" not in res["usage"]:
                    problems.append(f"{what}: not refused: {res}")
            elif "usage" in res:
                problems.append(f"{what}: usage error for a regular file: {res['usage']}")
            elif expect == "unreadable" and "MED001" not in res["fails"]:
                problems.append(f"{what}: MED001 did not fail: {res['fails']}")
            elif expect == "damaged" and not {"MED001", "MED011"} & set(res["fails"]):
                problems.append(f"{what}: damage not reported: {res['fails']}")
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    print(f"{len(corpus)} hostile files, peak RSS {peak:.0f} MB")
    assert not problems, "\n".join(problems[:20])
    assert peak < MAX_PEAK_RSS_MB, f"peak RSS {peak:.0f} MB"
    for p, digest in originals.items():
        assert _digest(p) == digest, f"{p.name} was changed"


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_cli_and_prepare_on_a_sample(corpus, tmp_path):
    """A sample through `validator check --jobs 2` (JSON consistent with the exit code, no exit
    3) and `prepare` (exit 0/1/2, never a traceback; no temporary file left; input unchanged)."""
    sample = [c for c in corpus if c.category not in ("special", "name")][::12]
    folder = tmp_path / "sample"
    folder.mkdir()
    for i, c in enumerate(sample):
        (folder / f"{i:03d}{c.path.suffix}").write_bytes(c.path.read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_DEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run(
        [sys.executable, "-m", "validator", "check", str(folder), "--jobs", "2"]
        + ["--format", "json", *RELAX_MED_ARGS],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert p.returncode in (0, 1), p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    doc = json.loads(p.stdout)
    assert not doc.get("errors"), doc.get("errors")
    assert (p.returncode == 0) == doc["passed"]
    assert all((r["passed"] is False) or p.returncode in (0, 1) for r in doc["reports"])
    for c in [c for c in sample if c.path.suffix in (".mp4", ".mov", ".mkv")][:6]:
        before = _digest(c.path)
        out = tmp_path / f"out_{c.path.stem}.mp4"
        q = subprocess.run(
            [sys.executable, "-m", "validator", "prepare", str(c.path), "-o", str(out)]
            + ["--trim", "none", *RELAX_MED_ARGS],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert q.returncode in (0, 1, 2), f"{c.path.name} ({c.category} {c.note}): {q.stderr}"
        assert "Traceback" not in q.stderr and "internal error" not in q.stderr, q.stderr
        assert _digest(c.path) == before
        assert not list(tmp_path.glob(".*part*"))

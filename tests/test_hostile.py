"""Hostile input (issue 11): special files, odd names, damaged and implausible media.  Every case
is built at test time from generated clips; each test fails on the behaviour the issue reported
(a hang, a crash, a traceback, a wrong exit code, the wrong finding)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import hostile as H
import pytest
from clipgen import RELAX_MED_ARGS, make_clip

from validator import Settings, UsageError, validate

ROOT = Path(__file__).resolve().parents[1]
MED = Settings(
    select=("MED",),
    params={
        "MED007": {"min_short_side_px": 16, "error_short_side_px": 16},
        "MED008": {"tolerance_s": 59.0},
    },
)


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_DEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "validator", *args],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def status(report, rule: str) -> str:
    return next(r.status for r in report.results if r.rule == rule)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("hostile") / "clean.mp4")


# --- special files (item 5) -------------------------------------------------------------------


@pytest.fixture()
def specials(tmp_path, clean) -> Path:
    d = tmp_path / "folder"
    d.mkdir()
    (d / "good.mp4").write_bytes(clean.read_bytes())
    os.mkfifo(d / "fifo.mp4")
    (d / "zero.mp4").symlink_to("/dev/zero")
    (d / "random.mov").symlink_to("/dev/urandom")
    return d


# A hang guard, not a timing: a hang is forever, and a loaded 2-core CI machine can take tens of
# seconds to start the interpreter and import the package.
HANG_S = 240


def test_special_files_are_refused_without_hanging(specials, tmp_path):
    for name in ("fifo.mp4", "zero.mp4", "random.mov"):
        with pytest.raises(UsageError, match="not a regular file"):
            validate(specials / name, MED)
    # The cache is on (the file used to be hashed before it was known to be regular).
    cache = ("--cache-dir", str(tmp_path / "cache"))
    for name in ("fifo.mp4", "zero.mp4"):
        p = run_cli(
            "check", str(specials / name), *cache, *RELAX_MED_ARGS, cwd=tmp_path, timeout=HANG_S
        )
        assert p.returncode == 2, p.stderr
        err = p.stderr.decode()
        assert "not a regular file" in err and "Traceback" not in err
    # A folder holding them: the good clip still gets its report, the others are named.
    p = run_cli(
        "check",
        str(specials),
        "--format",
        "json",
        *cache,
        *RELAX_MED_ARGS,
        cwd=tmp_path,
        timeout=HANG_S,
    )
    assert p.returncode == 2
    doc = json.loads(p.stdout)
    reports = doc["reports"] if "reports" in doc else [doc]
    assert [Path(r["input"]["path"]).name for r in reports] == ["good.mp4"]
    assert p.stderr.decode().count("not a regular file") >= 3


# --- odd names (item 6) -----------------------------------------------------------------------


def test_non_utf8_and_newline_names(tmp_path, clean, capsys):
    from validator import cli

    d = tmp_path / "names"
    d.mkdir()
    raw = os.fsencode(d) + b"/a\xff\xfe.mp4"
    with open(raw, "wb") as f:
        f.write(clean.read_bytes())
    (d / "new\nline.mp4").write_bytes(clean.read_bytes())
    cache = ("--cache-dir", str(tmp_path / "cache"))
    for fmt in ("text", "json", "html", "junit"):
        out = tmp_path / f"report.{fmt}"
        # To a file (a cache miss for the first format), then to stdout (a hit).
        for extra in (("-o", str(out)), ()):
            code = cli.main(["check", str(d), "--format", fmt, *extra, *cache, *RELAX_MED_ARGS])
            cap = capsys.readouterr()
            assert code == 0, cap.err
            assert "Traceback" not in cap.err and "internal error" not in cap.err
            table = cap.err.splitlines()
            assert any(line.endswith("new\\nline.mp4") for line in table), cap.err
            assert any(line.endswith("a\\udcff\\udcfe.mp4") for line in table), cap.err
            if fmt == "json" and not extra:
                doc = json.loads(cap.out)
                assert raw in [os.fsencode(r["input"]["path"]) for r in doc["reports"]]
        if fmt == "json":
            doc = json.loads(out.read_text("utf-8"))
            # The escape decodes back to the file's own name.
            assert raw in [os.fsencode(r["input"]["path"]) for r in doc["reports"]]


# --- a worker that dies (item 2) --------------------------------------------------------------

CRASHER = """
import os, signal
if os.environ.get("HOSTILE_CRASH_ON"):
    import validator.pipeline as _p

    _orig = _p.validate

    def validate(path, *a, **k):
        if os.environ["HOSTILE_CRASH_ON"] in os.fspath(path):
            os.kill(os.getpid(), signal.SIGSEGV)
        return _orig(path, *a, **k)

    _p.validate = validate
"""


def test_pool_survives_a_dead_worker(tmp_path, clean):
    """A clip that kills its worker process (as FFmpeg crashes did) costs only its own report."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CRASHER)
    d = tmp_path / "clips"
    d.mkdir()
    names = ["a.mp4", "b.mp4", "crash.mp4", "c.mp4", "d.mp4"]
    for n in names:
        (d / n).write_bytes(clean.read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_DEBUG"}
    env["PYTHONPATH"] = f"{hook}{os.pathsep}{ROOT}"
    env["HOSTILE_CRASH_ON"] = "crash.mp4"
    p = subprocess.run(
        [sys.executable, "-m", "validator", "check", str(d), "--jobs", "2", "--no-cache"]
        + ["--format", "json", *RELAX_MED_ARGS],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert p.returncode == 3, p.stderr
    doc = json.loads(p.stdout)
    why = f"errors: {doc.get('errors')}\nstderr: {p.stderr.decode(errors='replace')[-2000:]}"
    names = sorted(Path(r["input"]["path"]).name for r in doc["reports"])
    assert names == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"], why
    assert all(r["passed"] for r in doc["reports"]), why
    assert [Path(e["path"]).name for e in doc["errors"]] == ["crash.mp4"], why
    assert "SIGSEGV" in doc["errors"][0]["message"], why


# --- damaged and odd audio (items 2, 3) ---------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory, clean) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("built")
    frag = H.fragmented(d, duration_s=6.0)
    data = clean.read_bytes()
    traks = [b for b in H.boxes(data) if b.path == "moov/trak"]
    # The video trak is whole, the audio trak is cut off: FFmpeg opens it as video only.
    (d / "moov_cut.mp4").write_bytes(data[: traks[-1].start + 40])
    return {
        "aac63": H.aac_many_channels(d),
        "joined": H.format_change_ts(d),
        "frag_cut": H.cut(frag, d / "frag_cut.mp4", 0.97),
        "frag": frag,
        "moov_cut": d / "moov_cut.mp4",
        "rot45": H.set_display_matrix(clean, d / "rot45.mp4", 45),
        "rot_zero": H.set_display_matrix(clean, d / "rot_zero.mp4", None),
        "png_big": H.png_claiming(d, 16000, 16000, container_too=True, name="png_big.mov"),
        "png_inner": H.png_claiming(d, 16000, 16000, container_too=False, name="png_inner.mov"),
        "wide": make_clip(d / "wide.mp4", size=(8000, 8), duration_s=1.0),
        "tall": make_clip(d / "tall.mp4", size=(8, 8000), duration_s=1.0),
    }


def test_aac_claiming_63_channels_is_damage_not_a_crash(built):
    # Run in a child: before the fix the whole process died with SIGSEGV.
    code = (
        "import sys, json; from validator import validate, Settings;"
        "r = validate(sys.argv[1], Settings(select=('MED',)));"
        "print(json.dumps({x.rule: [x.status, x.message] for x in r.results}))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-c", code, str(built["aac63"])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(p.stdout)
    assert res["MED011"][0] == "fail" and "63 audio channels" in res["MED011"][1]


def test_audio_format_change_is_a_finding(built, tmp_path):
    rep = validate(built["joined"], MED)
    med011 = next(r for r in rep.results if r.rule == "MED011")
    assert med011.status == "fail" and "audio format changes" in med011.message
    assert "48000 Hz mono" in med011.message and "16000 Hz stereo" in med011.message
    p = run_cli("check", str(built["joined"]), *RELAX_MED_ARGS, cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    p = run_cli(
        "prepare", str(built["joined"]), "-o", str(tmp_path / "out.mp4"), *RELAX_MED_ARGS,
        cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == 1, p.stderr
    assert b"Traceback" not in p.stderr and b"internal error" not in p.stderr
    assert not (tmp_path / "out.mp4").exists()


# --- frames: aspect ratio and size (items 4, 7) ------------------------------------------------


@pytest.mark.parametrize("name", ["wide", "tall"])
def test_extreme_aspect_ratio_skips_frame_rules(built, name):
    rep = validate(built[name], Settings())  # every rule, face models included
    assert status(rep, "MED007") == "fail"
    for rule in ("FAC001", "MTH001", "IMG001"):
        r = next(x for x in rep.results if x.rule == rule)
        assert r.status == "skip" and "too narrow to analyse" in r.message


# This process's own peak RSS.  Not getrusage's ru_maxrss: Linux carries that over from the
# parent through fork and exec, so a child of a large pytest process reports the parent's peak.
PEAK_RSS_CODE = (
    "def peak_rss_mb():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1]) / 1024\n"
)


@pytest.mark.parametrize("name", ["png_big", "png_inner"])
def test_frame_size_limit_before_decoding(built, name):
    """PNG frames whose headers claim 16000x16000 (a 1.4 KB file) used to cost GBs of memory:
    run in a child with a 1.5 GB address-space... rather, with its peak RSS measured."""
    code = (
        PEAK_RSS_CODE + "import sys, json; from validator import validate, Settings;"
        "r = validate(sys.argv[1], Settings(select=('MED',)));"
        "print(json.dumps({'peak_mb': peak_rss_mb(),"
        " 'fails': [x.rule for x in r.results if x.status == 'fail']}))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-c", code, str(built[name])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(p.stdout)
    assert "MED001" in res["fails"]
    assert res["peak_mb"] < 400, res  # a single 16000x16000 RGB frame alone is 768 MB


# --- damage detection (item 9) ------------------------------------------------------------------


def test_truncated_fragmented_mp4_is_damaged(built):
    assert status(validate(built["frag"], MED), "MED011") == "pass"
    r = next(x for x in validate(built["frag_cut"], MED).results if x.rule == "MED011")
    assert r.status == "fail" and "truncated" in r.message


def test_mp4_cut_inside_its_moov_is_damaged(built):
    rep = validate(built["moov_cut"], MED)
    r = next(x for x in rep.results if x.rule == "MED011")
    assert r.status == "fail" and "'moov' box" in r.message


# --- prepare (item 8) -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rot45", "rot_zero"])
def test_prepare_odd_display_matrix(built, tmp_path, name):
    rep = validate(built[name], MED)
    assert rep.media["rotation_deg"] == 0  # not a right angle: ignored, as FFmpeg's players do
    out = tmp_path / "out.mp4"
    p = run_cli("prepare", str(built[name]), "-o", str(out), "--reencode", *RELAX_MED_ARGS,
                cwd=tmp_path)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert out.is_file()


def test_prepare_disk_full(tmp_path, clean, monkeypatch, capsys):
    """Writing fails with ENOSPC (the temporary output is /dev/full): one line saying so, exit 2,
    an existing OUT kept, no temporary file left."""
    import av

    from validator import cli
    from validator.prepare import repairs

    def full(path, **kw):
        return av.open("/dev/full", "w", **kw)

    monkeypatch.setattr(repairs, "open_output", full)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    code = cli.main(
        ["prepare", str(clean), "-o", str(out), "--overwrite", "--reencode", *RELAX_MED_ARGS]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "no space left on the output's device" in err and "internal error" not in err
    assert ".part" not in err
    assert out.read_bytes() == b"old"
    assert not list(tmp_path.glob(".*part*"))


# --- the cache does not trust its entries; renderers escape (item 10) --------------------------


def _entry(cache_dir: Path) -> Path:
    (entry,) = list(cache_dir.glob("*/*.json"))
    return entry


@pytest.mark.parametrize("content", ["[]", "null", '"a string"', '{"entry_format": 1}', "{"])
def test_malformed_cache_entry_is_a_miss(tmp_path, clean, content):
    from validator.batch import run_batch
    from validator.cache import ReportCache

    cache = ReportCache(tmp_path / "cache")
    (first,) = run_batch([clean], MED, jobs=1, cache=cache)
    _entry(tmp_path / "cache").write_text(content)
    (again,) = run_batch([clean], MED, jobs=1, cache=ReportCache(tmp_path / "cache"))
    assert not again.cached and again.exit_code == first.exit_code == 0
    assert again.report.to_dict()["results"] == first.report.to_dict()["results"]


def test_copied_or_poisoned_entry_is_not_served(tmp_path, clean):
    from validator.batch import run_batch
    from validator.cache import ReportCache, cache_key, file_sha256

    other = make_clip(tmp_path / "other.mp4", size=(240, 160), duration_s=1.0)
    cdir = tmp_path / "cache"
    run_batch([clean], MED, jobs=1, cache=ReportCache(cdir))
    entry = _entry(cdir)
    # A copy of the clean clip's entry under the other clip's key.
    key = cache_key(file_sha256(other), MED)
    forged = cdir / key[:2] / f"{key}.json"
    forged.parent.mkdir(exist_ok=True)
    forged.write_bytes(entry.read_bytes())
    (o,) = run_batch([other], MED, jobs=1, cache=ReportCache(cdir))
    assert not o.cached
    assert o.report.sha256 == file_sha256(other) and o.report.media["width"] == 240
    # A poisoned status field: not served (and never reaches the HTML unescaped).
    doc = json.loads(entry.read_text())
    doc["report"]["results"][0]["status"] = '"><script>alert(1)</script>'
    entry.write_text(json.dumps(doc))
    (o,) = run_batch([clean], MED, jobs=1, cache=ReportCache(cdir))
    assert not o.cached and o.report.results[0].status in ("pass", "fail", "skip")
    # Settings of another run under this key: not served either.
    doc = json.loads(entry.read_text())
    doc["report"]["settings"]["profile"] = "something-else"
    entry.write_text(json.dumps(doc))
    (o,) = run_batch([clean], MED, jobs=1, cache=ReportCache(cdir))
    assert not o.cached


def test_html_escapes_every_report_field(clean):
    from validator.render import render
    from validator.report import Report

    rep = validate(clean, MED)
    doc = rep.to_dict()
    evil = '"><script>alert(1)</script>'
    for r in doc["results"]:
        r["status"], r["severity"] = (
            (evil, evil) if r["rule"] == "MED001" else (r["status"], r["severity"])
        )
        r["message"] += evil
    doc["input"]["path"] = "clip" + evil + ".mp4"
    page = render("html", [Report.from_dict(doc)])
    assert "<script>" not in page


# --- stale temporary files (item 11) -----------------------------------------------------------


def test_stale_part_of_a_dead_run_for_another_name_is_removed(tmp_path, clean):
    from validator.prepare import PrepareOptions, prepare
    from validator.prepare.safety import TEMP_SUFFIX, TEMP_TAG

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".first{TEMP_TAG}{dead.pid}-x1y2{TEMP_SUFFIX}"
    stale.write_bytes(b"left by kill -9")
    live = tmp_path / f".mine{TEMP_TAG}{os.getpid()}-z3{TEMP_SUFFIX}"  # a live process's
    live.write_bytes(b"in progress")
    unrelated = tmp_path / ".notes.part.mp4"
    unrelated.write_bytes(b"not ours")
    prepare(clean, tmp_path / "second.mp4", MED, PrepareOptions(trim="none"))
    assert not stale.exists()
    assert live.exists() and unrelated.exists()


def test_voice_analysis_memory_is_flat_in_clip_length():
    """The voice analysis of 200 s of audio peaks where 40 s does (a whole-clip FFT used to
    take ~370 MB for 200 s, ~1.1 GB at the 600 s analysis cap)."""
    import tracemalloc

    import numpy as np

    from validator.analysis import voice
    from validator.evidence import AudioData

    rng = np.random.default_rng(7)
    peaks = {}
    for secs in (40, 200):
        pcm = (0.01 * rng.standard_normal(16000 * secs)).astype(np.float32)
        audio = AudioData(
            pcm16k=pcm,
            sample_rate_hz=16000,
            channels=1,
            channel_rms=(0.01,),
            channel_peak=(0.05,),
            lr_correlation=None,
            clipped_per_10ms=np.zeros(0, np.int32),
            samples_per_10ms=160,
        )
        if not peaks:
            voice.analyse(audio)  # the model is loaded outside the measurement
        tracemalloc.start()
        voice.analyse(audio)
        peaks[secs] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    # Per-window results grow (~0.2 MB for 200 s); temporaries must not.
    assert peaks[200] < peaks[40] + 10, peaks
    assert peaks[200] < 100, peaks


def test_pyav_index_error_on_a_damaged_frame_is_damage_but_an_analysers_is_not(
    tmp_path, monkeypatch
):
    """A bit-flipped MPEG-TS once made PyAV raise IndexError while reading a frame: that is the
    file's damage (MED011), while the same exception from an analyser is never passed off as
    damage: it leaves the decode pass as itself (the pipeline makes it a tool error, exit 3)."""
    from validator.media import decode
    from validator.media.probe import open_media

    clip = make_clip(tmp_path / "c.mp4", size=(160, 120), duration_s=1.0)
    real_packet = decode._AudioSide.packet
    calls = {"n": 0}

    def flaky(self, packet):
        calls["n"] += 1
        if calls["n"] == 3:
            raise IndexError("list index out of range")
        return real_packet(self, packet)

    monkeypatch.setattr(decode._AudioSide, "packet", flaky)
    r = validate(clip, Settings(select=("MED",)))
    med011 = next(x for x in r.results if x.rule == "MED011")
    assert med011.status == "fail" and "list index out of range" in med011.message
    monkeypatch.setattr(decode._AudioSide, "packet", real_packet)

    def broken_sink(frame):
        raise IndexError("an analyser bug")

    container, media = open_media(clip)
    with pytest.raises(IndexError, match="an analyser bug"):
        decode.decode_pass(
            container, media, sample_fps=5, short_side_px=120, frame_sinks=[broken_sink]
        )


def test_dead_worker_signal_named_when_the_pool_reaps_it_first():
    """The pool's own thread may reap a dead worker before we do; its exit code then appears
    a moment later, and the error still names the signal (this race once dropped "SIGSEGV")."""
    from validator import batch

    class Reaped:
        reads = 0

        def join(self, timeout=None):
            pass

        @property
        def exitcode(self):
            self.reads += 1
            return -signal.SIGSEGV if self.reads > 3 else None

    assert batch._death([Reaped()]) == " (SIGSEGV)"

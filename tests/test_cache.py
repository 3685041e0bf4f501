"""Report cache: a second run over an unchanged folder re-runs no analysis and gives identical
results; content, settings and code changes miss; timelines survive; --no-cache; XDG dirs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clipgen import make_clip

from validator import pipeline
from validator.batch import run_batch
from validator.cache import ReportCache, cache_key, code_fingerprint, default_cache_dir, file_sha256
from validator.settings import Settings

MED = Settings(select=("MED",))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cached")
    make_clip(d / "a.mp4", duration_s=1.0)
    make_clip(d / "b.mp4", duration_s=1.5, size=(160, 120))
    return d


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """Every call of the analysis pipeline, by path."""
    calls: list[str] = []
    real = pipeline.validate

    def counting(path, *a, **k):
        calls.append(Path(path).name)
        return real(path, *a, **k)

    monkeypatch.setattr(pipeline, "validate", counting)
    return calls


def _files(d: Path) -> list[Path]:
    return sorted(d.glob("*.mp4"))


def test_second_run_reruns_nothing_and_is_identical(clips, tmp_path, counted):
    cache = ReportCache(tmp_path / "cache")
    first = run_batch(_files(clips), MED, jobs=1, cache=cache)
    assert counted == ["a.mp4", "b.mp4"] and not any(o.cached for o in first)
    second = run_batch(_files(clips), MED, jobs=1, cache=ReportCache(tmp_path / "cache"))
    assert counted == ["a.mp4", "b.mp4"]  # no new analysis
    assert all(o.cached for o in second)
    assert [o.report.to_dict() for o in second] == [o.report.to_dict() for o in first]
    assert [o.exit_code for o in second] == [o.exit_code for o in first]


def test_changed_content_settings_or_selection_miss(clips, tmp_path, counted):
    d = tmp_path / "clips"
    shutil.copytree(clips, d)
    cache = ReportCache(tmp_path / "cache")
    run_batch(_files(d), MED, jobs=1, cache=cache)
    n = len(counted)
    with open(d / "a.mp4", "ab") as f:  # one more byte: another file
        f.write(b"\0")
    run_batch(_files(d), MED, jobs=1, cache=cache)
    assert counted[n:] == ["a.mp4"]
    n = len(counted)
    run_batch(
        _files(d),
        Settings(select=("MED",), params={"MED005": {"max_size_bytes": 1000}}),
        jobs=1,
        cache=cache,
    )
    run_batch(_files(d), Settings(select=("MED",), ignore=("MED013",)), jobs=1, cache=cache)
    assert counted[n:] == ["a.mp4", "b.mp4", "a.mp4", "b.mp4"]


def test_renamed_copy_is_a_hit_with_its_own_path(clips, tmp_path, counted):
    cache = ReportCache(tmp_path / "cache")
    run_batch([clips / "a.mp4"], MED, cache=cache)
    copy = tmp_path / "renamed.mp4"
    shutil.copy(clips / "a.mp4", copy)
    (o,) = run_batch([copy], MED, cache=cache)
    assert o.cached and o.report.path == str(copy) and counted == ["a.mp4"]


def test_key_covers_settings_and_content(clips):
    sha = file_sha256(clips / "a.mp4")
    assert cache_key(sha, MED) == cache_key(sha, Settings(select=("MED",)))
    assert cache_key(sha, MED) != cache_key(sha, Settings(select=("MED",), profile="phoenix-3"))
    assert cache_key(sha, MED) != cache_key(file_sha256(clips / "b.mp4"), MED)


def test_key_covers_whether_the_consent_extra_is_installed(clips, monkeypatch):
    """A report checked without the speech recogniser is not reused once it is installed (and
    the reverse); without consent checking the extra changes nothing, so the key stays."""
    import importlib.metadata

    from validator import cache

    sha = file_sha256(clips / "a.mp4")
    con = Settings(select=("CON",), consent="start", consent_name="Ada Lovelace")
    real = importlib.metadata.version

    def keys(installed: bool) -> tuple[str, str]:
        def version(name: str) -> str:
            if name in cache.CONSENT_EXTRA:
                if not installed:
                    raise importlib.metadata.PackageNotFoundError(name)
                return "9.9"
            return real(name)

        monkeypatch.setattr(importlib.metadata, "version", version)
        cache.consent_extra.cache_clear()
        try:
            return cache_key(sha, con), cache_key(sha, MED)
        finally:
            cache.consent_extra.cache_clear()

    with_con, with_med = keys(installed=True)
    without_con, without_med = keys(installed=False)
    assert with_con != without_con
    assert with_med == without_med


def test_html_timeline_is_stored_and_survives(clips, tmp_path, counted):
    cache = ReportCache(tmp_path / "cache")
    run_batch([clips / "a.mp4"], MED, cache=cache)  # no timeline stored: cheap run
    (o,) = run_batch(
        [clips / "a.mp4"], MED, cache=cache, timeline=True, extra_evidence=("thumbnails",)
    )
    assert not o.cached and counted == ["a.mp4", "a.mp4"]  # HTML needs a timeline: recomputed once
    (hit,) = run_batch(
        [clips / "a.mp4"], MED, cache=cache, timeline=True, extra_evidence=("thumbnails",)
    )
    assert hit.cached and counted == ["a.mp4", "a.mp4"]
    assert hit.report.timeline is not None and len(hit.report.timeline.stills) >= 1
    assert hit.report.timeline.to_dict() == o.report.timeline.to_dict()


def test_damaged_entry_is_a_miss(clips, tmp_path, counted):
    cache = ReportCache(tmp_path / "cache")
    run_batch([clips / "a.mp4"], MED, cache=cache)
    for f in (tmp_path / "cache").rglob("*.json"):
        f.write_text("{not json")
    (o,) = run_batch([clips / "a.mp4"], MED, cache=cache)
    assert not o.cached and counted == ["a.mp4", "a.mp4"]


def test_unwritable_cache_is_skipped(clips, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    (o,) = run_batch([clips / "a.mp4"], MED, cache=ReportCache(blocker / "sub"))
    assert o.report is not None and not o.cached


def test_default_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "replica-clip-validator"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "replica-clip-validator"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "validator", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=180,
    )


def test_cli_second_run_identical_output_and_no_cache(clips, tmp_path, monkeypatch):
    args = (str(clips), "--format", "json", "--select", "MED")
    for attempt in range(3):
        # The key includes a fingerprint of the package's sources: when they are edited between
        # the two runs (several people working in one tree), the miss is correct; run again.
        cache_home = tmp_path / f"xdg{attempt}"
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
        before = code_fingerprint.__wrapped__()
        first = _cli(*args, cwd=tmp_path)
        second = _cli(*args, cwd=tmp_path)
        if code_fingerprint.__wrapped__() == before:
            break
    assert first.returncode == second.returncode == 1
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert "(2 from cache)" in second.stderr and "from cache" not in first.stderr
    entries = list((cache_home / "replica-clip-validator").rglob("*.json"))
    assert len(entries) == 2
    own = tmp_path / "own"
    third = _cli(*args, "--no-cache", "--cache-dir", str(own), cwd=tmp_path)
    assert "from cache" not in third.stderr and not own.exists()


def test_key_covers_the_face_model_runtime(clips, monkeypatch):
    """LiteRT and cv2.dnn agree to about 1e-4, not bit for bit: a report measured with one
    runtime is not served to a run with the other."""
    sha = file_sha256(clips / "a.mp4")
    monkeypatch.delenv("VALIDATOR_FACE_ENGINE", raising=False)
    default = cache_key(sha, MED)
    monkeypatch.setenv("VALIDATOR_FACE_ENGINE", "opencv")
    forced = cache_key(sha, MED)
    assert cache_key(sha, MED) == forced  # stable
    from validator.cache import face_engine

    assert face_engine() == "opencv"
    monkeypatch.delenv("VALIDATOR_FACE_ENGINE")
    if face_engine().startswith("litert"):
        assert default != forced
    else:  # LiteRT not installed (Windows): both runs use cv2.dnn
        assert default == forced

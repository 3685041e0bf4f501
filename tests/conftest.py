"""Shared fixtures.  Real footage lives in ../shared/media (beside the repository); tests that
need it use `shared_media` and are skipped with a reason when it is absent (a user's clone)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED_MEDIA = ROOT.parent / "shared" / "media"
sys.path.insert(0, str(TESTS))  # so tests can `from clipgen import make_clip`


@pytest.fixture(scope="session")
def shared_media() -> Path:
    if not (SHARED_MEDIA / "MANIFEST.md").is_file():
        pytest.skip(f"real footage not available at {SHARED_MEDIA}")
    return SHARED_MEDIA


@pytest.fixture(scope="session")
def clipdir(tmp_path_factory) -> Path:
    """One folder of generated clips for the whole session (clips are cached by name)."""
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(autouse=True)
def _private_report_cache(tmp_path_factory, monkeypatch) -> None:
    """`validator check` caches reports in the user's cache folder by default; tests get a
    folder of their own so they neither see earlier runs' reports nor fill the real cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))

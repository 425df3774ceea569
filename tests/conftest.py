"""Shared fixtures: isolated cache folders, the optional ../shared/data folder, seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Real reference data (read-only) that CI provides next to the repository; tests skip without it.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write to the user's cache or the working directory from a test."""
    home = tmp_path_factory.mktemp("repalign-home")  # per test: no registry leaks between tests
    monkeypatch.setenv("REPALIGN_HOME", str(home))
    monkeypatch.setenv("REPALIGN_DATA", str(home / "data"))
    monkeypatch.setenv("REPALIGN_CACHE", str(home / "features"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; the test is skipped (never failed) when it is absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)

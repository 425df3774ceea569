"""Shared fixtures: isolated cache folders, the optional ../shared/data folder, seeds."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

# Before numpy/torch start their thread pools: the suite runs as ``pytest -n 2`` on 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Real reference data (read-only) that CI provides next to the repository; tests skip without it.
#: ``$REPALIGN_SHARED_DATA`` points elsewhere (a git worktree whose parent has no shared/).
SHARED_DATA = Path(os.environ.get("REPALIGN_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write to the user's cache or the working directory from a test."""
    home = tmp_path_factory.mktemp("repalign-home")  # per test: no registry leaks between tests
    monkeypatch.setenv("REPALIGN_HOME", str(home))
    monkeypatch.setenv("REPALIGN_DATA", str(home / "data"))
    monkeypatch.setenv("REPALIGN_CACHE", str(home / "features"))


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One BLAS/torch thread per test: the suite runs as ``pytest -n 2`` on two cores, and
    oversubscribed threads made single tests 30x slower (1.4 s -> 45 s measured)."""
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # only limit torch when a test already imported it
    before = torch.get_num_threads() if torch is not None else 0
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; the test is skipped (never failed) when it is absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)

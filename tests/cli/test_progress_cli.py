"""Long steps report progress on a pipe (log files, nohup, SLURM), and ``-q`` silences them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    ids = np.array([f"s{i}" for i in range(12)])
    x = rng.normal(size=(12, 4))
    np.savez(tmp_path / "a.npz", ids=ids, features=x)
    np.savez(tmp_path / "b.npz", ids=ids, features=x + rng.normal(size=x.shape))
    return tmp_path / "a.npz", tmp_path / "b.npz"


def _align(pair: tuple[Path, Path], *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "REPALIGN_PROGRESS_INTERVAL": "0"}
    env.pop("REPALIGN_PROGRESS", None)
    # stdout and stderr are pipes here, as in `repalign ... 2> log` or a SLURM job
    return subprocess.run(
        [sys.executable, "-m", "repalign", "align", *map(str, pair), "--bootstrap", "200", "--json", *extra],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )


def test_piped_bootstrap_prints_progress_lines(pair: tuple[Path, Path]) -> None:
    proc = _align(pair)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("bootstrap:")]
    assert len(lines) >= 2, proc.stderr
    assert re.fullmatch(r"bootstrap: \d+/200 \(\d+%\), .* resample/s, ETA \d+:\d\d", lines[0]), lines[0]
    assert re.fullmatch(r"bootstrap: 200/200 \(100%\) done in \d+:\d\d, .*", lines[-1]), lines[-1]
    assert '"n_bootstrap": 200' in proc.stdout  # stdout keeps only the JSON


def test_quiet_silences_progress(pair: tuple[Path, Path]) -> None:
    proc = _align(pair, "-q")
    assert "bootstrap:" not in proc.stderr


def test_hashing_a_large_file_reports_bytes(tmp_path: Path, monkeypatch, capsys) -> None:
    from repalign.models import _hashing

    monkeypatch.setenv("REPALIGN_PROGRESS_INTERVAL", "0")
    monkeypatch.delenv("REPALIGN_PROGRESS", raising=False)
    blob = tmp_path / "weights.bin"
    blob.write_bytes(b"\0" * (3 * 2**20 + 5))
    digest = _hashing.sha256_file(blob)
    import hashlib

    assert digest == hashlib.sha256(blob.read_bytes()).hexdigest()
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("hashing weights.bin: 3.0 MiB/3.0 MiB (100%) done in"), err

"""``repalign fewshot``: the JSON shape, the text table, files written, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from repalign.cli import main


@pytest.fixture
def features(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(3), 8)
    X = rng.normal(size=(24, 5)) + 3 * np.eye(3, 5)[codes]
    path = tmp_path / "feats.npz"
    np.savez(path, ids=np.array([f"s{i:02d}" for i in range(24)]), features=X,
             labels=np.array(["ant", "bee", "cow"])[codes])
    return path


def test_json_shape(features: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fewshot", str(features), "--shots", "1,3", "--heads", "linear,mlp1", "--seeds", "2",
                 "--epochs", "2", "--min-steps", "5", "--hidden", "8", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_classes"] == 3 and out["accuracy_unit"] == "percent" and "t" in out["interval"]
    assert [(r["head"], r["shots"]) for r in out["records"]] == [("linear", 1), ("linear", 3), ("mlp1", 1), ("mlp1", 3)]
    for r in out["records"]:
        assert set(r) == {"head", "shots", "mean", "interval", "accuracies"} and len(r["accuracies"]) == 2
    # flags replace only what they name; the rest keeps each head's documented default
    cfg = out["settings"]["head_config"]["mlp1"]
    assert cfg["epochs"] == 2 and cfg["hidden"] == 8 and cfg["lr"] == 1e-2 and cfg["standardize"] == "l2"


def test_text_table_and_long_table_file(features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "res" / "fewshot.csv"
    code = main(["fewshot", str(features), "--shots", "2", "--heads", "linear", "--seeds", "1",
                 "--model", "toy-model", "--dataset", "toy", "--out", str(out_file)])
    assert code == 0
    text = capsys.readouterr().out
    assert "linear" in text and "n/a (1 seed)" in text
    table = pd.read_csv(out_file)
    assert list(table.columns) == ["model", "dataset", "head", "shots", "seed", "accuracy"]
    assert table["model"].tolist() == ["toy-model"]


def test_errors_exit_2(features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fewshot", str(features), "--heads", "linear,knn"]) == 2
    assert "Valid options" in capsys.readouterr().err
    assert main(["fewshot", str(features), "--shots", "8"]) == 2  # 8 per class leaves nothing to evaluate
    assert "at least 9 examples" in capsys.readouterr().err
    nolabels = tmp_path / "n.npz"
    np.savez(nolabels, ids=np.array(["a", "b", "c"]), features=np.eye(3))
    assert main(["fewshot", str(nolabels)]) == 2
    assert "--labels" in capsys.readouterr().err


def test_a_diverged_fit_is_said_once_with_its_reason(features: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "repalign", "fewshot", str(features), "--heads", "mlp1", "--shots", "1", "--seeds", "2",
         "--lr", "1e6"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
    )
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    for seed in (0, 1):  # one line per failed fit (the library's), not a second from the CLI
        lines = [line for line in err if f"seed {seed}:" in line and "diverged" in line]
        assert len(lines) == 1, proc.stderr
    assert sum(line.startswith("error:") for line in err) == 1
    assert "Traceback" not in proc.stderr

"""``repalign analyze`` and ``repalign report``: output shapes, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from repalign.cli import main
from repalign.stats import RECORD_KEYS


@pytest.fixture
def results_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 40
    top1 = rng.uniform(60, 85, n)
    df = pd.DataFrame(
        {
            "model": [f"m{i}" for i in range(n)],
            "pearson": rng.uniform(0.1, 0.5, n),
            "spearman": rng.uniform(0.1, 0.4, n),
            "imagenet_top1": top1,
            "imagenet_a_top1": top1 - 50 + rng.normal(0, 3, n),
            "fewshot_linear_1": rng.uniform(5, 30, n),
            "fewshot_linear_5": rng.uniform(20, 50, n),
        }
    )
    df.loc[0, "fewshot_linear_1"] = np.nan
    path = tmp_path / "results.csv"
    df.to_csv(path, index=False)
    return path


def test_analyze_json_is_one_record_per_pair(results_csv, capsys):
    code = main(
        [
            "analyze",
            str(results_csv),
            "--alignment",
            "pearson,spearman",
            "--outcome",
            "fewshot_linear_*,imagenet_a_top1",
            "--covariate",
            "imagenet_top1",
            "--k",
            "4",
            "--json",
        ]
    )
    assert code == 0
    records = json.loads(capsys.readouterr().out)
    assert isinstance(records, list) and len(records) == 6
    assert [(r["alignment"], r["outcome"]) for r in records[:3]] == [
        ("pearson", "fewshot_linear_1"),
        ("pearson", "fewshot_linear_5"),
        ("pearson", "imagenet_a_top1"),
    ]
    for r in records:
        assert tuple(r) == RECORD_KEYS and r["covariates"] == ["imagenet_top1"] and r["groups"]["k"] == 4
        assert set(r["pearson"]) == {"r", "ci_low", "ci_high", "p_val"}
    first = records[0]
    assert (first["n"], first["n_missing"]) == (39, 1)
    df = pd.read_csv(results_csv).dropna()
    assert first["pearson"]["r"] == pytest.approx(sps.pearsonr(df["pearson"], df["fewshot_linear_1"])[0], abs=1e-12)


def test_analyze_text(results_csv, capsys):
    assert main(["analyze", str(results_csv), "--alignment", "pearson", "--outcome", "imagenet_a_top1"]) == 0
    out = capsys.readouterr().out
    assert "no covariate" in out and "pearson    imagenet_a_top1  40" in out and "high" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--alignment", "nope", "--outcome", "imagenet_a_top1"], "alignment 'nope' not in the table"),
        (["--alignment", "pearson", "--outcome", "top9_*"], "matches no column"),
        (["--alignment", "pearson", "--outcome", "imagenet_a_top1", "--k", "0"], "--k must be at least 1"),
        (["--alignment", "pearson", "--outcome", "imagenet_a_top1", "--k", "20"], "smaller k"),
        (
            ["--alignment", "pearson", "--outcome", "imagenet_a_top1", "--covariate", "imagenet_top5"],
            "covariate 'imagenet_top5'",
        ),
    ],
)
def test_analyze_errors_exit_2(results_csv, capsys, argv, message):
    assert main(["analyze", str(results_csv), *argv]) == 2
    assert message in capsys.readouterr().err


def test_analyze_missing_file(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "none.csv"), "--alignment", "a", "--outcome", "b"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_report_cli(results_csv, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "rep"
    assert main(["report", str(results_csv), "--out", str(out), "--k", "4", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["html"] == str(out / "report.html") and Path(info["markdown"]).is_file()
    assert info["n_models"] == 40 and "figure_fewshot_partial" in info["figures"]
    assert main(["report", str(results_csv), "--out", str(tmp_path / "r2"), "--alignment", "zzz"]) == 2
    assert "alignment 'zzz'" in capsys.readouterr().err

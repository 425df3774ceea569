"""Reading run folders and results tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from repalign import DataNotFoundError, InputError
from repalign.report import fewshot_columns, load_run, read_table
from repalign.report.data import default_columns

from .conftest import make_run


def test_run_folder_fills_wide_columns_from_long_tables(run_dir):
    run = load_run(run_dir)
    frame = run.results
    long = pd.read_parquet(run_dir / "fewshot.parquet")
    expect = long[(long.head == "mlp2") & (long.shots == 5)].groupby("model")["accuracy"].mean()
    got = frame.set_index("model")["fewshot_mlp2_5"]
    np.testing.assert_allclose(got.loc[expect.index], expect, atol=1e-12)
    assert run.fewshot_dataset == "cifar100" and run.fewshot_seeds == 2
    align = pd.read_parquet(run_dir / "alignment.parquet")
    mean = align[align.metric == "triplet"].groupby("model")["value"].mean()
    np.testing.assert_allclose(frame.set_index("model")["triplet"].loc[mean.index], mean, atol=1e-12)
    assert "pearson_animals" in frame.columns
    heads = fewshot_columns(frame)
    assert list(heads) == ["linear", "mlp1", "mlp2"] and [s for s, _ in heads["linear"]] == [1, 5, 10, 20, 40, 80]
    cols = default_columns(frame)
    assert cols["alignments"] == ["pearson", "spearman", "triplet"] and cols["covariate"] == "imagenet_top1"
    assert len(cols["fewshot"]) == 18 and len(cols["robustness"]) == 6


def test_csv_run_and_single_table(tmp_path):
    folder = make_run(tmp_path / "csv_run", n_models=20, fmt="csv")
    assert "fewshot_linear_1" in load_run(folder).results.columns
    single = load_run(folder / "results.csv")
    assert "fewshot_linear_1" not in single.results.columns and single.fewshot is None


def test_existing_wide_columns_win(tmp_path):
    folder = make_run(tmp_path / "r", n_models=20)
    results = pd.read_parquet(folder / "results.parquet").assign(fewshot_linear_1=42.0)
    results.to_parquet(folder / "results.parquet")
    frame = load_run(folder).results
    assert (frame["fewshot_linear_1"] == 42.0).all() and "fewshot_linear_5" in frame.columns


def test_errors(tmp_path):
    with pytest.raises(DataNotFoundError):
        load_run(tmp_path / "nope")
    with pytest.raises(DataNotFoundError, match="no results table"):
        load_run(tmp_path)
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(InputError, match="unsupported"):
        read_table(tmp_path / "x.xlsx")
    folder = make_run(tmp_path / "two", n_models=20)
    long = pd.read_parquet(folder / "fewshot.parquet")
    pd.concat([long, long.assign(dataset="cifar10")]).to_parquet(folder / "fewshot.parquet")
    with pytest.raises(InputError, match="several datasets"):
        load_run(folder)
    assert load_run(folder, fewshot_dataset="cifar10").fewshot_dataset == "cifar10"
    with pytest.raises(InputError, match="no few-shot results for dataset 'stl10'"):
        load_run(folder, fewshot_dataset="stl10")
    dup = tmp_path / "dup.csv"
    dup.write_text("model,pearson\na,0.1\na,0.2\n")
    with pytest.raises(InputError, match="more than once"):
        load_run(dup)
    bad = make_run(tmp_path / "bad", n_models=20)
    pd.read_parquet(bad / "fewshot.parquet").drop(columns="accuracy").to_parquet(bad / "fewshot.parquet")
    with pytest.raises(InputError, match="accuracy"):
        load_run(bad)

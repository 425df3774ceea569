"""`repalign analyze` and `repalign report` on the same results give identical statistics
(one orchestration, one complete-rows rule), also with missing values in a covariate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from repalign.cli import main
from repalign.stats import records_to_frame

from .conftest import make_run

pytest.importorskip("matplotlib")


def test_analyze_and_report_agree_exactly(tmp_path, capsys):
    folder = make_run(tmp_path / "run", n_models=30)
    results = pd.read_parquet(folder / "results.parquet")
    results.loc[[5, 9], "imagenet_top1"] = np.nan  # the covariate is missing for two models
    results.to_parquet(folder / "results.parquet")
    args = ["--alignment", "pearson,triplet", "--outcome", "fewshot_linear_1,fewshot_mlp2_5,imagenet_a_top1,sketch_top1",
            "--covariate", "imagenet_top1", "--k", "4"]
    assert main(["analyze", str(folder), *args, "--json"]) == 0
    printed = records_to_frame(json.loads(capsys.readouterr().out))
    assert main(["report", str(folder), *args, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    shown = pd.read_csv(info["tables"]["analysis"]["csv"])
    assert len(shown) == len(printed) == 8 and (printed["n"] + printed["n_missing"] == 30).all()
    assert printed["n_missing"].min() == 2  # the covariate rule applies to every test of a pair
    key = ["alignment", "outcome"]
    printed, shown = printed.set_index(key).sort_index(), shown.set_index(key).sort_index()
    numeric = [c for c in printed.columns if pd.api.types.is_numeric_dtype(printed[c]) and not printed[c].isna().all()]
    assert len(numeric) > 40
    for column in numeric:
        np.testing.assert_array_equal(shown[column].to_numpy(float), printed[column].to_numpy(float), err_msg=column)
    for g in ("high", "mid", "low"):
        assert shown[f"groups_{g}_models"].tolist() == printed[f"groups_{g}_models"].map(";".join).tolist()
    # the report's tables are views of the same numbers
    partial = pd.read_csv(info["tables"]["table_partial"]["csv"]).set_index(key).sort_index()
    np.testing.assert_array_equal(partial["r"].to_numpy(), printed.loc[partial.index, "partial_r"].to_numpy())
    raw = pd.read_csv(info["tables"]["table_raw"]["csv"]).set_index(key).sort_index()
    np.testing.assert_array_equal(raw["n"].to_numpy(), printed.loc[raw.index, "n"].to_numpy())

"""High/mid/low groups, correlation tables and the analyze records, against plain loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from repalign import InputError
from repalign.stats import (
    GROUP_COLUMNS,
    RECORD_KEYS,
    TABLE_COLUMNS,
    alignment_groups,
    analyze,
    correlation,
    correlation_table,
    expand_columns,
    metric_correlations,
    pivot,
    select_groups,
    two_lines,
    z_squared,
)


def _brute_groups(values: list[float], k: int) -> dict[str, list[int]]:
    """Plain-python reference: sort (key, position) pairs."""
    n = len(values)
    mean = sum(values) / n
    by_high = sorted(range(n), key=lambda i: (-values[i], i))
    by_low = sorted(range(n), key=lambda i: (values[i], i))
    by_mid = sorted(range(n), key=lambda i: (abs(values[i] - mean), i))
    return {"high": by_high[:k], "mid": by_mid[:k], "low": by_low[:k]}


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.integers(0, 6).map(float), min_size=3, max_size=25),
    k=st.integers(1, 4),
)
def test_select_groups_matches_brute_force_with_ties(values, k):
    if len(values) < 3 * k:
        with pytest.raises(InputError, match="smaller k"):
            select_groups(np.array(values), k)
        return
    got = {g: idx.tolist() for g, idx in select_groups(np.array(values), k).items()}
    assert got == _brute_groups(values, k)


def _results(rng: np.random.Generator, n: int = 60) -> pd.DataFrame:
    top1 = rng.uniform(60, 88, n)
    pearson = 0.3 + 0.002 * (top1 - 75) + rng.normal(0, 0.05, n)
    df = pd.DataFrame(
        {
            "model": [f"m{i:02d}" for i in range(n)],
            "pearson": pearson,
            "spearman": pearson * 0.8 + rng.normal(0, 0.02, n),
            "imagenet_top1": top1,
            "imagenet_a_top1": 0.8 * (top1 - 60) + 50 * (pearson - 0.3) + rng.normal(0, 3, n),
            "imagenet_a_top5": 1.2 * (top1 - 60) + rng.normal(0, 4, n),
        }
    )
    df.loc[[2, 11], "imagenet_a_top1"] = np.nan
    df.loc[[5], "imagenet_top1"] = np.nan
    return df


def test_alignment_groups(rng):
    df = _results(rng)
    out = alignment_groups(df, "pearson", ["imagenet_a_top1", "imagenet_a_top5"], k=5)
    assert list(out.columns) == list(GROUP_COLUMNS)
    assert out["group"].tolist() == ["high", "mid", "low"] * 2
    sub = df.dropna(subset=["pearson", "imagenet_a_top1"]).reset_index(drop=True)
    ref = _brute_groups(sub["pearson"].tolist(), 5)
    first = out[out.outcome == "imagenet_a_top1"].set_index("group")
    for g in ("high", "mid", "low"):
        assert first.loc[g, "mean"] == pytest.approx(sub.loc[ref[g], "imagenet_a_top1"].mean(), abs=1e-12)
        assert first.loc[g, "sd"] == pytest.approx(sub.loc[ref[g], "imagenet_a_top1"].std(ddof=1), abs=1e-12)
        assert first.loc[g, "models"] == tuple(sub.loc[ref[g], "model"])
        assert (first.loc[g, "n"], first.loc[g, "n_missing"]) == (58, 2)
    assert (out[out.outcome == "imagenet_a_top5"]["n"] == 60).all()
    with pytest.raises(InputError, match="need at least 63"):
        alignment_groups(df, "pearson", "imagenet_a_top5", k=21)
    with pytest.raises(InputError, match="positive integer"):
        alignment_groups(df, "pearson", "imagenet_a_top5", k=0)


def test_correlation_table_equals_single_tests(rng):
    df = _results(rng)
    outcomes = ["imagenet_a_top1", "imagenet_a_top5"]
    table = correlation_table(df, ["pearson", "spearman"], outcomes, covariates="imagenet_top1")
    assert list(table.columns) == list(TABLE_COLUMNS) and len(table) == 4
    for row in table.itertuples():
        single = correlation(df, row.alignment, row.outcome, covariates="imagenet_top1").iloc[0]
        assert (row.r, row.p_val, row.n, row.n_missing) == pytest.approx(
            (single["r"], single["p_val"], single["n"], single["n_missing"]), abs=1e-12
        )
    z2 = correlation_table(df, "pearson", "imagenet_a_top1", transform="z2").iloc[0]
    sub = df.dropna(subset=["pearson", "imagenet_a_top1"])
    assert z2["r"] == pytest.approx(sps.pearsonr(z_squared(sub["pearson"]), sub["imagenet_a_top1"])[0], abs=1e-12)
    assert (z2["n"], z2["n_missing"]) == (58, 2)
    grid = pivot(table)
    assert (
        grid.loc["imagenet_a_top1", "spearman"]
        == table.query("alignment == 'spearman' and outcome == 'imagenet_a_top1'")["r"].item()
    )
    with pytest.raises(InputError, match="Valid options: none, z2"):
        correlation_table(df, "pearson", "imagenet_a_top1", transform="z^2")


def test_metric_correlations(rng):
    df = _results(rng)
    out = metric_correlations(df, ["pearson", "spearman"])
    assert out["method"].tolist() == ["pearson", "spearman"]
    assert out.loc[1, "r"] == pytest.approx(sps.spearmanr(df["pearson"], df["spearman"])[0], abs=1e-12)
    with pytest.raises(InputError, match="two"):
        metric_correlations(df, ["pearson"])


def test_analyze_records_match_the_single_functions(rng):
    df = _results(rng)
    recs = analyze(df, "pearson,spearman", "imagenet_a_*", covariates="imagenet_top1", k=5, as_frame=False)
    assert [(r["alignment"], r["outcome"]) for r in recs] == [
        ("pearson", "imagenet_a_top1"),
        ("pearson", "imagenet_a_top5"),
        ("spearman", "imagenet_a_top1"),
        ("spearman", "imagenet_a_top5"),
    ]
    rec = recs[0]
    assert tuple(rec) == RECORD_KEYS
    assert (rec["n"], rec["n_missing"]) == (57, 3)  # two missing outcomes + one missing covariate
    sub = df.dropna(subset=["pearson", "imagenet_a_top1", "imagenet_top1"])
    assert rec["pearson"]["r"] == pytest.approx(sps.pearsonr(sub["pearson"], sub["imagenet_a_top1"])[0], abs=1e-12)
    part = correlation(sub, "pearson", "imagenet_a_top1", covariates="imagenet_top1").iloc[0]
    assert rec["partial"]["r"] == pytest.approx(part["r"], abs=1e-12)
    assert rec["z2"]["r"] == pytest.approx(
        sps.pearsonr(z_squared(sub["pearson"]), sub["imagenet_a_top1"])[0], abs=1e-12
    )
    lines = two_lines(sub, "pearson", "imagenet_a_top1", covariates="imagenet_top1").iloc[0]
    assert rec["two_lines"]["breakpoint"] == pytest.approx(lines["breakpoint"])
    ref = _brute_groups(sub["pearson"].tolist(), 5)
    assert rec["groups"]["high"]["models"] == sub["model"].iloc[ref["high"]].tolist()
    assert rec["groups"]["mid"]["mean"] == pytest.approx(sub["imagenet_a_top1"].iloc[ref["mid"]].mean())
    plain = analyze(df, "pearson", "imagenet_a_top5", as_frame=False)[0]
    assert plain["partial"] is None and plain["z2_partial"] is None and plain["n"] == 60


def test_expand_columns_and_errors(rng):
    df = _results(rng)
    assert expand_columns(df, "imagenet_*_top1", role="outcome") == ["imagenet_a_top1"]
    with pytest.raises(InputError, match="matches no column"):
        expand_columns(df, "fewshot_*", role="outcome")
    with pytest.raises(InputError, match="'nope' not in the table"):
        analyze(df, "nope", "imagenet_a_top1")
    with pytest.raises(InputError, match="'pearson' vs 'imagenet_a_top1'.*smaller k"):
        analyze(df, "pearson", "imagenet_a_top1", k=30)

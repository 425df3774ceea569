"""Correlations against scipy and pingouin, missing-value handling, and the Fisher interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from repalign import InputError
from repalign.stats import (
    CORRELATION_COLUMNS,
    correlation,
    correlation_from_arrays,
    fisher_interval,
    partial_correlation,
)

pg = pytest.importorskip("pingouin")


@pytest.fixture(autouse=True)
def _unrounded_pingouin(monkeypatch):
    """pingouin rounds its printed intervals to 2 decimals by default; compare unrounded."""
    monkeypatch.setitem(pg.options, "round.column.CI95", None)


def _frame(rng: np.random.Generator, n: int = 80) -> pd.DataFrame:
    c1 = rng.normal(size=n)
    c2 = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": c1 + 0.5 * c2 + rng.normal(size=n),
            "y": 0.8 * c1 - 0.3 * c2 + rng.normal(size=n) + 0.3 * rng.standard_t(3, size=n),
            "c1": c1,
            "c2": c2 * 100 + 5,  # a covariate on another scale
        }
    )


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_raw_matches_scipy_and_pingouin(rng, method):
    df = _frame(rng)
    ours = correlation(df, "x", "y", method=method).iloc[0]
    ref = (sps.pearsonr if method == "pearson" else sps.spearmanr)(df["x"], df["y"])
    assert ours["r"] == pytest.approx(ref[0], abs=1e-12)
    assert ours["p_val"] == pytest.approx(ref[1], rel=1e-9, abs=1e-15)
    if method == "pearson":
        pgr = pg.corr(df["x"], df["y"], method="pearson").iloc[0]
        low, high = pgr["CI95"]
        assert ours["ci_low"] == pytest.approx(low, abs=6e-7)  # pingouin rounds to 6 decimals
        assert ours["ci_high"] == pytest.approx(high, abs=6e-7)
    assert list(correlation(df, "x", "y").columns) == list(CORRELATION_COLUMNS)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("covs", [["c1"], ["c1", "c2"]])
def test_partial_equals_pingouin(rng, method, covs):
    df = _frame(rng, 120)
    ours = partial_correlation(df, "x", "y", covs, method=method).iloc[0]
    ref = pg.partial_corr(data=df, x="x", y="y", covar=covs, method=method).iloc[0]
    assert int(ours["n"]) == int(ref["n"])
    assert ours["r"] == pytest.approx(ref["r"], abs=1e-10)
    assert ours["p_val"] == pytest.approx(ref["p_val"], abs=1e-10)
    if method == "pearson":  # pingouin's interval is Fisher z with n - k, printed to 6 decimals
        low, high = ref["CI95"]
        assert ours["ci_low"] == pytest.approx(low, abs=6e-7)
        assert ours["ci_high"] == pytest.approx(high, abs=6e-7)


def test_partial_is_residual_correlation(rng):
    """Definition check, independent of pingouin: correlate least-squares residuals."""
    df = _frame(rng)
    design = np.column_stack([np.ones(len(df)), df[["c1", "c2"]].to_numpy()])
    res = [df[v] - design @ np.linalg.lstsq(design, df[v], rcond=None)[0] for v in ("x", "y")]
    expect = np.corrcoef(res[0], res[1])[0, 1]
    got = partial_correlation(df, "x", "y", ["c1", "c2"]).loc[0, "r"]
    assert got == pytest.approx(expect, abs=1e-12)


def test_missing_rows_dropped_per_test_and_counted(rng):
    df = _frame(rng, 60)
    df.loc[[1, 5], "x"] = np.nan
    df.loc[[5, 9], "y"] = np.nan
    df.loc[[20], "c1"] = np.nan
    raw = correlation(df, "x", "y").iloc[0]
    assert (raw["n"], raw["n_missing"]) == (57, 3)
    clean = df.dropna(subset=["x", "y"])
    assert raw["r"] == pytest.approx(sps.pearsonr(clean["x"], clean["y"])[0], abs=1e-12)
    part = partial_correlation(df, "x", "y", "c1").iloc[0]
    assert (part["n"], part["n_missing"]) == (56, 4)
    for value in part[["r", "ci_low", "ci_high", "p_val"]]:
        assert math.isfinite(value)


def test_fisher_interval_formula():
    r, n = 0.3, 50
    crit = sps.norm.ppf(0.975)
    expect = (math.tanh(math.atanh(r) - crit / math.sqrt(47)), math.tanh(math.atanh(r) + crit / math.sqrt(47)))
    assert fisher_interval(r, n) == pytest.approx(expect, abs=1e-14)
    # one covariate: n - k - 3 degrees; Spearman: the 1.06 variance factor
    se = math.sqrt(1.06 / 46)
    expect_s = (math.tanh(math.atanh(r) - crit * se), math.tanh(math.atanh(r) + crit * se))
    assert fisher_interval(r, n, n_covariates=1, method="spearman") == pytest.approx(expect_s, abs=1e-14)
    assert fisher_interval(1.0, 10) == (1.0, 1.0)
    assert fisher_interval(0.3, 50, confidence=0.99)[0] < expect[0]


def test_fisher_interval_coverage():
    """The 95% interval covers the true correlation about 95% of the time (bivariate normal)."""
    rng = np.random.default_rng(7)
    rho, n, reps = 0.4, 40, 3000
    cov = np.array([[1, rho], [rho, 1]])
    samples = rng.multivariate_normal([0, 0], cov, size=(reps, n))
    xs, ys = samples[..., 0], samples[..., 1]
    xs = xs - xs.mean(axis=1, keepdims=True)
    ys = ys - ys.mean(axis=1, keepdims=True)
    rs = (xs * ys).sum(1) / np.sqrt((xs**2).sum(1) * (ys**2).sum(1))
    covered = sum(lo <= rho <= hi for lo, hi in (fisher_interval(float(r), n) for r in rs))
    # binomial sd at 3000 draws is 0.4%: allow 3 sd
    assert 0.938 <= covered / reps <= 0.962


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.floats(-1e3, 1e3, allow_nan=False), st.floats(-1e3, 1e3, allow_nan=False)),
        min_size=6,
        max_size=30,
    ),
    scale=st.floats(0.01, 100),
    shift=st.floats(-100, 100),
)
def test_properties(data, scale, shift):
    x = np.array([d[0] for d in data])
    y = np.array([d[1] for d in data])
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        with pytest.raises(InputError):
            correlation_from_arrays(x, y)
        return
    res = correlation_from_arrays(x, y)  # defined however small the spread, even subnormal
    assert -1 <= res["r"] <= 1
    assert res["ci_low"] <= res["r"] <= res["ci_high"]
    assert 0 <= res["p_val"] <= 1
    assert correlation_from_arrays(y, x)["r"] == pytest.approx(res["r"], abs=1e-9)
    if np.ptp(x) > 1e-6 * max(1.0, np.abs(x).max()):  # a shift would erase a tinier spread
        assert correlation_from_arrays(x * scale + shift, y)["r"] == pytest.approx(res["r"], abs=1e-7)
    spear = correlation_from_arrays(x, y, method="spearman")["r"]
    assert spear == pytest.approx(sps.spearmanr(x, y)[0], abs=1e-9)


def test_errors_name_the_problem(rng):
    df = _frame(rng, 20)
    with pytest.raises(InputError, match="'nope'"):
        correlation(df, "x", "nope")
    with pytest.raises(InputError, match="Valid options: pearson, spearman"):
        correlation(df, "x", "y", method="kendal")
    with pytest.raises(InputError, match="constant"):
        correlation(df.assign(y=3.0), "x", "y")
    with pytest.raises(InputError, match="at least 5 complete rows"):
        correlation(df.iloc[:4], "x", "y", covariates="c1")
    with pytest.raises(InputError, match="numbers"):
        correlation(df.assign(y=["a"] * 20), "x", "y")
    with pytest.raises(InputError, match="infinite"):
        correlation(df.assign(y=np.inf), "x", "y")
    with pytest.raises(InputError, match="covariate 'x'"):
        correlation(df, "x", "y", covariates="x")
    with pytest.raises(InputError, match="fully explained"):
        partial_correlation(df.assign(c1=df["x"] * 2), "x", "y", "c1")
    with pytest.raises(InputError, match="confidence"):
        correlation(df, "x", "y", confidence=95)
    with pytest.raises(InputError, match="at least one covariate"):
        partial_correlation(df, "x", "y", [])

"""z^2, quadratic regression and the two-lines test: statsmodels as reference, known shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.interpolate import BSpline, CubicSpline

from repalign import InputError
from repalign.stats import (
    QUADRATIC_COLUMNS,
    TWO_LINES_COLUMNS,
    correlation,
    interrupted_regression,
    quadratic_regression,
    two_lines,
    z_squared,
)
from repalign.stats._smooth import fit_penalized_spline, natural_spline_basis

sm = pytest.importorskip("statsmodels.api")


def test_z_squared():
    x = np.array([1.0, 2.0, 4.0, np.nan, 8.0])
    finite = x[~np.isnan(x)]
    expect = ((x - finite.mean()) / finite.std(ddof=1)) ** 2
    np.testing.assert_allclose(z_squared(x), expect, equal_nan=True)
    s = pd.Series(x, index=list("abcde"), name="pearson")
    out = z_squared(s)
    assert list(out.index) == list("abcde") and out.name == "pearson"
    with pytest.raises(InputError, match="constant"):
        z_squared([2.0, 2.0, 2.0])
    with pytest.raises(InputError, match="at least 2"):
        z_squared([1.0])


def test_z2_correlation_detects_symmetric_u(rng):
    x = rng.normal(size=400)
    y = x**2 + rng.normal(0, 0.5, 400)
    df = pd.DataFrame({"x": x, "y": y, "z2": z_squared(x)})
    assert abs(correlation(df, "x", "y").loc[0, "r"]) < 0.2
    assert correlation(df, "z2", "y").loc[0, "r"] > 0.8


@pytest.mark.parametrize("with_covariate", [False, True])
def test_quadratic_matches_statsmodels(rng, with_covariate):
    n = 150
    x = rng.uniform(0.1, 0.6, n)
    c = rng.normal(size=n)
    y = 30 + 40 * x - 90 * (x - 0.35) ** 2 + 2 * c + rng.normal(0, 1.5, n)
    df = pd.DataFrame({"x": x, "y": y, "c": c})
    covs = ["c"] if with_covariate else None
    row = quadratic_regression(df, "x", "y", covariates=covs, confidence=0.9).iloc[0]
    assert list(quadratic_regression(df, "x", "y").columns) == list(QUADRATIC_COLUMNS)
    cols = [np.ones(n), x, x**2] + ([c] if with_covariate else [])
    ref = sm.OLS(y, np.column_stack(cols)).fit()
    assert row["b2"] == pytest.approx(ref.params[2], rel=1e-9)
    assert row["se_b2"] == pytest.approx(ref.bse[2], rel=1e-9)
    assert row["p_val"] == pytest.approx(ref.pvalues[2], rel=1e-7, abs=1e-300)
    low, high = ref.conf_int(alpha=0.1)[2]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert row["r2"] == pytest.approx(ref.rsquared, rel=1e-9)
    xs = (x - x.mean()) / x.std(ddof=1)  # b2_std: the squared term on standardised x
    std = sm.OLS(y, np.column_stack([np.ones(n), xs, xs**2] + ([c] if with_covariate else []))).fit()
    assert row["b2_std"] == pytest.approx(std.params[2], rel=1e-9)
    # vertex of b0 + b1 x + b2 x^2 in original units
    assert row["vertex"] == pytest.approx(-ref.params[1] / (2 * ref.params[2]), rel=1e-8)
    assert row["shape"] == "inverted-U" and bool(row["vertex_inside"])
    lin = sm.OLS(y, np.column_stack([np.ones(n), x] + ([c] if with_covariate else []))).fit()
    assert row["r2_linear"] == pytest.approx(lin.rsquared, rel=1e-9)


@pytest.mark.parametrize("breakpoint", [0.3, 0.55])
def test_interrupted_regression_matches_statsmodels_hc3(rng, breakpoint):
    n = 200
    x = rng.uniform(0, 1, n)
    c = rng.normal(size=n)
    y = np.abs(x - 0.5) * 3 + c + rng.normal(0, 0.3 + x, n)  # heteroskedastic on purpose
    got = interrupted_regression(x, y, breakpoint, c[:, None])
    xc = breakpoint
    d1 = np.column_stack([np.ones(n), np.where(x <= xc, x - xc, 0), np.where(x > xc, x - xc, 0), (x > xc) * 1.0, c])
    d2 = np.column_stack([np.ones(n), np.where(x < xc, x - xc, 0), np.where(x >= xc, x - xc, 0), (x >= xc) * 1.0, c])
    r1 = sm.OLS(y, d1).fit(cov_type="HC3")
    r2 = sm.OLS(y, d2).fit(cov_type="HC3")
    assert got["b1"] == pytest.approx(r1.params[1], rel=1e-9)
    assert got["se1"] == pytest.approx(r1.bse[1], rel=1e-9)
    assert got["p1"] == pytest.approx(r1.pvalues[1], rel=1e-7, abs=1e-300)  # z-test, as R's coeftest on glm
    assert got["b2"] == pytest.approx(r2.params[2], rel=1e-9)
    assert got["se2"] == pytest.approx(r2.bse[2], rel=1e-9)
    assert got["p2"] == pytest.approx(r2.pvalues[2], rel=1e-7, abs=1e-300)
    assert got["n1"] + got["n2"] == n and got["se_type"] == "HC3"


def test_natural_spline_penalty_is_exact():
    """theta' S theta equals the integral of f''^2 for a natural cubic spline f."""
    knots = np.array([0.0, 0.1, 0.35, 0.5, 0.8, 1.0])
    f = CubicSpline(knots, [0.0, 1.0, -0.5, 0.3, 2.0, 1.0], bc_type="natural")
    t, null, s = natural_spline_basis(knots)
    xs = np.linspace(0, 1, 400)
    design = BSpline.design_matrix(xs, t, 3).toarray() @ null
    theta, *_ = np.linalg.lstsq(design, f(xs), rcond=None)
    np.testing.assert_allclose(design @ theta, f(xs), atol=1e-9)  # f is in the basis' span
    exact = sum(integrate.quad(lambda u: f(u, 2) ** 2, a, b)[0] for a, b in zip(knots[:-1], knots[1:]))
    assert theta @ s @ theta == pytest.approx(exact, rel=1e-9)


def test_smoother_recovers_a_line_and_a_curve(rng):
    x = rng.uniform(0, 1, 300)
    line = fit_penalized_spline(x, 2 * x + 1)
    np.testing.assert_allclose(line.fitted, 2 * x + 1, atol=1e-6)
    y = np.sin(6 * x) + rng.normal(0, 0.1, 300)
    fit = fit_penalized_spline(x, y)
    assert np.sqrt(np.mean((fit.fitted - np.sin(6 * x)) ** 2)) < 0.05
    assert (fit.se > 0).all() and np.median(fit.se) < 0.05
    assert 3 < fit.edf < 10


def _u_data(rng, n=400, noise=0.05):
    x = rng.uniform(0, 1, n)
    return pd.DataFrame({"x": x, "y": (x - 0.4) ** 2 + rng.normal(0, noise, n)})


def test_two_lines_finds_a_u(rng):
    df = _u_data(rng)
    row = two_lines(df, "x", "y").iloc[0]
    assert list(two_lines(df, "x", "y").columns) == list(TWO_LINES_COLUMNS)
    assert row["searched"] == "U" and bool(row["u_shape"])
    assert row["b1"] < 0 < row["b2"] and row["p1"] < 0.05 and row["p2"] < 0.05
    assert 0.25 < row["breakpoint"] < 0.55
    assert row["flat_low"] <= row["breakpoint_initial"] <= row["flat_high"]
    assert row["flat_low"] <= row["breakpoint"] <= row["flat_high"]
    # the reported lines are the interrupted regression at the reported breakpoint
    again = interrupted_regression(df["x"].to_numpy(), df["y"].to_numpy(), row["breakpoint"])
    assert again["b1"] == pytest.approx(row["b1"]) and again["z2"] == pytest.approx(row["z2"])
    # Robin Hood: the weaker line gets more data: the breakpoint moves toward the stronger side
    inverted = two_lines(df.assign(y=-df["y"]), "x", "y").iloc[0]
    assert inverted["searched"] == "inverted-U" and bool(inverted["u_shape"])
    assert inverted["breakpoint"] == pytest.approx(row["breakpoint"], abs=1e-9)


def test_two_lines_rejects_log_that_quadratic_calls_u_shaped(rng):
    """Simonsohn's example: y = log(x) is monotone, but the quadratic term is significant."""
    x = rng.uniform(0, 1, 2000) ** 2
    df = pd.DataFrame({"x": x, "y": np.log(x) + rng.normal(0, 1, 2000)})
    quad = quadratic_regression(df, "x", "y").iloc[0]
    assert quad["p_val"] < 1e-6 and bool(quad["vertex_inside"])
    lines = two_lines(df, "x", "y").iloc[0]
    assert not bool(lines["u_shape"])
    assert lines["b1"] > 0 and lines["p1"] < 0.05  # the first line rises ...
    assert lines["p2"] > 0.05  # ... and the second does not significantly fall


def test_two_lines_monotone_and_covariates(rng):
    n = 300
    x = rng.uniform(0, 1, n)
    assert not bool(two_lines(pd.DataFrame({"x": x, "y": x + rng.normal(0, 0.2, n)}), "x", "y").loc[0, "u_shape"])
    # a U hidden under a strong covariate is found once the covariate is controlled for
    c = rng.normal(0, 1, n)
    df = pd.DataFrame({"x": x, "c": c, "y": (x - 0.5) ** 2 + 0.5 * c + rng.normal(0, 0.03, n)})
    row = two_lines(df, "x", "y", covariates="c").iloc[0]
    assert bool(row["u_shape"]) and row["covariates"] == "c"


def test_two_lines_missing_and_errors(rng):
    df = _u_data(rng, 100)
    df.loc[[3, 7], "y"] = np.nan
    row = two_lines(df, "x", "y").iloc[0]
    assert (row["n"], row["n_missing"]) == (98, 2)
    with pytest.raises(InputError, match="constant"):
        two_lines(df.assign(y=1.0), "x", "y")
    with pytest.raises(InputError, match="at least 8"):
        two_lines(df.iloc[:6], "x", "y")
    few = pd.DataFrame({"x": [0, 1] * 10, "y": rng.normal(size=20)})
    with pytest.raises(InputError):
        two_lines(few, "x", "y")
    with pytest.raises(InputError, match="alpha"):
        two_lines(df, "x", "y", alpha=5)


def test_exact_fits_raise_instead_of_infinite_statistics():
    x = np.linspace(0, 1, 30)
    exact = pd.DataFrame({"x": x, "y": (x - 0.5) ** 2})
    with pytest.raises(InputError, match="fits the data exactly"):
        quadratic_regression(exact, "x", "y")
    with pytest.raises(InputError, match="no residual variance"):
        interrupted_regression(x, np.abs(x - 0.5), 0.5)

"""Tests of a U-shaped relationship between alignment and an outcome.

Three tools, from the paper's to the one that actually tests a U:

- :func:`z_squared`, the paper's transform ``z^2 = ((x - mean) / sd)^2``: a correlation of
  the outcome with ``z^2`` is large when models far from the mean alignment (on either side)
  do better than those near it.
- :func:`quadratic_regression`: ``y = b0 + b1 (x - mean) + b2 (x - mean)^2 (+ covariates)``,
  with a t-interval for ``b2`` and the vertex of the parabola. A significant ``b2`` is *not*
  evidence of a U (``y = log(x)`` gives one; Simonsohn 2018), so it is reported with the
  vertex and whether the vertex lies inside the data.
- :func:`two_lines`: Simonsohn's (2018) two-lines test. A U (or inverted U) is supported
  when a line fitted below a breakpoint and a line fitted above it have slopes of opposite
  sign, each significant. The breakpoint is set by his "Robin Hood" algorithm; see
  ``docs/statistics.md`` for the steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._errors import InputError
from ._frame import as_frame, check_columns, column_values, complete_rows, covariate_list
from ._ols import OLSFit, ols
from ._smooth import fit_penalized_spline
from .correlation import _check_confidence

__all__ = [
    "z_squared",
    "quadratic_regression",
    "interrupted_regression",
    "two_lines",
    "QUADRATIC_COLUMNS",
    "TWO_LINES_COLUMNS",
]

QUADRATIC_COLUMNS: tuple[str, ...] = (
    "x",
    "y",
    "covariates",
    "n",
    "n_missing",
    "b1",
    "b2",
    "b2_std",
    "se_b2",
    "ci_low",
    "ci_high",
    "t",
    "p_val",
    "r2",
    "r2_linear",
    "vertex",
    "vertex_inside",
    "shape",
)

TWO_LINES_COLUMNS: tuple[str, ...] = (
    "x",
    "y",
    "covariates",
    "n",
    "n_missing",
    "searched",
    "breakpoint",
    "breakpoint_initial",
    "flat_low",
    "flat_high",
    "b1",
    "se1",
    "z1",
    "p1",
    "n1",
    "b2",
    "se2",
    "z2",
    "p2",
    "n2",
    "u_shape",
    "se_type",
)


def z_squared(values: Any) -> Any:
    """The squared z-score ``((x - mean) / sd)^2`` (sample sd, ``ddof=1``).

    A pandas Series keeps its index; other inputs give a numpy array. Missing values stay
    missing and are ignored in the mean and sd. Correlations with ``z^2`` do not depend on
    the choice of ``ddof`` (it only rescales).

    Examples
    --------
    >>> z_squared([1.0, 2.0, 3.0]).tolist()
    [1.0, 0.0, 1.0]
    """
    is_series = isinstance(values, pd.Series)
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise InputError(f"z_squared needs a 1-d sequence; got shape {arr.shape}.")
    if np.isinf(arr).any():
        raise InputError("z_squared: the values hold infinities.")
    finite = arr[~np.isnan(arr)]
    if finite.size < 2:
        raise InputError(f"z_squared needs at least 2 values; got {finite.size}.")
    sd = float(finite.std(ddof=1))
    if sd == 0.0:
        raise InputError("z_squared: the values are constant, so z is undefined.")
    out = ((arr - finite.mean()) / sd) ** 2
    return pd.Series(out, index=values.index, name=values.name) if is_series else out


def _prepare(
    data: Any, x: str, y: str, covariates: str | Iterable[str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], int]:
    frame = as_frame(data)
    covs = covariate_list(covariates)
    for c in covs:
        if c in (x, y):
            raise InputError(f"covariate {c!r} is also the x or y column.")
    check_columns(frame, [x, y], role="column")
    check_columns(frame, covs, role="covariate")
    sub, n_missing = complete_rows(frame, [x, y, *covs])
    z = np.column_stack([column_values(sub, c) for c in covs]) if covs else np.empty((len(sub), 0))
    xv, yv = column_values(sub, x), column_values(sub, y)
    for label, vec in ((x, xv), (y, yv)):
        if len(vec) and np.ptp(vec) == 0:
            raise InputError(f"{label!r} is constant over the {len(vec)} complete rows; no relationship can be tested.")
    return xv, yv, z, covs, n_missing


def _power_of_two(values: np.ndarray) -> float:
    """1 for values of ordinary size (results then exactly as unscaled), else the power of two above them."""
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if peak == 0.0 or 1e-100 < peak < 1e100:
        return 1.0
    return float(np.ldexp(1.0, np.minimum(np.frexp(peak)[1], 1023)))


def _to_unit_scale(xv: np.ndarray, yv: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """``x``, ``y`` and each covariate divided by a power of two (exact), and the two scales.

    The tests run in these units, where no square, sum of squares or standard error can
    overflow or underflow; t, z, p and R^2 are scale-free, and the coefficients are mapped
    back (:func:`_from_unit_scale`).
    """
    sx, sy = _power_of_two(xv), _power_of_two(yv)
    zs = np.array([_power_of_two(z[:, j]) for j in range(z.shape[1])]) if z.shape[1] else np.ones(0)
    return xv / sx, yv / sy, z / zs if z.shape[1] else z, sx, sy


def _from_unit_scale(row: dict[str, Any], factors: dict[str, float], what: str) -> dict[str, Any]:
    bad = []
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for key, factor in factors.items():
            if row.get(key) is None:
                continue
            value = float(row[key]) * factor
            if not np.isfinite(value) or (value == 0.0 and float(row[key]) != 0.0):  # overflow or underflow
                bad.append(key)
            row[key] = value
    if bad:
        raise InputError(
            f"{what}: {', '.join(bad)} at this scale of the variables do not fit in float64; rescale x or y "
            "(e.g. percent to fraction) and run it again."
        )
    return row


def _quadratic_fit(xv: np.ndarray, yv: np.ndarray, z: np.ndarray) -> tuple[OLSFit, float]:
    center = float(xv.mean())
    xc = xv - center
    design = np.column_stack([np.ones_like(xv), xc, xc**2, z])
    return ols(design, yv, what="quadratic regression"), center


def quadratic_regression(
    data: Any,
    x: str,
    y: str,
    *,
    covariates: str | Iterable[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """OLS of ``y`` on centred ``x`` and its square (plus covariates), with a CI for ``b2``.

    ``b1`` is the slope at the mean of ``x``; ``b2`` the squared term (invariant to the
    centring); ``vertex`` the ``x`` where the parabola turns (``mean - b1 / (2 b2)``);
    ``r2_linear`` the R^2 without the squared term; ``b2_std`` is ``b2`` per squared standard
    deviation of ``x`` (``b2 * var(x)``), comparable across metrics. Standard errors are the classical ones,
    with ``n - p`` degrees of freedom.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = np.linspace(-1, 1, 41)
    >>> df = pd.DataFrame({"x": x, "y": x**2 + 0.01 * np.cos(7 * x)})
    >>> row = quadratic_regression(df, "x", "y").iloc[0]
    >>> bool(row.p_val < 1e-10 and abs(row.vertex) < 0.05 and row["shape"] == "U")
    True
    """
    confidence = _check_confidence(confidence)
    xv, yv, z, covs, n_missing = _prepare(data, x, y, covariates)
    xv, yv, z, sx, sy = _to_unit_scale(xv, yv, z)
    if len(xv) < z.shape[1] + 4:
        raise InputError(
            f"quadratic regression of {y!r} on {x!r} needs at least {z.shape[1] + 4} complete rows; got {len(xv)}."
        )
    fit, center = _quadratic_fit(xv, yv, z)
    se = fit.se("classical")
    b1, b2, se2 = float(fit.coef[1]), float(fit.coef[2]), float(se[2])
    if not se2 > 1e-10 * max(abs(b2), 1e-300):
        raise InputError(f"quadratic regression of {y!r} on {x!r} fits the data exactly; its test is undefined.")
    crit = float(sps.t.ppf(0.5 + confidence / 2.0, fit.dof))
    t = b2 / se2
    p = float(2.0 * sps.t.sf(abs(t), fit.dof))
    linear = ols(np.column_stack([np.ones_like(xv), xv - center, z]), yv, what="linear regression")
    with np.errstate(over="ignore", divide="ignore"):
        vertex = center - b1 / (2.0 * b2) if b2 != 0 else float("nan")
    if not np.isfinite(vertex * sx):  # b2 == 0, or so flat that the turning point is beyond float64
        vertex = float("nan")
    row = {
        "x": x,
        "y": y,
        "covariates": ",".join(covs),
        "n": len(xv),
        "n_missing": n_missing,
        "b1": b1,
        "b2": b2,
        "b2_std": b2 * float(xv.var(ddof=1)),
        "se_b2": se2,
        "ci_low": b2 - crit * se2,
        "ci_high": b2 + crit * se2,
        "t": float(t),
        "p_val": p,
        "r2": fit.r2(yv),
        "r2_linear": linear.r2(yv),
        "vertex": float(vertex) if np.isfinite(vertex) else None,
        "vertex_inside": bool(np.isfinite(vertex) and xv.min() <= vertex <= xv.max()),
        "shape": "U" if b2 > 0 else ("inverted-U" if b2 < 0 else "linear"),
    }
    curvature = sy / sx / sx
    row = _from_unit_scale(row, {"b1": sy / sx, "b2": curvature, "se_b2": curvature, "ci_low": curvature,
                                 "ci_high": curvature, "b2_std": sy, "vertex": sx},
                           f"quadratic regression of {y!r} on {x!r}")
    return pd.DataFrame([row], columns=list(QUADRATIC_COLUMNS))


def _robust(fit: OLSFit, index: int) -> tuple[float, float, str]:
    """Coefficient and its HC3 standard error (HC1 when HC3 is undefined), as R's reference."""
    se = fit.se("HC3")[index]
    kind = "HC3"
    if not np.isfinite(se):
        se, kind = fit.se("HC1")[index], "HC1"
    return float(fit.coef[index]), float(se), kind


def interrupted_regression(
    x: np.ndarray, y: np.ndarray, breakpoint: float, covariates: np.ndarray | None = None
) -> dict[str, Any]:
    """The two regressions of the two-lines test at one breakpoint ``xc``.

    ``y = a + b xlow + c xhigh + d high (+ covariates)`` with ``xlow = x - xc`` below the
    breakpoint (else 0), ``xhigh = x - xc`` above it (else 0) and ``high`` the above-indicator.
    Line 1's slope comes from the fit where ``xc`` itself belongs to the low side, line 2's
    from the fit where it belongs to the high side. Standard errors are HC3 (HC1 if HC3 is
    undefined) and the tests are z-tests, as in Simonsohn's code.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.empty((x.shape[0], 0)) if covariates is None else np.asarray(covariates, dtype=float).reshape(len(x), -1)
    xc = float(breakpoint)
    ones = np.ones_like(x)
    low1, high_1 = x <= xc, x > xc
    d1 = np.column_stack([ones, np.where(low1, x - xc, 0.0), np.where(high_1, x - xc, 0.0), high_1.astype(float), z])
    low2, high_2 = x < xc, x >= xc
    d2 = np.column_stack([ones, np.where(low2, x - xc, 0.0), np.where(high_2, x - xc, 0.0), high_2.astype(float), z])
    fit1 = ols(d1, y, what=f"two-lines regression (line 1, breakpoint {xc:g})")
    fit2 = ols(d2, y, what=f"two-lines regression (line 2, breakpoint {xc:g})")
    b1, se1, k1 = _robust(fit1, 1)
    b2, se2, k2 = _robust(fit2, 2)
    for line, b, se in ((1, b1, se1), (2, b2, se2)):
        if not (np.isfinite(se) and se > 1e-10 * max(abs(b), 1e-300)):
            raise InputError(
                f"two-lines regression at breakpoint {xc:g}: line {line} has no residual variance "
                "(too few distinct points or an exact fit); its slope cannot be tested."
            )
    z1, z2 = b1 / se1, b2 / se2
    return {
        "breakpoint": xc,
        "b1": b1,
        "se1": se1,
        "z1": z1,
        "p1": float(2.0 * sps.norm.sf(abs(z1))),
        "n1": int(low1.sum()),
        "b2": b2,
        "se2": se2,
        "z2": z2,
        "p2": float(2.0 * sps.norm.sf(abs(z2))),
        "n2": int(high_2.sum()),
        "se_type": k1 if k1 == k2 else f"{k1}/{k2}",
    }


def two_lines(
    data: Any,
    x: str,
    y: str,
    *,
    covariates: str | Iterable[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Simonsohn's (2018) two-lines test of a U-shaped (or inverted-U) relationship.

    Steps (as in the published reference code, ``twolines()`` of webstimate.org/twolines):

    1. Fit a smoother ``y = f(x) (+ covariates)`` (a GCV-penalised cubic regression spline)
       and its standard error at each observation, covariates at their means.
    2. Decide what to look for from a quadratic regression: if its slope at the smallest
       ``x`` is positive, an inverted U (look for the maximum), else a U (the minimum).
    3. Among observations strictly inside the 10th-90th percentiles of ``x``, find the most
       extreme fitted value; the "flat" region is the ``x`` whose fitted value is within one
       standard error of it.
    4. Run the interrupted regression at the median of the flat region, giving ``|z1|`` and
       ``|z2|``; then the Robin Hood step moves the breakpoint to the ``|z2| / (|z1| + |z2|)``
       quantile of the flat region, giving more data to the weaker line.
    5. Run the interrupted regression there; a U is supported when the two slopes have
       opposite signs and both ``p < alpha``.

    Returns
    -------
    DataFrame
        One row with :data:`TWO_LINES_COLUMNS`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> x = rng.uniform(0, 1, 300)
    >>> df = pd.DataFrame({"x": x, "y": (x - 0.5) ** 2 + rng.normal(0, 0.02, 300)})
    >>> row = two_lines(df, "x", "y").iloc[0]
    >>> bool(row.u_shape), row.searched, bool(0.35 < row.breakpoint < 0.65)
    (True, 'U', True)
    """
    if not 0.0 < float(alpha) < 1.0:
        raise InputError(f"alpha must be between 0 and 1, got {alpha!r}.")
    xv, yv, z, covs, n_missing = _prepare(data, x, y, covariates)
    xv, yv, z, sx, sy = _to_unit_scale(xv, yv, z)
    n = len(xv)
    if n < z.shape[1] + 8:
        raise InputError(
            f"the two-lines test of {y!r} on {x!r} needs at least {z.shape[1] + 8} complete rows; got {n}."
        )
    smooth = fit_penalized_spline(xv, yv, z if z.shape[1] else None)
    quad, _ = _quadratic_fit(xv, yv, z)
    # slope of the quadratic at the lowest x (x is centred inside the fit)
    slope_low = quad.coef[1] + 2.0 * quad.coef[2] * (xv.min() - xv.mean())
    searched = "inverted-U" if slope_low > 0 else "U"
    q10, q90 = np.quantile(xv, [0.1, 0.9])
    middle = (xv > q10) & (xv < q90)
    if not middle.any():
        raise InputError(
            f"the two-lines test of {y!r} on {x!r}: no x value lies strictly inside its 10th-90th percentiles."
        )
    x_mid, fit_mid, se_mid = xv[middle], smooth.fitted[middle], smooth.se[middle]
    if searched == "inverted-U":
        most = fit_mid.max()
        flat = fit_mid + se_mid > most
    else:
        most = fit_mid.min()
        flat = fit_mid - se_mid < most
    if not flat.any():  # the extreme point itself is flat unless its SE is exactly 0
        flat = fit_mid == most
    x_flat = x_mid[flat]
    start = float(np.median(x_flat))
    first = interrupted_regression(xv, yv, start, z)
    a1, a2 = abs(first["z1"]), abs(first["z2"])
    if not np.isfinite(a1 + a2) or a1 + a2 == 0:
        raise InputError(f"the two-lines test of {y!r} on {x!r}: both lines have zero slope; no breakpoint can be set.")
    xc = float(np.quantile(x_flat, a2 / (a1 + a2)))
    final = interrupted_regression(xv, yv, xc, z)
    u = bool(final["b1"] * final["b2"] < 0 and final["p1"] < alpha and final["p2"] < alpha)
    row = {
        "x": x,
        "y": y,
        "covariates": ",".join(covs),
        "n": n,
        "n_missing": n_missing,
        "searched": searched,
        "breakpoint_initial": start,
        "flat_low": float(x_flat.min()),
        "flat_high": float(x_flat.max()),
        "u_shape": u,
        **final,
    }
    slope = sy / sx
    row = _from_unit_scale(row, {"breakpoint": sx, "breakpoint_initial": sx, "flat_low": sx, "flat_high": sx,
                                 "b1": slope, "se1": slope, "b2": slope, "se2": slope},
                           f"the two-lines test of {y!r} on {x!r}")
    return pd.DataFrame([row], columns=list(TWO_LINES_COLUMNS))

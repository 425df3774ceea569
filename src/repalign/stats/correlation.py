"""Pearson and Spearman correlations, raw or partial, with Fisher-z confidence intervals.

Every function returns a one-row, tidy :class:`pandas.DataFrame` with fixed columns
(:data:`CORRELATION_COLUMNS`), in the manner of pingouin: the variables, ``n`` (rows used),
``n_missing`` (rows dropped because a value the test needs was missing), ``r``, the
confidence interval ``ci_low``/``ci_high`` and the two-sided ``p_val``.

The partial correlation of ``x`` and ``y`` given covariates ``Z`` is the correlation of the
residuals of ``x`` and ``y`` after least-squares regression on ``[1, Z]``; with
``method="spearman"`` every variable is ranked first. Its p-value is the t-test with
``n - k - 2`` degrees of freedom (``k`` covariates) and its interval is Fisher's z with
standard error ``1 / sqrt(n - k - 3)``, which is what pingouin computes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._errors import InputError
from .._validation import check_option
from ._frame import as_frame, check_columns, column_values, complete_rows, covariate_list

__all__ = [
    "CORRELATION_METHODS",
    "CORRELATION_COLUMNS",
    "correlation",
    "partial_correlation",
    "correlation_from_arrays",
    "fisher_interval",
]

#: Correlation coefficients available.
CORRELATION_METHODS: tuple[str, ...] = ("pearson", "spearman")
#: Columns of every correlation result, in order.
CORRELATION_COLUMNS: tuple[str, ...] = (
    "x",
    "y",
    "method",
    "covariates",
    "n",
    "n_missing",
    "r",
    "ci_low",
    "ci_high",
    "p_val",
)


def _check_confidence(confidence: float) -> float:
    try:
        value = float(confidence)
    except (TypeError, ValueError):
        raise InputError(f"confidence must be a number between 0 and 1, got {confidence!r}.") from None
    if not 0.0 < value < 1.0:
        raise InputError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}.")
    return value


def fisher_interval(
    r: float, n: int, *, n_covariates: int = 0, confidence: float = 0.95, method: str = "pearson"
) -> tuple[float, float]:
    """Confidence interval of a correlation by Fisher's z transform.

    ``atanh(r) +/- z_crit * se``, mapped back with ``tanh``. The standard error is
    ``1 / sqrt(n - k - 3)`` for Pearson (``k`` covariates) and, for Spearman, the
    Fieller-Hartley-Pearson (1957) value ``sqrt(1.06 / (n - k - 3))``.

    Examples
    --------
    >>> low, high = fisher_interval(0.5, 30)
    >>> round(low, 4), round(high, 4)
    (0.1704, 0.729)
    """
    method = check_option("method", method, CORRELATION_METHODS)
    confidence = _check_confidence(confidence)
    df = n - n_covariates - 3
    if df <= 0:
        raise InputError(
            f"a confidence interval for a correlation needs at least {n_covariates + 4} complete rows "
            f"with {n_covariates} covariate(s); got {n}."
        )
    if not -1.0 <= r <= 1.0:
        raise InputError(f"a correlation must lie in [-1, 1], got {r!r}.")
    if abs(r) == 1.0:
        return float(r), float(r)
    se = math.sqrt((1.06 if method == "spearman" else 1.0) / df)
    crit = float(sps.norm.ppf(0.5 + confidence / 2.0))
    z = math.atanh(r)
    return math.tanh(z - crit * se), math.tanh(z + crit * se)


def _power_of_two(values: np.ndarray) -> float:
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    return float(np.ldexp(1.0, np.minimum(np.frexp(peak)[1], 1023))) if peak > 0 and math.isfinite(peak) else 1.0


def _residualize(values: np.ndarray, design: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coef


def correlation_from_arrays(
    x: np.ndarray,
    y: np.ndarray,
    covariates: np.ndarray | None = None,
    *,
    method: str = "pearson",
    confidence: float = 0.95,
    names: tuple[str, str] = ("x", "y"),
) -> dict[str, float]:
    """``r``, ``ci_low``, ``ci_high``, ``p_val`` and ``n`` of complete, finite arrays.

    ``covariates`` is an ``(n, k)`` array (or ``None``). Raises :class:`InputError` when the
    correlation is undefined (a constant variable, or too few rows).
    """
    method = check_option("method", method, CORRELATION_METHODS)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.empty((x.shape[0], 0)) if covariates is None else np.asarray(covariates, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    n, k = x.shape[0], z.shape[1]
    if y.shape[0] != n or z.shape[0] != n:
        raise InputError(f"{names[0]} and {names[1]} (and covariates) must have the same length.")
    if n < k + 4:
        raise InputError(
            f"correlation of {names[0]!r} and {names[1]!r} needs at least {k + 4} complete rows "
            f"with {k} covariate(s); got {n}."
        )
    if method == "spearman":
        x, y = sps.rankdata(x), sps.rankdata(y)
        if k:
            z = np.column_stack([sps.rankdata(z[:, j]) for j in range(k)])
    # Divide each variable by a power of two (exact) so that its mean and the regressions
    # cannot overflow (values near 1e308) or underflow (1e-300); r is scale-invariant.
    x, y = x / _power_of_two(x), y / _power_of_two(y)
    if k:
        z = z / np.array([_power_of_two(z[:, j]) for j in range(k)])
    design = np.column_stack([np.ones(n), z])
    rx, ry = _residualize(x - x.mean(), design), _residualize(y - y.mean(), design)
    for label, vec, raw in ((names[0], rx, x), (names[1], ry, y)):
        scale = max(float(np.abs(raw - raw.mean()).max()), 1e-300)
        if float(np.abs(vec).max()) <= 1e-12 * scale:
            what = "constant" if k == 0 else "fully explained by the covariates"
            raise InputError(f"{label!r} is {what} over the {n} rows used; its correlation is undefined.")
    # Scale each residual to max |.| = 1 first: tiny (even subnormal) values would otherwise
    # underflow in the dot products and divide by zero.
    rx = rx / np.abs(rx).max()
    ry = ry / np.abs(ry).max()
    r = float(np.dot(rx, ry) / math.sqrt(float(np.dot(rx, rx)) * float(np.dot(ry, ry))))
    r = min(1.0, max(-1.0, r))
    dof = n - k - 2
    if abs(r) == 1.0:
        p = 0.0
    else:
        t = r * math.sqrt(dof / (1.0 - r * r))
        p = float(2.0 * sps.t.sf(abs(t), dof))
    low, high = fisher_interval(r, n, n_covariates=k, confidence=confidence, method=method)
    return {"n": n, "r": r, "ci_low": low, "ci_high": high, "p_val": p}


def correlation(
    data: Any,
    x: str,
    y: str,
    *,
    covariates: str | Iterable[str] | None = None,
    method: str = "pearson",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Correlation of two columns, optionally partialling out covariates.

    Rows with a missing value in ``x``, ``y`` or a covariate are dropped; the result reports
    the ``n`` used and the ``n_missing`` dropped.

    Parameters
    ----------
    data : DataFrame or mapping of columns
    x, y : str
        Column names.
    covariates : str or list of str, optional
        Columns to partial out of both ``x`` and ``y``.
    method : {"pearson", "spearman"}
    confidence : float, default 0.95
        Level of the Fisher-z interval.

    Returns
    -------
    DataFrame
        One row with the columns :data:`CORRELATION_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 4, 3, 6, 5.0]})
    >>> res = correlation(df, "a", "b")
    >>> int(res.loc[0, "n"]), round(float(res.loc[0, "r"]), 4)
    (6, 0.8286)
    """
    frame = as_frame(data)
    covs = covariate_list(covariates)
    for c in covs:
        if c in (x, y):
            raise InputError(f"covariate {c!r} is also one of the correlated columns.")
    check_columns(frame, [x, y], role="column")
    check_columns(frame, covs, role="covariate")
    sub, n_missing = complete_rows(frame, [x, y, *covs])
    z = np.column_stack([column_values(sub, c) for c in covs]) if covs else None
    res = correlation_from_arrays(
        column_values(sub, x), column_values(sub, y), z, method=method, confidence=confidence, names=(x, y)
    )
    row = {"x": x, "y": y, "method": method, "covariates": ",".join(covs), "n_missing": n_missing, **res}
    return pd.DataFrame([row], columns=list(CORRELATION_COLUMNS))


def partial_correlation(
    data: Any,
    x: str,
    y: str,
    covariates: str | Iterable[str],
    *,
    method: str = "pearson",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Partial correlation of ``x`` and ``y`` given one or more covariates.

    The same as :func:`correlation` with ``covariates`` required; equal to
    ``pingouin.partial_corr`` (``r``, ``p_val``; the interval to its 6 printed decimals).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> c = rng.normal(size=200)
    >>> df = pd.DataFrame({"x": c + rng.normal(size=200), "y": c + rng.normal(size=200), "c": c})
    >>> raw = correlation(df, "x", "y").loc[0, "r"]
    >>> part = partial_correlation(df, "x", "y", "c").loc[0, "r"]
    >>> bool(raw > 0.3 and abs(part) < 0.15)
    True
    """
    covs = covariate_list(covariates)
    if not covs:
        raise InputError("partial_correlation needs at least one covariate.")
    return correlation(data, x, y, covariates=covs, method=method, confidence=confidence)

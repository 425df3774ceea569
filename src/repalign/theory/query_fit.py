"""How the measured queries of a game scale: fit to ``constant * log2(n) / C(eps)`` (Proposition 3.8).

Shared by the pure game (:mod:`repalign.theory.game`) and the geometric game
(:mod:`repalign.theory.geometry`): both produce a table with ``n``, ``capacity`` and
``queries`` columns.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._errors import InputError

__all__ = ["QueryFit", "fit_query_constant"]


@dataclass(frozen=True)
class QueryFit:
    """Fit of measured queries to ``constant * log2(n) / C(eps)``.

    Attributes
    ----------
    constant : float
        Geometric mean of ``queries * C(eps) / log2 n`` over the reached points.
    constant_low, constant_high : float
        95% t-interval of the constant (from the log ratios).
    slope, slope_se : float
        Least-squares slope of ``log queries`` on ``log(log2 n / C(eps))``; 1 when the
        measurement tracks the prediction's shape exactly.
    r_squared : float
        Of that log-log regression.
    n_points : int
        Reached points used.
    """

    constant: float
    constant_low: float
    constant_high: float
    slope: float
    slope_se: float
    r_squared: float
    n_points: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_query_constant(results: pd.DataFrame) -> QueryFit:
    """Fit ``queries ~ constant * log2(n) / C(eps)`` on the reached rows of a game table.

    Rows at eps = 1/2 (``C = 0``) and unreached rows are left out; at least 3 points are
    needed.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"n": [16] * 3, "capacity": [1.0, 0.5, 0.25], "queries": [8.0, 16.0, 32.0]})
    >>> fit = fit_query_constant(df)
    >>> round(fit.constant, 6), round(fit.slope, 6)
    (2.0, 1.0)
    """
    missing = {"n", "capacity", "queries"} - set(results.columns)
    if missing:
        raise InputError(f"the game table lacks the columns {sorted(missing)}.")
    keep = np.isfinite(results["queries"].to_numpy(float)) & (results["capacity"].to_numpy(float) > 0)
    keep &= results["queries"].to_numpy(float) > 0
    df = results.loc[keep]
    if len(df) < 3:
        raise InputError(f"need at least 3 reached points with C(eps) > 0 to fit the constant; got {len(df)}.")
    pred = np.log2(df["n"].to_numpy(float)) / df["capacity"].to_numpy(float)
    q = df["queries"].to_numpy(float)
    ratio = np.log(q / pred)
    m = len(ratio)
    half = stats.t.ppf(0.975, m - 1) * ratio.std(ddof=1) / math.sqrt(m)
    x, y = np.log(pred), np.log(q)
    if np.ptp(x) == 0:
        raise InputError("all points have the same predicted queries; the slope is undefined.")
    reg = stats.linregress(x, y)
    slope, slope_se, r2 = float(reg.slope), float(reg.stderr), float(reg.rvalue**2)
    return QueryFit(
        float(np.exp(ratio.mean())), float(np.exp(ratio.mean() - half)), float(np.exp(ratio.mean() + half)),
        slope, slope_se, r2, m,
    )

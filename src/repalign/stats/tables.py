"""Correlation tables: every alignment metric against every outcome (the paper's Tables 3-4,
Figures 4-5), and the alignment metrics against each other (its section 5.1).

Tables are long and tidy (one row per test, fixed columns); :func:`pivot` turns one into
the outcome x alignment grid the paper prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import check_option
from ._frame import as_frame, check_columns, covariate_list
from .correlation import CORRELATION_METHODS, correlation, correlation_from_arrays
from .ushape import z_squared

__all__ = ["TRANSFORMS", "TABLE_COLUMNS", "correlation_table", "metric_correlations", "pivot"]

#: How the alignment column is transformed before correlating: as is, or the paper's z^2.
TRANSFORMS: tuple[str, ...] = ("none", "z2")
#: Columns of :func:`correlation_table`.
TABLE_COLUMNS: tuple[str, ...] = (
    "alignment",
    "outcome",
    "transform",
    "method",
    "covariates",
    "n",
    "n_missing",
    "r",
    "ci_low",
    "ci_high",
    "p_val",
)


def _names(value: str | Iterable[str], what: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        raise InputError(f"{what} is empty; give at least one column.")
    return list(dict.fromkeys(items))


def correlation_table(
    data: Any,
    alignments: str | Sequence[str],
    outcomes: str | Sequence[str],
    *,
    covariates: str | Iterable[str] | None = None,
    method: str = "pearson",
    transform: str = "none",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Correlation (raw or partial) of every alignment column with every outcome column.

    Each test drops the rows it cannot use (a missing alignment, outcome or covariate) and
    reports its own ``n`` and ``n_missing``. With ``transform="z2"`` the alignment column is
    replaced by its squared z-score, computed over the rows of that test.

    Returns
    -------
    DataFrame
        One row per (alignment, outcome), columns :data:`TABLE_COLUMNS`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.normal(size=(50, 3)), columns=["pearson", "acc1", "acc5"])
    >>> table = correlation_table(df, ["pearson"], ["acc1", "acc5"])
    >>> table[["alignment", "outcome", "n"]].values.tolist()
    [['pearson', 'acc1', 50], ['pearson', 'acc5', 50]]
    """
    frame = as_frame(data)
    align = _names(alignments, "alignments")
    outs = _names(outcomes, "outcomes")
    covs = covariate_list(covariates)
    method = check_option("method", method, CORRELATION_METHODS)
    transform = check_option("transform", transform, TRANSFORMS)
    check_columns(frame, align, role="alignment column")
    check_columns(frame, outs, role="outcome column")
    check_columns(frame, covs, role="covariate")
    values = {
        c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in dict.fromkeys([*align, *outs, *covs])
    }
    cov_ok = np.ones(len(frame), dtype=bool)
    for c in covs:
        cov_ok &= ~np.isnan(values[c])
    rows = []
    for a in align:
        for o in outs:
            if a == o or o in covs or a in covs:
                raise InputError(f"alignment {a!r}, outcome {o!r} and covariates {covs} must be distinct columns.")
            keep = cov_ok & ~np.isnan(values[a]) & ~np.isnan(values[o])
            x = values[a][keep]
            if transform == "z2":
                if keep.sum() < 2:
                    raise InputError(f"{a!r} vs {o!r}: fewer than 2 complete rows.")
                x = z_squared(x)
            z = np.column_stack([values[c][keep] for c in covs]) if covs else None
            try:
                res = correlation_from_arrays(x, values[o][keep], z, method=method, confidence=confidence, names=(a, o))
            except InputError as exc:
                raise InputError(f"{a!r} vs {o!r}: {exc}") from None
            rows.append(
                {
                    "alignment": a,
                    "outcome": o,
                    "transform": transform,
                    "method": method,
                    "covariates": ",".join(covs),
                    "n": int(res["n"]),
                    "n_missing": int((~keep).sum()),
                    "r": res["r"],
                    "ci_low": res["ci_low"],
                    "ci_high": res["ci_high"],
                    "p_val": res["p_val"],
                }
            )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def metric_correlations(
    data: Any,
    metrics: Sequence[str],
    *,
    methods: str | Sequence[str] = ("pearson", "spearman"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Correlations between alignment metrics across models, one row per pair and method.

    The paper (section 5.1) reports Spearman-vs-triplet rho = 0.992 and Pearson-vs-triplet
    0.824 over its 491 models.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5.0], "b": [1, 3, 2, 5, 4.0], "c": [5, 4, 3, 2, 1.0]})
    >>> out = metric_correlations(df, ["a", "b", "c"], methods="spearman")
    >>> [(r.x, r.y, round(r.r, 2)) for r in out.itertuples()]
    [('a', 'b', 0.8), ('a', 'c', -1.0), ('b', 'c', -0.8)]
    """
    frame = as_frame(data)
    names = _names(metrics, "metrics")
    if len(names) < 2:
        raise InputError("metric_correlations needs at least two alignment metrics.")
    method_list = [methods] if isinstance(methods, str) else list(methods)
    for m in method_list:
        check_option("method", m, CORRELATION_METHODS)
    check_columns(frame, names, role="alignment column")
    parts = []
    for a, b in combinations(names, 2):
        for m in method_list:
            try:
                parts.append(correlation(frame, a, b, method=m, confidence=confidence))
            except InputError as exc:
                raise InputError(f"{a!r} vs {b!r}: {exc}") from None
    out = pd.concat(parts, ignore_index=True)
    return out.drop(columns=["covariates"])


def pivot(table: pd.DataFrame, value: str = "r") -> pd.DataFrame:
    """Outcome x alignment grid of one column of a :func:`correlation_table` result.

    Examples
    --------
    >>> t = pd.DataFrame({"alignment": ["p", "s"], "outcome": ["a", "a"], "r": [0.1, 0.2]})
    >>> pivot(t).to_dict()
    {'p': {'a': 0.1}, 's': {'a': 0.2}}
    """
    for col in ("alignment", "outcome", value):
        if col not in table.columns:
            raise InputError(f"pivot: the table has no {col!r} column.")
    grid = table.pivot(index="outcome", columns="alignment", values=value)
    grid = grid.reindex(index=list(dict.fromkeys(table["outcome"])), columns=list(dict.fromkeys(table["alignment"])))
    grid.index.name = None
    grid.columns.name = None
    return grid

"""High / mid / low alignment groups and their mean outcomes (the paper's Tables 1-2, Figure 3).

For one alignment column, the *high* group is the ``k`` models with the highest alignment,
*low* the ``k`` lowest and *mid* the ``k`` nearest to the mean alignment (k = 5 in the
paper). Groups are formed per outcome, among the models that have both values, so a model
missing an outcome is never counted as a zero; ties are broken by row order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from ._frame import as_frame, check_columns, column_values, complete_rows

__all__ = ["GROUPS", "GROUP_COLUMNS", "select_groups", "alignment_groups"]

#: Group names, in display order.
GROUPS: tuple[str, ...] = ("high", "mid", "low")
#: Columns of :func:`alignment_groups`.
GROUP_COLUMNS: tuple[str, ...] = (
    "alignment",
    "outcome",
    "group",
    "k",
    "n",
    "n_missing",
    "mean",
    "sd",
    "alignment_mean",
    "models",
)


def select_groups(values: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Row positions of the high, mid and low groups of ``values`` (no missing values).

    Examples
    --------
    >>> groups = select_groups(np.array([0.1, 0.5, 0.9, 0.4, 0.6, 0.0, 1.0]), 2)
    >>> {g: idx.tolist() for g, idx in groups.items()}
    {'high': [6, 2], 'mid': [1, 3], 'low': [5, 0]}
    """
    values = np.asarray(values, dtype=float)
    k = _check_k(k)
    n = values.shape[0]
    if n < 3 * k:
        raise InputError(
            f"high/mid/low groups of k={k} need at least {3 * k} models with both values; got {n}. "
            "Use a smaller k (--k in analyze and report, analysis: k: in a study config)."
        )
    order = np.arange(n)
    high = np.lexsort((order, -values))[:k]
    low = np.lexsort((order, values))[:k]
    distance = np.abs(values - values.mean())
    mid = np.lexsort((order, distance))[:k]
    return {"high": high, "mid": mid, "low": low}


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}.")
    return int(k)


def _model_ids(frame: pd.DataFrame, model_column: str | None) -> list[str]:
    if model_column is None and "model" in frame.columns:
        model_column = "model"
    if model_column is None:
        return [str(i) for i in frame.index]
    if model_column not in frame.columns:
        raise InputError(f"model column {model_column!r} not in the table.")
    return [str(v) for v in frame[model_column]]


def alignment_groups(
    data: Any,
    alignment: str,
    outcomes: str | Iterable[str],
    *,
    k: int = 5,
    model_column: str | None = None,
) -> pd.DataFrame:
    """Mean outcome of the high / mid / low alignment groups, one row per outcome and group.

    Parameters
    ----------
    data : DataFrame
        One row per model.
    alignment : str
        The alignment column that defines the groups.
    outcomes : str or list of str
        Outcome columns to average.
    k : int, default 5
        Models per group.
    model_column : str, optional
        Column with model ids listed in ``models`` (default: ``model`` if present, else the index).

    Returns
    -------
    DataFrame
        Columns :data:`GROUP_COLUMNS`; ``models`` is a tuple of model ids, ``sd`` the
        sample standard deviation of the outcome within the group.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"model": list("abcdefg"), "align": [0.1, 0.5, 0.9, 0.4, 0.6, 0.0, 1.0],
    ...                    "acc": [30, 10, 60, 12, 11, 28, 70]})
    >>> out = alignment_groups(df, "align", "acc", k=2)
    >>> out[["group", "mean", "models"]].values.tolist()
    [['high', 65.0, ('g', 'c')], ['mid', 11.0, ('b', 'd')], ['low', 29.0, ('f', 'a')]]
    """
    frame = as_frame(data)
    outcome_list = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    if not outcome_list:
        raise InputError("outcomes is empty; give at least one outcome column.")
    k = _check_k(k)
    check_columns(frame, [alignment], role="alignment column")
    check_columns(frame, outcome_list, role="outcome column")
    rows = []
    for outcome in outcome_list:
        sub, n_missing = complete_rows(frame, [alignment, outcome])
        a = column_values(sub, alignment)
        y = column_values(sub, outcome)
        ids = _model_ids(sub, model_column)
        try:
            groups = select_groups(a, k)
        except InputError as exc:
            raise InputError(f"{alignment!r} vs {outcome!r}: {exc}") from None
        for name in GROUPS:
            idx = groups[name]
            rows.append(
                {
                    "alignment": alignment,
                    "outcome": outcome,
                    "group": name,
                    "k": k,
                    "n": len(a),
                    "n_missing": n_missing,
                    "mean": float(y[idx].mean()),
                    "sd": float(y[idx].std(ddof=1)) if k > 1 else 0.0,
                    "alignment_mean": float(a[idx].mean()),
                    "models": tuple(ids[i] for i in idx),
                }
            )
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS))

"""Input handling shared by the statistics: column checks and per-test missing-value drops.

Every test in :mod:`repalign.stats` works on the rows of a table where all the columns it
uses are present; the rows it dropped are counted and reported (``n_missing``), never
silently turned into NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import preview

__all__ = ["as_frame", "check_columns", "complete_rows", "covariate_list"]


def as_frame(data: Any, *, name: str = "data") -> pd.DataFrame:
    """Accept a DataFrame or a mapping of equal-length columns."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except ValueError as exc:
            raise InputError(f"{name}: cannot make a table from the given columns ({exc}).") from exc
    raise InputError(f"{name}: expected a pandas DataFrame or a mapping of columns, got {type(data).__name__}.")


def covariate_list(covariates: str | Iterable[str] | None) -> list[str]:
    """``None`` -> ``[]``, ``"a"`` -> ``["a"]``, a list passes through (duplicates removed)."""
    if covariates is None:
        return []
    items = [covariates] if isinstance(covariates, str) else [str(c) for c in covariates]
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def check_columns(frame: pd.DataFrame, columns: Sequence[str], *, role: str = "column") -> None:
    """Raise :class:`InputError` unless every column exists and holds numbers (NaN allowed)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{role} {preview(missing)} not in the table; its columns are {preview(list(frame.columns), 12)}."
        )
    for col in columns:
        series = frame[col]
        if isinstance(series, pd.DataFrame):
            raise InputError(f"{role} {col!r} appears more than once in the table.")
        if series.dtype == bool:
            continue
        if not pd.api.types.is_numeric_dtype(series):
            numeric = pd.to_numeric(series, errors="coerce")
            bad = series[numeric.isna() & series.notna()]
            if len(bad):
                raise InputError(f"{role} {col!r} must hold numbers; found {preview(bad.astype(str).unique())}.")
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        if np.isinf(values).any():
            raise InputError(f"{role} {col!r} holds infinite values; remove or fix those rows.")


def complete_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """The rows where all ``columns`` are present (as float), and how many rows were dropped."""
    cols = list(dict.fromkeys(columns))
    sub = frame[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    keep = sub.notna().all(axis=1).to_numpy()
    return frame.loc[keep], int((~keep).sum())


def column_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """One column as a float array (the frame must already be free of missing values there)."""
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)

"""All of the paper's tests for each (alignment, outcome) pair, as plain records.

:func:`analyze` is what ``repalign analyze`` prints: one record per pair, holding the raw
Pearson and Spearman correlations, the partial correlation given the covariates, the
correlation with the z^2 transform of the alignment (raw and partial), the quadratic
regression, the two-lines test and the high/mid/low groups. All of a record's tests use
the same rows: those where the alignment, the outcome and every covariate are present;
``n`` and ``n_missing`` say how many.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import preview
from ._frame import as_frame, check_columns, column_values, complete_rows, covariate_list
from .correlation import correlation_from_arrays
from .groups import GROUPS, _model_ids, select_groups
from .ushape import quadratic_regression, two_lines, z_squared

__all__ = ["analyze", "expand_columns", "RECORD_KEYS"]

#: Keys of each record of :func:`analyze`, in order.
RECORD_KEYS: tuple[str, ...] = (
    "alignment",
    "outcome",
    "covariates",
    "n",
    "n_missing",
    "pearson",
    "spearman",
    "partial",
    "z2",
    "z2_partial",
    "quadratic",
    "two_lines",
    "groups",
)


def expand_columns(frame: pd.DataFrame, patterns: str | Sequence[str], *, role: str) -> list[str]:
    """Column names from names or shell-style patterns (``fewshot_linear_*``), in table order.

    Examples
    --------
    >>> df = pd.DataFrame(columns=["model", "fewshot_linear_1", "fewshot_linear_5", "pearson"])
    >>> expand_columns(df, "fewshot_*,pearson", role="outcome")
    ['fewshot_linear_1', 'fewshot_linear_5', 'pearson']
    """
    items = (
        [p.strip() for p in patterns.split(",")] if isinstance(patterns, str) else [str(p).strip() for p in patterns]
    )
    items = [p for p in items if p]
    if not items:
        raise InputError(f"{role}: no column given.")
    out: list[str] = []
    for pattern in items:
        if any(ch in pattern for ch in "*?["):
            matched = [c for c in frame.columns if fnmatch.fnmatchcase(str(c), pattern)]
            if not matched:
                raise InputError(
                    f"{role} pattern {pattern!r} matches no column; columns are {preview(list(frame.columns), 12)}."
                )
        else:
            if pattern not in frame.columns:
                raise InputError(
                    f"{role} {pattern!r} not in the table; columns are {preview(list(frame.columns), 12)}."
                )
            matched = [pattern]
        out.extend(c for c in matched if c not in out)
    return out


def _corr(
    x: np.ndarray, y: np.ndarray, z: np.ndarray | None, method: str, confidence: float, names: tuple[str, str]
) -> dict[str, float]:
    res = correlation_from_arrays(x, y, z, method=method, confidence=confidence, names=names)
    return {"r": res["r"], "ci_low": res["ci_low"], "ci_high": res["ci_high"], "p_val": res["p_val"]}


def _clean(row: pd.Series, drop: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in drop:
            continue
        if isinstance(value, (np.floating, float)):
            value = float(value)
        elif isinstance(value, (np.integer,)):
            value = int(value)
        elif isinstance(value, np.bool_):
            value = bool(value)
        out[str(key)] = value
    return out


def analyze(
    data: Any,
    alignments: str | Sequence[str],
    outcomes: str | Sequence[str],
    *,
    covariates: str | Iterable[str] | None = None,
    k: int = 5,
    confidence: float = 0.95,
    model_column: str | None = None,
) -> list[dict[str, Any]]:
    """Run every test for each (alignment, outcome) pair.

    Parameters
    ----------
    data : DataFrame
        One row per model (the results-table schema of ``docs/architecture.md``).
    alignments, outcomes : str or list of str
        Column names or shell-style patterns (comma-separated in a string).
    covariates : str or list of str, optional
        Partialled out in ``partial`` and ``z2_partial`` and used as controls in the
        quadratic and two-lines regressions (the paper uses ``imagenet_top1``).
    k : int, default 5
        Size of the high / mid / low groups.

    Returns
    -------
    list of dict
        One record per pair with the keys :data:`RECORD_KEYS`. ``partial`` and
        ``z2_partial`` are ``None`` without covariates.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"pearson": rng.uniform(0.1, 0.6, 60)})
    >>> df["acc"] = 40 + 30 * df["pearson"] + rng.normal(0, 2, 60)
    >>> rec = analyze(df, "pearson", "acc", k=5)[0]
    >>> rec["n"], rec["pearson"]["r"] > 0.5, [g for g in rec["groups"] if g != "k"]
    (60, True, ['high', 'mid', 'low'])
    """
    frame = as_frame(data)
    align = expand_columns(frame, alignments, role="alignment")
    outs = expand_columns(frame, outcomes, role="outcome")
    covs = covariate_list(covariates)
    check_columns(frame, align, role="alignment column")
    check_columns(frame, outs, role="outcome column")
    check_columns(frame, covs, role="covariate")
    records = []
    for a in align:
        for o in outs:
            if a == o or a in covs or o in covs:
                continue
            try:
                records.append(_one(frame, a, o, covs, k, confidence, model_column))
            except InputError as exc:
                raise InputError(f"{a!r} vs {o!r}: {exc}") from None
    if not records:
        raise InputError("no (alignment, outcome) pair to test: the alignment, outcome and covariate columns overlap.")
    return records


def _one(
    frame: pd.DataFrame, a: str, o: str, covs: list[str], k: int, confidence: float, model_column: str | None
) -> dict[str, Any]:
    sub, n_missing = complete_rows(frame, [a, o, *covs])
    x, y = column_values(sub, a), column_values(sub, o)
    z = np.column_stack([column_values(sub, c) for c in covs]) if covs else None
    names = (a, o)
    x2 = z_squared(x)
    record: dict[str, Any] = {
        "alignment": a,
        "outcome": o,
        "covariates": covs,
        "n": int(len(x)),
        "n_missing": n_missing,
        "pearson": _corr(x, y, None, "pearson", confidence, names),
        "spearman": _corr(x, y, None, "spearman", confidence, names),
        "partial": _corr(x, y, z, "pearson", confidence, names) if covs else None,
        "z2": _corr(x2, y, None, "pearson", confidence, (f"z2({a})", o)),
        "z2_partial": _corr(x2, y, z, "pearson", confidence, (f"z2({a})", o)) if covs else None,
    }
    quad = quadratic_regression(sub, a, o, covariates=covs, confidence=confidence).iloc[0]
    record["quadratic"] = _clean(quad, drop=("x", "y", "covariates", "n", "n_missing"))
    lines = two_lines(sub, a, o, covariates=covs).iloc[0]
    record["two_lines"] = _clean(lines, drop=("x", "y", "covariates", "n", "n_missing"))
    groups = select_groups(x, k)
    ids = _model_ids(sub, model_column)
    record["groups"] = {"k": int(k)}
    for name in GROUPS:
        idx = groups[name]
        record["groups"][name] = {
            "mean": float(y[idx].mean()),
            "sd": float(y[idx].std(ddof=1)) if k > 1 else 0.0,
            "alignment_mean": float(x[idx].mean()),
            "models": [ids[i] for i in idx],
        }
    return {key: record[key] for key in RECORD_KEYS}

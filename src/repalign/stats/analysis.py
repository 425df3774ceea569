"""All of the paper's tests for each (alignment, outcome) pair: one orchestration.

:func:`analyze` is what ``repalign analyze`` prints and what ``repalign report`` shows: one
row per pair (a tidy DataFrame, :data:`FRAME_COLUMNS`), or with ``as_frame=False`` one
nested record per pair (:data:`RECORD_KEYS`, the shape of ``analyze --json``). A pair holds
the raw Pearson and Spearman correlations, the partial correlation given the covariates,
the correlation with the z^2 transform of the alignment (raw and partial), the quadratic
regression, the two-lines test and the high/mid/low groups.

**One complete-rows rule**: all of a pair's tests use the same rows, those where the
alignment, the outcome and every covariate are present; ``n`` and ``n_missing`` say how
many. The report calls the same function (with ``errors="skip"``, so that a test that
cannot be computed, such as groups larger than the data, is left out with its reason
rather than sinking the page); the numbers it shows are therefore those of ``analyze``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import check_option, preview
from ._frame import as_frame as _as_frame
from ._frame import check_columns, column_values, complete_rows, covariate_list
from .correlation import _check_confidence, correlation_from_arrays
from .groups import GROUPS, _model_ids, select_groups
from .ushape import QUADRATIC_COLUMNS, TWO_LINES_COLUMNS, _prepare, _quadratic_fit, quadratic_regression, two_lines, z_squared

__all__ = ["analyze", "expand_columns", "quadratic_band", "records_to_frame", "FRAME_COLUMNS", "RECORD_KEYS"]

#: Keys of each record of :func:`analyze` (``as_frame=False``), in order.
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
_CORRELATIONS = ("pearson", "spearman", "partial", "z2", "z2_partial")
_CORR_FIELDS = ("r", "ci_low", "ci_high", "p_val")
_DROP = ("x", "y", "covariates", "n", "n_missing")
_QUAD_FIELDS = tuple(c for c in QUADRATIC_COLUMNS if c not in _DROP)
_LINES_FIELDS = tuple(c for c in TWO_LINES_COLUMNS if c not in _DROP)
_GROUP_FIELDS = ("mean", "sd", "alignment_mean", "models")
#: Columns of :func:`analyze`'s frame: the records' keys joined with ``_``
#: (``pearson_r``, ``quadratic_b2``, ``two_lines_u_shape``, ``groups_high_mean``, ...);
#: ``covariates`` is comma-joined and ``groups_<g>_models`` a list of model ids.
FRAME_COLUMNS: tuple[str, ...] = (
    "alignment",
    "outcome",
    "covariates",
    "n",
    "n_missing",
    *(f"{c}_{f}" for c in _CORRELATIONS for f in _CORR_FIELDS),
    *(f"quadratic_{f}" for f in _QUAD_FIELDS),
    *(f"two_lines_{f}" for f in _LINES_FIELDS),
    "groups_k",
    *(f"groups_{g}_{f}" for g in GROUPS for f in _GROUP_FIELDS),
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
    as_frame: bool = True,
    errors: str = "raise",
) -> pd.DataFrame | list[dict[str, Any]]:
    """Run every test for each (alignment, outcome) pair.

    Parameters
    ----------
    data : DataFrame
        One row per model (the results schema of :mod:`repalign.results`).
    alignments, outcomes : str or list of str
        Column names or shell-style patterns (comma-separated in a string).
    covariates : str or list of str, optional
        Partialled out in ``partial`` and ``z2_partial`` and used as controls in the
        quadratic and two-lines regressions (the paper uses ``imagenet_top1``).
    k : int, default 5
        Size of the high / mid / low groups.
    as_frame : bool, default True
        A tidy DataFrame, one row per pair (:data:`FRAME_COLUMNS`); ``False``: the nested
        records of ``repalign analyze --json`` (:data:`RECORD_KEYS`).
    errors : {"raise", "skip"}
        ``raise``: a test that cannot be computed (too few rows, a constant column, groups
        larger than the data) raises :class:`InputError` naming the pair. ``skip``: that
        test is left out (``None`` in a record, missing in the frame) and the reason is kept
        in the ``skipped`` entry (``{test: reason}``), a key or column only this mode adds.

    Returns
    -------
    DataFrame or list of dict
        ``partial`` and ``z2_partial`` are ``None`` (missing in the frame) without covariates.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"pearson": rng.uniform(0.1, 0.6, 60)})
    >>> df["acc"] = 40 + 30 * df["pearson"] + rng.normal(0, 2, 60)
    >>> table = analyze(df, "pearson", "acc", k=5)
    >>> int(table.loc[0, "n"]), bool(table.loc[0, "pearson_r"] > 0.5), int(table.loc[0, "groups_k"])
    (60, True, 5)
    >>> rec = analyze(df, "pearson", "acc", k=5, as_frame=False)[0]
    >>> rec["n"], [g for g in rec["groups"] if g != "k"]
    (60, ['high', 'mid', 'low'])
    """
    check_option("errors", errors, ("raise", "skip"))
    confidence = _check_confidence(confidence)
    frame = _as_frame(data)
    align = expand_columns(frame, alignments, role="alignment")
    outs = expand_columns(frame, outcomes, role="outcome")
    covs = covariate_list(covariates)
    check_columns(frame, align, role="alignment column")
    check_columns(frame, outs, role="outcome column")
    check_columns(frame, covs, role="covariate")
    for c in covs:  # a constant covariate duplicates the intercept: every fit with it would be "collinear"
        values = pd.to_numeric(frame[c], errors="coerce").dropna().to_numpy(dtype=float)
        if values.size and np.all(values == values[0]):
            raise InputError(f"covariate {c!r} is constant ({values[0]:g} in every row), so it explains nothing "
                             "and cannot be partialled out; drop it from --covariate.")
    records = []
    for a in align:
        for o in outs:
            if a == o or a in covs or o in covs:
                continue
            try:
                records.append(_one(frame, a, o, covs, k, confidence, model_column, strict=errors == "raise"))
            except InputError as exc:
                raise InputError(f"{a!r} vs {o!r}: {exc}") from None
    if not records:
        raise InputError("no (alignment, outcome) pair to test: the alignment, outcome and covariate columns overlap.")
    return records_to_frame(records) if as_frame else records


def records_to_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The nested records of :func:`analyze` as its tidy frame (one row per pair).

    Examples
    --------
    >>> rec = {"alignment": "a", "outcome": "b", "covariates": ["c"], "n": 9, "n_missing": 0,
    ...        "pearson": {"r": 0.5, "ci_low": 0.1, "ci_high": 0.8, "p_val": 0.04}}
    >>> records_to_frame([rec])[["covariates", "pearson_r", "spearman_r"]].values.tolist()
    [['c', 0.5, nan]]
    """
    rows = []
    for rec in records:
        row: dict[str, Any] = {
            "alignment": rec["alignment"],
            "outcome": rec["outcome"],
            "covariates": ",".join(rec.get("covariates") or []),
            "n": rec["n"],
            "n_missing": rec["n_missing"],
        }
        for key in _CORRELATIONS:
            for f in _CORR_FIELDS:
                row[f"{key}_{f}"] = (rec.get(key) or {}).get(f, np.nan)
        for key, fields in (("quadratic", _QUAD_FIELDS), ("two_lines", _LINES_FIELDS)):
            part = rec.get(key) or {}
            for f in fields:
                row[f"{key}_{f}"] = part.get(f, np.nan)
        groups = rec.get("groups") or {}
        row["groups_k"] = groups.get("k", np.nan)
        for g in GROUPS:
            for f in _GROUP_FIELDS:
                row[f"groups_{g}_{f}"] = (groups.get(g) or {}).get(f, np.nan)
        if "skipped" in rec:
            row["skipped"] = rec["skipped"]
        rows.append(row)
    columns = list(FRAME_COLUMNS) + (["skipped"] if any("skipped" in r for r in records) else [])
    return pd.DataFrame(rows, columns=columns)


def quadratic_band(
    data: Any, x: str, y: str, *, points: int = 200, confidence: float = 0.95
) -> pd.DataFrame:
    """The fitted mean of the quadratic regression of ``y`` on ``x`` and its confidence band,
    on a grid over the observed ``x`` (the curve the report draws; no covariates).

    The fit is the one :func:`~repalign.stats.quadratic_regression` tests (same rows,
    centring and classical standard errors).

    Examples
    --------
    >>> x = np.linspace(-1, 1, 21)
    >>> band = quadratic_band(pd.DataFrame({"x": x, "y": x**2 + 0.1 * np.sin(9 * x)}), "x", "y", points=5)
    >>> band.columns.tolist(), bool((band.ci_low < band.fit).all() and (band.fit < band.ci_high).all())
    (['x', 'fit', 'ci_low', 'ci_high'], True)
    """
    from scipy import stats as sps

    confidence = _check_confidence(confidence)
    xv, yv, z, _, _ = _prepare(data, x, y, None)
    if len(xv) < 4:
        raise InputError(f"quadratic fit of {y!r} on {x!r} needs at least 4 complete rows; got {len(xv)}.")
    fit, center = _quadratic_fit(xv, yv, z)
    grid = np.linspace(xv.min(), xv.max(), int(points))
    design = np.column_stack([np.ones_like(grid), grid - center, (grid - center) ** 2])
    mean = design @ fit.coef
    half = float(sps.t.ppf(0.5 + confidence / 2.0, fit.dof)) * np.sqrt(
        np.einsum("ij,jk,ik->i", design, fit.cov("classical"), design)
    )
    return pd.DataFrame({"x": grid, "fit": mean, "ci_low": mean - half, "ci_high": mean + half})


def _one(
    frame: pd.DataFrame,
    a: str,
    o: str,
    covs: list[str],
    k: int,
    confidence: float,
    model_column: str | None,
    *,
    strict: bool = True,
) -> dict[str, Any]:
    sub, n_missing = complete_rows(frame, [a, o, *covs])
    x, y = column_values(sub, a), column_values(sub, o)
    z = np.column_stack([column_values(sub, c) for c in covs]) if covs else None
    names = (a, o)
    skipped: dict[str, str] = {}

    def attempt(test: str, fn: Any) -> Any:
        if strict:
            return fn()
        try:
            return fn()
        except InputError as exc:
            skipped[test] = str(exc)
            return None

    x2 = attempt("z2", lambda: z_squared(x))
    record: dict[str, Any] = {
        "alignment": a,
        "outcome": o,
        "covariates": covs,
        "n": int(len(x)),
        "n_missing": n_missing,
        "pearson": attempt("pearson", lambda: _corr(x, y, None, "pearson", confidence, names)),
        "spearman": attempt("spearman", lambda: _corr(x, y, None, "spearman", confidence, names)),
        "partial": attempt("partial", lambda: _corr(x, y, z, "pearson", confidence, names)) if covs else None,
        "z2": None,
        "z2_partial": None,
    }
    if x2 is not None:
        record["z2"] = attempt("z2", lambda: _corr(x2, y, None, "pearson", confidence, (f"z2({a})", o)))
        if covs:
            record["z2_partial"] = attempt(
                "z2_partial", lambda: _corr(x2, y, z, "pearson", confidence, (f"z2({a})", o))
            )
    quad = attempt("quadratic", lambda: quadratic_regression(sub, a, o, covariates=covs, confidence=confidence).iloc[0])
    record["quadratic"] = None if quad is None else _clean(quad, drop=_DROP)
    lines = attempt("two_lines", lambda: two_lines(sub, a, o, covariates=covs).iloc[0])
    record["two_lines"] = None if lines is None else _clean(lines, drop=_DROP)
    record["groups"] = attempt("groups", lambda: _groups(sub, x, y, k, model_column))
    out = {key: record[key] for key in RECORD_KEYS}
    if not strict:
        out["skipped"] = skipped
    return out


def _groups(sub: pd.DataFrame, x: np.ndarray, y: np.ndarray, k: int, model_column: str | None) -> dict[str, Any]:
    groups = select_groups(x, k)
    ids = _model_ids(sub, model_column)
    out: dict[str, Any] = {"k": int(k)}
    for name in GROUPS:
        idx = groups[name]
        out[name] = {
            "mean": float(y[idx].mean()),
            "sd": float(y[idx].std(ddof=1)) if k > 1 else 0.0,
            "alignment_mean": float(x[idx].mean()),
            "models": [ids[i] for i in idx],
        }
    return out

"""Reading results tables and study run folders for analysis and reporting.

A *results table* is the wide table of ``docs/architecture.md`` (one row per model;
``pearson``, ``fewshot_linear_1``, ``imagenet_a_top1``, ...), as CSV, TSV or Parquet. A *run
folder* holds ``results.parquet`` (or ``.csv``) and optionally the long tables
``fewshot.parquet`` (``model, dataset, head, shots, seed, accuracy``) and
``alignment.parquet`` (``model, dataset, metric, value``); wide columns missing from the
results table are filled from the long tables (means over seeds, and over human datasets).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._validation import optional_import, preview

log = logging.getLogger(__name__)

__all__ = [
    "ALIGNMENT_METRICS",
    "ROBUSTNESS_OUTCOMES",
    "FEWSHOT_PATTERN",
    "RunData",
    "read_table",
    "load_run",
    "fewshot_columns",
]

#: Alignment columns of the results schema (means over the human datasets).
ALIGNMENT_METRICS: tuple[str, ...] = ("pearson", "spearman", "kendall", "triplet")
#: Robustness outcomes of the paper (Tables 1-4), in its order.
ROBUSTNESS_OUTCOMES: tuple[str, ...] = (
    "imagenet_a_top1",
    "imagenet_a_top5",
    "imagenet_r_top1",
    "imagenet_r_top5",
    "sketch_top1",
    "sketch_top5",
)
#: ``fewshot_<head>_<shots>`` columns.
FEWSHOT_PATTERN = re.compile(r"^fewshot_(?P<head>[A-Za-z0-9]+)_(?P<shots>\d+)$")
_RESULT_NAMES = ("results.parquet", "results.csv", "results.tsv")
_FEWSHOT_COLUMNS = ("model", "head", "shots", "accuracy")
_ALIGNMENT_COLUMNS = ("model", "metric", "value")


def read_table(path: str | os.PathLike[str], *, what: str = "table") -> pd.DataFrame:
    """Read a CSV, TSV or Parquet table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "results.csv"
    >>> _ = p.write_text("model,pearson,imagenet_top1\\na,0.5,80.1\\n")
    >>> read_table(p).columns.tolist()
    ['model', 'pearson', 'imagenet_top1']
    """
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"{p}: no such file.")
    if p.is_dir():
        raise InputError(f"{p}: is a folder; expected a {what} file (.csv, .tsv or .parquet).")
    suffix = p.suffix.lower()
    try:
        if suffix == ".parquet":
            optional_import("pyarrow", extra="io", purpose="Reading Parquet files")
            frame = pd.read_parquet(p)
        elif suffix in (".csv", ".tsv", ".txt"):
            frame = pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise InputError(f"{p}: unsupported {what} type {suffix!r}; use .csv, .tsv or .parquet.")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise InputError(f"{p}: cannot read the {what} ({exc}).") from exc
    if frame.columns.duplicated().any():
        raise InputError(f"{p}: duplicated column names {preview(frame.columns[frame.columns.duplicated()].tolist())}.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def fewshot_columns(frame: pd.DataFrame) -> dict[str, list[tuple[int, str]]]:
    """``{head: [(shots, column), ...]}`` of the ``fewshot_<head>_<n>`` columns, shots ascending.

    Examples
    --------
    >>> fewshot_columns(pd.DataFrame(columns=["fewshot_mlp1_5", "fewshot_linear_1", "fewshot_mlp1_1"]))
    {'linear': [(1, 'fewshot_linear_1')], 'mlp1': [(1, 'fewshot_mlp1_1'), (5, 'fewshot_mlp1_5')]}
    """
    out: dict[str, list[tuple[int, str]]] = {}
    for col in frame.columns:
        m = FEWSHOT_PATTERN.match(str(col))
        if m:
            out.setdefault(m["head"], []).append((int(m["shots"]), str(col)))
    order = {"linear": 0, "mlp1": 1, "mlp2": 2}
    return {h: sorted(v) for h, v in sorted(out.items(), key=lambda kv: (order.get(kv[0], 9), kv[0]))}


@dataclass
class RunData:
    """A results table ready for analysis, with where it came from."""

    results: pd.DataFrame
    source: Path
    fewshot: pd.DataFrame | None = None
    alignment: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    fewshot_dataset: str | None = None
    fewshot_seeds: int | None = None


def _check_long(frame: pd.DataFrame, needed: tuple[str, ...], path: Path) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {preview(missing)}; found {preview(list(frame.columns), 12)}.")


def _numeric(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame.loc[values.isna() & frame[column].notna(), column]
    if len(bad):
        raise InputError(f"{path}: column {column!r} holds non-numbers: {preview(bad.astype(str).unique())}.")
    return values


def _wide_fewshot(long: pd.DataFrame, path: Path, dataset: str | None) -> tuple[pd.DataFrame, str | None, int | None]:
    _check_long(long, _FEWSHOT_COLUMNS, path)
    long = long.copy()
    long["accuracy"] = _numeric(long, "accuracy", path)
    long["shots"] = _numeric(long, "shots", path)
    chosen = dataset
    if "dataset" in long.columns:
        names = sorted(long["dataset"].dropna().astype(str).unique())
        if dataset is None:
            if len(names) > 1:
                raise InputError(
                    f"{path}: few-shot results for several datasets {preview(names)}; choose one (fewshot_dataset=...)."
                )
            chosen = names[0] if names else None
        elif dataset not in names:
            raise InputError(f"{path}: no few-shot results for dataset {dataset!r}; it has {preview(names)}.")
        if chosen is not None:
            long = long[long["dataset"].astype(str) == chosen]
    long = long.dropna(subset=["accuracy", "shots"])
    seeds = int(long.groupby(["model", "head", "shots"]).size().max()) if len(long) else None
    means = long.groupby(["model", "head", "shots"], sort=True)["accuracy"].mean().reset_index()
    means["column"] = "fewshot_" + means["head"].astype(str) + "_" + means["shots"].astype(int).astype(str)
    wide = means.pivot(index="model", columns="column", values="accuracy").reset_index()
    wide.columns.name = None
    return wide, chosen, seeds


def _wide_alignment(long: pd.DataFrame, path: Path) -> pd.DataFrame:
    _check_long(long, _ALIGNMENT_COLUMNS, path)
    long = long.copy()
    long["value"] = _numeric(long, "value", path)
    long = long.dropna(subset=["value"])
    wide = long.groupby(["model", "metric"])["value"].mean().unstack("metric")
    if "dataset" in long.columns:
        per = long.groupby(["model", "metric", "dataset"])["value"].mean().unstack(["metric", "dataset"])
        per.columns = [f"{m}_{d}" for m, d in per.columns]
        wide = wide.join(per)
    wide = wide.reset_index()
    wide.columns.name = None
    return wide


def _merge_missing(results: pd.DataFrame, extra: pd.DataFrame, what: str, notes: list[str]) -> pd.DataFrame:
    new = [c for c in extra.columns if c != "model" and c not in results.columns]
    if not new:
        return results
    if "model" not in results.columns:
        raise InputError(f"the results table has no 'model' column to join the {what} table on.")
    notes.append(f"{len(new)} column(s) filled from the {what} table")
    return results.merge(extra[["model", *new]], on="model", how="left")


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in (".parquet", ".csv", ".tsv"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_run(path: str | os.PathLike[str], *, fewshot_dataset: str | None = None) -> RunData:
    """Read a run folder or a single results table.

    Parameters
    ----------
    path : path
        A folder with ``results.parquet``/``.csv`` (and optionally ``fewshot.*`` and
        ``alignment.*``), or one results table file.
    fewshot_dataset : str, optional
        Which few-shot dataset to use when ``fewshot.*`` holds several.

    Returns
    -------
    RunData
    """
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"{p}: no such file or folder.")
    notes: list[str] = []
    if p.is_dir():
        results_path = _find(p, "results")
        if results_path is None:
            raise DataNotFoundError(f"{p}: no results table ({', '.join(_RESULT_NAMES)}).")
        results = read_table(results_path, what="results table")
        run = RunData(results=results, source=p, notes=notes)
        fewshot_path = _find(p, "fewshot")
        if fewshot_path is not None:
            long = read_table(fewshot_path, what="few-shot table")
            wide, run.fewshot_dataset, run.fewshot_seeds = _wide_fewshot(long, fewshot_path, fewshot_dataset)
            run.fewshot = long
            run.results = _merge_missing(run.results, wide, "few-shot", notes)
        alignment_path = _find(p, "alignment")
        if alignment_path is not None:
            long = read_table(alignment_path, what="alignment table")
            run.alignment = long
            run.results = _merge_missing(run.results, _wide_alignment(long, alignment_path), "alignment", notes)
    else:
        run = RunData(results=read_table(p, what="results table"), source=p, notes=notes)
    if run.results.empty:
        raise InputError(f"{p}: the results table has no rows.")
    if "model" in run.results.columns and run.results["model"].duplicated().any():
        dup = run.results.loc[run.results["model"].duplicated(), "model"].astype(str).tolist()
        raise InputError(f"{p}: model(s) {preview(dup)} appear more than once in the results table.")
    return run


def default_columns(frame: pd.DataFrame) -> dict[str, Any]:
    """The alignment, outcome and covariate columns a report uses by default."""
    alignments = [c for c in ALIGNMENT_METRICS if c in frame.columns and _has_numbers(frame[c])]
    fewshot = [col for pairs in fewshot_columns(frame).values() for _, col in pairs if _has_numbers(frame[col])]
    robust = [c for c in ROBUSTNESS_OUTCOMES if c in frame.columns and _has_numbers(frame[c])]
    covariate = "imagenet_top1" if "imagenet_top1" in frame.columns and _has_numbers(frame["imagenet_top1"]) else None
    return {"alignments": alignments, "fewshot": fewshot, "robustness": robust, "covariate": covariate}


def _has_numbers(series: pd.Series) -> bool:
    values = pd.to_numeric(series, errors="coerce")
    return bool(np.isfinite(values.to_numpy(dtype=float)).sum() >= 3)

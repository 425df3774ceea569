"""Reading results tables and study run folders for analysis and reporting.

A *results table* is the wide table of :mod:`repalign.results` (one row per model;
``pearson``, ``fewshot_linear_1``, ``imagenet_a_top1``, ...), as CSV, TSV or Parquet. A *run
folder* holds ``results.parquet`` (or ``.csv``) and optionally the long tables
``fewshot.parquet`` and ``alignment.parquet``; wide columns missing from the results table
are made from the long tables by :func:`repalign.results.fewshot_wide` and
:func:`repalign.results.alignment_wide`. A run folder may also hold ``manifest.json`` and
``units/*/record.json`` (a study's provenance), ``ceilings.*`` (the human data's noise
ceilings), ``alignment_layers.*`` (alignment by layer)
and ``similarity/*.npz`` (human and model similarity matrices), which the report shows.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._validation import optional_import, preview
from ..results import (
    ALIGNMENT_METRICS,
    ROBUSTNESS_OUTCOMES,
    alignment_wide,
    classify_columns,
    fewshot_wide,
    fill_from_long,
    parse_column,
)

log = logging.getLogger(__name__)

__all__ = [
    "ALIGNMENT_METRICS",
    "ROBUSTNESS_OUTCOMES",
    "LAYER_COLUMNS",
    "RunData",
    "read_table",
    "load_run",
    "fewshot_columns",
    "FewshotTask",
]

#: Columns of the alignment-by-layer table (``alignment_layers.parquet``; plus ``model``).
LAYER_COLUMNS: tuple[str, ...] = ("layer", "depth", "metric", "value")
#: Columns of the noise-ceiling table a study writes once per run (``ceilings.parquet``).
CEILING_COLUMNS: tuple[str, ...] = ("dataset", "metric", "lower", "upper")
_RESULT_NAMES = ("results.parquet", "results.csv", "results.tsv")


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
    return classify_columns(frame).fewshot.get(None, {})


@dataclass
class FewshotTask:
    """One transfer task of a run: its name (the ``dataset`` value of the long few-shot table,
    and the column prefix of a further task), the image set it was run on, and seeds per cell."""

    name: str | None
    dataset: str | None = None
    seeds: int | None = None

    @property
    def label(self) -> str:
        """``a (zoo)``, or the name alone when the task is named after its dataset."""
        if self.name is None:
            return self.dataset or "few-shot task"
        return self.name if self.dataset in (None, self.name) else f"{self.name} ({self.dataset})"


@dataclass
class RunData:
    """A results table ready for analysis, with where it came from.

    ``manifest`` and ``units`` are the run folder's ``manifest.json`` and its unit records
    (``units/*/record.json``), when present: the report's provenance section reads them.
    ``layers`` is the optional alignment-by-layer table (``alignment_layers.*``).
    ``fewshot_tasks`` maps the task prefix of the few-shot columns (``None`` for the first
    task's ``fewshot_<head>_<n>``, else the task name of ``<task>_fewshot_<head>_<n>``) to the task.
    """

    results: pd.DataFrame
    source: Path
    fewshot: pd.DataFrame | None = None
    alignment: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    fewshot_dataset: str | None = None
    fewshot_seeds: int | None = None
    manifest: dict[str, Any] | None = None
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    layers: pd.DataFrame | None = None
    ceilings: pd.DataFrame | None = None
    folder: Path | None = None
    fewshot_tasks: dict[str | None, FewshotTask] = field(default_factory=dict)

    @property
    def simulated_transfer(self) -> bool:
        """Whether the (first) few-shot task ran on the synthetic zoo."""
        first = self.fewshot_tasks.get(None)
        return self.fewshot_dataset == "zoo" or (first is not None and first.dataset == "zoo")


def _merge(run: RunData, derived: pd.DataFrame, what: str) -> None:
    run.results, added = fill_from_long(run.results, derived, what=what)
    if added:
        run.notes.append(f"{len(added)} column(s) filled from the {what}")


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
        run = RunData(results=results, source=p, notes=notes, folder=p)
        _read_provenance(run, p)
        fewshot_path = _find(p, "fewshot")
        if fewshot_path is not None:
            _read_fewshot(run, read_table(fewshot_path, what="few-shot table"), fewshot_dataset, str(fewshot_path))
        alignment_path = _find(p, "alignment")
        if alignment_path is not None:
            long = read_table(alignment_path, what="alignment table")
            run.alignment = long
            _merge(run, alignment_wide(long, what=str(alignment_path)), "alignment table")
    else:
        run = RunData(results=read_table(p, what="results table"), source=p, notes=notes)
    if run.results.empty:
        raise InputError(f"{p}: the results table has no rows.")
    if "model" in run.results.columns and run.results["model"].duplicated().any():
        dup = run.results.loc[run.results["model"].duplicated(), "model"].astype(str).tolist()
        raise InputError(f"{p}: model(s) {preview(dup)} appear more than once in the results table.")
    return run


def _task_datasets(run: RunData) -> list[tuple[str, str | None]]:
    """``(name, dataset)`` of the study's transfer tasks, in config order (``manifest.json``)."""
    tasks = ((run.manifest or {}).get("config") or {}).get("transfer") or []
    return [(str(t["name"]), t.get("dataset")) for t in tasks if isinstance(t, dict) and t.get("name") is not None]


def _first_task(run: RunData, names: list[str], what: str) -> str:
    """Which of several tasks owns the unprefixed ``fewshot_<head>_<n>`` columns.

    The study's config order says (the first task); without a manifest, the one task whose
    name prefixes no column of the results table. Anything else is ambiguous: an error.
    """
    ordered = [n for n, _ in _task_datasets(run) if n in names]
    if ordered:
        return ordered[0]
    prefixed = {t for t in classify_columns(run.results).fewshot if t is not None}
    unprefixed = [n for n in names if n not in prefixed]
    if len(unprefixed) == 1:
        return unprefixed[0]
    raise InputError(f"{what}: few-shot results for several datasets {preview(names)} and no manifest.json saying which "
                     "is the first transfer task; choose one (fewshot_dataset=..., --fewshot-dataset).")


def _read_fewshot(run: RunData, long: pd.DataFrame, fewshot_dataset: str | None, what: str) -> None:
    """Every transfer task of the long few-shot table as wide columns (the first task unprefixed,
    a further task ``<task>_fewshot_<head>_<n>``), or only ``fewshot_dataset`` when given."""
    run.fewshot = long
    names = sorted(long["dataset"].dropna().astype(str).unique()) if "dataset" in long.columns else []
    datasets = dict(_task_datasets(run))
    if fewshot_dataset is not None or len(names) <= 1:
        wide, run.fewshot_dataset, run.fewshot_seeds = fewshot_wide(long, dataset=fewshot_dataset, what=what)
        stale = [c for c in run.results.columns if parse_column(c).kind == "fewshot"]
        if fewshot_dataset is not None and len(names) > 1 and stale:
            # the results table's few-shot columns belong to the study's task order; this task's come from the long table
            run.results = run.results.drop(columns=stale)
            run.notes.append(f"few-shot columns of task {fewshot_dataset!r} only (fewshot_dataset=), from the few-shot table")
        run.fewshot_tasks[None] = FewshotTask(run.fewshot_dataset, datasets.get(str(run.fewshot_dataset), run.fewshot_dataset),
                                              run.fewshot_seeds)
        _merge(run, wide, "few-shot table")
        return
    first = _first_task(run, names, what)
    for name in [first, *(n for n in [*datasets, *names] if n != first and n in names)]:
        task = None if name == first else name
        if task in run.fewshot_tasks:
            continue
        wide, _, seeds = fewshot_wide(long, dataset=name, task=task, what=what)
        run.fewshot_tasks[task] = FewshotTask(name, datasets.get(name, name), seeds)
        _merge(run, wide, f"few-shot table ({name})")
    run.fewshot_dataset, run.fewshot_seeds = first, run.fewshot_tasks[None].seeds


def _read_provenance(run: RunData, folder: Path) -> None:
    """The manifest, the unit records and the layer table of a run folder, when present."""
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            run.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{manifest}: corrupt manifest ({exc}).") from exc
    units = folder / "units"
    if units.is_dir():
        for record in sorted(units.glob("*/record.json")):
            # a folder the store moved aside (<key>.broken-<t>) or is still writing (.tmp-*) is no unit's record
            if ".broken-" in record.parent.name or record.parent.name.startswith("."):
                continue
            try:
                data = json.loads(record.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                log.warning("ignoring unreadable unit record %s (%s)", record, exc)
                continue
            run.units[str(data.get("unit_id", record.parent.name))] = data
    ceilings = _find(folder, "ceilings")
    if ceilings is not None:
        table = read_table(ceilings, what="noise-ceiling table")
        missing = [c for c in CEILING_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(f"{ceilings}: missing column(s) {preview(missing)}; a ceiling table has {', '.join(CEILING_COLUMNS)}.")
        run.ceilings = table
    layers = _find(folder, "alignment_layers")
    if layers is not None:
        table = read_table(layers, what="layer table")
        missing = [c for c in LAYER_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(
                f"{layers}: missing column(s) {preview(missing)}; a layer table has {', '.join(LAYER_COLUMNS)} "
                "(and 'model' when it holds several models)."
            )
        run.layers = table


def default_columns(frame: pd.DataFrame) -> dict[str, Any]:
    """The alignment, outcome and covariate columns a report uses by default."""
    cols = classify_columns(frame)
    # numbers for three models, or for every model of a smaller run (its compact report shows them)
    least = max(min(3, len(frame)), 1)
    alignments = [c for c in cols.alignment if _has_numbers(frame[c], least)]
    fewshot = [c for task in cols.fewshot for c in cols.fewshot_columns(task) if _has_numbers(frame[c], least)]
    robust = [c for c in cols.robustness if _has_numbers(frame[c], least)]
    covariate = "imagenet_top1" if "imagenet_top1" in frame.columns and _has_numbers(frame["imagenet_top1"]) else None
    return {"alignments": alignments, "fewshot": fewshot, "robustness": robust, "covariate": covariate}


def _has_numbers(series: pd.Series, least: int = 3) -> bool:
    values = pd.to_numeric(series, errors="coerce")
    return bool(np.isfinite(values.to_numpy(dtype=float)).sum() >= least)

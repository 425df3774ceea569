"""Labelled feature files: features plus one class label per row (what the few-shot protocol reads).

A features file is anything :func:`repalign.io.load_representation` reads as features:
``.npz`` with ``ids`` and ``features`` (and optionally ``labels``), or a feature table
(CSV/TSV/Parquet) with an id column and, optionally, a ``label`` column. Labels come from
the file itself or from a separate labels file:

* a table (CSV/TSV/Parquet) with an id column and a label column: matched by id, so its
  row order does not matter; every feature id must have a label;
* a table with a single column, or a ``.txt`` file with one label a line: labels in the
  row order of the features file (the counts must agree);
* an ``.npz`` with ``ids`` and ``labels``: matched by id.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._validation import preview
from ._checks import decode_ids
from .load import load_representation
from .npz import read_npz
from .tables import ID_COLUMNS, LABEL_COLUMNS

__all__ = ["LabelledFeatures", "load_labelled_features", "read_labels"]


@dataclass
class LabelledFeatures:
    """Features with one class label per row."""

    ids: list[str]
    features: np.ndarray
    labels: np.ndarray
    source: str


def _match_by_id(ids: list[str], label_ids: list[str], labels: list[str], source: str) -> np.ndarray:
    if len(set(label_ids)) != len(label_ids):
        dup = [i for i, c in Counter(label_ids).items() if c > 1]
        raise InputError(f"{source}: repeated ids in the labels file, e.g. {preview(dup)}.")
    lookup = dict(zip(label_ids, labels))
    missing = [i for i in ids if i not in lookup]
    if missing:
        raise InputError(f"{source}: no label for {len(missing)} of the {len(ids)} feature ids, "
                         f"e.g. {preview(missing)}.")
    return np.asarray([lookup[i] for i in ids])


def read_labels(path: str | os.PathLike[str], ids: list[str]) -> np.ndarray:
    """Labels for the feature rows ``ids`` from a labels file (formats in the module docstring)."""
    p = Path(path)
    source = str(p)
    if not p.is_file():
        raise DataNotFoundError(f"{source}: labels file not found.")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        data = read_npz(p)
        if "labels" not in data:
            raise InputError(f"{source}: no 'labels' array; keys are {sorted(data)}.")
        if "ids" in data:
            return _match_by_id(ids, decode_ids(data["ids"], source), data["labels"].tolist(), source)
        lab = data["labels"]
        if lab.shape != (len(ids),):
            raise InputError(f"{source}: {lab.shape} labels without ids for {len(ids)} feature rows.")
        return lab
    if suffix == ".parquet":
        table = pd.read_parquet(p)
    elif suffix in (".csv", ".tsv"):
        try:
            table = pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False,
                                encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{source}: not a readable table ({exc}).") from exc
    elif suffix == ".txt":
        lines = [ln.strip() for ln in p.read_text(encoding="utf-8-sig").splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        if len(lines) != len(ids):
            raise InputError(f"{source}: {len(lines)} labels (one a line) for {len(ids)} feature rows.")
        if any(not ln for ln in lines):
            raise InputError(f"{source}: empty label on line {lines.index('') + 1}.")
        return np.asarray(lines)
    else:
        raise InputError(f"{source}: unsupported labels file type {suffix!r}; use .csv, .tsv, .txt, .parquet or .npz.")
    table.columns = [str(c).strip() for c in table.columns]
    table = table.astype(object).where(table.notna(), "")  # a missing cell stays empty (never the text 'None')
    lower = {c.lower(): c for c in table.columns}
    label_col = next((lower[c] for c in LABEL_COLUMNS if c in lower), None)
    id_col = next((lower[c] for c in ID_COLUMNS if c in lower), None)
    if table.shape[1] == 1:
        col = table.columns[0]
        values = table[col].astype(str).str.strip().tolist()
        if len(values) != len(ids):
            raise InputError(f"{source}: {len(values)} labels in column {col!r} for {len(ids)} feature rows.")
        return np.asarray(values)
    if label_col is None or id_col is None:
        raise InputError(f"{source}: need an id column ({', '.join(ID_COLUMNS)}) and a label column "
                         f"({', '.join(LABEL_COLUMNS)}); columns are {preview(list(table.columns), 8)}.")
    label_ids = table[id_col].astype(str).str.strip().tolist()
    return _match_by_id(ids, label_ids, table[label_col].astype(str).str.strip().tolist(), source)


def load_labelled_features(path: str | os.PathLike[str], *, labels: str | os.PathLike[str] | None = None) -> LabelledFeatures:
    """Read a features file and the class label of every row.

    Parameters
    ----------
    path : path-like
        ``.npz`` (``ids``, ``features``, optional ``labels``) or a feature table.
    labels : path-like, optional
        A labels file; overrides labels stored in ``path``.

    Raises
    ------
    InputError
        When no labels are found, they cannot be matched, or the file holds no features.
    """
    rep = load_representation(path, kind="features")
    ids = list(rep.ids)
    if labels is not None:
        lab = read_labels(labels, ids)
    elif "labels" in rep.meta:
        lab = np.asarray(rep.meta["labels"])
        if lab.shape != (len(ids),):
            raise InputError(f"{path}: the labels array has shape {lab.shape}; expected ({len(ids)},).")
    else:
        raise InputError(f"{path}: no labels (no 'labels' array or label column); pass a labels file "
                         "(CLI: --labels FILE).")
    _check_no_empty_labels(lab, ids, str(labels if labels is not None else path))
    return LabelledFeatures(ids=ids, features=np.asarray(rep.values, dtype=np.float64), labels=lab, source=str(path))


def _check_no_empty_labels(labels: np.ndarray, ids: list[str], source: str) -> None:
    """An empty cell is a missing label, not a class named '' (or 'nan') of its own."""
    def missing(x: object) -> bool:
        if x is None or isinstance(x, float):
            return x is None or bool(np.isnan(x))
        return isinstance(x, (str, bytes)) and not (x.decode("utf-8", "replace") if isinstance(x, bytes) else x).strip()

    empty = [ids[i] for i, x in enumerate(labels.tolist()) if missing(x)]
    if empty:
        raise InputError(f"{source}: {len(empty)} examples have an empty label (a missing value, not a class): "
                         f"{preview(empty)}.")

"""Delimited text tables and Parquet: labelled square matrices and feature tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import preview
from ..representations import Representation
from .kind import detect_matrix_kind

__all__ = ["ID_COLUMNS", "LABEL_COLUMNS", "TABLE_SUFFIXES", "read_text_table", "is_labeled_matrix",
           "labeled_matrix", "feature_table", "parse_numeric"]

#: Column names recognised as the stimulus id column of a feature table, in priority order.
ID_COLUMNS: tuple[str, ...] = ("id", "stimulus", "stimulus_id", "image", "filename", "file", "name")
#: Column names holding class labels (kept as metadata, never used as features).
LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "class", "target")
#: Text table suffixes and their separators (None: sniffed).
TABLE_SUFFIXES: dict[str, str | None] = {".csv": ",", ".tsv": "\t", ".txt": None}


def parse_numeric(grid: pd.DataFrame, row_ids: list[str], col_ids: list[str], source: str) -> np.ndarray:
    numeric = grid.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() & ~grid.isin(["nan", "NaN", "inf", "-inf"]).to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"{source}: {int(bad.sum())} cells are not numbers; first at row {row_ids[r]!r}, "
            f"column {col_ids[c]!r}: {grid.iat[r, c]!r}."
        )
    return numeric.to_numpy(dtype=np.float64)


def read_text_table(path: Path, sep: str | None) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path, header=None, dtype=str, keep_default_na=False, sep=sep, engine="python" if sep is None else "c"
        )
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: the file is empty.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable delimited text table ({exc}).") from exc


def is_labeled_matrix(raw: pd.DataFrame) -> bool:
    if raw.shape[0] < 2 or raw.shape[0] != raw.shape[1]:
        return False
    cols = [str(x).strip() for x in raw.iloc[0, 1:]]
    rows = [str(x).strip() for x in raw.iloc[1:, 0]]
    return bool(cols) and set(cols) == set(rows) and len(set(cols)) == len(cols)


def labeled_matrix(raw: pd.DataFrame, source: str, kind: str | None, symmetrize: bool, name: str) -> Representation:
    cols = [str(x).strip() for x in raw.iloc[0, 1:]]
    rows = [str(x).strip() for x in raw.iloc[1:, 0]]
    values = parse_numeric(raw.iloc[1:, 1:].reset_index(drop=True), rows, cols, source)
    if cols != rows:  # same ids, different order: reorder columns to the row order
        order = [cols.index(r) for r in rows]
        values = values[:, order]
    meta: dict[str, Any] = {"source": source, "format": "labeled-matrix"}
    if kind is None:
        kind, reason = detect_matrix_kind(values, source=source)
        meta["kind_source"] = f"detected: {reason}"
    else:
        meta["kind_source"] = "given"
    return Representation(rows, values, kind=kind, name=name, symmetrize=symmetrize, meta=meta)


def feature_table(df: pd.DataFrame, source: str, id_column: str | None, name: str) -> Representation:
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    if id_column is not None:
        if id_column not in df.columns:
            raise InputError(
                f"{source}: no id column {id_column!r}; columns are {preview(list(df.columns), 8)}."
            )
        idcol = id_column
    else:
        lower = {c.lower(): c for c in df.columns}
        idcol = next((lower[c] for c in ID_COLUMNS if c in lower), None)
        if idcol is None:
            first = df.columns[0]
            if pd.to_numeric(df[first], errors="coerce").isna().any():
                idcol = first
            else:
                raise InputError(
                    f"{source}: cannot find the stimulus id column. Name it one of "
                    f"{', '.join(ID_COLUMNS)}, or pass id_column= (CLI: --id-column)."
                )
    ids = [str(x).strip() for x in df[idcol]]
    label_col = next((c for c in df.columns if c.lower() in LABEL_COLUMNS and c != idcol), None)
    feature_cols = [c for c in df.columns if c not in (idcol, label_col)]
    if not feature_cols:
        raise InputError(f"{source}: no feature columns besides the id column {idcol!r}.")
    grid = df[feature_cols].astype(str)
    values = parse_numeric(grid, ids, feature_cols, source)
    meta: dict[str, Any] = {"source": source, "format": "feature-table", "id_column": idcol}
    if label_col is not None:
        meta["labels"] = np.asarray(df[label_col].astype(str))
    return Representation(ids, values, kind="features", name=name, meta=meta)

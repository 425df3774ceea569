"""Delimited text tables and Parquet: labelled square matrices and feature tables."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import preview
from ..representations import Representation
from ._checks import check_finite, decode_ids
from .kind import detect_matrix_kind

__all__ = ["ID_COLUMNS", "LABEL_COLUMNS", "TABLE_SUFFIXES", "read_text_table", "is_labeled_matrix",
           "classify_text_table", "labeled_matrix", "feature_table", "parse_numeric"]

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
            path, header=None, dtype=str, keep_default_na=False, sep=sep, engine="python" if sep is None else "c",
            encoding="utf-8-sig",  # a byte-order mark (Excel's UTF-8 CSV) is not part of the first id
        )
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: the file is empty.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable delimited text table ({exc}).") from exc


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _loose(text: str) -> str:
    """An id compared loosely (to spot a near miss, never to match): case and extension ignored."""
    return PurePath(text.strip()).stem.casefold() if text.strip() else ""


def _header_ids(raw: pd.DataFrame) -> tuple[list[str], list[str]]:
    return [str(x).strip() for x in raw.iloc[0, 1:]], [str(x).strip() for x in raw.iloc[1:, 0]]


def is_labeled_matrix(raw: pd.DataFrame) -> bool:
    """Whether a raw text table is a labelled square matrix (see :func:`classify_text_table`)."""
    if raw.shape[0] < 2 or raw.shape[0] != raw.shape[1]:
        return False
    cols, rows = _header_ids(raw)
    return bool(cols) and set(cols) == set(rows) and len(set(cols)) == len(cols)


def _mismatch(raw: pd.DataFrame, source: str, reason: str) -> InputError:
    cols, rows = _header_ids(raw)
    parts = [f"{source}: {reason}, but they are not the same ids (a {len(rows)} x {len(cols)} table)"]
    only_cols = [c for c in cols if c not in set(rows)]
    only_rows = [r for r in rows if r not in set(cols)]
    if only_cols:
        parts.append(f"{len(only_cols)} header ids are not in the first column: {preview(only_cols)}")
    if only_rows:
        parts.append(f"{len(only_rows)} first-column ids are not in the header: {preview(only_rows)}")
    loose_rows = {_loose(r): r for r in only_rows}
    near = [f"{c!r} vs {loose_rows[_loose(c)]!r}" for c in only_cols if _loose(c) in loose_rows]
    if near:
        parts.append(f"{len(near)} differ only in letter case or extension ({', '.join(near[:3])})")
    for label, ids in (("header", cols), ("first column", rows)):
        dups = sorted({x for x in ids if ids.count(x) > 1})
        if dups:
            parts.append(f"the {label} repeats {preview(dups)}")
    return InputError(
        "; ".join(parts) + ". Fix the ids so that row and column ids match; if the file is a feature table, "
        "pass kind='features' (CLI: --kind-a/--kind-b features)."
    )


def classify_text_table(raw: pd.DataFrame, source: str) -> str:
    """``"matrix"`` or ``"table"``: what a delimited text file holds, by a stated rule.

    * The header row (after the corner cell) and the first column (below the header) hold
      the same ids, each once: a **labelled matrix** (the columns may be in another order).
    * Both hold text ids (not all numbers) and share at least one id, compared without
      letter case and extension: a labelled matrix whose ids do not match, an error that
      lists the mismatched ids. It is never re-read as a feature table (that silently
      turned a broken matrix into features and changed every result).
    * Otherwise: a **feature table**.

    ``kind="features"`` reads any table as a feature table; ``kind="similarity"`` or
    ``"dissimilarity"`` requires a labelled matrix.
    """
    if is_labeled_matrix(raw):
        return "matrix"
    if raw.shape[0] < 2 or raw.shape[1] < 2:
        return "table"
    cols, rows = _header_ids(raw)
    text = [c for c in cols if c and not _is_number(c)], [r for r in rows if r and not _is_number(r)]
    if text[0] and text[1] and {_loose(c) for c in text[0]} & {_loose(r) for r in text[1]}:
        raise _mismatch(raw, source, "the header row and the first column both hold stimulus ids, so this is a "
                        "labelled matrix")
    return "table"


def labeled_matrix(raw: pd.DataFrame, source: str, kind: str | None, symmetrize: bool, name: str) -> Representation:
    """A labelled square matrix from a raw text table (ids in the header row and first column)."""
    if not is_labeled_matrix(raw):
        raise _mismatch(raw, source, f"a {kind} matrix needs the same stimulus ids in its header row and first column")
    cols, rows = _header_ids(raw)
    values = parse_numeric(raw.iloc[1:, 1:].reset_index(drop=True), rows, cols, source)
    if cols != rows:  # same ids, different order: reorder columns to the row order
        position = {c: i for i, c in enumerate(cols)}
        values = values[:, [position[r] for r in rows]]
    check_finite(values, source, rows=rows, columns=rows, matrix=True)
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
    ids = [x.strip() for x in decode_ids(df[idcol].to_numpy(), source)]
    label_col = next((c for c in df.columns if c.lower() in LABEL_COLUMNS and c != idcol), None)
    feature_cols = [c for c in df.columns if c not in (idcol, label_col)]
    if not feature_cols:
        raise InputError(f"{source}: no feature columns besides the id column {idcol!r}.")
    grid = df[feature_cols].astype(str)
    values = parse_numeric(grid, ids, feature_cols, source)
    check_finite(values, source, rows=ids, columns=feature_cols)
    meta: dict[str, Any] = {"source": source, "format": "feature-table", "id_column": idcol}
    if label_col is not None:
        meta["labels"] = np.asarray(df[label_col].astype(str))
    return Representation(ids, values, kind="features", name=name, meta=meta)

"""Delimited text tables and Parquet: labelled square matrices and feature tables."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import preview
from ..representations import Representation
from ._checks import check_finite, decode_ids
from .kind import detect_matrix_kind

__all__ = ["ID_COLUMNS", "LABEL_COLUMNS", "TABLE_SUFFIXES", "TextTable", "read_text_table", "is_labeled_matrix",
           "classify_text_table", "labeled_matrix", "text_feature_table", "feature_table", "parse_numeric"]

#: Column names recognised as the stimulus id column of a feature table, in priority order.
ID_COLUMNS: tuple[str, ...] = ("id", "stimulus", "stimulus_id", "image", "filename", "file", "name")
#: Column names holding class labels (kept as metadata, never used as features).
LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "class", "target")
#: Text table suffixes and their separators (None: sniffed).
TABLE_SUFFIXES: dict[str, str | None] = {".csv": ",", ".tsv": "\t", ".txt": None}


def parse_numeric(grid: pd.DataFrame, row_ids: list[str], col_ids: list[str], source: str) -> np.ndarray:
    numeric = grid.apply(pd.to_numeric, errors="coerce")
    # NaN cells (a Parquet float NaN stays missing through astype(str)) are NaN, reported as such by the
    # finiteness check, not as "not numbers"
    bad = numeric.isna().to_numpy() & ~grid.isin(["nan", "NaN", "inf", "-inf"]).to_numpy() & ~grid.isna().to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"{source}: {int(bad.sum())} cells are not numbers; first at row {row_ids[r]!r}, "
            f"column {col_ids[c]!r}: {grid.iat[r, c]!r}."
        )
    return numeric.to_numpy(dtype=np.float64)


def read_text_table(path: Path, sep: str | None, **options: Any) -> pd.DataFrame:
    """A delimited text file as a table of strings (no header row; ``options`` go to pandas)."""
    try:
        return pd.read_csv(
            path, header=None, dtype=str, keep_default_na=False, sep=sep, engine="python" if sep is None else "c",
            encoding="utf-8-sig",  # a byte-order mark (Excel's UTF-8 CSV) is not part of the first id
            **options,
        )
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: the file is empty.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable delimited text table ({exc}).") from exc


def _first_line(path: Path, sep: str) -> list[str]:
    """The header row's cells (the csv module reads one line; pandas would tokenize a whole chunk)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            row = next(csv.reader(fh, delimiter=sep), None)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a readable delimited text table ({exc}).") from exc
    if not row:
        raise InputError(f"{path}: the file is empty.")
    return [cell.strip() for cell in row]


class TextTable:
    """A delimited text file: its header row, then one typed pass of pandas' C parser.

    The header decides which columns are text (the first column, and those named like an
    id or label column, ``ID_COLUMNS`` / ``LABEL_COLUMNS``); every other column is parsed
    as float64 in the same pass. Only when that fails (an empty or non-numeric cell, a NaN,
    a text column elsewhere) is the file read as strings, to say exactly which cell is
    wrong. A labelled matrix or a feature table reads in about the time of a plain
    ``pandas.read_csv`` (``python benchmarks/bench_io.py``).
    """

    def __init__(self, path: Path, sep: str | None, *, id_column: str | None = None) -> None:
        self.path, self.sep, self.source = path, sep, str(path)
        self._raw: pd.DataFrame | None = None
        self._typed: pd.DataFrame | None = None
        if sep is None:  # sniffed by the python engine: read everything once, as text
            self._raw = read_text_table(path, None)
            self.header = [str(x).strip() for x in self._raw.iloc[0]]
        else:
            self.header = _first_line(path, sep)
            names = {c.lower() for c in (*ID_COLUMNS, *LABEL_COLUMNS)} | ({id_column.lower()} if id_column else set())
            self._text = {0} | {j for j, c in enumerate(self.header) if c.lower() in names}
            dtypes = {j: (str if j in self._text else np.float64) for j in range(len(self.header))}
            try:
                self._typed = pd.read_csv(
                    path, header=None, skiprows=1, dtype=dtypes, keep_default_na=False, sep=sep, engine="c",
                    encoding="utf-8-sig",
                )
            except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
                self._typed = None  # the text path says what is wrong
            if self._typed is not None and self._typed.shape[1] != len(self.header):
                self._typed = None
        self.first = self.column(0)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows including the header, columns)."""
        return len(self.first) + 1, len(self.header)

    def raw(self) -> pd.DataFrame:
        """The whole file as strings (read once, when needed)."""
        if self._raw is None:
            self._raw = read_text_table(self.path, self.sep)
        return self._raw

    def column(self, j: int) -> list[str]:
        """Column ``j`` below the header, as stripped strings."""
        if self._typed is not None and j in self._text:
            return [str(x).strip() for x in self._typed[j]]
        return [str(x).strip() for x in self.raw().iloc[1:, j]]

    def numbers(self, columns: list[int], row_ids: list[str], col_ids: list[str]) -> np.ndarray:
        """The cells of ``columns`` below the header, as float64 (the first bad cell is named)."""
        if self._typed is not None:
            try:
                block = np.column_stack([
                    self._typed[j].to_numpy(np.float64) if j not in self._text
                    else pd.to_numeric(self._typed[j], errors="raise").to_numpy(np.float64)
                    for j in columns
                ]) if columns else np.empty((len(row_ids), 0))
                if block.shape == (len(row_ids), len(columns)) and not np.isnan(block).any():
                    return block
            except (ValueError, TypeError):
                pass  # the text path below says which cell is wrong
        grid = self.raw().iloc[1:, columns].reset_index(drop=True)
        return parse_numeric(grid, row_ids, col_ids, self.source)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _loose(text: str) -> str:
    """An id compared loosely (to spot a near miss, never to match): case and extension ignored."""
    return PurePath(text.strip()).stem.casefold() if text.strip() else ""


def is_labeled_matrix(table: TextTable) -> bool:
    """Whether the header row (after the corner) and the first column hold the same ids, each once."""
    cols, rows = table.header[1:], table.first
    return bool(cols) and len(cols) == len(rows) and set(cols) == set(rows) and len(set(cols)) == len(cols)


def _mismatch(table: TextTable, reason: str) -> InputError:
    cols, rows = table.header[1:], table.first
    parts = [f"{table.source}: {reason}, but they are not the same ids (a {len(rows)} x {len(cols)} table)"]
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
        dups = sorted(x for x, count in Counter(ids).items() if count > 1)
        if dups:
            parts.append(f"the {label} repeats {preview(dups)}")
    return InputError(
        "; ".join(parts) + ". Fix the ids so that row and column ids match; if the file is a feature table, "
        "pass kind='features' (CLI: --kind-a/--kind-b features)."
    )


def classify_text_table(table: TextTable) -> str:
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
    if is_labeled_matrix(table):
        return "matrix"
    cols = [c for c in table.header[1:] if c and not _is_number(c)]
    rows = [r for r in table.first if r and not _is_number(r)]
    if cols and rows and {_loose(c) for c in cols} & {_loose(r) for r in rows}:
        raise _mismatch(table, "the header row and the first column both hold stimulus ids, so this is a "
                        "labelled matrix")
    return "table"


def labeled_matrix(table: TextTable, kind: str | None, symmetrize: bool, name: str) -> Representation:
    """A labelled square matrix (ids in the header row and the first column)."""
    source = table.source
    if not is_labeled_matrix(table):
        raise _mismatch(table, f"a {kind} matrix needs the same stimulus ids in its header row and first column")
    cols, rows = table.header[1:], table.first
    values = table.numbers(list(range(1, len(cols) + 1)), rows, cols)
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


def _table_columns(columns: list[str], first_is_text: bool, id_column: str | None, source: str) -> tuple[str, str | None]:
    """(id column, label column or None) of a feature table, by the rule in ``docs/formats.md``."""
    if id_column is not None:
        if id_column not in columns:
            raise InputError(f"{source}: no id column {id_column!r}; columns are {preview(columns, 8)}.")
        idcol = id_column
    else:
        lower = {c.lower(): c for c in columns}
        found = next((lower[c] for c in ID_COLUMNS if c in lower), None)
        if found is None and not first_is_text:
            raise InputError(
                f"{source}: cannot find the stimulus id column. Name it one of "
                f"{', '.join(ID_COLUMNS)}, or pass id_column= (CLI: --id-column)."
            )
        idcol = found if found is not None else columns[0]
    label_col = next((c for c in columns if c.lower() in LABEL_COLUMNS and c != idcol), None)
    return idcol, label_col


def _features(ids: list[str], values: np.ndarray, feature_cols: list[str], meta: dict[str, Any],
              labels: Any, name: str) -> Representation:
    check_finite(values, meta["source"], rows=ids, columns=feature_cols)
    if labels is not None:
        meta["labels"] = np.asarray(labels, dtype=str)
    return Representation(ids, values, kind="features", name=name, meta=meta)


def text_feature_table(table: TextTable, id_column: str | None, name: str) -> Representation:
    # ``table`` should be built with the same ``id_column`` so that column is read as text.
    """A feature table from a delimited text file (id and label columns by the stated rule)."""
    source, columns = table.source, table.header
    first_is_text = any(not _is_number(x) for x in table.first)
    idcol, label_col = _table_columns(columns, first_is_text, id_column, source)
    positions = {c: j for j, c in enumerate(columns)}
    ids = table.column(positions[idcol])
    feature_cols = [c for c in columns if c not in (idcol, label_col)]
    if not feature_cols:
        raise InputError(f"{source}: no feature columns besides the id column {idcol!r}.{_separator_hint(columns)}")
    values = table.numbers([positions[c] for c in feature_cols], ids, feature_cols)
    labels = table.column(positions[label_col]) if label_col is not None else None
    meta: dict[str, Any] = {"source": source, "format": "feature-table", "id_column": idcol}
    return _features(ids, values, feature_cols, meta, labels, name)


def _separator_hint(columns: list[str]) -> str:
    """Why a header is one cell: the file is separated by another character than its suffix says."""
    if len(columns) != 1:
        return ""
    for sep, name in ((";", "semicolon"), ("\t", "tab"), ("|", "'|'")):
        if sep in columns[0]:
            fix = "name it .tsv" if sep == "\t" else "save it comma-separated (.csv) or tab-separated (.tsv)"
            return f" The header row is one cell: the file looks {name}-separated, which its suffix does not say; {fix}."
    return ""


def feature_table(df: pd.DataFrame, source: str, id_column: str | None, name: str) -> Representation:
    """A feature table from a DataFrame (a Parquet file)."""
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    first_is_text = bool(len(df.columns)) and bool(pd.to_numeric(df[df.columns[0]], errors="coerce").isna().any())
    idcol, label_col = _table_columns(list(df.columns), first_is_text, id_column, source)
    if df[idcol].isna().any():  # else the id would become the text "None" or "nan"
        row = int(np.flatnonzero(df[idcol].isna().to_numpy())[0])
        raise InputError(f"{source}: {int(df[idcol].isna().sum())} rows have no stimulus id in column {idcol!r}; "
                         f"first at row {row}.")
    ids = [x.strip() for x in decode_ids(df[idcol].to_numpy(), source)]
    feature_cols = [c for c in df.columns if c not in (idcol, label_col)]
    if not feature_cols:
        raise InputError(f"{source}: no feature columns besides the id column {idcol!r}.")
    grid = df[feature_cols].apply(lambda col: col.astype(np.int8) if col.dtype == bool else col)  # as in .npz and CSV
    values = parse_numeric(grid.astype(str), ids, feature_cols, source)
    labels = df[label_col].where(df[label_col].notna(), "").astype(str) if label_col is not None else None
    meta: dict[str, Any] = {"source": source, "format": "feature-table", "id_column": idcol}
    return _features(ids, values, feature_cols, meta, labels, name)

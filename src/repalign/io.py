"""Reading representations from files.

Formats (documented for users in ``docs/formats.md``):

* **Labeled matrix CSV/TSV**: the first row and the first column hold the stimulus
  ids (the corner cell is ignored), the rest is a square similarity or dissimilarity
  matrix. The kind is detected from the diagonal (see :func:`detect_matrix_kind`) unless
  given.
* **Feature table CSV/TSV/Parquet**: one row per stimulus, an id column (``id``,
  ``stimulus``, ``stimulus_id``, ``image``, ``filename`` or ``name``, or the first
  column when it is not numeric) and numeric feature columns. A ``label`` column, if
  present, is kept in ``meta["labels"]`` and is not a feature.
* **NPZ**: an ``ids`` array plus exactly one of ``features``, ``similarity`` or
  ``dissimilarity`` (the key states the kind). Optional ``labels``. Read with
  ``allow_pickle=False``.
* **NPY + id list, MAT**: a square matrix with its ids beside it
  (:func:`repalign.data.matrices.load_matrix`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import DataNotFoundError, InputError
from ._validation import check_option, optional_import, preview
from .representations import KINDS, Representation

__all__ = ["load_representation", "detect_matrix_kind", "ID_COLUMNS", "MATRIX_KINDS"]

#: Column names recognised as the stimulus id column of a feature table, in priority order.
ID_COLUMNS: tuple[str, ...] = ("id", "stimulus", "stimulus_id", "image", "filename", "file", "name")
#: Column names holding class labels (kept as metadata, never used as features).
LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "class", "target")
MATRIX_KINDS: tuple[str, ...] = ("similarity", "dissimilarity")
_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}


def detect_matrix_kind(matrix: np.ndarray, *, source: str = "matrix") -> tuple[str, str]:
    """Decide whether a square matrix holds similarities or dissimilarities.

    The rule is deliberately narrow, and anything else is an error asking for the
    kind explicitly:

    * the diagonal is constant and no off-diagonal value exceeds it -> similarity;
    * the diagonal is all zero and no off-diagonal value is below zero -> dissimilarity.

    A similarity matrix stored with zeros on its diagonal and no negative values looks
    exactly like a dissimilarity matrix; give the kind explicitly for such data.

    Returns
    -------
    (kind, reason) : (str, str)

    Examples
    --------
    >>> import numpy as np
    >>> detect_matrix_kind(np.array([[1, .2, .3], [.2, 1, .5], [.3, .5, 1]]))[0]
    'similarity'
    """
    m = np.asarray(matrix, dtype=np.float64)
    diag = np.diag(m)
    off = m[~np.eye(m.shape[0], dtype=bool)]
    if np.all(diag == 0) and off.size and off.min() >= 0 and off.max() > 0:
        return "dissimilarity", "zero diagonal and non-negative off-diagonal values"
    if np.all(diag == diag[0]) and off.size and off.max() <= diag[0] and off.min() < diag[0]:
        return "similarity", f"constant diagonal ({diag[0]:g}) at least as large as every other value"
    raise InputError(
        f"{source}: cannot tell whether this matrix holds similarities or dissimilarities "
        "(its diagonal is neither a constant maximum nor all zeros). State it explicitly: "
        "kind='similarity' or kind='dissimilarity' (CLI: --kind-a/--kind-b)."
    )


def _parse_numeric(grid: pd.DataFrame, row_ids: list[str], col_ids: list[str], source: str) -> np.ndarray:
    numeric = grid.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() & ~grid.isin(["nan", "NaN", "inf", "-inf"]).to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"{source}: {int(bad.sum())} cells are not numbers; first at row {row_ids[r]!r}, "
            f"column {col_ids[c]!r}: {grid.iat[r, c]!r}."
        )
    return numeric.to_numpy(dtype=np.float64)


def _read_text_table(path: Path, sep: str | None) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path, header=None, dtype=str, keep_default_na=False, sep=sep, engine="python" if sep is None else "c"
        )
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: the file is empty.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable delimited text table ({exc}).") from exc


def _is_labeled_matrix(raw: pd.DataFrame) -> bool:
    if raw.shape[0] < 2 or raw.shape[0] != raw.shape[1]:
        return False
    cols = [str(x).strip() for x in raw.iloc[0, 1:]]
    rows = [str(x).strip() for x in raw.iloc[1:, 0]]
    return bool(cols) and set(cols) == set(rows) and len(set(cols)) == len(cols)


def _labeled_matrix(raw: pd.DataFrame, source: str, kind: str | None, symmetrize: bool, name: str) -> Representation:
    cols = [str(x).strip() for x in raw.iloc[0, 1:]]
    rows = [str(x).strip() for x in raw.iloc[1:, 0]]
    values = _parse_numeric(raw.iloc[1:, 1:].reset_index(drop=True), rows, cols, source)
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


def _feature_table(df: pd.DataFrame, source: str, id_column: str | None, name: str) -> Representation:
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
    values = _parse_numeric(grid, ids, feature_cols, source)
    meta: dict[str, Any] = {"source": source, "format": "feature-table", "id_column": idcol}
    if label_col is not None:
        meta["labels"] = np.asarray(df[label_col].astype(str))
    return Representation(ids, values, kind="features", name=name, meta=meta)


def _load_npz(path: Path, kind: str | None, symmetrize: bool, name: str) -> Representation:
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        raise InputError(f"{path}: cannot read without pickle (object arrays are refused): {exc}.") from exc
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a valid .npz file ({exc}).") from exc
    if "ids" not in data:
        raise InputError(f"{path}: no 'ids' array; keys are {sorted(data)}.")
    present = [k for k in KINDS if k in data]
    if len(present) != 1:
        raise InputError(
            f"{path}: needs exactly one of the arrays {', '.join(KINDS)} (the key states the kind); "
            f"found {present or 'none'} among keys {sorted(data)}."
        )
    stored = present[0]
    if kind is not None and kind != stored:
        raise InputError(f"{path}: the file stores {stored!r} but kind={kind!r} was requested.")
    meta: dict[str, Any] = {"source": str(path), "format": "npz", "kind_source": "file key"}
    if "labels" in data:
        meta["labels"] = data["labels"]
    return Representation(data["ids"], data[stored], kind=stored, name=name, symmetrize=symmetrize, meta=meta)


def load_representation(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    id_column: str | None = None,
    symmetrize: bool = False,
    name: str | None = None,
) -> Representation:
    """Read a representation from a file.

    Parameters
    ----------
    path : path-like
        ``.csv``/``.tsv``/``.txt`` (labeled matrix or feature table), ``.parquet``
        (feature table), ``.npz``, or ``.npy``/``.mat`` (matrix + id list).
    kind : {"similarity", "dissimilarity", "features"}, optional
        Overrides detection. For a labeled matrix, the kind is otherwise detected from
        its diagonal (:func:`detect_matrix_kind`) and the reason is recorded in
        ``meta["kind_source"]``.
    id_column : str, optional
        The id column of a feature table.
    symmetrize : bool, default False
        Accept an asymmetric matrix by averaging it with its transpose.
    name : str, optional
        Display name; defaults to the file name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sim.csv"
    >>> _ = p.write_text(",a,b,c\\na,1,0.2,0.1\\nb,0.2,1,0.5\\nc,0.1,0.5,1\\n")
    >>> rep = load_representation(p)
    >>> rep.kind, rep.ids
    ('similarity', ('a', 'b', 'c'))
    """
    if kind is not None:
        check_option("kind", kind, KINDS)
    p = Path(path)
    source = str(p)
    if not p.exists():
        raise DataNotFoundError(f"{source}: no such file.")
    if p.is_dir():
        raise InputError(f"{source}: is a directory; expected a matrix, feature table or .npz file.")
    name = name or p.name
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return _load_npz(p, kind, symmetrize, name)
    if suffix in (".npy", ".mat"):  # a matrix plus an id list (see repalign.data.matrices)
        from .data.matrices import load_matrix

        if kind == "features":
            raise InputError(f"{source}: .npy and .mat files are read as similarity or dissimilarity matrices.")
        return load_matrix(p, kind=kind, symmetrize=symmetrize, name=name)
    if suffix == ".parquet":
        optional_import("pyarrow", extra="io", purpose="Reading Parquet files")
        if kind not in (None, "features"):
            raise InputError(f"{source}: Parquet files are read as feature tables, not {kind} matrices.")
        return _feature_table(pd.read_parquet(p), source, id_column, name)
    if suffix in _TABLE_SUFFIXES:
        raw = _read_text_table(p, _TABLE_SUFFIXES[suffix])
        if kind in MATRIX_KINDS or (kind is None and _is_labeled_matrix(raw)):
            if not _is_labeled_matrix(raw):
                raise InputError(
                    f"{source}: expected a labeled square matrix (first row and first column "
                    f"holding the same stimulus ids); got a {raw.shape[0]} x {raw.shape[1]} table "
                    "whose header row and first column differ."
                )
            return _labeled_matrix(raw, source, kind, symmetrize, name)
        header = [str(x).strip() for x in raw.iloc[0]]
        table = pd.DataFrame(raw.iloc[1:].to_numpy(), columns=header)
        return _feature_table(table, source, id_column, name)
    raise InputError(
        f"{source}: unsupported file type {suffix!r}. Supported: .csv, .tsv, .txt, .parquet, .npz, .npy, .mat."
    )

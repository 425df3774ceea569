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
  (:func:`repalign.io.matrices.load_matrix`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._validation import check_option, optional_import
from ..representations import KINDS, Representation
from .kind import MATRIX_KINDS
from .matrices import load_matrix, load_npy, split_mat_variable
from .npz import load_npz
from .tables import TABLE_SUFFIXES, classify_text_table, feature_table, labeled_matrix, read_text_table

__all__ = ["load_representation"]


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
        (feature table), ``.npz``, or ``.npy``/``.mat`` (matrix + id list; ``FILE.mat:VARIABLE``
        names the MATLAB variable).
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
    text, variable = split_mat_variable(path)
    p = Path(text)
    source = str(p)
    if not p.exists():
        raise DataNotFoundError(f"{source}: no such file.")
    if p.is_dir():
        raise InputError(f"{source}: is a directory; expected a matrix, feature table or .npz file.")
    name = name or p.name
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return load_npz(p, kind, symmetrize, name)
    if suffix == ".npy":  # features or a matrix, plus an id list (rule: repalign.io.matrices.load_npy)
        return load_npy(p, kind=kind, symmetrize=symmetrize, name=name)
    if suffix == ".mat":  # a matrix plus an id list (see repalign.io.matrices)
        if kind == "features":
            raise InputError(f"{source}: .mat files are read as similarity or dissimilarity matrices.")
        return load_matrix(p, kind=kind, variable=variable, symmetrize=symmetrize, name=name)
    if suffix == ".parquet":
        optional_import("pyarrow", extra="io", purpose="Reading Parquet files")
        if kind not in (None, "features"):
            raise InputError(f"{source}: Parquet files are read as feature tables, not {kind} matrices.")
        return feature_table(pd.read_parquet(p), source, id_column, name)
    if suffix in TABLE_SUFFIXES:
        raw = read_text_table(p, TABLE_SUFFIXES[suffix])
        if kind in MATRIX_KINDS or (kind is None and classify_text_table(raw, source) == "matrix"):
            return labeled_matrix(raw, source, kind, symmetrize, name)
        header = [str(x).strip() for x in raw.iloc[0]]
        table = pd.DataFrame(raw.iloc[1:].to_numpy(), columns=header)
        return feature_table(table, source, id_column, name)
    raise InputError(
        f"{source}: unsupported file type {suffix!r}. Supported: .csv, .tsv, .txt, .parquet, .npz, .npy, .mat."
    )

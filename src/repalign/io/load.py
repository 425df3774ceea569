"""``load_representation``: one file, folder or in-memory array -> a :class:`~repalign.Representation`.

The format is chosen by the file's suffix (a folder: thingsvision's layout; an object: an
``xarray.DataArray``), never by trying one reader after another. What each format holds
and every rule that infers something from its content is in ``docs/formats.md``:

=================================  ==========================================================
``.csv`` ``.tsv`` ``.txt``         labelled matrix or feature table (:mod:`.tables`)
``.parquet``                       feature table (pyarrow, the ``io`` extra)
``.npz``                           ``ids`` + ``features``/``similarity``/``dissimilarity`` (:mod:`.npz`)
``.h5`` ``.hdf5``                  the same layout in HDF5 (h5py, the ``io`` extra; :mod:`.hdf5`)
``.npy``                           features or a matrix, ids in ``<stem>.ids.txt`` (:mod:`.matrices`)
``.mat``, ``FILE.mat:VARIABLE``    a MATLAB matrix with its ids (:mod:`.matrices`)
a folder; its ``features.*``       thingsvision output: ``features.*`` + ``file_names.txt``
``xarray.DataArray``               a stimulus dimension with ids (:mod:`.arrays`)
rsatoolbox ``RDMs``                one RDM, dissimilarities (``Representation.from_rsatoolbox``)
=================================  ==========================================================

Dataset references (``peterson2018:animals``) belong to the data layer; the package face
:func:`repalign.load_representation` reads them as well as everything here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._rsatoolbox import is_rdms
from .._validation import check_option, optional_import
from ..representations import KINDS, Representation
from .arrays import from_xarray, is_xarray
from .hdf5 import HDF5_SUFFIXES, load_hdf5
from .kind import MATRIX_KINDS
from .matrices import ids_file_for, load_matrix, load_npy, split_mat_variable
from .npz import load_npz
from .tables import TABLE_SUFFIXES, TextTable, classify_text_table, feature_table, labeled_matrix, text_feature_table
from .thingsvision import FILE_NAMES, is_thingsvision_file, is_thingsvision_folder, load_thingsvision

__all__ = ["SUFFIXES", "load_representation"]

#: Every file suffix load_representation reads.
SUFFIXES: tuple[str, ...] = (*TABLE_SUFFIXES, ".parquet", ".npz", *HDF5_SUFFIXES, ".npy", ".mat")
_REFERENCE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*:[A-Za-z0-9_.\-]+$")


def _missing(source: str) -> DataNotFoundError:
    hint = ""
    if _REFERENCE.match(source):
        hint = (" If it is a dataset reference (NAME:PART), read it with repalign.load_representation, which "
                "knows the datasets (see `repalign data list`).")
    return DataNotFoundError(f"{source}: no such file.{hint}")


def _load_table(p: Path, kind: str | None, id_column: str | None, symmetrize: bool, name: str) -> Representation:
    table = TextTable(p, TABLE_SUFFIXES[p.suffix.lower()], id_column=id_column)
    if kind in MATRIX_KINDS or (kind is None and classify_text_table(table) == "matrix"):
        return labeled_matrix(table, kind, symmetrize, name)
    return text_feature_table(table, id_column, name)


def load_representation(
    path: str | os.PathLike[str] | Any,
    *,
    kind: str | None = None,
    id_column: str | None = None,
    symmetrize: bool = False,
    name: str | None = None,
    stimulus_dim: str | None = None,
) -> Representation:
    """Read a representation from a file, a thingsvision folder or an ``xarray.DataArray``.

    Parameters
    ----------
    path : path-like or xarray.DataArray
        A file (formats in the module docstring; ``FILE.mat:VARIABLE`` names the MATLAB
        variable), a thingsvision output folder, or a DataArray.
    kind : {"similarity", "dissimilarity", "features"}, optional
        Overrides every detection rule. Otherwise the kind comes from the file (an ``.npz``
        key, an HDF5 dataset name) or from a stated rule (a matrix's diagonal), and the
        reason is recorded in ``meta["kind_source"]``.
    id_column : str, optional
        The id column of a feature table.
    symmetrize : bool, default False
        Accept an asymmetric matrix by averaging it with its transpose.
    name : str, optional
        Display name; defaults to the file name.
    stimulus_dim : str, optional
        The stimulus dimension of a DataArray.

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
    if is_xarray(path):
        return from_xarray(path, stimulus_dim=stimulus_dim, kind=kind, symmetrize=symmetrize, name=name)
    if is_rdms(path):  # as compare() takes them: one RDM, ids from a pattern descriptor
        if kind not in (None, "dissimilarity"):
            raise InputError(f"rsatoolbox RDMs hold dissimilarities, not {kind} values; leave out kind=.")
        return Representation.from_rsatoolbox(path, name=name)
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(
            f"load_representation reads a path or an xarray.DataArray; got {type(path).__name__} (an rsatoolbox "
            "RDMs works too). For arrays in memory, use Representation.from_features / from_similarity / "
            "from_dissimilarity."
        )
    text, variable = split_mat_variable(path)
    p = Path(text)
    source = str(p)
    if not p.exists():
        raise _missing(source)
    if p.is_dir():
        if is_thingsvision_folder(p):
            if kind not in (None, "features"):
                raise InputError(f"{source}: a thingsvision folder holds features, not a {kind} matrix.")
            return load_thingsvision(p, name=name)
        raise InputError(
            f"{source}: is a folder without thingsvision output (features.npy, .txt, .mat or .hdf5 and "
            f"{FILE_NAMES}); expected a file: {', '.join(SUFFIXES)}."
        )
    if is_thingsvision_file(p):  # features.npy etc. beside file_names.txt: the ids are in file_names.txt
        if ids_file_for(p).is_file():
            raise InputError(
                f"{source}: two id lists, {FILE_NAMES} (thingsvision) and {ids_file_for(p).name}, beside it; "
                "remove the one that does not belong."
            )
        if kind not in (None, "features"):
            raise InputError(f"{source}: thingsvision feature files hold features, not a {kind} matrix.")
        return load_thingsvision(p.parent, name=name or p.name, file=p.name)
    name = name or p.name
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return load_npz(p, kind, symmetrize, name)
    if suffix in HDF5_SUFFIXES:
        return load_hdf5(p, kind=kind, symmetrize=symmetrize, name=name)
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
        try:
            table = pd.read_parquet(p)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError: truncated or not Parquet
            raise InputError(f"{source}: not a valid Parquet file (truncated or corrupt: {exc}).") from exc
        return feature_table(table, source, id_column, name)
    if suffix in TABLE_SUFFIXES:
        return _load_table(p, kind, id_column, symmetrize, name)
    raise InputError(f"{source}: unsupported file type {suffix!r}. Supported: {', '.join(SUFFIXES)}, a folder.")

"""HDF5 representation files (``.h5``, ``.hdf5``), read through h5py (the ``io`` extra).

Layout, the same as ``.npz``: a dataset ``ids`` (strings; bytes are decoded) and exactly
one of ``features``, ``similarity`` or ``dissimilarity`` (the name states the kind), plus
an optional ``labels``. Without ``ids`` the ids come from ``<stem>.ids.txt`` next to the
file (thingsvision's ``features.hdf5`` gets them from its ``file_names.txt``, see
:mod:`repalign.io.thingsvision`). MATLAB v7.3 files are HDF5 too but are read as
``.mat`` (:mod:`repalign.io.matrices`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._validation import optional_import
from ..representations import KINDS, Representation
from ._checks import check_finite, decode_ids, real_array
from .matrices import ids_file_for, read_id_list

__all__ = ["HDF5_SUFFIXES", "read_hdf5_arrays", "load_hdf5"]

HDF5_SUFFIXES: tuple[str, ...] = (".h5", ".hdf5")


def read_hdf5_arrays(path: str | os.PathLike[str], names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The top-level datasets of an HDF5 file (only ``names`` when given), loaded into memory.

    Raises
    ------
    MissingDependencyError
        Without h5py (``pip install 'repalign[io]'``).
    InputError
        When the file is not readable HDF5.
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: no such file.")
    h5py = optional_import("h5py", extra="io", purpose=f"Reading the HDF5 file {p}")
    out: dict[str, np.ndarray] = {}
    try:
        with h5py.File(p, "r") as fh:
            for key, value in fh.items():
                if isinstance(value, h5py.Dataset) and (names is None or key in names):
                    out[key] = np.asarray(value[()])
    except OSError as exc:
        raise InputError(f"{p}: not a readable HDF5 file ({exc}).") from exc
    return out


def _listing(arrays: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in arrays.items()) or "no datasets"


def load_hdf5(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    symmetrize: bool = False,
    name: str | None = None,
    ids: list[str] | None = None,
) -> Representation:
    """A representation from an HDF5 file (layout: module docstring).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> h5py = __import__("h5py")
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
    >>> with h5py.File(p, "w") as fh:
    ...     _ = fh.create_dataset("ids", data=np.array([b"a", b"b", b"c"]))
    ...     _ = fh.create_dataset("features", data=np.eye(3))
    >>> load_hdf5(p).ids
    ('a', 'b', 'c')
    """
    p = Path(path)
    source = str(p)
    arrays = read_hdf5_arrays(p)
    present = [k for k in KINDS if k in arrays]
    if len(present) != 1:
        raise InputError(
            f"{source}: needs exactly one dataset named {', '.join(KINDS)} (the name states the kind); "
            f"the file holds: {_listing(arrays)}."
        )
    stored = present[0]
    if kind is not None and kind != stored:
        raise InputError(f"{source}: the file stores {stored!r} but kind={kind!r} was requested.")
    values = real_array(arrays[stored], source, what=f"{stored} values")
    if values.ndim != 2:
        raise InputError(f"{source}: {stored!r} must be 2-D (stimuli x features, or a square matrix); got {values.shape}.")
    meta: dict[str, Any] = {"source": source, "format": "hdf5", "kind_source": "dataset name"}
    if ids is not None:
        id_list, meta["ids_source"] = list(ids), "given"
    elif "ids" in arrays:
        id_list, meta["ids_source"] = decode_ids(arrays["ids"], source), "dataset 'ids'"
    elif ids_file_for(p).is_file():
        id_list, meta["ids_source"] = read_id_list(ids_file_for(p)), str(ids_file_for(p))
    else:
        raise InputError(
            f"{source}: no 'ids' dataset and no id list {ids_file_for(p).name} next to it; the stimulus ids are "
            "unknown. Add either (one id a line, in row order)."
        )
    if len(id_list) != values.shape[0]:
        raise InputError(f"{source}: {len(id_list)} stimulus ids ({meta['ids_source']}) for {values.shape[0]} rows.")
    columns = id_list if stored != "features" else [f"feature {j}" for j in range(values.shape[1])]
    check_finite(values, source, rows=id_list, columns=columns, matrix=stored != "features")
    if "labels" in arrays:
        labels = arrays["labels"]
        meta["labels"] = np.asarray(decode_ids(labels, source, what="label")) if labels.dtype.kind in "SO" else labels
    return Representation(id_list, values, kind=stored, name=name or p.name, symmetrize=symmetrize, meta=meta)

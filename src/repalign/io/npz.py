"""``.npz`` representation files: ``ids`` plus exactly one of ``features``, ``similarity``, ``dissimilarity``.

The array's key states the kind, so nothing is inferred. Read with ``allow_pickle=False``;
a truncated or corrupt archive is one :class:`~repalign.InputError`, never a traceback.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError
from ..representations import KINDS, Representation
from ._checks import check_finite, decode_ids, real_array

__all__ = ["load_npz", "read_npz"]

# What numpy and zipfile raise on a damaged archive (zlib.error is an Exception subclass too).
_CORRUPT = (OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, loaded now (so a damaged member fails here, with the file named).

    Raises
    ------
    InputError
        On object arrays (pickle is refused) and on truncated or corrupt archives.
    """
    import zlib

    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise InputError(f"{path}: cannot read without pickle (object arrays are refused): {exc}.") from exc
        raise InputError(f"{path}: not a valid .npz file (truncated or corrupt: {exc}).") from exc
    except (*_CORRUPT, zlib.error) as exc:
        raise InputError(f"{path}: not a valid .npz file (truncated or corrupt: {type(exc).__name__}: {exc}).") from exc


def load_npz(path: Path, kind: str | None, symmetrize: bool, name: str) -> Representation:
    """A representation from ``.npz`` (see the module docstring)."""
    data = read_npz(path)
    if "ids" not in data:
        raise InputError(f"{path}: no 'ids' array; keys are {sorted(data)}.")
    present = [k for k in KINDS if k in data]
    if not present and "layers" in data and any(k.startswith("features/") for k in data):
        raise InputError(
            f"{path}: a multi-layer feature file ({data['layers'].size} layers): `repalign align` aligns every "
            "layer; for one layer use repalign.models.load_layered_features(path).layer(NAME), or extract it with --layer."
        )
    if len(present) != 1:
        raise InputError(
            f"{path}: needs exactly one of the arrays {', '.join(KINDS)} (the key states the kind); "
            f"found {present or 'none'} among keys {sorted(data)}."
        )
    stored = present[0]
    if kind is not None and kind != stored:
        raise InputError(f"{path}: the file stores {stored!r} but kind={kind!r} was requested.")
    ids = decode_ids(data["ids"], str(path))
    values = real_array(data[stored], str(path), what=f"{stored} values")
    if values.ndim == 2 and values.shape[0] == len(ids):
        columns = ids if stored != "features" else [f"feature {j}" for j in range(values.shape[1])]
        check_finite(values, str(path), rows=ids, columns=columns, matrix=stored != "features")
    meta: dict[str, Any] = {"source": str(path), "format": "npz", "kind_source": "file key"}
    if "labels" in data:
        labels = data["labels"]
        meta["labels"] = np.asarray(decode_ids(labels, str(path), what="label")) if labels.dtype.kind == "S" else labels
    return Representation(ids, values, kind=stored, name=name, symmetrize=symmetrize, meta=meta)

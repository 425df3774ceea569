"""In-memory labelled arrays: an ``xarray.DataArray`` with a stimulus dimension.

The rule (stated for users in ``docs/formats.md``):

* the **stimulus dimension** is ``stimulus_dim=`` or else the one dimension named
  ``stimulus``, ``stimuli``, ``stimulus_id``, ``presentation`` (Brain-Score), ``image`` or
  ``item``; none or several is an error asking for ``stimulus_dim=``;
* the **ids** are the coordinate ``stimulus_id`` along that dimension when there is one
  (Brain-Score keeps it on the ``presentation`` index), else the dimension's own
  coordinate; bytes are decoded; no coordinate is an error;
* the array must be 2-D. When the other dimension's coordinate holds the same ids, it is a
  **matrix** (columns reordered to the rows, kind from the diagonal unless ``kind=``);
  otherwise its rows are **features**.

xarray itself is never imported here: the object's own methods are used, so this module
costs nothing when xarray is not installed (it is in the ``io`` extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option, preview
from ..representations import KINDS, Representation
from ._checks import check_finite, decode_ids, real_array
from .kind import MATRIX_KINDS, detect_matrix_kind

__all__ = ["STIMULUS_DIMS", "is_xarray", "from_xarray"]

#: Dimension names recognised as the stimulus dimension, in no particular order.
STIMULUS_DIMS: tuple[str, ...] = ("stimulus", "stimuli", "stimulus_id", "presentation", "image", "item")


def is_xarray(obj: Any) -> bool:
    """Whether ``obj`` is an xarray object (checked without importing xarray)."""
    return type(obj).__module__.split(".")[0] == "xarray"


def _stimulus_dim(array: Any, stimulus_dim: str | None, source: str) -> str:
    dims = [str(d) for d in array.dims]
    if stimulus_dim is not None:
        if stimulus_dim not in dims:
            raise InputError(f"{source}: no dimension {stimulus_dim!r}; its dimensions are {preview(dims)}.")
        return stimulus_dim
    found = [d for d in dims if d in STIMULUS_DIMS]
    if len(found) != 1:
        what = "none of its dimensions" if not found else f"several dimensions ({preview(found)})"
        raise InputError(
            f"{source}: {what} is the stimulus dimension (recognised names: {', '.join(STIMULUS_DIMS)}); its "
            f"dimensions are {preview(dims)}. Name it with stimulus_dim=..."
        )
    return found[0]


def _coordinate_ids(array: Any, dim: str, source: str) -> list[str] | None:
    coords = array.coords
    for key in ("stimulus_id", dim):
        if key in coords and tuple(coords[key].dims) == (dim,):
            values = np.asarray(coords[key].values)
            if values.dtype == object and values.size and isinstance(values.flat[0], tuple):
                continue  # a MultiIndex: its levels are coordinates of their own
            return decode_ids(values, source)
    return None


def from_xarray(
    array: Any,
    *,
    stimulus_dim: str | None = None,
    kind: str | None = None,
    symmetrize: bool = False,
    name: str | None = None,
) -> Representation:
    """A representation from an ``xarray.DataArray`` (rule: module docstring).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.eye(3, 4), dims=("stimulus", "unit"), coords={"stimulus": ["a", "b", "c"]})
    >>> rep = from_xarray(da)
    >>> rep.kind, rep.ids
    ('features', ('a', 'b', 'c'))
    """
    source = name or f"DataArray {getattr(array, 'name', None) or ''}".strip()
    if kind is not None:
        check_option("kind", kind, KINDS)
    if not hasattr(array, "dims") or not hasattr(array, "coords") or hasattr(array, "data_vars"):
        raise InputError(f"{source}: expected an xarray.DataArray; got {type(array).__name__} (select one variable).")
    dim = _stimulus_dim(array, stimulus_dim, source)
    if array.ndim != 2:
        raise InputError(
            f"{source}: a {array.ndim}-D array with dimensions {tuple(map(str, array.dims))}; repalign reads 2-D "
            "arrays (stimuli x features, or stimuli x stimuli). Select, pool or stack the other dimensions first."
        )
    other = next(str(d) for d in array.dims if str(d) != dim)
    ids = _coordinate_ids(array, dim, source)
    if ids is None:
        raise InputError(f"{source}: dimension {dim!r} has no coordinate (and no 'stimulus_id'), so no stimulus ids.")
    values = real_array(np.asarray(array.transpose(dim, other).values), source)
    column_ids = _coordinate_ids(array, other, source)
    is_matrix = column_ids is not None and sorted(column_ids) == sorted(ids) and len(set(ids)) == len(ids)
    meta: dict[str, Any] = {"source": source, "format": "xarray", "stimulus_dim": dim}
    if kind in MATRIX_KINDS and not is_matrix:
        raise InputError(
            f"{source}: a {kind} matrix needs the same stimulus ids along {dim!r} and {other!r}; {other!r} "
            f"holds {preview(column_ids or [])}."
        )
    if kind == "features" or not is_matrix:
        check_finite(values, source, rows=ids, columns=[f"{other} {j}" for j in range(values.shape[1])])
        meta["kind_source"] = "given" if kind else f"detected: {other!r} does not hold the stimulus ids"
        return Representation(ids, values, kind="features", name=name, meta=meta)
    position = {c: j for j, c in enumerate(column_ids)}  # type: ignore[arg-type]
    values = values[:, [position[i] for i in ids]]
    check_finite(values, source, rows=ids, columns=ids, matrix=True)
    if kind is None:
        kind, reason = detect_matrix_kind(values, source=source)
        meta["kind_source"] = f"detected: {reason}"
    else:
        meta["kind_source"] = "given"
    return Representation(ids, values, kind=kind, name=name, symmetrize=symmetrize, meta=meta)

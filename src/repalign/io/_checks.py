"""Checks every loader applies to what it read: ids decoded to text, values real and finite.

They run before any inference (the kind of a matrix, a feature table's columns), so a NaN
cell is reported as a NaN at its position, not as an undecidable matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import preview

__all__ = ["decode_ids", "real_array", "check_finite"]


def _decode(value: Any, source: str, what: str) -> str:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: {what} {bytes(value)!r} is not UTF-8 text ({exc.reason}).") from exc
    return str(value)


def decode_ids(values: Any, source: str, *, what: str = "stimulus id") -> list[str]:
    """Stimulus ids as text: bytes (numpy ``S`` arrays, h5py, MATLAB) decoded as UTF-8.

    Without this, ``str(b"s0")`` would give the id ``"b's0'"``, which matches nothing.

    Examples
    --------
    >>> import numpy as np
    >>> decode_ids(np.array([b"s0", b"s1"]), "ids.npz")
    ['s0', 's1']
    """
    arr = np.asarray(values) if not isinstance(values, (list, tuple)) else values
    if isinstance(arr, np.ndarray):
        if arr.ndim != 1:
            raise InputError(f"{source}: {what}s must be a 1-D list; got an array of shape {arr.shape}.")
        if arr.dtype.kind == "S":
            return [_decode(x, source, what) for x in arr.tolist()]
        if arr.dtype.kind in "fc":
            raise InputError(f"{source}: {what}s are {arr.dtype} numbers; store them as text (or integers).")
        return [_decode(x, source, what) for x in arr.tolist()]
    return [_decode(x, source, what) for x in arr]


def real_array(values: Any, source: str, *, what: str = "values", cast: bool = True) -> np.ndarray:
    """``values`` as a float64 array (``cast=False``: as stored); complex or non-numeric input is refused.

    Examples
    --------
    >>> real_array([[1, 2], [3, 4]], "x").dtype
    dtype('float64')
    """
    arr = np.asarray(values)
    if np.iscomplexobj(arr):
        raise InputError(
            f"{source}: the {what} are complex numbers ({arr.dtype}); repalign compares real-valued "
            "representations. Convert them explicitly first (e.g. the magnitude, np.abs, or the real part)."
        )
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{source}: the {what} are not numbers (dtype {arr.dtype}).")
    return arr.astype(np.float64, copy=False) if cast else arr


def check_finite(
    values: np.ndarray,
    source: str,
    *,
    rows: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    matrix: bool = False,
) -> None:
    """Raise one :class:`InputError` naming how many cells are NaN/infinite and where the first is.

    Examples
    --------
    >>> import numpy as np
    >>> check_finite(np.array([[1.0, np.nan], [0.5, 1.0]]), "m.csv", rows=["a", "b"], columns=["a", "b"], matrix=True)
    Traceback (most recent call last):
    ...
    repalign._errors.InputError: m.csv: 1 values are NaN or infinite (1 NaN); first at ['a', 'b'] (off the diagonal).
    """
    finite = np.isfinite(values)
    if finite.all():
        return
    bad = ~finite
    r, c = (int(x) for x in np.argwhere(bad)[0])
    n_nan, n_inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
    kinds = ", ".join(f"{n} {label}" for n, label in ((n_nan, "NaN"), (n_inf, "infinite")) if n)
    row = repr(rows[r]) if rows is not None else str(r)
    col = repr(columns[c]) if columns is not None else str(c)
    where = f"first at [{row}, {col}]"
    if matrix and rows is not None:
        on_diag = np.flatnonzero(bad[np.arange(values.shape[0]), np.arange(values.shape[0])])
        if on_diag.size:
            where = f"{on_diag.size} on the diagonal ({preview([rows[i] for i in on_diag])}); {where}"
        else:
            where += " (off the diagonal)"
    raise InputError(f"{source}: {n_nan + n_inf} values are NaN or infinite ({kinds}); {where}.")

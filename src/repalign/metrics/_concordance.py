"""Row-wise pair-concordance counts: the kernel behind triplet agreement and Kendall's tau.

For two rows ``x`` and ``y`` of length ``m`` and every unordered pair of positions
``{p, q}``, a pair is *concordant* when ``x`` and ``y`` order it the same way, *discordant*
when they order it oppositely, or tied in ``x``, in ``y`` or in both. Per row we return

    n_pairs   m (m - 1) / 2
    tied_x    pairs with x_p == x_q
    tied_y    pairs with y_p == y_q
    tied_xy   pairs tied in both
    discord   pairs ordered oppositely (strictly in both)

from which ``concordant = n_pairs - tied_x - tied_y + tied_xy - discord``.

Knight's algorithm gives these in O(m log m) per row: sort by (x, y), count ties in the
runs, and count the strict inversions of ``y`` in that order with a merge sort. Two
implementations agree exactly (tests check both against brute force):

* ``numba`` (the ``repalign[fast]`` extra): one compiled pass per row, rows in parallel.
* ``numpy``: vectorized over all rows at once (a bottom-up merge sort whose merges are
  batched ``searchsorted`` calls), used when numba is not installed.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import numpy as np

from .._validation import check_option

__all__ = ["BACKENDS", "row_concordance", "resolve_backend"]

log = logging.getLogger(__name__)

BACKENDS: tuple[str, ...] = ("auto", "numba", "numpy")
COUNT_FIELDS: tuple[str, ...] = ("n_pairs", "tied_x", "tied_y", "tied_xy", "discord")


@lru_cache(maxsize=1)
def _numba_kernel() -> Any:
    """The compiled per-row kernel (loaded from numba's on-disk cache); None without numba."""
    try:
        from ._concordance_numba import count_rows
    except ImportError:
        return None
    return count_rows


def resolve_backend(backend: str = "auto") -> str:
    """Return the concrete backend (``"numba"`` or ``"numpy"``) for ``backend``."""
    check_option("backend", backend, BACKENDS)
    if backend == "auto":
        return "numba" if _numba_kernel() is not None else "numpy"
    if backend == "numba" and _numba_kernel() is None:
        from .._errors import MissingDependencyError

        raise MissingDependencyError(
            "backend='numba' needs numba, which is not installed. Install it with: "
            "pip install 'repalign[fast]' (or use backend='numpy')."
        )
    return backend


def _tied_pairs_sorted(v: np.ndarray) -> np.ndarray:
    """Per row of an array sorted along axis 1: the number of equal pairs (sum of C(run, 2))."""
    r, m = v.shape
    if m < 2:
        return np.zeros(r, dtype=np.int64)
    same = v[:, 1:] == v[:, :-1]
    return _runs_to_pairs(same)


def _runs_to_pairs(same: np.ndarray) -> np.ndarray:
    """Given flags "element p equals element p-1" per row, count pairs within equal runs."""
    r, m1 = same.shape
    # Position within its run for each flagged element = distance to the last unflagged one.
    pos = np.arange(1, m1 + 1)
    last_break = np.where(same, 0, pos)
    np.maximum.accumulate(last_break, axis=1, out=last_break)
    within = np.where(same, pos - last_break, 0)
    return within.sum(axis=1, dtype=np.int64)


def _dense_ranks(v: np.ndarray) -> np.ndarray:
    """Dense integer ranks (0..m-1) along axis 1, equal values sharing a rank."""
    order = np.argsort(v, axis=1, kind="stable")
    sv = np.take_along_axis(v, order, axis=1)
    step = np.concatenate([np.zeros((v.shape[0], 1), dtype=np.int64), (sv[:, 1:] != sv[:, :-1]).astype(np.int64)], axis=1)
    ranks_sorted = np.cumsum(step, axis=1)
    ranks = np.empty_like(ranks_sorted)
    np.put_along_axis(ranks, order, ranks_sorted, axis=1)
    return ranks


def _inversions(ranks: np.ndarray) -> np.ndarray:
    """Strict inversions per row of an int array with values in [0, m), all rows at once.

    Bottom-up merge sort. At each level the sorted left halves of all blocks of all rows
    form one increasing array once a block offset is added to the values, so the
    "how many left elements exceed this right element" counts of the whole level are a
    single ``searchsorted``; the merge is a stable sort of runs that are already sorted.
    """
    r, m = ranks.shape
    total = np.zeros(r, dtype=np.int64)
    if m < 2:
        return total
    width = 1
    size = 1
    while size < m:
        size *= 2
    # Pad with a value above every rank: padding never forms an inversion (it sits at the end).
    cur = np.full((r, size), m, dtype=np.int64)
    cur[:, :m] = ranks
    span = m + 1
    while width < size:
        n_blocks = size // (2 * width)
        blocks = cur.reshape(r, n_blocks, 2, width)
        offset = (np.arange(r * n_blocks, dtype=np.int64) * span).reshape(r, n_blocks, 1)
        left = (blocks[:, :, 0, :] + offset).ravel()
        right = blocks[:, :, 1, :] + offset
        # Elements of the left half <= each right element, then the complement.
        le = np.searchsorted(left, right.ravel(), side="right").reshape(r, n_blocks, width)
        block_start = (np.arange(r * n_blocks, dtype=np.int64) * width).reshape(r, n_blocks, 1)
        greater = width - (le - block_start)
        total += greater.sum(axis=(1, 2))
        merged = np.sort(blocks.reshape(r, n_blocks, 2 * width), axis=2, kind="stable")
        cur = merged.reshape(r, size)
        width *= 2
    return total


def _count_rows_numpy(x: np.ndarray, y: np.ndarray, chunk_elements: int = 1 << 22) -> np.ndarray:
    r, m = x.shape
    out = np.empty((r, 5), dtype=np.int64)
    step = max(1, chunk_elements // max(m, 1))
    for s in range(0, r, step):
        xs, ys = x[s : s + step], y[s : s + step]
        order = np.lexsort((ys, xs), axis=1)
        sx = np.take_along_axis(xs, order, axis=1)
        sy = np.take_along_axis(ys, order, axis=1)
        same_x = sx[:, 1:] == sx[:, :-1]
        out[s : s + step, 0] = m * (m - 1) // 2
        out[s : s + step, 1] = _runs_to_pairs(same_x)
        out[s : s + step, 3] = _runs_to_pairs(same_x & (sy[:, 1:] == sy[:, :-1]))
        out[s : s + step, 2] = _tied_pairs_sorted(np.sort(ys, axis=1))
        out[s : s + step, 4] = _inversions(_dense_ranks(sy))
    return out


def row_concordance(x: np.ndarray, y: np.ndarray, *, backend: str = "auto") -> np.ndarray:
    """Pair-concordance counts for each row of ``x`` against the same row of ``y``.

    Parameters
    ----------
    x, y : ndarray of shape (n_rows, m)
        Finite values; compared row by row.
    backend : {"auto", "numba", "numpy"}

    Returns
    -------
    ndarray of shape (n_rows, 5), int64
        Columns ``n_pairs, tied_x, tied_y, tied_xy, discord`` (see the module docstring).

    Examples
    --------
    >>> row_concordance(np.array([[1., 2., 3.]]), np.array([[1., 3., 2.]]), backend="numpy")
    array([[3, 0, 0, 0, 1]])
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y must be 2-D arrays of one shape; got {x.shape} and {y.shape}.")
    if resolve_backend(backend) == "numba":
        return _numba_kernel()(x, y)
    return _count_rows_numpy(x, y)

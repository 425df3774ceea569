"""Correlations between the pairwise similarities of two representations (RSA).

All three use the upper triangle (``i < j``, diagonal excluded) of the two similarity
matrices, i.e. the ``n (n - 1) / 2`` pairwise similarities.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .._errors import InputError
from ._concordance import row_concordance

__all__ = [
    "upper_triangle",
    "pearson_from_vectors",
    "spearman_from_vectors",
    "kendall_tau_a_from_vectors",
]


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """The entries above the diagonal, row by row (``i < j``)."""
    m = np.asarray(matrix)
    return m[np.triu_indices(m.shape[0], k=1)]


def _check_not_constant(x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> None:
    for v, name in zip((x, y), names):
        if v.size < 2 or np.all(v == v[0]):
            raise InputError(
                f"the pairwise similarities of {name} are all equal, so a correlation with them is "
                "undefined (a constant representation carries no information about the stimuli)."
            )


def pearson_from_vectors(x: np.ndarray, y: np.ndarray, *, names: tuple[str, str] = ("A", "B")) -> float:
    """Pearson correlation of two vectors, refusing constant input instead of returning NaN."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _check_not_constant(x, y, names)
    xc = x - x.mean()
    yc = y - y.mean()
    denom = np.sqrt(np.dot(xc, xc) * np.dot(yc, yc))
    if denom == 0:  # centred vectors can underflow to zero for tiny but unequal values
        raise InputError(f"the pairwise similarities of {names[0]} or {names[1]} have zero variance.")
    return float(np.clip(np.dot(xc, yc) / denom, -1.0, 1.0))


def spearman_from_vectors(x: np.ndarray, y: np.ndarray, *, names: tuple[str, str] = ("A", "B")) -> float:
    """Spearman correlation: Pearson correlation of average ranks (ties share their mean rank)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _check_not_constant(x, y, names)
    return pearson_from_vectors(stats.rankdata(x), stats.rankdata(y), names=names)


def kendall_tau_a_from_vectors(
    x: np.ndarray, y: np.ndarray, *, names: tuple[str, str] = ("A", "B"), backend: str = "auto"
) -> float:
    """Kendall's tau-a, ``(concordant - discordant) / (N (N - 1) / 2)``, in O(N log N).

    Tau-a does not correct for ties (tied pairs count as neither concordant nor
    discordant), so it is bounded in magnitude by the share of untied pairs.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _check_not_constant(x, y, names)
    n_pairs, tied_x, tied_y, tied_xy, discord = (int(v) for v in row_concordance(x[None, :], y[None, :], backend=backend)[0])
    concord = n_pairs - tied_x - tied_y + tied_xy - discord
    return (concord - discord) / n_pairs

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
    "power_of_two_scale",
    "pearson_from_vectors",
    "spearman_from_vectors",
    "kendall_tau_a_from_vectors",
]


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """The entries above the diagonal, row by row (``i < j``)."""
    m = np.asarray(matrix)
    return m[np.triu_indices(m.shape[0], k=1)]


def power_of_two_scale(values: np.ndarray) -> float:
    """The power of two nearest above ``max |values|`` (1.0 for all-zero input), at most 2**1023.

    Dividing by it is exact for normal floats (only the exponent changes), so values of any
    magnitude, 1e-300 or 1e300, are brought to ``[0.5, 1]`` before products that would
    otherwise underflow or overflow.

    Examples
    --------
    >>> power_of_two_scale(np.array([3.0, -5.0]))
    8.0
    """
    peak = float(np.max(np.abs(values))) if np.size(values) else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return 1.0
    return float(np.ldexp(1.0, np.minimum(np.frexp(peak)[1], 1023)))


def _check_not_constant(x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> None:
    for v, name in zip((x, y), names):
        if v.size < 2 or np.all(v == v[0]):
            raise InputError(
                f"the pairwise similarities of {name} are all equal, so a correlation with them is "
                "undefined (a constant representation carries no information about the stimuli)."
            )


def pearson_from_vectors(x: np.ndarray, y: np.ndarray, *, names: tuple[str, str] = ("A", "B")) -> float:
    """Pearson correlation of two vectors, refusing constant input instead of returning NaN.

    Scale-invariant at the extremes: each vector is divided by a power of two before it is
    centred, and again after, so neither the mean, the sums of squares nor their product can
    overflow or underflow (``x * 1e300`` and ``x * 1e-300`` give the value of ``x``).

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 4.0, 3.0])
    >>> y = np.array([1.0, 3.0, 2.0, 4.0])
    >>> r = pearson_from_vectors(x, y)
    >>> abs(pearson_from_vectors(x * 1e300, y) - r) < 1e-15, abs(pearson_from_vectors(x, y * 1e-300) - r) < 1e-15
    (True, True)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _check_not_constant(x, y, names)
    xc = x / power_of_two_scale(x)
    yc = y / power_of_two_scale(y)
    xc = xc - xc.mean()
    yc = yc - yc.mean()
    xc /= power_of_two_scale(xc)
    yc /= power_of_two_scale(yc)
    # Both centred vectors now peak in [0.5, 1]: their sums of squares lie in [0.25, n].
    denom = np.sqrt(np.dot(xc, xc)) * np.sqrt(np.dot(yc, yc))
    if not denom > 0:  # unequal values that round to one mean (a spread below float precision)
        raise InputError(
            f"the pairwise similarities of {names[0]} or {names[1]} differ only below float64 precision, "
            "so their correlation is undefined."
        )
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

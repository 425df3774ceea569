"""Similarity matrices from feature vectors.

All functions return a dense ``(n_stimuli, n_stimuli)`` float64 matrix where a larger
value means *more similar*. Distances are negated (``euclidean`` returns ``-||x_i - x_j||``)
so that every downstream metric can assume one direction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.distance import pdist, squareform

from ._errors import InputError
from ._validation import check_option, preview

__all__ = ["SIMILARITY_FUNCTIONS", "similarity_matrix"]

#: Valid values of every ``similarity=`` option.
SIMILARITY_FUNCTIONS: tuple[str, ...] = ("cosine", "correlation", "euclidean", "dot")


def _unit_rows(features: np.ndarray, ids: Sequence[str] | None, what: str) -> np.ndarray:
    norms = np.linalg.norm(features, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        names = [ids[i] for i in zero] if ids is not None else zero.tolist()
        raise InputError(
            f"{len(zero)} stimuli have {what} feature vectors, so their {what.split()[0]} similarity "
            f"is undefined: {preview(names)}. Use similarity='dot' or 'euclidean', or drop them."
        )
    return features / norms[:, None]


def similarity_matrix(
    features: np.ndarray, method: str = "cosine", *, ids: Sequence[str] | None = None
) -> np.ndarray:
    """Pairwise similarity of the rows of ``features``.

    Parameters
    ----------
    features : ndarray of shape (n_stimuli, n_features)
        One feature vector per stimulus.
    method : {"cosine", "correlation", "euclidean", "dot"}
        ``cosine``: cosine of the angle; ``correlation``: Pearson correlation between
        the two feature vectors (cosine after centering each row); ``euclidean``:
        negative Euclidean distance; ``dot``: inner product.
    ids : sequence of str, optional
        Stimulus ids, used only to name offending stimuli in error messages.

    Returns
    -------
    ndarray of shape (n_stimuli, n_stimuli)
        Symmetric similarity matrix (larger = more similar).

    Examples
    --------
    >>> import numpy as np
    >>> similarity_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])).round(3)
    array([[1.   , 0.   , 0.707],
           [0.   , 1.   , 0.707],
           [0.707, 0.707, 1.   ]])
    """
    check_option("similarity", method, SIMILARITY_FUNCTIONS)
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"features must be a 2-D array (n_stimuli, n_features); got shape {x.shape}.")
    if method == "cosine":
        u = _unit_rows(x, ids, "all-zero")
        sim = u @ u.T
        np.clip(sim, -1.0, 1.0, out=sim)
    elif method == "correlation":
        if x.shape[1] < 2:
            raise InputError("similarity='correlation' needs at least 2 features per stimulus.")
        u = _unit_rows(x - x.mean(axis=1, keepdims=True), ids, "constant (zero-variance)")
        sim = u @ u.T
        np.clip(sim, -1.0, 1.0, out=sim)
    elif method == "euclidean":
        # pdist is exact; the Gram-matrix shortcut loses the order of near-equal distances.
        sim = -squareform(pdist(x, metric="euclidean"))
    else:  # dot
        sim = x @ x.T
    # Round-off can leave the product a hair away from symmetric; downstream code relies on it.
    sim = 0.5 * (sim + sim.T)
    return sim

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

__all__ = ["SIMILARITY_FUNCTIONS", "similarity_matrix", "similarity_up_to_scale"]

#: Valid values of every ``similarity=`` option.
SIMILARITY_FUNCTIONS: tuple[str, ...] = ("cosine", "correlation", "euclidean", "dot")


def _row_scales(features: np.ndarray) -> np.ndarray:
    """Per row, the power of two just above its largest magnitude (1 for an all-zero row)."""
    peak = np.max(np.abs(features), axis=1) if features.shape[1] else np.zeros(features.shape[0])
    scale = np.ldexp(1.0, np.minimum(np.frexp(peak)[1], 1023))
    scale[peak == 0] = 1.0
    return scale


def _unit_rows(features: np.ndarray, ids: Sequence[str] | None, what: str) -> np.ndarray:
    # Bring each row to max |x| in [0.5, 1) first (exact: a power of two), so that the norm
    # neither overflows (rows of 1e300) nor underflows to zero (rows of 1e-300).
    features = features / _row_scales(features)[:, None]
    norms = np.linalg.norm(features, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        names = [ids[i] for i in zero] if ids is not None else zero.tolist()
        raise InputError(
            f"{len(zero)} stimuli have {what} feature vectors, so their {what.split()[0]} similarity "
            f"is undefined: {preview(names)}. Use similarity='dot' or 'euclidean' (CLI: --similarity dot|euclidean), "
            "or drop them."
        )
    return features / norms[:, None]


def _global_scale(x: np.ndarray) -> float:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return float(np.ldexp(1.0, np.minimum(np.frexp(peak)[1], 1023))) if peak > 0 else 1.0


def similarity_up_to_scale(
    features: np.ndarray, method: str = "cosine", *, ids: Sequence[str] | None = None
) -> np.ndarray:
    """A positive multiple of :func:`similarity_matrix`, safe from overflow at any feature scale.

    The features are divided by a power of two (exact) so that their largest magnitude is
    in ``[0.5, 1)``. Cosine and correlation similarities are unchanged by this; euclidean
    and dot similarities come out divided by the scale (resp. its square), which no
    alignment metric can see (every metric is invariant to a positive factor). Used by
    :func:`repalign.metrics.compare`, so features times 1e300 or 1e-300 score like the
    unscaled ones.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> big, plain = similarity_up_to_scale(x * 1e300, "dot"), similarity_up_to_scale(x, "dot")
    >>> bool(np.isfinite(big).all() and np.allclose(big / big.max(), plain / plain.max()))
    True
    """
    check_option("similarity", method, SIMILARITY_FUNCTIONS)
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"features must be a 2-D array (n_stimuli, n_features); got shape {x.shape}.")
    return similarity_matrix(x / _global_scale(x), method, ids=ids)


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
    if np.iscomplexobj(features):
        raise InputError("features are complex numbers; pass their real part or magnitude explicitly "
                         "(casting would drop the imaginary parts).")
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
        # Distances of the features divided by a power of two (exact), multiplied back: the
        # squares inside pdist then cannot overflow or underflow.
        scale = _global_scale(x)
        sim = -squareform(pdist(x / scale, metric="euclidean")) * scale
    else:  # dot
        scale = _global_scale(x)
        u = x / scale
        sim = (u @ u.T) * scale * scale
    if not np.all(np.isfinite(sim)):
        raise InputError(
            f"similarity={method!r}: the similarities of these features overflow float64 (largest feature "
            f"magnitude {float(np.max(np.abs(x))):.3g}); the metrics do not need them: compare() is "
            "scale-invariant and works on rescaled features."
        )
    # Round-off can leave the product a hair away from symmetric; downstream code relies on it.
    sim = 0.5 * (sim + sim.T)
    return sim

"""Similarity or dissimilarity: the rule that reads the kind of a square matrix from its values."""

from __future__ import annotations

import numpy as np

from .._errors import InputError

__all__ = ["MATRIX_KINDS", "detect_matrix_kind"]

MATRIX_KINDS: tuple[str, ...] = ("similarity", "dissimilarity")


def detect_matrix_kind(matrix: np.ndarray, *, source: str = "matrix") -> tuple[str, str]:
    """Decide whether a square matrix holds similarities or dissimilarities.

    The rule is deliberately narrow, and anything else is an error asking for the
    kind explicitly:

    * the diagonal is constant and no off-diagonal value exceeds it -> similarity;
    * the diagonal is all zero and no off-diagonal value is below zero -> dissimilarity.

    A similarity matrix stored with zeros on its diagonal and no negative values looks
    exactly like a dissimilarity matrix; give the kind explicitly for such data.

    Returns
    -------
    (kind, reason) : (str, str)

    Examples
    --------
    >>> import numpy as np
    >>> detect_matrix_kind(np.array([[1, .2, .3], [.2, 1, .5], [.3, .5, 1]]))[0]
    'similarity'
    """
    m = np.asarray(matrix, dtype=np.float64)
    diag = np.diag(m)
    off = m[~np.eye(m.shape[0], dtype=bool)]
    if np.all(diag == 0) and off.size and off.min() >= 0 and off.max() > 0:
        return "dissimilarity", "zero diagonal and non-negative off-diagonal values"
    if np.all(diag == diag[0]) and off.size and off.max() <= diag[0] and off.min() < diag[0]:
        return "similarity", f"constant diagonal ({diag[0]:g}) at least as large as every other value"
    raise InputError(
        f"{source}: cannot tell whether this matrix holds similarities or dissimilarities "
        "(its diagonal is neither a constant maximum nor all zeros). State it explicitly: "
        "kind='similarity' or kind='dissimilarity' (CLI: --kind-a/--kind-b)."
    )

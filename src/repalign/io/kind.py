"""Similarity or dissimilarity: the rule that reads the kind of a square matrix from its values.

The rule (stated for users in ``docs/formats.md``), with ``tol = 1e-6 * max|M|`` so that a
matrix computed in floating point (a cosine matrix whose diagonal is 1 +- a few ulp) reads
the same as the exact one:

1. the diagonal is constant (within ``tol``) and no off-diagonal value exceeds it: a
   **similarity** matrix;
2. the diagonal is zero (within ``tol``) and no off-diagonal value is negative: a
   **dissimilarity** matrix. A similarity matrix whose self-pairs were blanked (co-occurrence
   counts) looks exactly the same, so this decision is logged as a warning that names the
   override;
3. anything else is an error that says what the diagonal looks like and names the override
   (``kind=``; CLI ``--kind-a/--kind-b``).

NaN or infinite cells are reported as such (with their position) before any rule runs.
"""

from __future__ import annotations

import logging

import numpy as np

from .._errors import InputError
from ._checks import check_finite, real_array

__all__ = ["MATRIX_KINDS", "DIAGONAL_RTOL", "detect_matrix_kind"]

log = logging.getLogger(__name__)

MATRIX_KINDS: tuple[str, ...] = ("similarity", "dissimilarity")
#: Tolerance of the diagonal tests, relative to the largest absolute value of the matrix.
DIAGONAL_RTOL = 1e-6

_OVERRIDE = "kind='similarity' or kind='dissimilarity' (CLI: --kind-a/--kind-b)"


def _undecidable(source: str, diag: np.ndarray, off_max: float, tol: float) -> InputError:
    lo, hi = float(diag.min()), float(diag.max())
    if hi - lo > tol:
        what = f"its diagonal is not constant (from {lo:.6g} to {hi:.6g})"
    elif off_max > hi + tol:
        what = f"its diagonal is constant ({hi:.6g}) but an off-diagonal value ({off_max:.6g}) exceeds it"
    else:
        what = "every value equals the diagonal, so the matrix carries no information"
    return InputError(
        f"{source}: cannot tell whether this matrix holds similarities or dissimilarities: {what}. "
        f"State it explicitly: {_OVERRIDE}."
    )


def detect_matrix_kind(matrix: np.ndarray, *, source: str = "matrix") -> tuple[str, str]:
    """Decide whether a square matrix holds similarities or dissimilarities (rule: module docstring).

    Returns
    -------
    (kind, reason) : (str, str)

    Raises
    ------
    InputError
        When the rule cannot decide, or a cell is NaN or infinite (its position named).

    Examples
    --------
    >>> import numpy as np
    >>> detect_matrix_kind(np.array([[1, .2, .3], [.2, 1, .5], [.3, .5, 1]]))[0]
    'similarity'
    >>> detect_matrix_kind(np.array([[1 + 2e-16, .2], [.2, 1 - 1e-16]]))[0]  # float round-off
    'similarity'
    """
    m = real_array(matrix, source, what="matrix values")
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise InputError(f"{source}: the kind is read from a square matrix; got shape {m.shape}.")
    if m.shape[0] < 2:  # a 1 x 1 "matrix" has no off-diagonal value to read a kind from (nor anything to align)
        raise InputError(f"{source}: {m.shape[0]} stimulus; alignment needs at least 3.")
    check_finite(m, source, rows=[str(i) for i in range(m.shape[0])], columns=[str(i) for i in range(m.shape[0])], matrix=True)
    diag = np.diag(m)
    off = m[~np.eye(m.shape[0], dtype=bool)]
    tol = DIAGONAL_RTOL * float(np.abs(m).max())
    off_min, off_max = float(off.min()), float(off.max())
    if np.all(np.abs(diag) <= tol) and off_min >= -tol and off_max > tol:
        log.warning(
            "%s: read as a dissimilarity matrix (zero diagonal, no negative value). A similarity matrix "
            "with its self-pairs blanked (e.g. co-occurrence counts) looks the same, and reading it as "
            "dissimilarities flips the sign of every metric: if it holds similarities, pass "
            "kind='similarity' (CLI: --kind-a/--kind-b similarity).",
            source,
        )
        return "dissimilarity", "zero diagonal and non-negative off-diagonal values"
    d_lo, d_hi = float(diag.min()), float(diag.max())
    if d_hi - d_lo <= tol and off_max <= d_hi + tol and off_min < d_lo - tol:
        exact = d_hi == d_lo
        within = "" if exact else f" within {tol:.2g}"
        return "similarity", f"constant diagonal ({d_hi:g}{within}) at least as large as every other value"
    raise _undecidable(source, diag, off_max, tol)

"""Centred kernel alignment (CKA) of two feature representations, linear kernel.

``cka``
    Linear CKA (Kornblith et al. 2019, "Similarity of neural network representations
    revisited"): with ``K = X Xᵀ``, ``L = Y Yᵀ`` and the centring matrix ``H = I - 11ᵀ/n``,
    ``HSIC(K, L) = tr(K H L H) / (n - 1)²`` and
    ``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))``, equal to
    ``||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F)`` for column-centred ``X`` and ``Y``. In [0, 1];
    invariant to orthogonal transforms and isotropic scaling of either representation and
    to a shift of the features.
``cka-debiased``
    The same ratio with the unbiased HSIC estimator of Song et al. (2012),
    ``HSIC₁(K, L) = [tr(K̃ L̃) + 1ᵀK̃1 · 1ᵀL̃1 / ((n-1)(n-2)) - 2/(n-2) · 1ᵀK̃L̃1] / (n (n-3))``
    with ``K̃``, ``L̃`` the kernels with zeroed diagonals, as recommended by Nguyen et al.
    (2021) to remove the bias of CKA towards 1 when features outnumber stimuli. It is an
    inner product of U-centred kernels (Székely & Rizzo 2014), so by Cauchy-Schwarz it lies
    in [-1, 1]; it can be negative. Needs at least 4 stimuli.

CKA needs the features themselves: a similarity or dissimilarity matrix fixes neither the
kernel ``X Xᵀ`` (cosine and correlation normalise each row; distances discard the origin)
nor its centring, so :func:`repalign.metrics.compare` refuses matrices for these metrics.

Bootstrap resamples (``groups``): a stimulus drawn several times appears as several rows,
and a term that pairs two copies of one stimulus is a self-similarity in disguise. Left
in, those terms roughly double the weight of the self-similarities, which is where
biased CKA's bias comes from: on 50 stimuli the percentile interval of plain resampling
missed its own estimate (0.765 outside [0.774, 0.850]). So, as the other metrics'
bootstrap does for pairs and triplets, terms between two copies of one stimulus are left
out (after centring the resample): for ``cka`` the centred kernel products between two
different copies are dropped from the three sums, each stimulus keeping its diagonal
term once per copy; for ``cka-debiased`` the kernel entries between copies are zeroed
like the diagonal before U-centring, and the estimator is taken with the resample's
``n``.
"""

from __future__ import annotations

import numpy as np

from .._errors import InputError
from .rsa import power_of_two_scale

__all__ = ["linear_cka", "linear_cka_debiased", "MIN_STIMULI_DEBIASED"]

#: The unbiased HSIC estimator divides by n (n - 3).
MIN_STIMULI_DEBIASED = 4


def _gram(x: np.ndarray) -> np.ndarray:
    # A power of two (exact) keeps the Gram matrix in range at any feature scale; CKA is
    # invariant to the factor.
    x = _centred(x)
    return x @ x.T


def _ratio(hsic_xy: float, hsic_xx: float, hsic_yy: float, names: tuple[str, str], metric: str) -> float:
    for value, name in ((hsic_xx, names[0]), (hsic_yy, names[1])):
        if not value > 0:
            raise InputError(
                f"{metric}: the features of {name} have no variance left after centring (HSIC = {value:.3g}), "
                "so their kernel alignment is undefined."
            )
    # Multiply square roots rather than the values: their product can underflow.
    return float(np.clip(hsic_xy / (np.sqrt(hsic_xx) * np.sqrt(hsic_yy)), -1.0, 1.0))


def linear_cka(
    x: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None, names: tuple[str, str] = ("A", "B")
) -> float:
    """Linear CKA of two feature matrices whose rows are the same stimuli.

    Parameters
    ----------
    x : ndarray of shape (n_stimuli, p)
    y : ndarray of shape (n_stimuli, q)
    groups : ndarray of int, shape (n_stimuli,), optional
        Rows with one group id are copies of one stimulus (a bootstrap resample): the
        kernel products between two different copies are left out of the three sums
        (each stimulus keeps its own diagonal term, once per copy), see the module docstring.
    names : (str, str)
        Used in error messages.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(10, 3))
    >>> q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    >>> round(linear_cka(x, 5 * x @ q + 2), 12)  # rotation, scale, shift: still identical
    1.0
    """
    if groups is None and _feature_form_is_cheaper(x, y):
        return _cka_feature_form(x, y, names)
    k, l_ = _gram(x), _gram(y)
    _check_rows(k, l_, names)
    if groups is not None:
        g = np.asarray(groups)
        copies = (g[:, None] == g[None, :]) & ~np.eye(g.size, dtype=bool)
        k, l_ = np.where(copies, 0.0, k), np.where(copies, 0.0, l_)
    # HKH is already applied (centred features); the (n - 1)^-2 factors cancel in the ratio.
    return _ratio(float(np.sum(k * l_)), float(np.sum(k * k)), float(np.sum(l_ * l_)), names, "cka")


def _centred(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"CKA needs 2-D features (n_stimuli, n_features); got shape {x.shape}.")
    x = x / power_of_two_scale(x)
    return x - x.mean(axis=0, keepdims=True)


def _feature_form_is_cheaper(x: np.ndarray, y: np.ndarray) -> bool:
    """``||YᵀX||²_F`` costs n (pq + p² + q²), the Gram form n² (p + q): pick the smaller."""
    (n, p), q = np.shape(x), np.shape(y)[1]
    return n * (p + q) > p * q + p * p + q * q


def _cka_feature_form(x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> float:
    xc, yc = _centred(x), _centred(y)
    if xc.shape[0] != yc.shape[0]:
        raise InputError(
            f"CKA: {names[0]} has {xc.shape[0]} stimuli but {names[1]} has {yc.shape[0]}; rows must be the same stimuli."
        )
    cross = float(np.sum((yc.T @ xc) ** 2))
    return _ratio(cross, float(np.sum((xc.T @ xc) ** 2)), float(np.sum((yc.T @ yc) ** 2)), names, "cka")


def _u_centre(k: np.ndarray, copies: np.ndarray | None) -> np.ndarray:
    """U-centring: zero diagonal (and copy pairs), remove row and column means the unbiased way."""
    n = k.shape[0]
    k = k.copy()
    np.fill_diagonal(k, 0.0)
    if copies is not None:
        k[copies] = 0.0
    row = k.sum(axis=1)
    total = row.sum()
    u = k - row[:, None] / (n - 2) - row[None, :] / (n - 2) + total / ((n - 1) * (n - 2))
    np.fill_diagonal(u, 0.0)
    return u


def linear_cka_debiased(
    x: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None, names: tuple[str, str] = ("A", "B")
) -> float:
    """Linear CKA with the unbiased HSIC estimator (Song et al. 2012; Nguyen et al. 2021).

    Parameters
    ----------
    x, y : ndarray of shape (n_stimuli, p) and (n_stimuli, q)
    groups : ndarray of int, shape (n_stimuli,), optional
        Rows with one group id are copies of one stimulus (a bootstrap resample): their
        kernel entries are zeroed like the diagonal (see the module docstring).
    names : (str, str)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(50, 5))
    >>> round(linear_cka_debiased(x, x), 12)
    1.0
    >>> round(linear_cka_debiased(x, rng.normal(size=(50, 400))), 1)  # biased CKA would be far above 0
    0.0
    """
    k, l_ = _gram(x), _gram(y)
    _check_rows(k, l_, names)
    n = k.shape[0]
    if n < MIN_STIMULI_DEBIASED:
        raise InputError(f"cka-debiased needs at least {MIN_STIMULI_DEBIASED} stimuli; got {n}.")
    copies = None
    if groups is not None:
        g = np.asarray(groups)
        copies = g[:, None] == g[None, :]
    uk, ul = _u_centre(k, copies), _u_centre(l_, copies)
    # The common factor 1 / (n (n - 3)) cancels in the ratio.
    return _ratio(float(np.sum(uk * ul)), float(np.sum(uk * uk)), float(np.sum(ul * ul)), names, "cka-debiased")


def _check_rows(k: np.ndarray, l_: np.ndarray, names: tuple[str, str]) -> None:
    if k.shape != l_.shape:
        raise InputError(
            f"CKA: {names[0]} has {k.shape[0]} stimuli but {names[1]} has {l_.shape[0]}; rows must be the same stimuli."
        )

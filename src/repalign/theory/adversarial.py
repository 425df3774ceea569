"""Expected disagreement on adversarial examples (Theorem A.5).

The model of the proof: each candidate object ``e`` relates to the ``n`` shared objects
through ``N = n (n - 1) / 2`` triplets; teacher and student disagree on each with
probability ``eps`` independently, so the disagreement count of a candidate is
``Bin(N, eps)``. An adversary picks the worst of ``k`` candidates (the paper takes
``k = n``), so the expected disagreement on an adversarial example is the expected
maximum of ``k`` independent ``Bin(N, eps)`` variables::

    E[max] = sum_{x=0}^{N-1} P(max > x) = sum_{x=0}^{N-1} (1 - F(x)^k)

where ``F`` is the binomial CDF.

Erratum. The proof prints ``sum_x (1 - F(x; N, eps))^k``; that sum is the expected
*minimum* (``P(min > x) = (1 - F(x))^k``), the disagreement on the *least* adversarial
of the ``k`` candidates. :func:`expected_min_disagreement` evaluates it, and the tests
check both against Monte Carlo. The theorem's conclusion survives: both the minimum and
the maximum of i.i.d. binomials are stochastically increasing in ``eps``. Unlike few-shot
learning, there is no U-shape here: disagreement is not something a student can undo
by inverting bits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

from .._errors import InputError
from .capacity import _as_probability

__all__ = [
    "expected_max_disagreement",
    "expected_min_disagreement",
    "simulate_max_disagreement",
]

# Terms of the sum closer than this to their limit (1 below the bulk, 0 above) are
# summed analytically; the neglected mass is below TAIL * (number of such terms).
_TAIL = 1e-18


def _check_sizes(n: Any, n_candidates: Any) -> tuple[int, int]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise InputError(f"n (shared objects) must be an integer >= 3; got {n!r}.")
    k = int(n) if n_candidates is None else n_candidates
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"n_candidates must be a positive integer; got {n_candidates!r}.")
    return int(n), int(k)


def _log_cdf(x: np.ndarray, n_trials: int, p: float) -> np.ndarray:
    """log F(x), accurate both where F is tiny (logcdf) and where F is close to 1 (log1p(-sf))."""
    sf = stats.binom.sf(x, n_trials, p)
    with np.errstate(divide="ignore"):
        upper = np.log1p(-sf)
    return np.where(sf < 0.5, upper, stats.binom.logcdf(x, n_trials, p))


def _chernoff_exponent(x: float, n_trials: int, p: float) -> float:
    """``N * KL(x / N || p)`` in nats: the Chernoff exponent of a binomial tail at ``x``."""
    a = x / n_trials
    return n_trials * float(special.xlogy(a, a / p) + special.xlogy(1.0 - a, (1.0 - a) / (1.0 - p)))


def _chernoff_point(n_trials: int, p: float, exponent: float, side: str) -> int:
    """A point beyond which the binomial tail is below ``exp(-exponent)`` (Chernoff bound).

    ``side="lower"``: the largest ``x <= N p`` with ``N KL(x/N || p) >= exponent``, so
    ``P(X <= x') <= exp(-exponent)`` for every ``x' <= x`` (0 if none).
    ``side="upper"``: the smallest ``x >= N p`` with the same property for ``P(X >= x')``
    (N if none). Found by bisection on the monotone exponent; no tail probability is
    evaluated, so it works where ``binom.isf`` loses precision (tails below ~1e-16).
    """
    mean = n_trials * p
    if side == "lower":
        lo, hi = 0, int(math.floor(mean))
        if _chernoff_exponent(lo, n_trials, p) < exponent:
            return 0
        while lo < hi:  # invariant: exponent(lo) >= target
            mid = (lo + hi + 1) // 2
            if _chernoff_exponent(mid, n_trials, p) >= exponent:
                lo = mid
            else:
                hi = mid - 1
        return lo
    lo, hi = int(math.ceil(mean)), n_trials
    if _chernoff_exponent(hi, n_trials, p) < exponent:
        return n_trials
    while lo < hi:  # invariant: exponent(hi) >= target
        mid = (lo + hi) // 2
        if _chernoff_exponent(mid, n_trials, p) >= exponent:
            hi = mid
        else:
            lo = mid + 1
    return hi


def _window(n_trials: int, lower_exponent: float, upper_exponent: float, p: float) -> np.ndarray:
    x_lo = min(_chernoff_point(n_trials, p, lower_exponent, "lower"), n_trials - 1)
    x_hi = max(x_lo, min(_chernoff_point(n_trials, p, upper_exponent, "upper"), n_trials - 1))
    return np.arange(x_lo, x_hi + 1, dtype=np.float64)


def _expected_max(n_trials: int, p: float, k: int) -> float:
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return float(n_trials)
    if k == 1:
        return n_trials * p
    # Below the window F(x)^k < _TAIL (F < _TAIL^(1/k)): those terms are 1.
    # Above it 1 - F^k <= k sf < _TAIL: those terms are 0.
    x = _window(n_trials, -math.log(_TAIL) / k, math.log(k / _TAIL), p)
    terms = -np.expm1(k * _log_cdf(x, n_trials, p))
    return float(x[0] + math.fsum(terms))


def _expected_min(n_trials: int, p: float, k: int) -> float:
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return float(n_trials)
    if k == 1:
        return n_trials * p
    # (1 - F)^k = sf^k. Below the window 1 - sf^k <= k F < _TAIL: terms are 1.
    # Above it sf^k < _TAIL (sf < _TAIL^(1/k)): terms are 0.
    x = _window(n_trials, math.log(k / _TAIL), -math.log(_TAIL) / k, p)
    terms = np.exp(k * stats.binom.logsf(x, n_trials, p))
    return float(x[0] + math.fsum(terms))


def _evaluate(fn: Any, eps: Any, n: int, k: int, normalize: bool) -> float | np.ndarray:
    arr = _as_probability(eps, "eps")
    n_trials = n * (n - 1) // 2
    values = np.array([fn(n_trials, float(p), k) for p in arr.ravel()]).reshape(arr.shape)
    if normalize:
        values = values / n_trials
    return float(values) if values.ndim == 0 else values


def expected_max_disagreement(
    eps: Any, n: int, *, n_candidates: int | None = None, normalize: bool = False
) -> float | np.ndarray:
    """Expected teacher-student disagreement on an adversarial example (Theorem A.5).

    ``E[max_{i <= k} X_i]`` for ``X_i ~ Bin(n (n - 1) / 2, eps)`` i.i.d., computed as
    ``sum_x (1 - F(x)^k)``. Terms are evaluated in log space (``-expm1(k log F)``, with
    ``log F = log1p(-sf)`` where F is near 1) and only over the window of ``x`` where they
    differ from 0 and 1 by more than 1e-18, so ``n`` in the thousands (millions of
    triplets) costs milliseconds.

    Parameters
    ----------
    eps : float or array_like
        Misalignment ``D_P`` in [0, 1].
    n : int
        Shared objects; each candidate relates to them through ``n (n - 1) / 2`` triplets.
    n_candidates : int, optional
        Objects the adversary chooses among (``k``); the paper uses ``n`` (the default).
    normalize : bool, default False
        Divide by ``n (n - 1) / 2``: the expected *share* of flipped triplets.

    Examples
    --------
    >>> round(expected_max_disagreement(0.1, 20), 3)
    27.057
    >>> expected_max_disagreement([0.0, 1.0], 20, normalize=True)
    array([0., 1.])
    """
    n, k = _check_sizes(n, n_candidates)
    return _evaluate(_expected_max, eps, n, k, normalize)


def expected_min_disagreement(
    eps: Any, n: int, *, n_candidates: int | None = None, normalize: bool = False
) -> float | np.ndarray:
    """``sum_x (1 - F(x))^k``: the formula printed in the proof of Theorem A.5.

    It is the expected *minimum* of the ``k`` binomial disagreements (see the module
    docstring), kept to document the erratum and because it is also increasing in eps.

    Examples
    --------
    >>> round(expected_min_disagreement(0.1, 20), 3)
    11.688
    """
    n, k = _check_sizes(n, n_candidates)
    return _evaluate(_expected_min, eps, n, k, normalize)


def simulate_max_disagreement(
    eps: float,
    n: int,
    *,
    n_candidates: int | None = None,
    n_trials: int = 10_000,
    seed: int | np.random.Generator | None = None,
) -> tuple[float, float]:
    """Monte Carlo estimate of :func:`expected_max_disagreement` with its standard error.

    Each trial draws, for every one of ``k`` candidates, which of its ``n (n - 1) / 2``
    triplets are flipped (as binomial counts) and keeps the largest count.

    Returns
    -------
    (mean, standard_error)

    Examples
    --------
    >>> mean, se = simulate_max_disagreement(0.1, 20, n_trials=2000, seed=0)
    >>> abs(mean - expected_max_disagreement(0.1, 20)) < 4 * se
    True
    """
    n, k = _check_sizes(n, n_candidates)
    p = float(_as_probability(eps, "eps"))
    if int(n_trials) < 2:
        raise InputError(f"n_trials must be at least 2; got {n_trials!r}.")
    rng = np.random.default_rng(seed)
    draws = rng.binomial(n * (n - 1) // 2, p, size=(int(n_trials), k)).max(axis=1)
    return float(draws.mean()), float(draws.std(ddof=1) / math.sqrt(len(draws)))

"""Binary entropy, the capacity of a binary symmetric channel, and the query bounds of section 3.

Sucholutsky & Griffiths (2023) treat each triplet answer as one bit sent from a teacher
(Alice) to a student (Bob) through a binary symmetric channel BSC(epsilon), where
epsilon is the stochastic misalignment ``D_P`` of the two (Definition 3.6). Everything
here is in **bits** (logarithms to base 2):

* binary entropy ``H(eps) = -eps log2 eps - (1 - eps) log2 (1 - eps)``;
* capacity ``C(eps) = 1 - H(eps)`` bits per channel use (the proof of Proposition 3.8
  writes ``1 + eps log eps + (1 - eps) log (1 - eps)``, which equals 1 at eps = 0 only
  with base-2 logarithms);
* Lemma 3.7: ``Omega(d log n)`` queries for perfectly aligned agents;
* Proposition 3.8: ``Omega(d log n / C(eps))`` queries at misalignment ``eps``;
* Theorem 3.9: of two students, the one with the larger ``|0.5 - eps|`` needs fewer;
* a non-asymptotic version with explicit constants, from Fano's inequality
  (:func:`fano_query_bound`), which is what the simulation of the Alice/Bob game is
  checked against.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special

from .._errors import InputError

__all__ = [
    "binary_entropy",
    "capacity",
    "effective_flip_probability",
    "query_bound",
    "fano_query_bound",
    "StudentComparison",
    "compare_students",
]

LN2 = math.log(2.0)

# Beyond |2 eps - 1| = 1/2 the entropy formula is accurate; inside, the series below is
# used because 1 - H(eps) cancels catastrophically near eps = 1/2 (C ~ 2.9 (eps - 1/2)^2).
_SERIES_RADIUS = 0.5
_SERIES_TERMS = 40  # u^80 < 1e-24 for |u| <= 1/2


def _as_probability(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric; got {value!r}.") from exc
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise InputError(f"{name} must lie in [0, 1]; got {first!r} ({int(bad.sum())} value(s) outside).")
    return arr


def _out(arr: np.ndarray) -> float | np.ndarray:
    return float(arr) if arr.ndim == 0 else arr


def binary_entropy(p: Any) -> float | np.ndarray:
    """Binary entropy ``H(p) = -p log2 p - (1 - p) log2 (1 - p)`` in bits, with ``0 log 0 = 0``.

    Parameters
    ----------
    p : float or array_like
        Probabilities in [0, 1].

    Returns
    -------
    float or ndarray
        Same shape as ``p``; 0 at p = 0 and 1, 1 at p = 1/2.

    Examples
    --------
    >>> binary_entropy(0.5)
    1.0
    >>> round(binary_entropy(0.11), 4)
    0.4999
    """
    arr = _as_probability(p, "p")
    return _out((special.entr(arr) + special.entr(1.0 - arr)) / LN2)


def capacity(eps: Any) -> float | np.ndarray:
    """Capacity of the binary symmetric channel BSC(eps), ``C(eps) = 1 - H(eps)`` bits per use.

    Symmetric about 1/2, convex, 0 at eps = 1/2 and 1 at eps = 0 and 1 (the properties
    the proof of Theorem 3.9 uses). Near 1/2 it is computed from the series
    ``C = (1 / ln 2) sum_k u^(2k) / (2k (2k - 1))`` with ``u = 2 eps - 1``, so it keeps
    full relative precision where ``1 - H(eps)`` would cancel.

    Parameters
    ----------
    eps : float or array_like
        Flip probabilities in [0, 1].

    Examples
    --------
    >>> capacity(0.0), capacity(0.5), capacity(1.0)
    (1.0, 0.0, 1.0)
    >>> round(capacity(0.11), 4)
    0.5001
    """
    arr = _as_probability(eps, "eps")
    u = 2.0 * arr - 1.0
    out = 1.0 - (special.entr(arr) + special.entr(1.0 - arr)) / LN2
    near = np.abs(u) < _SERIES_RADIUS
    if np.any(near):
        u2 = np.square(u[near])
        k = np.arange(_SERIES_TERMS, 0, -1, dtype=np.float64)  # smallest terms first
        terms = u2[..., None] ** k / ((2 * k) * (2 * k - 1))
        out = np.array(out, copy=True)
        out[near] = terms.sum(axis=-1) / LN2
    return _out(np.clip(out, 0.0, 1.0))


def effective_flip_probability(eps: Any) -> float | np.ndarray:
    """``min(eps, 1 - eps)``: the flip rate a student who knows eps faces after Remark 3.10.

    When more than half of the bits are flipped, the student inverts every bit and faces
    a BSC(1 - eps) instead. The capacity is unchanged (``C(eps) = C(1 - eps)``).

    Examples
    --------
    >>> effective_flip_probability([0.1, 0.5, 0.9]).round(2)
    array([0.1, 0.5, 0.1])
    """
    arr = _as_probability(eps, "eps")
    return _out(np.minimum(arr, 1.0 - arr))


def _check_count(value: Any, name: str, minimum: int) -> None:
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)) or np.any(arr < minimum):
        raise InputError(f"{name} must be a number >= {minimum}; got {value!r}.")


def query_bound(n: Any, *, d: Any = 1, eps: Any = 0.0, constant: float = 1.0) -> float | np.ndarray:
    """The query bounds of Lemma 3.7 and Proposition 3.8: ``constant * d * log2(n) / C(eps)``.

    The paper states both as Omega(.) bounds, i.e. up to a constant factor; this returns
    the expression with that factor made explicit. Logarithms are base 2 and ``C`` is in
    bits, so with ``constant=1`` the value is the number of channel uses needed to carry
    ``d log2 n`` bits at capacity. ``eps=0`` gives Lemma 3.7 (``C(0) = 1``).

    Which constant is right depends on what Bob must learn. Identifying which of ``n``
    equally likely cells a new object falls in carries ``log2 n`` bits (``d=1``,
    ``constant=1``; see :func:`fano_query_bound` for the finite-accuracy version). The
    full ranking of ``n`` objects by distance to a point in ``R^d`` takes one of
    ``Theta(n^(2d))`` values (Jamieson & Nowak, 2011), i.e. about ``2 d log2 n`` bits:
    ``constant=2``.

    Parameters
    ----------
    n : int or array_like
        Number of shared objects (>= 2).
    d : int or array_like, default 1
        Dimension of the representation.
    eps : float or array_like, default 0
        Flip probability (stochastic misalignment ``D_P``) in [0, 1].
    constant : float, default 1
        The constant hidden in the Omega.

    Returns
    -------
    float or ndarray
        ``inf`` where ``C(eps) = 0`` (eps = 1/2): no number of queries suffices.

    Examples
    --------
    >>> query_bound(1024)
    10.0
    >>> round(query_bound(1024, d=2, eps=0.11), 1)
    40.0
    >>> query_bound(1024, eps=0.5)
    inf
    """
    _check_count(n, "n", 2)
    _check_count(d, "d", 1)
    if not (np.isfinite(constant) and constant > 0):
        raise InputError(f"constant must be a positive number; got {constant!r}.")
    c = np.asarray(capacity(eps), dtype=np.float64)
    bits = constant * np.asarray(d, dtype=np.float64) * np.log2(np.asarray(n, dtype=np.float64))
    with np.errstate(divide="ignore"):
        out = np.where(c > 0, bits / np.where(c > 0, c, 1.0), np.inf)
    return _out(np.asarray(out, dtype=np.float64))


def fano_query_bound(n_hypotheses: Any, eps: Any, *, accuracy: float) -> float | np.ndarray:
    """Fewest BSC(eps) uses that can identify one of ``M`` equally likely hypotheses.

    Fano's inequality, ``H(W | Y) <= h(P_e) + P_e log2 (M - 1)``, together with
    ``I(W; Y^q) <= q C(eps)`` (which holds with feedback too, so adaptive queries do not
    escape it) gives, for any decoder with success probability ``accuracy = 1 - P_e``::

        q >= (log2 M - h(P_e) - P_e log2 (M - 1)) / C(eps)

    This is Proposition 3.8 with every constant explicit, for the task of finding which
    of ``M`` cells holds the new object. The right-hand side is returned (not rounded up).

    Parameters
    ----------
    n_hypotheses : int or array_like
        ``M >= 2``.
    eps : float or array_like
        Flip probability in [0, 1].
    accuracy : float
        Target probability of identifying the right hypothesis, in (1/M, 1].

    Returns
    -------
    float or ndarray
        The bound (``inf`` at eps = 1/2, 0 when ``accuracy <= 1/M``).

    Examples
    --------
    >>> fano_query_bound(64, 0.0, accuracy=1.0)
    6.0
    >>> round(fano_query_bound(64, 0.1, accuracy=0.9), 2)
    9.29
    """
    _check_count(n_hypotheses, "n_hypotheses", 2)
    if not (np.isfinite(accuracy) and 0 < accuracy <= 1):
        raise InputError(f"accuracy must be in (0, 1]; got {accuracy!r}.")
    m = np.asarray(n_hypotheses, dtype=np.float64)
    pe = 1.0 - float(accuracy)
    bits = np.log2(m) - binary_entropy(pe) - pe * np.log2(m - 1.0)
    bits = np.maximum(bits, 0.0)
    c = np.asarray(capacity(eps), dtype=np.float64)
    bits, c = np.broadcast_arrays(bits, c)
    out = np.where(bits == 0, 0.0, np.where(c > 0, bits / np.where(c > 0, c, 1.0), np.inf))
    return _out(np.asarray(out, dtype=np.float64))


@dataclass(frozen=True)
class StudentComparison:
    """Theorem 3.9 applied to two students B1 and B2 of one teacher.

    Attributes
    ----------
    eps_1, eps_2 : float
        Misalignment ``D_P`` of each student with the teacher.
    capacity_1, capacity_2 : float
        ``C(eps)`` in bits per query.
    queries_1, queries_2 : float
        :func:`query_bound` for each (``inf`` at eps = 1/2).
    ratio : float
        ``queries_1 / queries_2 = C(eps_2) / C(eps_1)`` (``inf`` or ``nan``-free: 1 when both
        capacities are 0).
    fewer : {"B1", "B2", "equal"}
        The student that needs fewer queries, i.e. the one farther from eps = 1/2.
    """

    eps_1: float
    eps_2: float
    capacity_1: float
    capacity_2: float
    queries_1: float
    queries_2: float
    ratio: float
    fewer: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_students(eps_1: float, eps_2: float, *, n: int, d: int = 1, constant: float = 1.0) -> StudentComparison:
    """Which of two students needs fewer queries to learn a new object (Theorem 3.9).

    If ``|0.5 - eps_1| < |0.5 - eps_2|`` then B2 needs fewer queries: the bound depends on
    eps only through ``C(eps)``, which is symmetric about 1/2 and increases with
    ``|0.5 - eps|``. So a strongly *anti*-aligned student (eps near 1) learns as fast as a
    strongly aligned one, provided it knows to invert the teacher's answers.

    Examples
    --------
    >>> r = compare_students(0.4, 0.95, n=100)
    >>> r.fewer, round(r.ratio, 1)
    ('B2', 24.6)
    """
    c1 = float(capacity(eps_1))
    c2 = float(capacity(eps_2))
    q1 = float(query_bound(n, d=d, eps=eps_1, constant=constant))
    q2 = float(query_bound(n, d=d, eps=eps_2, constant=constant))
    if c1 == c2:
        ratio = 1.0
    elif c1 == 0:
        ratio = math.inf
    else:
        ratio = c2 / c1
    # Decide on |0.5 - eps| as the theorem states, not on rounded capacities.
    dist_1, dist_2 = abs(0.5 - float(eps_1)), abs(0.5 - float(eps_2))
    fewer = "B2" if dist_1 < dist_2 else ("B1" if dist_2 < dist_1 else "equal")
    return StudentComparison(float(eps_1), float(eps_2), c1, c2, q1, q2, ratio, fewer)

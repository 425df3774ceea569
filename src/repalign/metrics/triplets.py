"""Triplet agreement: the share of similarity triplets two representations answer alike.

A triplet is an anchor ``i`` and an unordered pair ``{j, k}`` of two other stimuli (all
distinct), asking "is ``i`` more similar to ``j`` than to ``k``?". There are
``n (n - 1) (n - 2) / 2`` of them. This is the representational alignment
``1 - D_R`` of Sucholutsky & Griffiths (2023), Definition 3.5.

Ties
----
Human similarity data has many exact ties (29,000 of the 842,520 pairs of the Peterson
animals matrix). Two policies:

``"half"`` (default)
    A pair tied in both representations agrees (1); tied in exactly one scores 1/2;
    strict in both scores 1 when ordered alike and 0 otherwise. This is the expectation of
    Definition 3.5 when the order of ``j`` and ``k`` in each query is random and a tie is
    answered by a fair coin.
``"exclude"``
    Only pairs strict in both representations count; agreement is
    ``concordant / (concordant + discordant)`` pooled over all anchors.

Exact agreement is never computed by enumerating triplets: for a fixed anchor it is a
concordance count between two rows (Kendall's tau with its tie counts), so the total cost
is O(n^2 log n) time and O(n^2) memory (see :mod:`._concordance`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from .._errors import InputError
from .._validation import check_option, make_rng
from ._concordance import row_concordance

__all__ = [
    "TIE_POLICIES",
    "TripletCounts",
    "TripletSample",
    "triplet_counts",
    "triplet_agreement_from_similarity",
    "sampled_triplet_agreement_from_similarity",
    "triplet_agreement_bruteforce",
]

TIE_POLICIES: tuple[str, ...] = ("half", "exclude")


@dataclass(frozen=True)
class TripletCounts:
    """Counts over all ``n (n - 1) (n - 2) / 2`` triplets of two similarity matrices."""

    n_triplets: int
    concordant: int
    discordant: int
    tied_a: int  # tied in A (including those tied in both)
    tied_b: int
    tied_both: int

    def agreement(self, ties: str = "half") -> float:
        """Agreement under a tie policy (see the module docstring)."""
        check_option("ties", ties, TIE_POLICIES)
        if ties == "half":
            one_tied = self.tied_a + self.tied_b - 2 * self.tied_both
            return (self.concordant + self.tied_both + 0.5 * one_tied) / self.n_triplets
        strict = self.concordant + self.discordant
        if strict == 0:
            raise InputError(
                "ties='exclude' leaves no triplet: every pair is tied in at least one representation."
            )
        return self.concordant / strict

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _offdiag_rows(sim: np.ndarray) -> np.ndarray:
    n = sim.shape[0]
    return sim[~np.eye(n, dtype=bool)].reshape(n, n - 1)


def triplet_counts(
    sim_a: np.ndarray,
    sim_b: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    backend: str = "auto",
) -> TripletCounts:
    """Exact triplet counts of two similarity matrices in O(n^2 log n).

    Parameters
    ----------
    sim_a, sim_b : ndarray of shape (n, n)
        Symmetric similarity matrices (larger = more similar), same stimulus order.
    groups : ndarray of int, shape (n,), optional
        Stimuli with the same group id are copies of one stimulus (a bootstrap sample).
        Triplets that use one stimulus twice are left out, which makes the result the
        stimulus-weighted agreement of the distinct stimuli.
    backend : {"auto", "numba", "numpy"}

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[1., .9, .1], [.9, 1., .5], [.1, .5, 1.]])
    >>> triplet_counts(s, s).concordant
    3
    """
    a = np.asarray(sim_a, dtype=np.float64)
    b = np.asarray(sim_b, dtype=np.float64)
    if groups is None:
        counts = row_concordance(_offdiag_rows(a), _offdiag_rows(b), backend=backend).sum(axis=0)
        n_pairs, tied_a, tied_b, tied_both, discord = (int(v) for v in counts)
    else:
        n_pairs, tied_a, tied_b, tied_both, discord = _grouped_counts(a, b, np.asarray(groups), backend)
    concordant = n_pairs - tied_a - tied_b + tied_both - discord
    return TripletCounts(n_pairs, concordant, discord, tied_a, tied_b, tied_both)


def _grouped_counts(a: np.ndarray, b: np.ndarray, groups: np.ndarray, backend: str) -> tuple[int, ...]:
    """Counts leaving out triplets that contain one stimulus twice.

    In anchor ``i``'s row, columns that copy ``i`` are set above every value in both
    matrices (so each pairs concordantly with every other column, and ties with the other
    copies), and pairs of copies of one stimulus are tied in both; both are then
    subtracted analytically.
    """
    n = a.shape[0]
    same_as_anchor = groups[:, None] == groups[None, :]
    np.fill_diagonal(same_as_anchor, False)
    big_a = np.nextafter(a.max(), np.inf) if np.isfinite(a.max()) else np.inf
    big_b = np.nextafter(b.max(), np.inf) if np.isfinite(b.max()) else np.inf
    a2 = np.where(same_as_anchor, big_a, a)
    b2 = np.where(same_as_anchor, big_b, b)
    rows = row_concordance(_offdiag_rows(a2), _offdiag_rows(b2), backend=backend)
    _, inverse, group_sizes = np.unique(groups, return_inverse=True, return_counts=True)
    size_of_own = group_sizes[inverse]  # copies of each anchor's stimulus, itself included
    m = n - 1
    e = size_of_own - 1  # columns that copy the anchor
    pairs_all_groups = int(np.sum(group_sizes * (group_sizes - 1) // 2))
    # Duplicate pairs among the other groups (tied in both): all groups minus the anchor's own.
    dup_other = pairs_all_groups - size_of_own * (size_of_own - 1) // 2
    excl_pairs = e * (e - 1) // 2
    cross = e * (m - e)
    n_pairs = rows[:, 0] - cross - excl_pairs - dup_other
    tied_a = rows[:, 1] - excl_pairs - dup_other
    tied_b = rows[:, 2] - excl_pairs - dup_other
    tied_both = rows[:, 3] - excl_pairs - dup_other
    return (
        int(n_pairs.sum()),
        int(tied_a.sum()),
        int(tied_b.sum()),
        int(tied_both.sum()),
        int(rows[:, 4].sum()),
    )


def triplet_agreement_from_similarity(
    sim_a: np.ndarray, sim_b: np.ndarray, *, ties: str = "half", backend: str = "auto"
) -> float:
    """Exact triplet agreement of two similarity matrices (see the module docstring)."""
    check_option("ties", ties, TIE_POLICIES)
    return triplet_counts(sim_a, sim_b, backend=backend).agreement(ties)


def _order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``sign(x - y)`` by comparison, which cannot overflow (``1e308 - -1e308`` would)."""
    return (x > y).astype(np.int8) - (x < y).astype(np.int8)


def _triplet_scores(sa: np.ndarray, sb: np.ndarray, i: np.ndarray, j: np.ndarray, k: np.ndarray, ties: str) -> np.ndarray:
    """Per-triplet agreement score in {0, 0.5, 1}, or NaN where ties='exclude' drops it."""
    da = _order(sa[i, j], sa[i, k])
    db = _order(sb[i, j], sb[i, k])
    if ties == "half":
        return np.where(da == db, 1.0, np.where((da == 0) | (db == 0), 0.5, 0.0))
    return np.where((da == 0) | (db == 0), np.nan, (da == db).astype(np.float64))


@dataclass(frozen=True)
class TripletSample:
    """Triplet agreement estimated on a random sample of triplets."""

    agreement: float
    ci_low: float
    ci_high: float
    n_sampled: int
    n_used: int
    confidence: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def sample_triplets(n: int, n_triplets: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform random triplets (anchor, j, k), all distinct, drawn with replacement."""
    if n < 3:
        raise InputError(f"need at least 3 stimuli to form a triplet; got {n}.")
    i = rng.integers(0, n, size=n_triplets)
    j = rng.integers(0, n - 1, size=n_triplets)
    j = j + (j >= i)  # uniform over the n - 1 stimuli other than i
    k = rng.integers(0, n - 2, size=n_triplets)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    k = k + (k >= lo)
    k = k + (k >= hi)  # uniform over the n - 2 stimuli other than i and j
    return i, j, k


def wilson_interval(successes: float, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (``successes`` may be fractional)."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def sampled_triplet_agreement_from_similarity(
    sim_a: np.ndarray,
    sim_b: np.ndarray,
    *,
    n_triplets: int = 100_000,
    ties: str = "half",
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
    chunk: int = 1_000_000,
) -> TripletSample:
    """Triplet agreement on ``n_triplets`` uniformly sampled triplets, with a Wilson interval.

    This estimates the stochastic alignment ``1 - D_P`` of Definition 3.6 and scales to any
    number of stimuli in O(n_triplets) time. With ``ties="half"`` a triplet scores 0, 1/2 or
    1; the Wilson interval is then conservative (a variable in [0, 1] with mean p has
    variance at most p (1 - p)).
    """
    check_option("ties", ties, TIE_POLICIES)
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1); got {confidence}.")
    if int(n_triplets) < 1:
        raise InputError(f"n_triplets must be a positive integer; got {n_triplets}.")
    rng = make_rng(seed)
    sa = np.asarray(sim_a, dtype=np.float64)
    sb = np.asarray(sim_b, dtype=np.float64)
    total = 0.0
    used = 0
    remaining = int(n_triplets)
    while remaining > 0:
        size = min(chunk, remaining)
        scores = _triplet_scores(sa, sb, *sample_triplets(sa.shape[0], size, rng), ties)
        valid = ~np.isnan(scores)
        total += float(scores[valid].sum())
        used += int(valid.sum())
        remaining -= size
    if used == 0:
        raise InputError("ties='exclude' left none of the sampled triplets; sample more or use ties='half'.")
    low, high = wilson_interval(total, used, confidence)
    return TripletSample(total / used, low, high, int(n_triplets), used, confidence)


def triplet_agreement_bruteforce(
    sim_a: np.ndarray, sim_b: np.ndarray, *, ties: str = "half", chunk_elements: int = 1 << 22
) -> float:
    """Reference O(n^3) implementation: every triplet is scored explicitly.

    For a block of anchors at a time, the sign of ``s[i, j] - s[i, k]`` is computed for every
    pair ``j < k`` in both matrices and compared; pairs that contain the anchor are skipped.
    Used by the tests and the benchmark as the independent baseline; do not use it for
    large ``n``.
    """
    check_option("ties", ties, TIE_POLICIES)
    sa = np.asarray(sim_a, dtype=np.float64)
    sb = np.asarray(sim_b, dtype=np.float64)
    n = sa.shape[0]
    ju, ku = np.triu_indices(n, k=1)
    block = max(1, chunk_elements // max(ju.size, 1))
    score_sum = 0.0
    count = 0
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        da = _order(sa[rows][:, ju], sa[rows][:, ku])
        db = _order(sb[rows][:, ju], sb[rows][:, ku])
        valid = (ju[None, :] != rows[:, None]) & (ku[None, :] != rows[:, None])
        if ties == "half":
            both = (da == db) & valid
            one = (da != db) & ((da == 0) | (db == 0)) & valid
            score_sum += float(both.sum()) + 0.5 * float(one.sum())
            count += int(valid.sum())
        else:
            valid &= (da != 0) & (db != 0)
            score_sum += float(((da == db) & valid).sum())
            count += int(valid.sum())
    if count == 0:
        raise InputError("ties='exclude' leaves no triplet: every pair is tied in at least one representation.")
    return score_sum / count

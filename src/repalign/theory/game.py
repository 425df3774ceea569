"""The Alice/Bob communication game of Proposition 3.8, simulated.

Protocol
--------
* **Shared objects.** ``n`` objects have positions ``x_1 .. x_n`` in ``R^d`` (Alice's
  representation; i.i.d. standard normal).
* **The new object.** ``c`` lies in the neighbourhood of one of the shared objects: ``n``
  candidate locations ``c_h = x_h + r_h u_h`` (``u_h`` a random unit vector, ``r_h`` a
  quarter of ``x_h``'s nearest-neighbour distance, so ``x_h`` is ``c_h``'s nearest shared
  object). Both players know the candidates; the true one is drawn uniformly. Learning
  the location of ``c`` is therefore identifying one of ``n`` equally likely cells:
  ``log2 n`` bits.
* **Queries.** Bob asks triplets anchored at ``c``: "is ``c`` closer to ``x_j`` than to
  ``x_k``?" for pairs ``j < k`` of shared objects (``n (n - 1) / 2`` possible queries).
  Alice answers from her representation; her bit reaches Bob through a binary
  symmetric channel BSC(eps) (independently at each use: the channel is memoryless, so
  a repeated query gets a fresh flip).
* **Bob's inference.** Bob keeps the Bayesian posterior over the ``n`` candidates with the
  BSC likelihood (``1 - e`` if a candidate predicts the received bit, ``e`` otherwise),
  and guesses the maximum a posteriori candidate (ties broken at random). He either
  **knows** eps or **estimates** it from ``n_calibration`` triplets about the shared
  objects, whose answers he can predict himself (the flipped share is his estimate).
  When his eps exceeds 1/2 he inverts every received bit and uses ``e = 1 - eps``
  (Remark 3.10); ``flip=False`` is the naive Bob who assumes the channel is mostly right
  (``e = min(eps, 1 - eps)`` without inverting).
* **Query selection.** ``"adaptive"`` (the default): each query is the one, among a random
  pool of candidate queries (or all of them), whose posterior mass of "yes" is closest to
  1/2. For a BSC the mutual information between an answer and the location,
  ``H(e + (1 - 2e) m) - H(e)``, is maximal at ``m = 1/2`` for every ``e != 1/2``, so this is
  the greedy information-maximising (probabilistic bisection) rule. ``"random"``: each
  query uniform over all pairs.
* **Measurement.** All trials run in lock step; the accuracy of the MAP guess after ``t``
  queries, ``acc(t)``, is the share of trials whose guess is right. For Bob's Bayes
  decision with the true eps, ``acc(t)`` cannot decrease in expectation, so the curve is
  smoothed by isotonic regression and the **queries needed** is the first ``t`` where
  it reaches ``target``; a bootstrap over trials gives its interval. A run continues
  for half as many queries again after its trailing accuracy first reaches the target,
  and stops at ``max_queries`` otherwise (then: not reached, ``inf``). At eps = 1/2
  exactly Bob's likelihood is flat, his posterior cannot move, and the run stops after
  its first few queries.

The prediction is Proposition 3.8: queries ~ ``const * log2 n / C(eps)``, and no decoder
can do better than Fano's bound (:func:`repalign.theory.fano_query_bound`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression
from scipy.spatial.distance import cdist

from .._errors import InputError
from .._validation import check_option
from .capacity import _as_probability, capacity, fano_query_bound, query_bound
from .query_fit import QueryFit, fit_query_constant

log = logging.getLogger(__name__)

__all__ = [
    "BOB_EPS",
    "SELECTIONS",
    "GameLayout",
    "GameResult",
    "QueryFit",
    "codebook",
    "fit_query_constant",
    "make_layout",
    "play_bsc_game",
    "simulate_bsc_game",
]

SELECTIONS: tuple[str, ...] = ("adaptive", "random")
BOB_EPS: tuple[str, ...] = ("known", "estimated")

#: Bob never uses a flip rate below this (a zero would make one wrong bit fatal).
MIN_BOB_EPS = 1e-9


@dataclass(frozen=True)
class GameLayout:
    """Alice's representation of the shared objects and of the candidate new objects.

    Attributes
    ----------
    shared : ndarray, shape (n, d)
    candidates : ndarray, shape (n, d)
        ``candidates[h]`` lies in the neighbourhood (Voronoi cell) of ``shared[h]``.
    """

    shared: np.ndarray
    candidates: np.ndarray

    @property
    def n(self) -> int:
        return self.shared.shape[0]

    @property
    def d(self) -> int:
        return self.shared.shape[1]

    def points(self) -> np.ndarray:
        """Shared objects then candidates, ``(2 n, d)``: what a distortion acts on."""
        return np.vstack([self.shared, self.candidates])


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def make_layout(n: int, d: int = 3, *, jitter: float = 0.25, seed: int | np.random.Generator | None = None) -> GameLayout:
    """Draw shared objects ``N(0, I_d)`` and one candidate new object near each.

    Parameters
    ----------
    n : int
        Shared objects (and candidate locations), >= 3.
    d : int, default 3
    jitter : float, default 0.25
        Candidate ``h`` sits at distance ``jitter * nn(h)`` from ``x_h`` (``nn``: distance to
        the nearest other shared object); below 1/2 this keeps ``x_h`` its nearest object.

    Examples
    --------
    >>> lay = make_layout(10, 2, seed=0)
    >>> lay.shared.shape, lay.candidates.shape
    ((10, 2), (10, 2))
    """
    n = _check_int(n, "n", 3)
    d = _check_int(d, "d", 1)
    if not (0 < jitter < 0.5):
        raise InputError(f"jitter must be in (0, 0.5) so each candidate stays in its object's cell; got {jitter!r}.")
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, d))
    dist = cdist(shared, shared)
    np.fill_diagonal(dist, np.inf)
    u = rng.normal(size=(n, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    candidates = shared + jitter * dist.min(axis=1)[:, None] * u
    return GameLayout(shared, candidates)


def query_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n (n - 1) / 2`` queries as index arrays ``(j, k)`` with ``j < k``."""
    return np.triu_indices(n, k=1)


def codebook(shared: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Answers of every candidate to every query: ``book[h, q] = |c_h - x_j| < |c_h - x_k|``.

    Returns a boolean ``(n_candidates, n (n - 1) / 2)`` array (an exact tie counts as "no").

    Examples
    --------
    >>> import numpy as np
    >>> codebook(np.array([[0.0], [1.0], [3.0]]), np.array([[0.1]])).tolist()
    [[True, True, True]]
    """
    dist = cdist(np.asarray(candidates, dtype=np.float64), np.asarray(shared, dtype=np.float64))
    j, k = query_pairs(dist.shape[1])
    return dist[:, j] < dist[:, k]


def _bob_weights(bob_eps: np.ndarray, flip: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per trial: invert received bits?, log-likelihood of a match, of a mismatch."""
    if flip:
        invert = bob_eps > 0.5
        e = np.where(invert, 1.0 - bob_eps, bob_eps)
    else:
        invert = np.zeros(bob_eps.shape, dtype=bool)
        e = np.minimum(bob_eps, 1.0 - bob_eps)
    e = np.clip(e, MIN_BOB_EPS, 0.5)
    return invert, np.log1p(-e), np.log(e)


def _map_correct(logpost: np.ndarray, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Is the MAP candidate the true one? Ties among maxima are broken uniformly at random."""
    is_max = logpost >= logpost.max(axis=1, keepdims=True)
    pick = np.argmax(is_max, axis=1)
    tied = np.flatnonzero(is_max.sum(axis=1) > 1)
    if tied.size:
        pick[tied] = np.argmax(is_max[tied] * rng.random((tied.size, logpost.shape[1])), axis=1)
    return pick == truth


def play(
    book_bob: np.ndarray,
    book_alice: np.ndarray,
    layout_of_trial: np.ndarray,
    truth: np.ndarray,
    *,
    channel_eps: float,
    bob_eps: np.ndarray,
    flip: bool = True,
    select: str = "adaptive",
    replace: bool = True,
    max_queries: int,
    target: float,
    pool: int | None = 128,
    rng: np.random.Generator,
    block: int = 8,
    return_queries: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Run the game for many trials at once; return ``correct[trial, t]`` for ``t = 0 .. T``.

    Parameters
    ----------
    book_bob, book_alice : bool ndarray, shape (n_layouts, n_candidates, n_queries)
        Answers in Bob's and in Alice's representation (the same array in the pure BSC game).
    layout_of_trial, truth : int ndarray, shape (n_trials,)
        Which layout and which candidate each trial uses.
    channel_eps : float
        Flip probability of the channel between them (0 in the geometric game).
    bob_eps : float ndarray, shape (n_trials,)
        The flip probability Bob believes in.
    replace : bool
        Whether a trial may ask the same query twice (True for a memoryless channel).
    max_queries : int
    target : float
        Once the mean accuracy over the last ``max(8, t / 10)`` steps reaches it, the run
        continues for ``max(8, t / 2)`` more steps and stops.
    return_queries : bool
        Also return the ``(n_trials, T)`` indices of the queries asked (columns of the books).
    """
    check_option("select", select, SELECTIONS)
    n_layouts, n_cand, n_q = book_bob.shape
    n_trials = truth.shape[0]
    if not replace and max_queries > n_q:
        raise InputError(f"max_queries ({max_queries}) exceeds the {n_q} distinct queries of a game without repeats.")
    invert, log_match, log_miss = _bob_weights(bob_eps, flip)
    # One random relabelling of the queries, so that argmin's first-index rule breaks ties
    # between equally good queries at random; Alice's and Bob's books are relabelled alike.
    perm = rng.permutation(n_q)
    # Stored query-major, (layout, query, candidate), so a query's answers are one row.
    book_bob = np.ascontiguousarray(book_bob[:, :, perm].transpose(0, 2, 1))
    book_alice = book_alice[:, :, perm]
    books_f = book_bob.astype(np.float64) if select == "adaptive" else None
    groups = [np.flatnonzero(layout_of_trial == g) for g in range(n_layouts)]
    # Contiguous groups (the usual case) are sliced as views instead of copied.
    groups = [slice(int(i[0]), int(i[-1]) + 1) if i.size and i[-1] - i[0] + 1 == i.size else i for i in groups]
    # A Bob whose likelihood is flat (eps = 1/2 exactly) cannot move his posterior: more
    # queries change nothing, so such a run stops after its first block.
    uninformative = bool(np.all(log_match == log_miss))
    rows = np.arange(n_trials)
    logpost = np.zeros((n_trials, n_cand))
    penalty = None if replace else np.zeros((n_trials, n_q))  # inf once a query was asked
    order = None
    if select == "random" and not replace:
        order = np.argsort(rng.random((n_trials, n_q)), axis=1)
    correct = [_map_correct(logpost, truth, rng)]
    asked_log: list[np.ndarray] = []
    t = 0
    stop_at = max_queries
    while t < stop_at:
        if select == "random":
            q = order[:, t] if order is not None else rng.integers(0, n_q, size=n_trials)
        else:
            w = np.exp(logpost - logpost.max(axis=1, keepdims=True))
            w /= w.sum(axis=1, keepdims=True)
            # Without repeats a pool is used while at least half the queries are unasked (a
            # pool of p then holds only asked ones with chance below 2^-p; such rows are
            # rescored over all queries below).
            use_pool = pool is not None and pool < n_q and (replace or t < n_q // 2)
            cols = np.sort(rng.choice(n_q, size=pool, replace=False)) if use_pool else None
            q = np.empty(n_trials, dtype=np.intp)
            for g, idx in enumerate(groups):
                if isinstance(idx, np.ndarray) and idx.size == 0:
                    continue
                book = books_f[g] if cols is None else books_f[g][cols]
                score = np.abs(w[idx] @ book.T - 0.5)
                if penalty is not None:
                    score += penalty[idx] if cols is None else penalty[idx][:, cols]
                best = np.argmin(score, axis=1)
                if cols is not None and penalty is not None:
                    stuck = ~np.isfinite(score[np.arange(score.shape[0]), best])
                    if stuck.any():
                        rows_g = np.arange(n_trials)[idx][stuck]
                        full = np.abs(w[rows_g] @ books_f[g].T - 0.5) + penalty[rows_g]
                        best = cols[best]
                        best[stuck] = np.argmin(full, axis=1)
                        q[idx] = best
                        continue
                q[idx] = best if cols is None else cols[best]
        if penalty is not None:
            penalty[rows, q] = np.inf
        if return_queries:
            asked_log.append(perm[q])
        bit = book_alice[layout_of_trial, truth, q]
        if channel_eps > 0:
            bit = bit ^ (rng.random(n_trials) < channel_eps)
        bit = bit ^ invert
        predicted = book_bob[layout_of_trial, q]  # (trials, candidates)
        logpost += np.where(predicted == bit[:, None], log_match[:, None], log_miss[:, None])
        logpost -= logpost.max(axis=1, keepdims=True)
        correct.append(_map_correct(logpost, truth, rng))
        t += 1
        if uninformative and t >= block:
            log.debug("Bob's likelihood is flat (eps = 1/2): stopping after %d queries", t)
            break
        if stop_at == max_queries and (t % block == 0 or t == max_queries):
            window = max(8, t // 10)
            if t >= window and np.mean(correct[-window:]) >= target:
                # Reached: run a margin more so the crossing is not at the edge of the curve.
                stop_at = min(max_queries, t + max(8, t // 2))
            block = min(64, max(block, t // 8))  # check less often on long runs
    out = np.array(correct).T
    if return_queries:
        return out, np.array(asked_log, dtype=np.intp).reshape(t, n_trials).T
    return out


def queries_to_target(
    correct: np.ndarray, target: float, *, n_bootstrap: int = 200, confidence: float = 0.95, rng: np.random.Generator
) -> tuple[float, float, float]:
    """First ``t`` where the isotonic fit of ``acc(t)`` reaches ``target``, with a bootstrap interval.

    Returns ``(queries, low, high)``; ``inf`` where the target is not reached, and NaN
    bounds when ``n_bootstrap <= 0`` (no interval was asked for).
    """

    def first_cross(acc: np.ndarray) -> float:
        fit = isotonic_regression(acc, increasing=True).x
        hit = np.flatnonzero(fit >= target - 1e-12)
        return float(hit[0]) if hit.size else math.inf

    n_trials = correct.shape[0]
    point = first_cross(correct.mean(axis=0))
    if n_bootstrap <= 0:
        return point, math.nan, math.nan
    weights = rng.multinomial(n_trials, np.full(n_trials, 1.0 / n_trials), size=n_bootstrap) / n_trials
    boot = np.array([first_cross(a) for a in weights @ correct.astype(np.float64)])
    alpha = (1 - confidence) / 2
    return point, float(np.quantile(boot, alpha, method="lower")), float(np.quantile(boot, 1 - alpha, method="higher"))


@dataclass(frozen=True)
class GameResult:
    """One point of the queries-versus-eps curve.

    Attributes
    ----------
    eps : float
        Channel flip probability (the stochastic misalignment ``D_P``).
    queries, ci_low, ci_high : float
        Queries needed to reach ``target`` accuracy and a 95% bootstrap percentile interval
        over trials (``inf``: not reached within ``queries_run``, or in that share of the
        resamples; the interval is NaN only when ``n_bootstrap=0`` asked for none).
    reached : bool
    final_accuracy : float
        Accuracy after the last query run.
    queries_run : int
    capacity : float
        ``C(eps)`` in bits.
    bound : float
        ``log2 n / C(eps)`` (Proposition 3.8 with constant 1, ``d`` not counted: see the module).
    fano : float
        :func:`fano_query_bound` for ``n`` hypotheses at ``target``.
    bob_eps_mean : float
        Mean of the eps Bob used (his estimate when ``bob_eps="estimated"``).
    accuracy : ndarray
        ``acc(t)`` for ``t = 0 .. queries_run`` (not in :meth:`to_dict`).
    """

    eps: float
    n: int
    d: int
    n_trials: int
    target: float
    select: str
    bob_eps: str
    flip: bool
    queries: float
    ci_low: float
    ci_high: float
    reached: bool
    final_accuracy: float
    queries_run: int
    capacity: float
    bound: float
    fano: float
    bob_eps_mean: float
    accuracy: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("accuracy")
        return out


def _seed_children(seed: int | np.random.Generator | None, count: int) -> list[np.random.Generator]:
    if isinstance(seed, np.random.Generator):
        return list(seed.spawn(count))
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(count)]


def _check_common(target: float, n_trials: int, max_queries: int, n_layouts: int) -> None:
    if not (np.isfinite(target) and 0 < target < 1):
        raise InputError(f"target accuracy must be in (0, 1); got {target!r}.")
    _check_int(n_trials, "n_trials", 2)
    _check_int(max_queries, "max_queries", 1)
    _check_int(n_layouts, "n_layouts", 1)
    if n_layouts > n_trials:
        raise InputError(f"n_layouts ({n_layouts}) cannot exceed n_trials ({n_trials}).")


def _calibrate(eps: float, n_trials: int, n_calibration: int, rng: np.random.Generator) -> np.ndarray:
    """Bob's estimate of eps from n_calibration triplets about the shared objects.

    In the pure game both players represent the shared objects alike, so Bob predicts
    Alice's answers exactly and every mismatch he sees is a channel flip.
    """
    return rng.binomial(n_calibration, eps, size=n_trials) / n_calibration


def play_bsc_game(
    eps: float,
    *,
    n: int = 32,
    d: int = 3,
    n_trials: int = 200,
    n_layouts: int = 4,
    target: float = 0.9,
    select: str = "adaptive",
    bob_eps: str = "known",
    n_calibration: int = 200,
    flip: bool = True,
    max_queries: int = 2000,
    pool: int | None = 128,
    n_bootstrap: int = 200,
    seed: int | np.random.Generator | None = None,
    layouts: list[GameLayout] | None = None,
) -> GameResult:
    """Play the game of Proposition 3.8 over a BSC(eps) and measure the queries needed.

    See the module docstring for the protocol.

    Parameters
    ----------
    eps : float
        Channel flip probability in [0, 1].
    n, d : int
        Shared objects and their dimension (ignored when ``layouts`` is given).
    n_trials : int
        Games played (spread evenly over ``n_layouts`` random layouts).
    target : float, default 0.9
        Accuracy to reach.
    select : {"adaptive", "random"}
    bob_eps : {"known", "estimated"}
    n_calibration : int
        Calibration triplets when ``bob_eps="estimated"`` (not counted as queries).
    flip : bool, default True
        Bob inverts every bit when his eps exceeds 1/2 (Remark 3.10).
    max_queries : int
    pool : int or None
        Candidate queries scored per step by the adaptive rule (None: all). At n = 64
        (2016 queries) pools of 64, 128, 256 and all queries gave the same queries needed
        within their intervals; 128 is the default for speed.
    n_bootstrap : int
        Resamples of trials for the interval of ``queries``.
    seed : int or Generator, optional
    layouts : list of GameLayout, optional
        Fixed layouts to play on (e.g. the same for every eps of a grid).

    Examples
    --------
    >>> r = play_bsc_game(0.1, n=16, n_trials=64, seed=0, n_bootstrap=0)
    >>> r.reached, r.queries >= r.fano
    (True, True)
    """
    p = float(_as_probability(eps, "eps"))
    check_option("select", select, SELECTIONS)
    check_option("bob_eps", bob_eps, BOB_EPS)
    _check_common(target, n_trials, max_queries, n_layouts if layouts is None else len(layouts))
    rng_layout, rng_play, rng_boot = _seed_children(seed, 3)
    if layouts is None:
        layouts = [make_layout(n, d, seed=r) for r in _seed_children(rng_layout, n_layouts)]
    if len({lay.n for lay in layouts}) != 1:
        raise InputError("all layouts must have the same number of shared objects.")
    n, d = layouts[0].n, layouts[0].d
    books = np.stack([codebook(lay.shared, lay.candidates) for lay in layouts])
    layout_of_trial = np.arange(n_trials) * len(layouts) // n_trials  # contiguous blocks
    truth = rng_play.integers(0, n, size=n_trials)
    if bob_eps == "known":
        believed = np.full(n_trials, p)
    else:
        believed = _calibrate(p, n_trials, _check_int(n_calibration, "n_calibration", 1), rng_play)
    correct = play(
        books, books, layout_of_trial, truth, channel_eps=p, bob_eps=believed, flip=flip, select=select,
        replace=True, max_queries=max_queries, target=target, pool=pool, rng=rng_play,
    )
    queries, low, high = queries_to_target(correct, target, n_bootstrap=n_bootstrap, rng=rng_boot)
    acc = correct.mean(axis=0)
    return GameResult(
        eps=p, n=n, d=d, n_trials=n_trials, target=target, select=select, bob_eps=bob_eps, flip=flip,
        queries=queries, ci_low=low, ci_high=high, reached=bool(np.isfinite(queries)),
        final_accuracy=float(acc[-1]), queries_run=int(correct.shape[1] - 1), capacity=float(capacity(p)),
        bound=float(query_bound(n, eps=p)), fano=float(fano_query_bound(n, p, accuracy=target)),
        bob_eps_mean=float(believed.mean()), accuracy=acc,
    )


def simulate_bsc_game(
    eps_grid: Any,
    *,
    n: int | list[int] = 32,
    seed: int | None = 0,
    **kwargs: Any,
) -> pd.DataFrame:
    """Queries needed versus eps: :func:`play_bsc_game` over a grid, as a tidy table.

    For each ``n``, every eps is played on the same layouts with independent channel
    noise. Keyword arguments go to :func:`play_bsc_game`.

    Returns
    -------
    DataFrame
        One row per (n, eps) with the fields of :class:`GameResult` (minus the curve).

    Examples
    --------
    >>> df = simulate_bsc_game([0.0, 1.0], n=8, n_trials=16, n_bootstrap=0)
    >>> df[["eps", "queries"]].to_dict("list")["eps"]
    [0.0, 1.0]
    """
    grid = np.atleast_1d(_as_probability(eps_grid, "eps_grid")).astype(np.float64)
    sizes = [n] if isinstance(n, (int, np.integer)) else list(n)
    d = kwargs.pop("d", 3)
    n_layouts = kwargs.pop("n_layouts", 4)
    rows = []
    size_rngs = _seed_children(seed, len(sizes))
    for size, rng in zip(sizes, size_rngs):
        layout_rng, *eps_rngs = _seed_children(rng, len(grid) + 1)
        layouts = [make_layout(size, d, seed=r) for r in _seed_children(layout_rng, n_layouts)]
        for p, r in zip(grid, eps_rngs):
            result = play_bsc_game(float(p), layouts=layouts, seed=r, **kwargs)
            log.debug("n=%d eps=%.3f: %s queries", size, p, result.queries)
            rows.append(result.to_dict())
    return pd.DataFrame(rows)

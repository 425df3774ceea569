"""Misalignment from geometry: distortions of an embedding and the game played across them.

In the pure game (:mod:`repalign.theory.game`) the flip probability eps is injected by a
binary symmetric channel. Here Alice's answers reach Bob unchanged, but Bob represents
the objects differently: his representation is a distortion of Alice's, so he predicts
her answers with his own geometry and a share eps of the predictions is wrong. eps is
then a property of the two geometries, not a parameter.

Distortion families (``level`` is each family's knob):

``"noise"`` (level: sigma)
    Independent Gaussian noise on every object, ``sigma`` times the RMS coordinate scale.
    eps rises from 0 towards 1/2.
``"rotation"`` (level: angle in degrees)
    A random subspace of dimension ``round(fraction * d)`` is rotated by ``angle`` towards
    as many new nuisance dimensions (per-object Gaussian content of the same scale), and
    Bob keeps ``d`` dimensions: his coordinates in that subspace are
    ``cos(angle) * signal + sin(angle) * nuisance``. (A rotation *within* the space is an
    isometry and changes no triplet, which the tests check; misalignment needs signal to
    leave the space.) At 90 degrees the subspace is pure nuisance.
``"anti"`` (level: sigma)
    An anti-aligned representation: noise of scale ``sigma`` as above, then every
    similarity ranking reversed (:func:`reverse_ranking`). Its triplets are exactly the
    complements of the ``"noise"`` family's at the same noise draw, so eps runs from 1
    down towards 1/2. This is what the paper's Remark 3.10 is about: a student who
    measures eps > 1/2 on the shared objects can invert every answer.

Bob estimates eps on the shared objects, by comparing a sample of triplets in the two
representations (:func:`repalign.metrics.triplets.sampled_triplet_agreement_from_similarity`),
as he would by asking Alice about objects he already knows.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from .._errors import InputError
from .._validation import check_option
from ..metrics.triplets import sampled_triplet_agreement_from_similarity, triplet_counts
from .capacity import capacity, fano_query_bound, query_bound
from .game import (
    SELECTIONS,
    GameLayout,
    _check_common,
    _check_int,
    _seed_children,
    codebook,
    make_layout,
    play,
    queries_to_target,
)

log = logging.getLogger(__name__)

__all__ = [
    "DISTORTIONS",
    "DEFAULT_LEVELS",
    "add_noise",
    "rotate_subspace",
    "reverse_ranking",
    "distort",
    "GeometricResult",
    "play_geometric_game",
    "simulate_geometric_game",
    "measure_geometric_eps",
]

DISTORTIONS: tuple[str, ...] = ("noise", "rotation", "anti")

#: Levels of each family used by :func:`simulate_geometric_game` by default.
DEFAULT_LEVELS: dict[str, tuple[float, ...]] = {
    "noise": (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8),
    "rotation": (0.0, 15.0, 30.0, 45.0, 60.0, 75.0, 90.0),
    "anti": (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8),
}

BOB_EPS_GEOMETRIC: tuple[str, ...] = ("estimated", "oracle")


def _as_points(points: Any) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise InputError(f"points must be a 2-D array with at least 2 rows; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise InputError("points contain NaN or infinite values.")
    return arr


def _rms_scale(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.var(x, axis=0))))


def add_noise(points: Any, sigma: float, *, rng: np.random.Generator) -> np.ndarray:
    """``points + sigma * s * N(0, I)`` with ``s`` the RMS coordinate scale of the points.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.eye(3)
    >>> np.array_equal(add_noise(x, 0.0, rng=np.random.default_rng(0)), x)
    True
    """
    x = _as_points(points)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise InputError(f"noise level sigma must be >= 0; got {sigma!r}.")
    noise = rng.normal(size=x.shape)
    return x + float(sigma) * _rms_scale(x) * noise


def rotate_subspace(
    points: Any, angle: float, *, fraction: float = 0.5, rng: np.random.Generator
) -> np.ndarray:
    """Rotate a random ``round(fraction * d)``-dimensional subspace by ``angle`` degrees into nuisance.

    Let ``U`` be a random orthonormal basis of the subspace and ``Z`` per-object Gaussian
    content with the mean and standard deviation of the points' coordinates in ``U``.
    The result is ``X + ((cos a - 1) X U + sin a Z) U^T``: the signal in the subspace is
    rotated by ``a`` in the plane it spans with the nuisance, and the component that
    leaves the ``d`` kept dimensions is dropped.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(5, 4))
    >>> np.allclose(rotate_subspace(x, 0.0, rng=np.random.default_rng(1)), x)
    True
    """
    x = _as_points(points)
    if not (np.isfinite(angle) and 0 <= angle <= 90):
        raise InputError(f"rotation angle must be in [0, 90] degrees; got {angle!r}.")
    if not (0 < fraction <= 1):
        raise InputError(f"fraction of dimensions rotated must be in (0, 1]; got {fraction!r}.")
    d = x.shape[1]
    k = max(1, int(round(fraction * d)))
    u, _ = np.linalg.qr(rng.normal(size=(d, k)))
    signal = x @ u
    z = rng.normal(size=signal.shape) * signal.std(axis=0) + signal.mean(axis=0)
    a = math.radians(angle)
    return x + ((math.cos(a) - 1.0) * signal + math.sin(a) * z) @ u.T


def reverse_ranking(points: Any, *, metric: str = "euclidean", margin: float = 0.05) -> np.ndarray:
    """Features whose similarity ranking is the exact reverse of ``points``'.

    ``metric="euclidean"``: squared distances become ``K - D^2`` for all pairs. By
    classical scaling the Gram matrix of that geometry is ``(K / 2) J - G`` (``G`` the
    centred Gram matrix, ``J`` the centring matrix), which is positive semi-definite once
    ``K >= 2 lambda_max(G)``; ``K = 2 (1 + margin) lambda_max(G)`` is used and the features are
    its scaled eigenvectors.

    ``metric="cosine"``: cosine similarities become ``-cos / (beta - 1)`` with
    ``beta = (1 + margin) lambda_max`` of the cosine Gram matrix ``G``, i.e. the unit-diagonal
    Gram matrix ``(beta I - G) / (beta - 1)``.

    In both cases every triplet "is i closer to j than to k?" gets the opposite answer.
    The price is dimension: the reversed geometry has up to ``n - 1`` (euclidean) or
    ``n`` (cosine) dimensions, and the original structure survives only as a small
    reversed modulation of an almost regular simplex.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.spatial.distance import pdist
    >>> x = np.random.default_rng(0).normal(size=(6, 2))
    >>> d_a, d_b = pdist(x), pdist(reverse_ranking(x))
    >>> bool(np.all(np.argsort(d_a) == np.argsort(-d_b)))
    True
    """
    check_option("metric", metric, ("euclidean", "cosine"))
    x = _as_points(points)
    if not (np.isfinite(margin) and margin > 0):
        raise InputError(f"margin must be a positive number; got {margin!r}.")
    n = x.shape[0]
    if metric == "euclidean":
        xc = x - x.mean(axis=0)
        gram = xc @ xc.T
        lam = float(np.linalg.eigvalsh(gram)[-1])
        if lam <= 0:
            raise InputError("all points coincide; there is no ranking to reverse.")
        centring = np.eye(n) - 1.0 / n
        target = (1.0 + margin) * lam * centring - gram
    else:
        norms = np.linalg.norm(x, axis=1)
        if np.any(norms == 0):
            raise InputError("cosine reversal needs non-zero vectors; some points are all zeros.")
        unit = x / norms[:, None]
        gram = unit @ unit.T
        beta = (1.0 + margin) * float(np.linalg.eigvalsh(gram)[-1])
        target = (beta * np.eye(n) - gram) / (beta - 1.0)
    target = 0.5 * (target + target.T)
    vals, vecs = np.linalg.eigh(target)
    keep = vals > vals[-1] * 1e-12
    return vecs[:, keep] * np.sqrt(vals[keep])


def distort(points: Any, family: str, level: float, *, rng: np.random.Generator, fraction: float = 0.5) -> np.ndarray:
    """Bob's representation of ``points``: one of :data:`DISTORTIONS` at ``level``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(8, 3))
    >>> distort(x, "anti", 0.0, rng=np.random.default_rng(0)).shape
    (8, 7)
    """
    check_option("distortion", family, DISTORTIONS)
    if family == "noise":
        return add_noise(points, level, rng=rng)
    if family == "rotation":
        return rotate_subspace(points, level, fraction=fraction, rng=rng)
    return reverse_ranking(add_noise(points, level, rng=rng))


@dataclass(frozen=True)
class GeometricResult:
    """The game played against a distorted Bob.

    Attributes
    ----------
    family : str
    level : float
    eps_queries : float
        Share of all (candidate, query) answers on which Bob's geometry disagrees with
        Alice's: the flip rate the game actually has.
    eps_shared : float
        Exact triplet misalignment ``D_R`` on the shared objects (mean over layouts).
    eps_estimated : float
        Bob's estimate of eps from ``n_calibration`` sampled triplets of the shared
        objects (mean over layouts).
    queries, ci_low, ci_high, reached, final_accuracy, queries_run :
        As in :class:`repalign.theory.GameResult`.
    capacity, bound, fano : float
        At ``eps_queries``.
    """

    family: str
    level: float
    n: int
    d: int
    n_trials: int
    target: float
    select: str
    bob_eps: str
    eps_queries: float
    eps_shared: float
    eps_estimated: float
    queries: float
    ci_low: float
    ci_high: float
    reached: bool
    final_accuracy: float
    queries_run: int
    capacity: float
    bound: float
    fano: float
    accuracy: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("accuracy")
        return out


def _neg_dist(x: np.ndarray) -> np.ndarray:
    return -cdist(x, x)


def _books(
    layouts: list[GameLayout], family: str, level: float, fraction: float, n_calibration: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray], list[float], list[float], list[float]]:
    """Alice's and Bob's codebooks per layout, and the three eps measurements of each."""
    books_a, books_b, eps_q, eps_s, eps_e = [], [], [], [], []
    for lay, r in zip(layouts, _seed_children(rng, len(layouts))):
        bob = distort(lay.points(), family, level, rng=r, fraction=fraction)
        bob_shared, bob_cand = bob[: lay.n], bob[lay.n :]
        book_a = codebook(lay.shared, lay.candidates)
        book_b = codebook(bob_shared, bob_cand)
        books_a.append(book_a)
        books_b.append(book_b)
        eps_q.append(float(np.mean(book_a != book_b)))
        sim_a, sim_b = _neg_dist(lay.shared), _neg_dist(bob_shared)
        eps_s.append(1.0 - triplet_counts(sim_a, sim_b, backend="numpy").agreement("half"))
        sample = sampled_triplet_agreement_from_similarity(sim_a, sim_b, n_triplets=n_calibration, seed=r)
        eps_e.append(1.0 - sample.agreement)
    return books_a, books_b, eps_q, eps_s, eps_e


def measure_geometric_eps(
    levels: dict[str, Any] | None = None,
    *,
    n: int = 32,
    d: int = 3,
    n_layouts: int = 4,
    n_calibration: int = 2000,
    fraction: float = 0.5,
    seed: int | None = 0,
) -> pd.DataFrame:
    """eps of each distortion family and level, without playing the game (cheap, for curves).

    Returns
    -------
    DataFrame
        ``family, level, eps_queries, eps_shared, eps_estimated`` (means over layouts; see
        :class:`GeometricResult`).

    Examples
    --------
    >>> df = measure_geometric_eps({"anti": [0.0]}, n=8)
    >>> df[["eps_queries", "eps_shared"]].values.tolist()
    [[1.0, 1.0]]
    """
    levels = DEFAULT_LEVELS if levels is None else levels
    for family in levels:
        check_option("distortion", family, DISTORTIONS)
    _check_int(n_calibration, "n_calibration", 1)
    layout_rng, *rngs = _seed_children(seed, 1 + len(levels))
    layouts = [make_layout(n, d, seed=r) for r in _seed_children(layout_rng, n_layouts)]
    rows = []
    for (family, values), rng in zip(levels.items(), rngs):
        values = list(np.atleast_1d(np.asarray(values, dtype=np.float64)))
        for value, r in zip(values, _seed_children(rng, len(values))):
            _, _, eps_q, eps_s, eps_e = _books(layouts, family, float(value), fraction, n_calibration, r)
            rows.append(
                {"family": family, "level": float(value), "eps_queries": float(np.mean(eps_q)),
                 "eps_shared": float(np.mean(eps_s)), "eps_estimated": float(np.mean(eps_e))}
            )
    return pd.DataFrame(rows, columns=["family", "level", "eps_queries", "eps_shared", "eps_estimated"])


def play_geometric_game(
    family: str,
    level: float,
    *,
    n: int = 32,
    d: int = 3,
    n_trials: int = 200,
    n_layouts: int = 4,
    target: float = 0.9,
    select: str = "adaptive",
    bob_eps: str = "estimated",
    n_calibration: int = 2000,
    fraction: float = 0.5,
    max_queries: int | None = None,
    pool: int | None = 128,
    n_bootstrap: int = 200,
    seed: int | np.random.Generator | None = None,
    layouts: list[GameLayout] | None = None,
) -> GeometricResult:
    """Play the game with a noiseless channel and a Bob whose geometry is a distortion of Alice's.

    Each query is asked at most once per game: a triplet's answer is a fixed property of
    the two representations, so asking again tells Bob nothing new. ``max_queries``
    defaults to all ``n (n - 1) / 2`` queries.

    Parameters
    ----------
    family : {"noise", "rotation", "anti"}
    level : float
        sigma for ``noise`` and ``anti``, degrees for ``rotation``.
    bob_eps : {"estimated", "oracle"}
        Bob uses his estimate from the shared objects, or the true ``eps_queries``.
    n_calibration : int
        Sampled triplets of the shared objects behind his estimate.
    Other parameters as in :func:`repalign.theory.play_bsc_game`.

    Examples
    --------
    >>> r = play_geometric_game("anti", 0.0, n=12, n_trials=24, n_bootstrap=0, seed=0)
    >>> r.eps_queries, r.eps_shared, r.reached
    (1.0, 1.0, True)
    """
    check_option("distortion", family, DISTORTIONS)
    check_option("select", select, SELECTIONS)
    check_option("bob_eps", bob_eps, BOB_EPS_GEOMETRIC)
    rng_layout, rng_distort, rng_play, rng_boot = _seed_children(seed, 4)
    if layouts is None:
        _check_int(n_layouts, "n_layouts", 1)
        layouts = [make_layout(n, d, seed=r) for r in _seed_children(rng_layout, n_layouts)]
    n, d = layouts[0].n, layouts[0].d
    n_q = n * (n - 1) // 2
    max_queries = n_q if max_queries is None else max_queries
    _check_common(target, n_trials, max_queries, len(layouts))
    _check_int(n_calibration, "n_calibration", 1)
    books_a, books_b, eps_q, eps_s, eps_e = _books(layouts, family, level, fraction, n_calibration, rng_distort)
    layout_of_trial = np.arange(n_trials) * len(layouts) // n_trials  # contiguous blocks
    truth = rng_play.integers(0, n, size=n_trials)
    per_layout = np.array(eps_e if bob_eps == "estimated" else eps_q)
    correct = play(
        np.stack(books_b), np.stack(books_a), layout_of_trial, truth, channel_eps=0.0,
        bob_eps=per_layout[layout_of_trial], flip=True, select=select, replace=False,
        max_queries=max_queries, target=target, pool=pool, rng=rng_play,
    )
    queries, low, high = queries_to_target(correct, target, n_bootstrap=n_bootstrap, rng=rng_boot)
    acc = correct.mean(axis=0)
    eps_mean = float(np.mean(eps_q))
    return GeometricResult(
        family=family, level=float(level), n=n, d=d, n_trials=n_trials, target=target, select=select,
        bob_eps=bob_eps, eps_queries=eps_mean, eps_shared=float(np.mean(eps_s)),
        eps_estimated=float(np.mean(eps_e)), queries=queries, ci_low=low, ci_high=high,
        reached=bool(np.isfinite(queries)), final_accuracy=float(acc[-1]),
        queries_run=int(correct.shape[1] - 1), capacity=float(capacity(eps_mean)),
        bound=float(query_bound(n, eps=eps_mean)), fano=float(fano_query_bound(n, eps_mean, accuracy=target)),
        accuracy=acc,
    )


def simulate_geometric_game(
    levels: dict[str, Any] | None = None,
    *,
    n: int = 32,
    d: int = 3,
    n_layouts: int = 4,
    seed: int | None = 0,
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`play_geometric_game` for every family and level, on shared layouts; a tidy table.

    Parameters
    ----------
    levels : dict, optional
        Family -> levels; default :data:`DEFAULT_LEVELS`.

    Examples
    --------
    >>> df = simulate_geometric_game({"noise": [0.0, 0.3]}, n=10, n_trials=20, n_bootstrap=0)
    >>> df[["family", "level"]].values.tolist()
    [['noise', 0.0], ['noise', 0.3]]
    """
    levels = DEFAULT_LEVELS if levels is None else levels
    for family in levels:
        check_option("distortion", family, DISTORTIONS)
    layout_rng, *rngs = _seed_children(seed, 1 + len(levels))
    layouts = [make_layout(n, d, seed=r) for r in _seed_children(layout_rng, n_layouts)]
    rows = []
    for (family, values), rng in zip(levels.items(), rngs):
        values = list(np.atleast_1d(np.asarray(values, dtype=np.float64)))
        for value, r in zip(values, _seed_children(rng, len(values))):
            result = play_geometric_game(family, float(value), layouts=layouts, seed=r, **kwargs)
            log.debug("%s %.3g: eps=%.3f queries=%s", family, value, result.eps_queries, result.queries)
            rows.append(result.to_dict())
    return pd.DataFrame(rows)

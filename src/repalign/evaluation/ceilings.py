"""Reliability of human similarity data and the noise ceiling of every alignment metric.

A model is scored against the *full* human matrix ``F`` (the mean over all participants).
Noise in ``F`` caps every score; the noise ceiling says where that cap lies, so a score can
be read as a share of what is achievable.

Split halves
------------
The participants are split into two halves with matrices ``H1`` and ``H2`` (given as two
matrices, or drawn at random from per-participant ratings). For every metric ``m`` of
:func:`repalign.compare` (``pearson``, ``spearman``, ``kendall``, ``triplet``):

``lower`` = ``m(H1, H2)``
    How well one half of the people aligns with the other: the score of a "model" that is
    as good as half of the participants. It is a lower bound of the ceiling.
``upper`` = ``(m(H1, F) + m(H2, F)) / 2``
    How well each half aligns with the full data it is part of. Because each half shares
    its own noise with ``F``, this overestimates what an ideal model reaches: an upper
    bound (Nili et al. 2014's construction, with halves in place of single participants).
``corrected`` (``pearson`` only) = ``sqrt(SB(lower))``
    Classical test theory: the reliability of ``F`` is the Spearman-Brown corrected split-half
    correlation ``SB(r) = 2 r / (1 + r)``, and the correlation of the true similarities with
    ``F`` is its square root. With equal-variance halves ``lower <= corrected <= upper``
    (then ``upper`` equals ``sqrt((1 + lower) / 2)``). Not defined when ``lower <= 0``
    (reported as None with the reason).

With per-participant ratings, ``lower`` and ``upper`` are averaged over ``n_splits`` random
splits of the participants into halves (their standard deviations are reported), ``F`` is
the mean of all ratings, and ``corrected`` uses the mean split-half Pearson correlation.

The split-half *reliability* of the data is ``SB(r)`` for ``r`` the Pearson correlation of the
halves over the upper triangle (:func:`split_half_reliability`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._validation import check_option, make_rng, parse_list, preview
from ..metrics import METRICS, compare
from .._progress import progress as show_progress
from ..representations import Representation, match_stimuli

__all__ = [
    "CEILING_COLUMNS",
    "spearman_brown",
    "SplitHalfReliability",
    "split_half_reliability",
    "CeilingEstimate",
    "NoiseCeiling",
    "noise_ceiling",
    "part_ceiling",
    "reference_ceiling",
    "read_ratings",
    "ratings_matrix",
    "ratings_noise_ceiling",
]

log = logging.getLogger(__name__)

#: Columns of a per-participant ratings table.
RATING_COLUMNS: tuple[str, ...] = ("participant", "stim_a", "stim_b", "rating")
CEILING_COLUMNS: tuple[str, ...] = ("metric", "lower", "upper", "corrected", "lower_sd", "upper_sd", "n_splits")


def spearman_brown(r: float, factor: float = 2.0) -> float:
    """Spearman-Brown prophecy: reliability of data ``factor`` times as large as the data with reliability ``r``.

    ``SB(r) = k r / (1 + (k - 1) r)``; with ``k = 2`` it turns a split-half correlation into
    the reliability of the whole.

    Examples
    --------
    >>> spearman_brown(0.5)
    0.6666666666666666
    """
    r = float(r)
    if not -1.0 <= r <= 1.0:
        raise InputError(f"a correlation must lie in [-1, 1]; got {r}.")
    if factor <= 0:
        raise InputError(f"factor must be positive; got {factor}.")
    denom = 1.0 + (factor - 1.0) * r
    if denom <= 0:
        raise InputError(f"Spearman-Brown is undefined for r = {r} and factor {factor} (1 + (k - 1) r <= 0).")
    return factor * r / denom


@dataclass(frozen=True)
class SplitHalfReliability:
    """Pearson correlation of two halves over the upper triangle, and its Spearman-Brown correction."""

    r_half: float
    reliability: float
    n_stimuli: int
    n_pairs: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_pair(a: Representation, b: Representation) -> tuple[Representation, Representation]:
    for rep, label in ((a, "first half"), (b, "second half")):
        if not isinstance(rep, Representation):
            raise InputError(f"the {label} must be a Representation, got {type(rep).__name__}.")
        if rep.kind == "features":
            raise InputError(f"the {label} ({rep.name}) holds features; split halves are similarity matrices.")
    try:
        a, b = match_stimuli(a, b)
    except InputError as exc:  # match_stimuli's remedy (--intersect) does not exist here: halves rate the same stimuli
        detail = str(exc).split(" Use how=")[0]
        raise InputError(f"split halves must hold the same stimuli: {detail}") from exc
    if np.array_equal(a.values, b.values):
        log.warning("the two halves (%s, %s) hold identical values, so every ceiling is 1; were two different "
                    "halves of the participants given?", a.name, b.name)
    return a, b


def split_half_reliability(half_a: Representation, half_b: Representation) -> SplitHalfReliability:
    """Split-half reliability of a similarity matrix from the matrices of two participant halves.

    Examples
    --------
    >>> import numpy as np
    >>> from repalign import Representation
    >>> rng = np.random.default_rng(0)
    >>> true = rng.random((8, 8)); true = true + true.T
    >>> halves = [Representation.from_similarity(list("abcdefgh"), true + e + e.T)
    ...           for e in 0.1 * rng.normal(size=(2, 8, 8))]
    >>> rel = split_half_reliability(*halves)
    >>> rel.r_half < rel.reliability < 1
    True
    """
    a, b = _check_pair(half_a, half_b)
    r = compare(a, b, metrics="pearson")["pearson"]
    return SplitHalfReliability(r, spearman_brown(r), a.n_stimuli, a.n_stimuli * (a.n_stimuli - 1) // 2)


@dataclass(frozen=True)
class CeilingEstimate:
    """The noise ceiling of one metric (see the module docstring for the definitions)."""

    metric: str
    lower: float
    upper: float
    corrected: float | None = None
    lower_sd: float = 0.0
    upper_sd: float = 0.0
    n_splits: int = 1
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if out["note"] is None:
            del out["note"]
        return out


@dataclass(frozen=True)
class NoiseCeiling:
    """Noise ceilings of several metrics for one human dataset."""

    estimates: dict[str, CeilingEstimate]
    n_stimuli: int
    source: str
    method: str  # "halves" or "ratings"
    reliability: SplitHalfReliability | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> CeilingEstimate:
        return self.estimates[metric]

    def to_frame(self) -> pd.DataFrame:
        """One row per metric with the columns :data:`CEILING_COLUMNS`."""
        rows = [{c: getattr(e, c) for c in CEILING_COLUMNS} for e in self.estimates.values()]
        return pd.DataFrame(rows, columns=list(CEILING_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "source": self.source,
            "n_stimuli": self.n_stimuli,
            **{m: e.to_dict() for m, e in self.estimates.items()},
        }
        if self.reliability is not None:
            out["split_half_reliability"] = self.reliability.to_dict()
        out.update(self.details)
        return out


def _corrected(metric: str, lower: float) -> tuple[float | None, str | None]:
    if metric != "pearson":
        return None, None
    if lower <= 0:
        return None, f"the split-half correlation is {lower:.3g} <= 0, so the Spearman-Brown ceiling is undefined"
    return math.sqrt(spearman_brown(lower)), None


def _mean_matrix(reps: Sequence[Representation], weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return sum(wi * r.similarity() for wi, r in zip(w, reps)) / w.sum()


def _half_scores(
    a: Representation, b: Representation, full: Representation, metrics: list[str], ties: str, backend: str
) -> tuple[dict[str, float], dict[str, float]]:
    lower = compare(a, b, metrics=metrics, ties=ties, backend=backend).scores
    up_a = compare(a, full, metrics=metrics, ties=ties, backend=backend).scores
    up_b = compare(b, full, metrics=metrics, ties=ties, backend=backend).scores
    return lower, {m: 0.5 * (up_a[m] + up_b[m]) for m in metrics}


def noise_ceiling(
    half_a: Representation,
    half_b: Representation,
    *,
    metrics: str | Iterable[str] = METRICS,
    full: Representation | None = None,
    weights: tuple[float, float] = (1.0, 1.0),
    ties: str = "half",
    backend: str = "auto",
) -> NoiseCeiling:
    """Noise ceiling of each metric from the matrices of two halves of the participants.

    Parameters
    ----------
    half_a, half_b : Representation
        Similarity (or dissimilarity) matrices of the two halves, same stimuli.
    metrics : str or iterable of str
        Any of ``pearson``, ``spearman``, ``kendall``, ``triplet`` (default: all).
    full : Representation, optional
        The full matrix ``F``; default: the weighted mean of the halves' similarities.
    weights : (float, float)
        Weights of the halves in ``F`` (e.g. their numbers of participants); the halves
        must then be on the same rating scale.
    ties, backend
        As for :func:`repalign.compare`.

    Examples
    --------
    >>> import numpy as np
    >>> from repalign import Representation
    >>> rng = np.random.default_rng(1)
    >>> true = rng.random((10, 10)); true = true + true.T
    >>> ids = [f"s{i}" for i in range(10)]
    >>> h = [Representation.from_similarity(ids, true + n + n.T) for n in 0.2 * rng.normal(size=(2, 10, 10))]
    >>> c = noise_ceiling(*h, metrics="pearson")["pearson"]
    >>> c.lower <= c.corrected <= c.upper
    True
    """
    metric_list = parse_list("metric", metrics, METRICS)
    a, b = _check_pair(half_a, half_b)
    if len(weights) != 2 or min(weights) <= 0:
        raise InputError(f"weights must be two positive numbers; got {weights!r}.")
    if full is None:
        full = Representation.from_similarity(a.ids, _mean_matrix([a, b], weights), name="mean of the halves")
    else:
        full = match_stimuli(a, full)[1]
    lower, upper = _half_scores(a, b, full, metric_list, ties, backend)
    estimates = {}
    for m in metric_list:
        corrected, note = _corrected(m, lower[m])
        estimates[m] = CeilingEstimate(m, lower[m], upper[m], corrected, note=note)
    reliability = split_half_reliability(a, b)
    source = f"{a.name or 'half A'} / {b.name or 'half B'}"
    return NoiseCeiling(estimates, a.n_stimuli, source, "halves", reliability)


def part_ceiling(
    part: Any,
    *,
    metrics: str | Iterable[str] = METRICS,
    ties: str = "half",
    backend: str = "auto",
    stimuli: Sequence[str] | None = None,
) -> NoiseCeiling | None:
    """The noise ceiling of one dataset part from its split halves; None when the copy has none.

    This is the one ceiling function of repalign: ``repalign align``, ``repalign data
    ceiling``, :func:`~repalign.evaluation.align_dataset` and studies all call it.

    Parameters
    ----------
    part : MatrixPart
        A loaded part (:func:`repalign.data.matrix_part`).
    metrics, ties, backend
        As for :func:`noise_ceiling`.
    stimuli : sequence of str, optional
        Compute the ceiling on these stimuli only: the ones a score was computed on (e.g.
        ``align --intersect``), so that score and ceiling describe the same pairs.

    Raises
    ------
    InputError
        When ``stimuli`` share fewer than 3 ids with the part (no ceiling can be computed).

    Examples
    --------
    >>> from repalign.data import matrix_part  # doctest: +SKIP
    >>> c = part_ceiling(matrix_part("peterson2018:animals", data_root="../shared/data"),
    ...                  metrics="pearson")  # doctest: +SKIP
    >>> round(c["pearson"].lower, 3)  # doctest: +SKIP
    0.913
    """
    if part.split_halves is None:
        return None
    half_a, half_b = part.load_split_halves()
    full = part.representation
    if stimuli is not None:
        wanted = set(stimuli)
        shared = [x for x in full.ids if x in wanted]
        if len(shared) < 3:
            raise InputError(
                f"{part.reference}: only {len(shared)} of the compared stimuli are in the human data "
                f"({preview(shared)}); a noise ceiling needs at least 3."
            )
        if len(shared) < full.n_stimuli:
            log.info("%s: noise ceiling on the %d shared stimuli (of %d)", part.reference, len(shared), full.n_stimuli)
            half_a, half_b, full = half_a.select(shared), half_b.select(shared), full.select(shared)
    return noise_ceiling(half_a, half_b, metrics=metrics, full=full, ties=ties, backend=backend)


def reference_ceiling(
    reference: str,
    *,
    data_root: str | os.PathLike[str] | None = None,
    metrics: str | Iterable[str] = METRICS,
    ties: str = "half",
    stimuli: Sequence[str] | None = None,
) -> NoiseCeiling | None:
    """:func:`part_ceiling` of a dataset reference such as ``peterson2018:animals``."""
    from ..data.references import matrix_part

    return part_ceiling(matrix_part(reference, data_root=data_root), metrics=metrics, ties=ties, stimuli=stimuli)


# -- per-participant ratings --------------------------------------------------------------


def read_ratings(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a long ratings table (CSV or TSV) with columns ``participant, stim_a, stim_b, rating``."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: ratings file not found.")
    sep = "\t" if p.suffix.lower() == ".tsv" else ","
    try:
        table = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not a readable ratings table ({exc}).") from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in RATING_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"{p}: a ratings table needs the columns {', '.join(RATING_COLUMNS)}; missing {', '.join(missing)} "
            f"(it has {preview(list(table.columns), 8)})."
        )
    rating = pd.to_numeric(table["rating"], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(rating.to_numpy(dtype=np.float64)))
    if bad.size:
        raise InputError(
            f"{p}: {bad.size} ratings are not finite numbers; first at line {int(bad[0]) + 2}: "
            f"{table['rating'].iloc[int(bad[0])]!r}."
        )
    out = table[list(RATING_COLUMNS)].copy()
    for c in ("participant", "stim_a", "stim_b"):
        out[c] = out[c].astype(str).str.strip()
    out["rating"] = rating.astype(np.float64)
    return out


@dataclass
class _Ratings:
    ids: list[str]
    pair: np.ndarray  # index into the upper triangle
    participant: np.ndarray  # participant code per rating
    rating: np.ndarray
    n_participants: int
    participant_ids: list[str]

    @property
    def n_pairs(self) -> int:
        n = len(self.ids)
        return n * (n - 1) // 2


def _prepare_ratings(ratings: pd.DataFrame, source: str) -> _Ratings:
    if not isinstance(ratings, pd.DataFrame):
        raise InputError(f"{source}: ratings must be a DataFrame (see read_ratings); got {type(ratings).__name__}.")
    missing = [c for c in RATING_COLUMNS if c not in ratings.columns]
    if missing:
        raise InputError(f"{source}: the ratings lack the columns {', '.join(missing)}.")
    a = ratings["stim_a"].astype(str).to_numpy()
    b = ratings["stim_b"].astype(str).to_numpy()
    rating = pd.to_numeric(ratings["rating"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(rating).all():
        raise InputError(f"{source}: {int((~np.isfinite(rating)).sum())} ratings are missing or not finite.")
    same = a == b
    if same.any():
        log.info("%s: %d ratings of a stimulus with itself are not used", source, int(same.sum()))
        a, b, rating = a[~same], b[~same], rating[~same]
        participants_col = ratings["participant"].astype(str).to_numpy()[~same]
    else:
        participants_col = ratings["participant"].astype(str).to_numpy()
    ids = sorted(set(a) | set(b))
    if len(ids) < 3:
        raise InputError(f"{source}: the ratings cover {len(ids)} stimuli; at least 3 are needed.")
    index = {x: i for i, x in enumerate(ids)}
    ia = np.fromiter((index[x] for x in a), dtype=np.int64, count=a.size)
    ib = np.fromiter((index[x] for x in b), dtype=np.int64, count=b.size)
    i, j = np.minimum(ia, ib), np.maximum(ia, ib)
    n = len(ids)
    pair = i * n - i * (i + 1) // 2 + (j - i - 1)  # row-major upper-triangle index
    codes, uniques = pd.factorize(pd.Series(participants_col), sort=True)
    if uniques.size < 2:
        raise InputError(f"{source}: ratings from {uniques.size} participant; split halves need at least 2.")
    return _Ratings(ids, pair, codes.astype(np.int64), rating, int(uniques.size), [str(u) for u in uniques])


def _pair_names(r: _Ratings, pairs: np.ndarray) -> list[str]:
    iu, ju = np.triu_indices(len(r.ids), k=1)
    return [f"({r.ids[iu[p]]}, {r.ids[ju[p]]})" for p in pairs]


def _matrix(r: _Ratings, mask: np.ndarray | None, kind: str) -> tuple[np.ndarray, np.ndarray]:
    pair = r.pair if mask is None else r.pair[mask]
    rating = r.rating if mask is None else r.rating[mask]
    sums = np.bincount(pair, weights=rating, minlength=r.n_pairs)
    counts = np.bincount(pair, minlength=r.n_pairs)
    n = len(r.ids)
    m = np.zeros((n, n))
    iu = np.triu_indices(n, k=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m[iu] = sums / counts
    m = m + m.T
    off = m[iu][counts > 0]
    np.fill_diagonal(m, off.max() if kind == "similarity" else 0.0)  # the diagonal is not used by any metric
    return m, counts


def ratings_matrix(
    ratings: pd.DataFrame, *, kind: str = "similarity", name: str = "ratings", participants: Iterable[str] | None = None
) -> Representation:
    """The mean rating of every stimulus pair as a matrix (optionally over some participants only).

    Pairs ``(a, b)`` and ``(b, a)`` are the same pair; ratings of a stimulus with itself are
    not used; the diagonal is filled with the largest mean rating (similarity) or 0
    (dissimilarity) and is never used by a metric.

    Raises
    ------
    InputError
        When a pair has no rating (the message lists them).
    """
    check_option("kind", kind, ("similarity", "dissimilarity"))
    r = _prepare_ratings(ratings, name)
    mask = None
    if participants is not None:
        wanted = {str(p) for p in participants}
        unknown = sorted(wanted - set(r.participant_ids))
        if unknown:
            raise InputError(f"{name}: unknown participants {preview(unknown)}.")
        mask = np.isin(r.participant, [i for i, p in enumerate(r.participant_ids) if p in wanted])
    m, counts = _matrix(r, mask, kind)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise InputError(
            f"{name}: {empty.size} of the {r.n_pairs} stimulus pairs have no rating: {preview(_pair_names(r, empty))}."
        )
    return Representation(r.ids, m, kind=kind, name=name, meta={"n_ratings": int(counts.sum())})


def ratings_noise_ceiling(
    ratings: pd.DataFrame,
    *,
    metrics: str | Iterable[str] = METRICS,
    n_splits: int = 100,
    seed: int | np.random.Generator | None = 0,
    kind: str = "similarity",
    ties: str = "half",
    backend: str = "auto",
    max_redraws: int = 100,
    name: str = "ratings",
    progress: bool | None = None,
) -> NoiseCeiling:
    """Noise ceiling of each metric from per-participant ratings, averaged over random split halves.

    Each split assigns a random half of the participants (``n // 2``) to ``H1`` and the
    rest to ``H2``. A split that leaves some pair unrated in a half is redrawn (at most
    ``max_redraws`` times in a row).

    Parameters
    ----------
    ratings : DataFrame
        Columns ``participant, stim_a, stim_b, rating`` (see :func:`read_ratings`).
    metrics, ties, backend
        As for :func:`noise_ceiling`.
    n_splits : int
        Random splits averaged.
    seed : int or Generator
    kind : {"similarity", "dissimilarity"}
        What the ratings measure.
    progress : bool, optional
        ``False`` hides the progress of the splits (shown for steps over a second).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [(p, a, b, (a == "x") + rng.normal(0, 0.3)) for p in range(6)
    ...         for a, b in [("x", "y"), ("x", "z"), ("y", "z"), ("x", "w"), ("y", "w"), ("z", "w")]]
    >>> df = pd.DataFrame(rows, columns=["participant", "stim_a", "stim_b", "rating"])
    >>> c = ratings_noise_ceiling(df, metrics="spearman", n_splits=5)
    >>> c.method, c["spearman"].n_splits
    ('ratings', 5)
    """
    metric_list = parse_list("metric", metrics, METRICS)
    check_option("kind", kind, ("similarity", "dissimilarity"))
    if int(n_splits) < 1:
        raise InputError(f"n_splits must be a positive integer; got {n_splits}.")
    r = _prepare_ratings(ratings, name)
    full_m, counts = _matrix(r, None, kind)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise InputError(
            f"{name}: {empty.size} of the {r.n_pairs} stimulus pairs have no rating: {preview(_pair_names(r, empty))}."
        )
    rated = np.unique(r.participant * r.n_pairs + r.pair)  # distinct (participant, pair)
    raters = np.bincount(rated % r.n_pairs, minlength=r.n_pairs)
    few = np.flatnonzero(raters < 2)
    if few.size:
        raise InputError(
            f"{name}: {few.size} stimulus pairs were rated by fewer than 2 participants, so no split gives both "
            f"halves a rating of them: {preview(_pair_names(r, few))}."
        )
    full = Representation(r.ids, full_m, kind=kind, name=f"{name} (all participants)")
    rng = make_rng(seed)
    lows = {m: [] for m in metric_list}
    ups = {m: [] for m in metric_list}
    redraws = 0
    half_size = r.n_participants // 2
    for _ in show_progress(range(int(n_splits)), desc="noise ceiling (random splits)", unit="split", enabled=progress):
        for attempt in range(int(max_redraws) + 1):
            in_a = np.zeros(r.n_participants, dtype=bool)
            in_a[rng.permutation(r.n_participants)[:half_size]] = True
            mask = in_a[r.participant]
            ma, ca = _matrix(r, mask, kind)
            mb, cb = _matrix(r, ~mask, kind)
            if (ca > 0).all() and (cb > 0).all():
                break
            redraws += 1
        else:
            worst = np.argsort(raters)[:5]
            raise InputError(
                f"{name}: {max_redraws + 1} random splits in a row left some pair unrated in one half; the pairs "
                f"with the fewest raters are {', '.join(_pair_names(r, worst))} "
                f"({', '.join(str(int(raters[w])) for w in worst)} participants)."
            )
        a = Representation(r.ids, ma, kind=kind, name=f"{name} (half A)")
        b = Representation(r.ids, mb, kind=kind, name=f"{name} (half B)")
        lower, upper = _half_scores(a, b, full, metric_list, ties, backend)
        for m in metric_list:
            lows[m].append(lower[m])
            ups[m].append(upper[m])
    estimates = {}
    for m in metric_list:
        lo, up = np.asarray(lows[m]), np.asarray(ups[m])
        corrected, note = _corrected(m, float(lo.mean()))
        estimates[m] = CeilingEstimate(
            m, float(lo.mean()), float(up.mean()), corrected,
            float(lo.std(ddof=1)) if lo.size > 1 else 0.0, float(up.std(ddof=1)) if up.size > 1 else 0.0,
            int(n_splits), note,
        )
    details = {"n_participants": r.n_participants, "n_ratings": int(r.rating.size), "redrawn_splits": redraws}
    return NoiseCeiling(estimates, len(r.ids), name, "ratings", None, details)

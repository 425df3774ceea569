"""Alignment metrics between two representations of the same stimuli.

One public function per metric (:func:`pearson`, :func:`spearman`, :func:`kendall`,
:func:`triplet_agreement`, :func:`sampled_triplet_agreement`), a dispatcher that
computes several at once (:func:`compare`), optionally with bootstrap confidence
intervals over stimuli, and a batch call for many models against one human
representation (:func:`compare_many`).

Every metric reads *similarities*: feature representations are turned into a
similarity matrix with ``similarity=`` (cosine by default) and dissimilarity matrices are
negated, so a metric never sees the two kinds mixed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._progress import progress
from .._validation import check_option, parse_list
from ..representations import Representation, match_stimuli
from ..similarity import SIMILARITY_FUNCTIONS
from ._concordance import BACKENDS
from .rsa import kendall_tau_a_from_vectors, pearson_from_vectors, spearman_from_vectors, upper_triangle
from .triplets import (
    TIE_POLICIES,
    TripletCounts,
    TripletSample,
    sampled_triplet_agreement_from_similarity,
    triplet_counts,
)

__all__ = [
    "METRICS",
    "DEFAULT_METRICS",
    "TIE_POLICIES",
    "Alignment",
    "compare",
    "compare_many",
    "pearson",
    "spearman",
    "kendall",
    "triplet_agreement",
    "sampled_triplet_agreement",
    "TripletCounts",
    "TripletSample",
]

#: Metrics computed by :func:`compare`, in display order.
METRICS: tuple[str, ...] = ("pearson", "spearman", "kendall", "triplet")
#: The three metrics of the paper.
DEFAULT_METRICS: tuple[str, ...] = ("pearson", "spearman", "triplet")


class _Pair:
    """Two similarity matrices in one stimulus order, with derived vectors computed once."""

    def __init__(self, sim_a: np.ndarray, sim_b: np.ndarray, names: tuple[str, str], backend: str, ties: str):
        self.sim_a, self.sim_b = sim_a, sim_b
        self.names, self.backend, self.ties = names, backend, ties
        self._vec: tuple[np.ndarray, np.ndarray] | None = None
        self.triplet_counts: TripletCounts | None = None

    @property
    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        if self._vec is None:
            self._vec = (upper_triangle(self.sim_a), upper_triangle(self.sim_b))
        return self._vec


def _metric_pearson(p: _Pair) -> float:
    return pearson_from_vectors(*p.vectors, names=p.names)


def _metric_spearman(p: _Pair) -> float:
    return spearman_from_vectors(*p.vectors, names=p.names)


def _metric_kendall(p: _Pair) -> float:
    return kendall_tau_a_from_vectors(*p.vectors, names=p.names, backend=p.backend)


def _metric_triplet(p: _Pair) -> float:
    p.triplet_counts = triplet_counts(p.sim_a, p.sim_b, backend=p.backend)
    return p.triplet_counts.agreement(p.ties)


_METRIC_FUNCTIONS: dict[str, Callable[[_Pair], float]] = {
    "pearson": _metric_pearson,
    "spearman": _metric_spearman,
    "kendall": _metric_kendall,
    "triplet": _metric_triplet,
}


@dataclass(frozen=True)
class Alignment:
    """Scores of one representation pair.

    Attributes
    ----------
    n_stimuli : int
        Stimuli compared (after matching ids).
    scores : dict
        Metric name -> value.
    intervals : dict
        Metric name -> (low, high) bootstrap percentile interval; empty without bootstrap.
    similarity, ties : str
        The settings used.
    n_bootstrap : int
        Bootstrap resamples behind ``intervals`` (0 for none).
    details : dict
        Extra facts, e.g. ``triplet_counts``.
    """

    n_stimuli: int
    scores: dict[str, float]
    similarity: str
    ties: str
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    n_bootstrap: int = 0
    confidence: float = 0.95
    details: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> float:
        return self.scores[metric]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``n_stimuli``, one key per metric, then settings and intervals."""
        out: dict[str, Any] = {"n_stimuli": self.n_stimuli, **self.scores}
        out["similarity"] = self.similarity
        out["ties"] = self.ties
        if self.intervals:
            out["ci"] = {m: list(v) for m, v in self.intervals.items()}
            out["confidence"] = self.confidence
            out["n_bootstrap"] = self.n_bootstrap
        out.update(self.details)
        return out


def _similarities(
    a: Representation, b: Representation, similarity: str, how: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, str], int]:
    for rep, label in ((a, "a"), (b, "b")):
        if not isinstance(rep, Representation):
            raise InputError(
                f"{label} must be a Representation, got {type(rep).__name__}. Wrap arrays with "
                "Representation.from_features / from_similarity / from_dissimilarity so the kind is explicit."
            )
    a, b = match_stimuli(a, b, how=how)
    return a.similarity(similarity), b.similarity(similarity), (a.name or "A", b.name or "B"), a.n_stimuli


def _check_common(similarity: str, ties: str, backend: str) -> None:
    check_option("similarity", similarity, SIMILARITY_FUNCTIONS)
    check_option("ties", ties, TIE_POLICIES)
    check_option("backend", backend, BACKENDS)


def _score(pair: _Pair, metrics: Sequence[str]) -> dict[str, float]:
    return {m: _METRIC_FUNCTIONS[m](pair) for m in metrics}


def _bootstrap(
    sim_a: np.ndarray,
    sim_b: np.ndarray,
    metrics: Sequence[str],
    *,
    n_resamples: int,
    confidence: float,
    rng: np.random.Generator,
    ties: str,
    backend: str,
    names: tuple[str, str],
) -> dict[str, tuple[float, float]]:
    """Percentile intervals from resampling stimuli with replacement.

    Pairs and triplets that would compare a stimulus with a copy of itself are left out,
    so each resample scores only distinct stimuli, weighted by how often they were drawn.
    Resamples with fewer than 3 distinct stimuli are redrawn.
    """
    n = sim_a.shape[0]
    draws = {m: np.empty(n_resamples) for m in metrics}
    iu, ju = np.triu_indices(n, k=1)
    done = 0
    bar = progress(total=n_resamples, desc="bootstrap", unit="resample")
    while done < n_resamples:
        idx = np.sort(rng.integers(0, n, size=n))
        if np.unique(idx).size < 3:
            continue
        sa = sim_a[np.ix_(idx, idx)]
        sb = sim_b[np.ix_(idx, idx)]
        keep = idx[iu] != idx[ju]
        va, vb = sa[iu[keep], ju[keep]], sb[iu[keep], ju[keep]]
        try:
            for m in metrics:
                if m == "pearson":
                    draws[m][done] = pearson_from_vectors(va, vb, names=names)
                elif m == "spearman":
                    draws[m][done] = spearman_from_vectors(va, vb, names=names)
                elif m == "kendall":
                    draws[m][done] = kendall_tau_a_from_vectors(va, vb, names=names, backend=backend)
                else:
                    draws[m][done] = triplet_counts(sa, sb, groups=idx, backend=backend).agreement(ties)
        except InputError:
            continue  # a degenerate resample (e.g. constant similarities): redraw it
        done += 1
        bar.update()
    bar.close()
    alpha = (1 - confidence) / 2
    return {m: (float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))) for m, v in draws.items()}


def compare(
    a: Representation,
    b: Representation,
    *,
    metrics: str | Iterable[str] = DEFAULT_METRICS,
    similarity: str = "cosine",
    ties: str = "half",
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
    how: str = "exact",
    backend: str = "auto",
) -> Alignment:
    """Compute several alignment metrics between two representations.

    Parameters
    ----------
    a, b : Representation
        Matched by stimulus id (reordered as needed).
    metrics : str or iterable of str
        Any of ``pearson``, ``spearman``, ``kendall`` (tau-a), ``triplet``; a
        comma-separated string is accepted.
    similarity : {"cosine", "correlation", "euclidean", "dot"}
        How feature representations become similarity matrices.
    ties : {"half", "exclude"}
        Tie policy of the triplet metric (see :mod:`repalign.metrics.triplets`).
    bootstrap : int, default 0
        Number of stimulus resamples for percentile confidence intervals (0: none).
    confidence : float, default 0.95
    seed : int or Generator, optional
        Seeds the bootstrap.
    how : {"exact", "intersect"}
        Stimulus matching (see :func:`repalign.match_stimuli`).
    backend : {"auto", "numba", "numpy"}
        Kernel for triplet and Kendall counts.

    Returns
    -------
    Alignment

    Examples
    --------
    >>> import numpy as np
    >>> from repalign import Representation
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(6, 4))
    >>> a = Representation.from_features(list("abcdef"), x)
    >>> b = Representation.from_features(list("abcdef"), x + 0.01 * rng.normal(size=x.shape))
    >>> r = compare(a, b, metrics="pearson,triplet")
    >>> round(r["pearson"], 3), r["triplet"]
    (1.0, 1.0)
    """
    metrics = parse_list("metric", metrics, METRICS)
    _check_common(similarity, ties, backend)
    if int(bootstrap) < 0:
        raise InputError(f"bootstrap must be >= 0; got {bootstrap}.")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1); got {confidence}.")
    sim_a, sim_b, names, n = _similarities(a, b, similarity, how)
    pair = _Pair(sim_a, sim_b, names, backend, ties)
    scores = _score(pair, metrics)
    details: dict[str, Any] = {}
    if pair.triplet_counts is not None:
        details["triplet_counts"] = pair.triplet_counts.to_dict()
    intervals: dict[str, tuple[float, float]] = {}
    if bootstrap:
        intervals = _bootstrap(
            sim_a, sim_b, metrics, n_resamples=int(bootstrap), confidence=confidence,
            rng=np.random.default_rng(seed), ties=ties, backend=backend, names=names,
        )
    return Alignment(n, scores, similarity, ties, intervals, int(bootstrap), confidence, details)


def compare_many(
    models: Mapping[str, Representation] | Sequence[Representation],
    reference: Representation,
    *,
    metrics: str | Iterable[str] = DEFAULT_METRICS,
    similarity: str = "cosine",
    ties: str = "half",
    how: str = "exact",
    backend: str = "auto",
) -> pd.DataFrame:
    """Compare many model representations with one reference (human) representation.

    The reference's similarity matrix is computed once and reused.

    Returns
    -------
    DataFrame
        One row per model with columns ``model``, ``n_stimuli`` and one column per metric.

    Examples
    --------
    >>> import numpy as np
    >>> from repalign import Representation
    >>> ids = list("abcde")
    >>> rng = np.random.default_rng(1)
    >>> human = Representation.from_features(ids, rng.normal(size=(5, 3)))
    >>> zoo = {f"m{i}": Representation.from_features(ids, rng.normal(size=(5, 8))) for i in range(3)}
    >>> compare_many(zoo, human).columns.tolist()
    ['model', 'n_stimuli', 'pearson', 'spearman', 'triplet']
    """
    metrics = parse_list("metric", metrics, METRICS)
    _check_common(similarity, ties, backend)
    items = list(models.items()) if isinstance(models, Mapping) else [(m.name or f"model_{i}", m) for i, m in enumerate(models)]
    ref_sim_cache: dict[tuple[str, ...], np.ndarray] = {}
    rows = []
    for model_name, rep in items:
        rep_m, ref_m = match_stimuli(rep, reference, how=how)
        key = ref_m.ids
        if key not in ref_sim_cache:
            ref_sim_cache[key] = ref_m.similarity(similarity)
        pair = _Pair(rep_m.similarity(similarity), ref_sim_cache[key], (model_name, reference.name or "reference"), backend, ties)
        rows.append({"model": model_name, "n_stimuli": rep_m.n_stimuli, **_score(pair, metrics)})
    return pd.DataFrame(rows, columns=["model", "n_stimuli", *metrics])


def _single(metric: str, a: Representation, b: Representation, **kwargs: Any) -> float:
    return compare(a, b, metrics=[metric], **kwargs)[metric]


def pearson(a: Representation, b: Representation, *, similarity: str = "cosine", how: str = "exact") -> float:
    """Pearson correlation of the pairwise similarities (upper triangle) of ``a`` and ``b``."""
    return _single("pearson", a, b, similarity=similarity, how=how)


def spearman(a: Representation, b: Representation, *, similarity: str = "cosine", how: str = "exact") -> float:
    """Spearman correlation of the pairwise similarities (upper triangle) of ``a`` and ``b``."""
    return _single("spearman", a, b, similarity=similarity, how=how)


def kendall(a: Representation, b: Representation, *, similarity: str = "cosine", how: str = "exact", backend: str = "auto") -> float:
    """Kendall's tau-a of the pairwise similarities (upper triangle), in O(N log N)."""
    return _single("kendall", a, b, similarity=similarity, how=how, backend=backend)


def triplet_agreement(
    a: Representation, b: Representation, *, similarity: str = "cosine", ties: str = "half", how: str = "exact", backend: str = "auto"
) -> float:
    """Exact agreement over all ``n (n - 1) (n - 2) / 2`` similarity triplets.

    Examples
    --------
    >>> import numpy as np
    >>> from repalign import Representation
    >>> a = Representation.from_features(list("abcd"), np.arange(8.0).reshape(4, 2) ** 2)
    >>> triplet_agreement(a, a, similarity="euclidean")
    1.0
    """
    return _single("triplet", a, b, similarity=similarity, ties=ties, how=how, backend=backend)


def sampled_triplet_agreement(
    a: Representation,
    b: Representation,
    *,
    n_triplets: int = 100_000,
    similarity: str = "cosine",
    ties: str = "half",
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
    how: str = "exact",
) -> TripletSample:
    """Triplet agreement on random triplets with a Wilson interval (stochastic alignment)."""
    _check_common(similarity, ties, "auto")
    sim_a, sim_b, _, _ = _similarities(a, b, similarity, how)
    return sampled_triplet_agreement_from_similarity(
        sim_a, sim_b, n_triplets=n_triplets, ties=ties, confidence=confidence, seed=seed
    )

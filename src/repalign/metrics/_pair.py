"""Two representations in one stimulus order, with what each metric reads computed once."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .._errors import InputError, RepalignError
from ..representations import Representation
from ..similarity import similarity_up_to_scale
from ._registry import REGISTRY
from .cka import linear_cka, linear_cka_debiased
from .rsa import kendall_tau_a_from_vectors, pearson_from_vectors, power_of_two_scale, spearman_from_vectors, upper_triangle
from .triplets import TripletCounts, triplet_counts

__all__ = ["Pair", "scaled_similarity", "METRIC_FUNCTIONS", "check_finite_scores", "require_features"]


def scaled_similarity(rep: Representation, method: str) -> np.ndarray:
    """A positive multiple of ``rep.similarity(method)`` whose largest magnitude is in [0.5, 1].

    Every metric is invariant to a positive factor, and values of any magnitude (1e-300,
    1e300) then stay clear of underflow and overflow in every product.
    """
    if rep.kind == "features":
        try:
            return similarity_up_to_scale(rep.values, method, ids=rep.ids)
        except InputError as exc:  # name the input: "3 stimuli have all-zero feature vectors" alone does not
            if rep.name and not str(exc).startswith(rep.name):
                raise InputError(f"{rep.name}: {exc}") from exc
            raise
    sim = rep.similarity(method)
    sim /= power_of_two_scale(sim)
    return sim


def require_features(rep: Representation, metric: str) -> np.ndarray:
    if rep.kind != "features":
        raise InputError(
            f"{rep.name or 'representation'} is a {rep.kind} matrix, but --metric {metric} needs features: "
            "linear CKA is computed from the feature vectors (their centred Gram matrix), which a similarity "
            "or dissimilarity matrix does not determine. Pass the features themselves (an .npz with 'features', "
            "a feature table), or use pearson, spearman, kendall or triplet, which read matrices."
        )
    return np.asarray(rep.values)


class Pair:
    """Two representations in one stimulus order; similarities and vectors computed on first use."""

    def __init__(self, a: Representation, b: Representation, similarity: str, backend: str, ties: str,
                 names: tuple[str, str] | None = None, sim_b: np.ndarray | None = None):
        self.a, self.b = a, b
        self.similarity, self.backend, self.ties = similarity, backend, ties
        self.names = names or (a.name or "A", b.name or "B")
        self._sim: dict[str, np.ndarray] = {} if sim_b is None else {"b": sim_b}
        self._vec: tuple[np.ndarray, np.ndarray] | None = None
        self.triplet_counts: TripletCounts | None = None

    def sim(self, which: str) -> np.ndarray:
        if which not in self._sim:
            self._sim[which] = scaled_similarity(self.a if which == "a" else self.b, self.similarity)
        return self._sim[which]

    @property
    def sim_a(self) -> np.ndarray:
        return self.sim("a")

    @property
    def sim_b(self) -> np.ndarray:
        return self.sim("b")

    @property
    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        if self._vec is None:
            self._vec = (upper_triangle(self.sim_a), upper_triangle(self.sim_b))
        return self._vec

    def features(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        return require_features(self.a, metric), require_features(self.b, metric)


def _pearson(p: Pair) -> float:
    return pearson_from_vectors(*p.vectors, names=p.names)


def _spearman(p: Pair) -> float:
    return spearman_from_vectors(*p.vectors, names=p.names)


def _kendall(p: Pair) -> float:
    return kendall_tau_a_from_vectors(*p.vectors, names=p.names, backend=p.backend)


def _triplet(p: Pair) -> float:
    p.triplet_counts = triplet_counts(p.sim_a, p.sim_b, backend=p.backend)
    return p.triplet_counts.agreement(p.ties)


def _cka(p: Pair) -> float:
    return linear_cka(*p.features("cka"), names=p.names)


def _cka_debiased(p: Pair) -> float:
    return linear_cka_debiased(*p.features("cka-debiased"), names=p.names)


METRIC_FUNCTIONS: dict[str, Callable[[Pair], float]] = {
    "pearson": _pearson,
    "spearman": _spearman,
    "kendall": _kendall,
    "triplet": _triplet,
    "cka": _cka,
    "cka-debiased": _cka_debiased,
}
if set(METRIC_FUNCTIONS) != set(REGISTRY):  # pragma: no cover - a programming error, caught at import
    raise RepalignError("metric registry and metric functions disagree")


def check_finite_scores(scores: dict[str, float], names: tuple[str, str]) -> None:
    """Every reported value is finite, or the run says which metric failed (never a silent NaN)."""
    bad = {m: v for m, v in scores.items() if not np.isfinite(v)}
    if bad:
        raise InputError(
            f"{names[0]} vs {names[1]}: {', '.join(bad)} came out non-finite ({bad}); the representations "
            "are degenerate for this metric (e.g. constant similarities)."
        )


def score(pair: Pair, metrics: Sequence[str]) -> dict[str, float]:
    scores = {m: float(METRIC_FUNCTIONS[m](pair)) for m in metrics}
    check_finite_scores(scores, pair.names)
    return scores

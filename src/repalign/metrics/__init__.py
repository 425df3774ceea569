"""Alignment metrics between two representations of the same stimuli.

One public function per metric (:func:`pearson`, :func:`spearman`, :func:`kendall`,
:func:`triplet_agreement`, :func:`sampled_triplet_agreement`, :func:`cka`,
:func:`cka_debiased`), a dispatcher that computes several at once (:func:`compare`),
optionally with bootstrap confidence intervals over stimuli, and a batch call for many
models against one human representation (:func:`compare_many`). :data:`REGISTRY` lists
every metric with what it reads and the range of its values.

The matrix metrics read *similarities*: feature representations are turned into a
similarity matrix with ``similarity=`` (cosine by default) and dissimilarity matrices are
negated, so a metric never sees the two kinds mixed. CKA reads the features themselves.
"""

from __future__ import annotations

import numpy as np

from ..representations import Representation
from ._registry import ALL_METRICS, DEFAULT_METRICS, FEATURE_METRICS, METRICS, REGISTRY, MetricSpec, metric_spec
from .alignment import ALIGNMENT_FRAME_COLUMNS, Alignment
from .compare import _check_common, as_representation, compare, compare_many
from .triplets import TIE_POLICIES, TripletCounts, TripletSample, sampled_triplet_agreement_from_similarity

__all__ = [
    "METRICS",
    "FEATURE_METRICS",
    "ALL_METRICS",
    "DEFAULT_METRICS",
    "REGISTRY",
    "MetricSpec",
    "metric_spec",
    "TIE_POLICIES",
    "Alignment",
    "ALIGNMENT_FRAME_COLUMNS",
    "compare",
    "compare_many",
    "pearson",
    "spearman",
    "kendall",
    "triplet_agreement",
    "sampled_triplet_agreement",
    "cka",
    "cka_debiased",
    "TripletCounts",
    "TripletSample",
]


def _single(metric: str, a: Representation, b: Representation, **kwargs: object) -> float:
    return compare(a, b, metrics=[metric], **kwargs)[metric]  # type: ignore[arg-type]


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


def cka(a: Representation, b: Representation, *, how: str = "exact") -> float:
    """Linear CKA of two feature representations (Kornblith et al. 2019); see :mod:`.cka`.

    Examples
    --------
    >>> import numpy as np
    >>> from repalign import Representation
    >>> x = np.random.default_rng(0).normal(size=(10, 4))
    >>> a = Representation.from_features(list("abcdefghij"), x)
    >>> b = Representation.from_features(list("abcdefghij"), 3 * x + 1)
    >>> round(cka(a, b), 12)
    1.0
    """
    return _single("cka", a, b, how=how)


def cka_debiased(a: Representation, b: Representation, *, how: str = "exact") -> float:
    """Linear CKA with the unbiased HSIC estimator (Song et al. 2012); see :mod:`.cka`."""
    return _single("cka-debiased", a, b, how=how)


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
    from ..representations import match_stimuli
    from ._pair import scaled_similarity

    _check_common(similarity, ties, "auto")
    a, b = match_stimuli(as_representation(a, "a"), as_representation(b, "b"), how=how)
    return sampled_triplet_agreement_from_similarity(
        scaled_similarity(a, similarity), scaled_similarity(b, similarity),
        n_triplets=n_triplets, ties=ties, confidence=confidence, seed=seed,
    )

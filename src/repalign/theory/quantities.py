"""The paper's quantities on representations: D_R, D_P, alignment, domain-shift sensitivity.

* Triplet misalignment ``D_R(A, B; x)`` (Definition 3.5): the share of the
  ``n (n - 1) (n - 2) / 2`` triplets of the shared objects that the two representations
  answer differently. Computed exactly in O(n^2 log n) by :mod:`repalign.metrics`.
* Stochastic misalignment ``D_P(A, B; X)`` (Definition 3.6): the probability that a
  uniformly drawn triplet is answered differently; estimated here by sampling triplets,
  with a confidence interval. (The paper's Definition 3.6 prints ``P(1_A = 1_B)``, the
  probability of *agreement*; the proofs use it as the flip probability, so
  ``D_P = P(1_A != 1_B)`` is what is implemented.)
* Alignment is ``1 - D`` for either; in the channel picture ``eps = D_P``.
* Domain-shift sensitivity ``sigma_A(c, c*)`` (Definition A.1): the share of triplets
  over the data and ``k`` class centroids that flip when the centroids move.

Ties follow :mod:`repalign.metrics.triplets`: with ``ties="half"`` a triplet tied in one
representation only counts as half a disagreement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option
from ..metrics import sampled_triplet_agreement, triplet_agreement
from ..metrics.triplets import TIE_POLICIES, triplet_counts
from ..representations import Representation
from ..similarity import SIMILARITY_FUNCTIONS, similarity_matrix
from .capacity import _as_probability, capacity

__all__ = [
    "triplet_misalignment",
    "StochasticMisalignment",
    "stochastic_misalignment",
    "alignment_from_misalignment",
    "misalignment_from_alignment",
    "channel_capacity_of",
    "class_centroids",
    "DomainShiftSensitivity",
    "domain_shift_sensitivity",
]


def triplet_misalignment(
    a: Representation,
    b: Representation,
    *,
    similarity: str = "cosine",
    ties: str = "half",
    how: str = "exact",
    backend: str = "auto",
) -> float:
    """Exact triplet misalignment ``D_R(A, B)`` of Definition 3.5: ``1 -`` triplet agreement.

    All ``n (n - 1) (n - 2) / 2`` triplets are counted in O(n^2 log n)
    (:func:`repalign.triplet_agreement`); options as there.

    Examples
    --------
    >>> import numpy as np
    >>> from repalign import Representation
    >>> x = np.random.default_rng(0).normal(size=(8, 3))
    >>> a = Representation.from_features(list("abcdefgh"), x)
    >>> triplet_misalignment(a, a)
    0.0
    >>> b = Representation.from_similarity(list("abcdefgh"), -a.similarity())
    >>> triplet_misalignment(a, b)
    1.0
    """
    return 1.0 - triplet_agreement(a, b, similarity=similarity, ties=ties, how=how, backend=backend)


@dataclass(frozen=True)
class StochasticMisalignment:
    """An estimate of ``D_P`` from sampled triplets, with a Wilson interval."""

    estimate: float
    ci_low: float
    ci_high: float
    n_sampled: int
    n_used: int
    confidence: float

    @property
    def alignment(self) -> float:
        """``1 - D_P``."""
        return 1.0 - self.estimate

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stochastic_misalignment(
    a: Representation,
    b: Representation,
    *,
    n_triplets: int = 100_000,
    similarity: str = "cosine",
    ties: str = "half",
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
    how: str = "exact",
) -> StochasticMisalignment:
    """Estimate the stochastic misalignment ``D_P(A, B)`` of Definition 3.6 by sampling triplets.

    Triplets are drawn uniformly (with replacement) from the shared objects; the
    estimate is the share answered differently, with a Wilson interval (conservative
    with ``ties="half"``). On a fixed set of objects its expectation is exactly ``D_R``.

    Examples
    --------
    >>> import numpy as np
    >>> from repalign import Representation
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(30, 4))
    >>> a = Representation.from_features(range(30), x)
    >>> b = Representation.from_features(range(30), x + 0.5 * rng.normal(size=x.shape))
    >>> est = stochastic_misalignment(a, b, n_triplets=20_000, seed=0)
    >>> bool(est.ci_low <= triplet_misalignment(a, b) <= est.ci_high)
    True
    """
    sample = sampled_triplet_agreement(
        a, b, n_triplets=n_triplets, similarity=similarity, ties=ties, confidence=confidence, seed=seed, how=how
    )
    return StochasticMisalignment(
        1.0 - sample.agreement, 1.0 - sample.ci_high, 1.0 - sample.ci_low, sample.n_sampled, sample.n_used, confidence
    )


def alignment_from_misalignment(misalignment: Any) -> float | np.ndarray:
    """``1 - D`` (Definitions 3.5 and 3.6).

    Examples
    --------
    >>> alignment_from_misalignment(0.25)
    0.75
    """
    arr = _as_probability(misalignment, "misalignment")
    out = 1.0 - arr
    return float(out) if out.ndim == 0 else out


def misalignment_from_alignment(alignment: Any) -> float | np.ndarray:
    """``1 - alignment``: the flip probability eps of the teacher-student channel.

    Examples
    --------
    >>> misalignment_from_alignment([1.0, 0.5, 0.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    arr = _as_probability(alignment, "alignment")
    out = 1.0 - arr
    return float(out) if out.ndim == 0 else out


def channel_capacity_of(alignment: Any) -> float | np.ndarray:
    """``C(1 - alignment)``: bits per triplet a student with this alignment receives.

    Examples
    --------
    >>> channel_capacity_of([1.0, 0.5, 0.0]).tolist()
    [1.0, 0.0, 1.0]
    """
    return capacity(misalignment_from_alignment(alignment))


def _as_features(x: Any, name: str) -> np.ndarray:
    if isinstance(x, Representation):
        if x.kind != "features":
            raise InputError(f"{name} must hold features (vectors), not a {x.kind} matrix: centroids live in feature space.")
        x = x.values
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric 2-D array; {exc}.") from exc
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{name} must be a non-empty 2-D array (rows x features); got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or infinite values.")
    return arr


def class_centroids(features: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean feature vector of each class.

    Returns
    -------
    (classes, centroids)
        Sorted class labels and a ``(n_classes, n_features)`` array.

    Examples
    --------
    >>> import numpy as np
    >>> classes, c = class_centroids(np.array([[0.0], [2.0], [10.0]]), [1, 1, 2])
    >>> classes.tolist(), c.ravel().tolist()
    ([1, 2], [1.0, 10.0])
    """
    x = _as_features(features, "features")
    y = np.asarray(labels)
    if y.shape != (x.shape[0],):
        raise InputError(f"labels must have one entry per row of features ({x.shape[0]}); got shape {y.shape}.")
    classes, inverse = np.unique(y, return_inverse=True)
    sums = np.zeros((len(classes), x.shape[1]))
    np.add.at(sums, inverse, x)
    return classes, sums / np.bincount(inverse)[:, None]


@dataclass(frozen=True)
class DomainShiftSensitivity:
    """Definition A.1 on one sample of data.

    Attributes
    ----------
    sigma : float
        Flipped share of all triplets over the ``n`` data points and ``k`` centroids
        (the definition's denominator ``|S_A(x; c)|``).
    sigma_centroid_triplets : float
        Flipped share of the triplets that involve at least one centroid (the only ones
        that can flip); does not shrink as ``n`` grows.
    flipped : float
        Flipped triplets (a tie on one side only counts 1/2 with ``ties="half"``).
    n_triplets, n_centroid_triplets : int
    """

    sigma: float
    sigma_centroid_triplets: float
    flipped: float
    n_triplets: int
    n_centroid_triplets: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def domain_shift_sensitivity(
    data: Any,
    centroids: Any,
    shifted_centroids: Any,
    *,
    similarity: str = "euclidean",
    ties: str = "half",
    backend: str = "auto",
) -> DomainShiftSensitivity:
    """Domain-shift sensitivity ``sigma_A(c, c*)`` of Definition A.1, exactly.

    The triplet representation space of a model is built over the observed data plus
    its ``k`` class centroids, once with the centroids at ``c`` and once at ``c*``; sigma
    is the share of triplets answered differently. All triplets are counted, exactly, in
    O((n + k)^2 log(n + k)) with the machinery of :mod:`repalign.metrics.triplets`. The
    expectation over draws of the data in the definition is estimated by the plug-in
    value on the sample given.

    Parameters
    ----------
    data : array_like or Representation, shape (n, n_features)
        The model's features of the observed data ``x``.
    centroids, shifted_centroids : array_like, shape (k, n_features)
        Class centroids before and after the domain shift (e.g. from
        :func:`class_centroids` on source- and target-domain features).
    similarity : {"euclidean", "cosine", "correlation", "dot"}, default "euclidean"
        Definition 3.1 compares Euclidean distances.
    ties : {"half", "exclude"}
        ``exclude`` counts only triplets strict in both configurations.
    backend : {"auto", "numba", "numpy"}

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, c = rng.normal(size=(20, 2)), rng.normal(size=(3, 2))
    >>> domain_shift_sensitivity(x, c, c).sigma
    0.0
    >>> s = domain_shift_sensitivity(x, c, c + 1.0)
    >>> 0 < s.sigma < s.sigma_centroid_triplets < 1
    True
    """
    check_option("similarity", similarity, SIMILARITY_FUNCTIONS)
    check_option("ties", ties, TIE_POLICIES)
    x = _as_features(data, "data")
    c = _as_features(centroids, "centroids")
    c_star = _as_features(shifted_centroids, "shifted_centroids")
    if c.shape != c_star.shape:
        raise InputError(f"centroids {c.shape} and shifted_centroids {c_star.shape} must have the same shape.")
    if c.shape[1] != x.shape[1]:
        raise InputError(f"centroids have {c.shape[1]} features but data has {x.shape[1]}; they must live in one space.")
    n, k = x.shape[0], c.shape[0]
    if n + k < 3:
        raise InputError(f"need at least 3 objects (data + centroids) to form a triplet; got {n + k}.")
    before = similarity_matrix(np.vstack([x, c]), similarity)
    after = similarity_matrix(np.vstack([x, c_star]), similarity)
    counts = triplet_counts(before, after, backend=backend)
    disagreement = 1.0 - counts.agreement(ties)
    total = n + k
    n_trip = total * (total - 1) * (total - 2) // 2
    data_only = n * (n - 1) * (n - 2) // 2
    if ties == "half":
        denominator = counts.n_triplets
    else:
        denominator = counts.concordant + counts.discordant
    flipped = disagreement * denominator
    n_centroid = n_trip - data_only
    # Data-only triplets never change, so every flip is among the centroid triplets.
    return DomainShiftSensitivity(
        sigma=disagreement,
        sigma_centroid_triplets=flipped / n_centroid if ties == "half" else _exclude_share(counts, before, after, n, backend),
        flipped=float(flipped),
        n_triplets=int(n_trip),
        n_centroid_triplets=int(n_centroid),
    )


def _exclude_share(whole: Any, before: np.ndarray, after: np.ndarray, n: int, backend: str) -> float:
    """Discordant share among centroid triplets strict in both, via whole minus data-only counts."""
    if n >= 3:
        part = triplet_counts(before[:n, :n], after[:n, :n], backend=backend)
        conc, disc = whole.concordant - part.concordant, whole.discordant - part.discordant
    else:
        conc, disc = whole.concordant, whole.discordant
    if conc + disc == 0:
        raise InputError("ties='exclude' leaves no centroid triplet strict in both configurations.")
    return disc / (conc + disc)

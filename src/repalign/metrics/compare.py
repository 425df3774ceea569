"""The dispatcher: several metrics of one pair (:func:`compare`) or of many models (:func:`compare_many`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._rsatoolbox import is_rdms
from .._validation import check_option, make_rng, parse_list
from ..representations import Representation, match_stimuli
from ..similarity import SIMILARITY_FUNCTIONS
from ._bootstrap import bootstrap_intervals
from ._concordance import BACKENDS
from ._pair import Pair, scaled_similarity, score
from ._registry import ALL_METRICS, DEFAULT_METRICS
from .alignment import Alignment
from .triplets import TIE_POLICIES

__all__ = ["compare", "compare_many", "as_representation", "MAX_BOOTSTRAP"]

log = logging.getLogger(__name__)

#: The most bootstrap resamples one call draws (their scores are held in memory).
MAX_BOOTSTRAP = 10_000_000


def as_representation(obj: Any, label: str) -> Representation:
    """A :class:`Representation`, or an rsatoolbox ``RDMs`` converted to one (dissimilarities)."""
    if isinstance(obj, Representation):
        return obj
    if is_rdms(obj):
        if int(obj.n_rdm) != 1:  # from_rsatoolbox's rdm= is not an argument of compare
            raise InputError(
                f"{label}: the rsatoolbox RDMs holds {int(obj.n_rdm)} RDMs; compare takes one: pass rdms[i], or "
                "Representation.from_rsatoolbox(rdms, rdm=i)."
            )
        return Representation.from_rsatoolbox(obj)
    raise InputError(
        f"{label} must be a Representation (or an rsatoolbox RDMs), got {type(obj).__name__}. Wrap arrays with "
        "Representation.from_features / from_similarity / from_dissimilarity so the kind is explicit."
    )


def _check_common(similarity: str, ties: str, backend: str) -> None:
    check_option("similarity", similarity, SIMILARITY_FUNCTIONS)
    check_option("ties", ties, TIE_POLICIES)
    check_option("backend", backend, BACKENDS)


def _check_bootstrap(bootstrap: Any, confidence: Any) -> tuple[int, float]:
    whole = isinstance(bootstrap, (int, np.integer)) or (isinstance(bootstrap, float) and bootstrap.is_integer())
    if isinstance(bootstrap, bool) or not whole or bootstrap < 0:
        raise InputError(f"bootstrap must be a whole number >= 0 (resamples); got {bootstrap!r}.")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)) or not 0 < confidence < 1:
        raise InputError(f"confidence must be a number in (0, 1), e.g. 0.95; got {confidence!r}.")
    n_boot = int(bootstrap)
    if n_boot == 1:  # one resample is one number, not an interval (and need not contain the estimate)
        raise InputError("bootstrap=1 (CLI: --bootstrap 1): a percentile interval needs at least 2 resamples; "
                         "use 1000 or more, or 0 for no interval.")
    if n_boot > MAX_BOOTSTRAP:
        raise InputError(f"bootstrap={n_boot} (CLI: --bootstrap): at most {MAX_BOOTSTRAP:,} resamples "
                         "(1000 to 10000 give stable 95% intervals).")
    tail = n_boot * (1 - float(confidence)) / 2
    if n_boot and tail < 1:  # fewer resamples than the tails need: the ends are the extreme resamples
        log.warning("bootstrap: %d resamples leave %.2g per tail of the %g%% interval, so its ends are the "
                    "smallest and largest resample, not percentiles; use at least %d (--bootstrap).",
                    n_boot, tail, 100 * float(confidence), int(np.ceil(2 / (1 - float(confidence)))))
    return n_boot, float(confidence)


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
    a, b : Representation or rsatoolbox.rdm.RDMs
        Matched by stimulus id (reordered as needed). An rsatoolbox ``RDMs`` holding one
        RDM is read with :meth:`Representation.from_rsatoolbox`.
    metrics : str or iterable of str
        Any of ``pearson``, ``spearman``, ``kendall`` (tau-a), ``triplet`` (read from the
        similarity matrices) and ``cka``, ``cka-debiased`` (need features); a
        comma-separated string is accepted. See :data:`repalign.metrics.REGISTRY`.
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

    Notes
    -----
    Every metric is invariant to a positive rescaling of either representation, and so is
    the computation: values are divided by a power of two before any product, so a matrix
    times 1e300 or 1e-300 scores exactly like the unscaled one. Every score is finite or the
    call raises :class:`~repalign.InputError` saying which metric is undefined and why.

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
    metrics = parse_list("metric", metrics, ALL_METRICS)
    _check_common(similarity, ties, backend)
    n_boot, confidence = _check_bootstrap(bootstrap, confidence)
    rng = make_rng(seed) if n_boot else None
    a, b = as_representation(a, "a"), as_representation(b, "b")
    a, b = match_stimuli(a, b, how=how)
    pair = Pair(a, b, similarity, backend, ties)
    scores = score(pair, metrics)
    details: dict[str, Any] = {}
    if pair.triplet_counts is not None:
        details["triplet_counts"] = pair.triplet_counts.to_dict()
    intervals: dict[str, tuple[float, float]] = {}
    if n_boot:
        intervals = bootstrap_intervals(pair, metrics, n_resamples=n_boot, confidence=confidence, rng=rng)
    return Alignment(a.n_stimuli, scores, similarity, ties, intervals, n_boot, confidence, details)


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
    metrics = parse_list("metric", metrics, ALL_METRICS)
    _check_common(similarity, ties, backend)
    reference = as_representation(reference, "reference")
    items = list(models.items()) if isinstance(models, Mapping) else [(m.name or f"model_{i}", m) for i, m in enumerate(models)]
    ref_sim_cache: dict[tuple[str, ...], np.ndarray] = {}
    rows = []
    for model_name, rep in items:
        rep_m, ref_m = match_stimuli(as_representation(rep, model_name), reference, how=how)
        key = ref_m.ids
        if key not in ref_sim_cache:
            ref_sim_cache[key] = scaled_similarity(ref_m, similarity)
        pair = Pair(rep_m, ref_m, similarity, backend, ties, names=(model_name, reference.name or "reference"),
                    sim_b=ref_sim_cache[key])
        rows.append({"model": model_name, "n_stimuli": rep_m.n_stimuli, **score(pair, metrics)})
    return pd.DataFrame(rows, columns=["model", "n_stimuli", *metrics])

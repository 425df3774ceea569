"""Percentile bootstrap intervals over stimuli, for every metric of the registry."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._errors import InputError
from .._progress import progress
from ._pair import Pair
from ._registry import REGISTRY
from .cka import linear_cka, linear_cka_debiased
from .rsa import kendall_tau_a_from_vectors, pearson_from_vectors, spearman_from_vectors
from .triplets import triplet_counts

__all__ = ["bootstrap_intervals", "MAX_REDRAWS"]

#: Degenerate resamples redrawn before giving up, per requested resample.
MAX_REDRAWS = 20


def _resample_scores(pair: Pair, metrics: Sequence[str], idx: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    iu, ju = pairs
    out: dict[str, float] = {}
    needs_sim = any(REGISTRY[m].reads == "similarity" for m in metrics)
    if needs_sim:
        sa = pair.sim_a[np.ix_(idx, idx)]
        sb = pair.sim_b[np.ix_(idx, idx)]
        keep = idx[iu] != idx[ju]  # a stimulus is never paired with its own copy
        va, vb = sa[iu[keep], ju[keep]], sb[iu[keep], ju[keep]]
    for m in metrics:
        if m == "pearson":
            out[m] = pearson_from_vectors(va, vb, names=pair.names)
        elif m == "spearman":
            out[m] = spearman_from_vectors(va, vb, names=pair.names)
        elif m == "kendall":
            out[m] = kendall_tau_a_from_vectors(va, vb, names=pair.names, backend=pair.backend)
        elif m == "triplet":
            out[m] = triplet_counts(sa, sb, groups=idx, backend=pair.backend).agreement(pair.ties)
        elif m == "cka":
            xa, xb = pair.features(m)
            out[m] = linear_cka(xa[idx], xb[idx], groups=idx, names=pair.names)
        else:  # cka-debiased: copies of one stimulus are zeroed like the diagonal (see .cka)
            xa, xb = pair.features(m)
            out[m] = linear_cka_debiased(xa[idx], xb[idx], groups=idx, names=pair.names)
    return out


def bootstrap_intervals(
    pair: Pair, metrics: Sequence[str], *, n_resamples: int, confidence: float, rng: np.random.Generator
) -> dict[str, tuple[float, float]]:
    """Percentile intervals from resampling stimuli with replacement.

    Pairs and triplets that would compare a stimulus with a copy of itself are left out,
    so each resample scores only distinct stimuli, weighted by how often they were drawn
    (CKA: see :mod:`repalign.metrics.cka`). Resamples with fewer than 3 distinct stimuli (4 for ``cka-debiased``),
    or on which a metric is undefined (constant similarities), are redrawn, at most
    :data:`MAX_REDRAWS` times per resample before the run stops saying so. A percentile
    of values inside a metric's range is inside it, so every interval respects the
    metric's bounds (``[-1, 1]`` for correlations, ``[0, 1]`` for agreement).
    """
    n = pair.a.n_stimuli
    draws = {m: np.empty(n_resamples) for m in metrics}
    pairs = np.triu_indices(n, k=1)
    min_distinct = 4 if "cka-debiased" in metrics else 3
    if n <= min_distinct:  # every resample kept would be the sample itself: a zero-width "interval"
        raise InputError(
            f"bootstrap: {n} stimuli; a resample needs {min_distinct} distinct stimuli, so every resample kept would "
            f"be the {n} stimuli themselves and the interval would have zero width. Bootstrap intervals need at "
            f"least {min_distinct + 1} stimuli; use --bootstrap 0 (bootstrap=0)."
        )
    done = redrawn = 0
    last_error: InputError | None = None
    bar = progress(total=n_resamples, desc="bootstrap", unit="resample")
    while done < n_resamples:
        idx = np.sort(rng.integers(0, n, size=n))
        try:
            if np.unique(idx).size < min_distinct:
                raise InputError(f"fewer than {min_distinct} distinct stimuli in the resample")
            values = _resample_scores(pair, metrics, idx, pairs)
        except InputError as exc:  # a degenerate resample: redraw it
            redrawn += 1
            last_error = exc
            if redrawn > MAX_REDRAWS * n_resamples:
                raise InputError(
                    f"bootstrap: {redrawn} resamples of the {n} stimuli were degenerate (last: {exc}); "
                    "too few distinct stimuli for a bootstrap interval. Use --bootstrap 0."
                ) from last_error
            continue
        for m, v in values.items():
            draws[m][done] = v
        done += 1
        bar.update()
    bar.close()
    alpha = (1 - confidence) / 2
    out = {}
    for m, v in draws.items():
        lo_bound, hi_bound = REGISTRY[m].bounds
        low, high = np.quantile(v, [alpha, 1 - alpha])
        out[m] = (float(np.clip(low, lo_bound, hi_bound)), float(np.clip(high, lo_bound, hi_bound)))
    return out

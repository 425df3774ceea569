"""The metric registry: every alignment metric, what it reads, and the range of its values.

One entry per metric. ``reads`` says what a metric needs: ``"similarity"`` metrics read the
two similarity matrices (any representation kind gives one), ``"features"`` metrics read
the feature vectors themselves and refuse matrices. ``bounds`` is the closed range of the
values (bootstrap intervals stay inside it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MetricSpec", "REGISTRY", "METRICS", "FEATURE_METRICS", "ALL_METRICS", "DEFAULT_METRICS", "metric_spec"]


@dataclass(frozen=True)
class MetricSpec:
    """One alignment metric."""

    name: str
    reads: str  # "similarity" or "features"
    bounds: tuple[float, float]
    summary: str


REGISTRY: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("pearson", "similarity", (-1.0, 1.0), "Pearson correlation of the pairwise similarities"),
        MetricSpec("spearman", "similarity", (-1.0, 1.0), "Spearman correlation of the pairwise similarities"),
        MetricSpec("kendall", "similarity", (-1.0, 1.0), "Kendall's tau-a of the pairwise similarities"),
        MetricSpec("triplet", "similarity", (0.0, 1.0), "exact agreement over all similarity triplets"),
        MetricSpec("cka", "features", (0.0, 1.0), "linear centred kernel alignment (Kornblith et al. 2019)"),
        MetricSpec("cka-debiased", "features", (-1.0, 1.0),
                   "linear CKA with the unbiased HSIC estimator (Song et al. 2012)"),
    )
}

#: Metrics computed from similarity matrices (any representation kind), in display order.
METRICS: tuple[str, ...] = tuple(n for n, s in REGISTRY.items() if s.reads == "similarity")
#: Metrics that need feature representations.
FEATURE_METRICS: tuple[str, ...] = tuple(n for n, s in REGISTRY.items() if s.reads == "features")
#: Every metric :func:`repalign.metrics.compare` computes.
ALL_METRICS: tuple[str, ...] = tuple(REGISTRY)
#: The three metrics of the paper.
DEFAULT_METRICS: tuple[str, ...] = ("pearson", "spearman", "triplet")


def metric_spec(name: str) -> MetricSpec:
    """The registry entry of ``name`` (an error lists the valid names)."""
    from .._validation import check_option

    return REGISTRY[check_option("metric", name, ALL_METRICS)]

"""Option names the parsers offer, kept here so building a parser imports nothing heavy.

The parsers need these names at build time (``choices=``, help texts), but the modules
that define them import numpy, scipy or torch. ``repalign --help`` must stay under half a
second, so the names are repeated here as plain tuples, and
``tests/cli/test_help_speed.py`` checks every one against its source of truth: add a new
option in both places (the test's message names the tuple to extend).
"""

from __future__ import annotations

__all__ = [
    "METRICS",
    "DEFAULT_METRICS",
    "TIE_POLICIES",
    "TRIPLET_METRICS",
    "SIMILARITY_FUNCTIONS",
    "OPTIMIZERS",
    "STANDARDIZATIONS",
    "EVAL_DATASETS",
]

#: repalign.metrics.METRICS
METRICS: tuple[str, ...] = ("pearson", "spearman", "kendall", "triplet")
#: repalign.metrics.DEFAULT_METRICS
DEFAULT_METRICS: tuple[str, ...] = ("pearson", "spearman", "triplet")
#: repalign.metrics.TIE_POLICIES
TIE_POLICIES: tuple[str, ...] = ("half", "exclude")
#: repalign.data.triplets.TRIPLET_METRICS (triplet-file kind -> metric name)
TRIPLET_METRICS: dict[str, str] = {"odd-one-out": "odd-one-out", "anchor": "anchor-triplet"}
#: repalign.similarity.SIMILARITY_FUNCTIONS
SIMILARITY_FUNCTIONS: tuple[str, ...] = ("cosine", "correlation", "euclidean", "dot")
#: repalign.transfer.heads.OPTIMIZERS
OPTIMIZERS: tuple[str, ...] = ("adamw", "adam", "sgd")
#: repalign.transfer.heads.STANDARDIZATIONS
STANDARDIZATIONS: tuple[str, ...] = ("none", "standardize", "l2", "center")
#: the keys of repalign.robustness.evaluate.EVAL_DATASETS
EVAL_DATASETS: tuple[str, ...] = ("imagenet", "imagenet-a", "imagenet-r", "imagenet-sketch")

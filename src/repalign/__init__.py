"""repalign: how well do model representations align with human ones, and what does it buy?

The public API is re-exported here; submodules hold the details:
:mod:`repalign.metrics`, :mod:`repalign.representations`, :mod:`repalign.io`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import DataNotFoundError, InputError, MissingDependencyError, RepalignError
from .loading import load_representation
from .metrics import (
    Alignment,
    compare,
    compare_many,
    kendall,
    pearson,
    sampled_triplet_agreement,
    spearman,
    triplet_agreement,
)
from .representations import Representation, match_stimuli
from .similarity import similarity_matrix

__all__ = [
    "__version__",
    "Alignment",
    "DataNotFoundError",
    "InputError",
    "MissingDependencyError",
    "RepalignError",
    "Representation",
    "compare",
    "compare_many",
    "kendall",
    "load_representation",
    "match_stimuli",
    "pearson",
    "sampled_triplet_agreement",
    "similarity_matrix",
    "spearman",
    "triplet_agreement",
]

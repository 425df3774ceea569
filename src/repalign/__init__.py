"""repalign: how well do model representations align with human ones, and what does it buy?

The public API is re-exported here; submodules hold the details:
:mod:`repalign.metrics`, :mod:`repalign.representations`, :mod:`repalign.io`.

The re-exports are loaded on first use (PEP 562), so ``import repalign`` and the command
line's ``--help`` stay fast: nothing here imports numpy, pandas or scipy until a name that
needs them is used. To export a new name, add it to ``_LAZY`` (name -> module).

Examples
--------
>>> import repalign as ra
>>> ra.pearson.__module__.startswith("repalign.metrics")
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import (
    DataNotFoundError,
    InputError,
    MissingDependencyError,
    RepalignError,
)
from ._version import __version__

#: Public names loaded on first access, and the module that defines each.
_LAZY: dict[str, str] = {
    "load_representation": ".loading",
    "Alignment": ".metrics",
    "compare": ".metrics",
    "compare_many": ".metrics",
    "cka": ".metrics",
    "cka_debiased": ".metrics",
    "kendall": ".metrics",
    "pearson": ".metrics",
    "sampled_triplet_agreement": ".metrics",
    "spearman": ".metrics",
    "triplet_agreement": ".metrics",
    "Representation": ".representations",
    "match_stimuli": ".representations",
    "similarity_matrix": ".similarity",
}

if TYPE_CHECKING:  # static analysers see the eager imports
    from .loading import load_representation
    from .metrics import (
        Alignment,
        cka,
        cka_debiased,
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'repalign' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Alignment",
    "DataNotFoundError",
    "InputError",
    "MissingDependencyError",
    "RepalignError",
    "Representation",
    "__version__",
    "cka",
    "cka_debiased",
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

"""Conversion between :class:`~repalign.Representation` and rsatoolbox's ``RDMs`` (lazy import).

rsatoolbox stores dissimilarities (an RDM) in vector form, with per-pattern descriptors.
A :class:`Representation` read from an RDM is a *dissimilarity* representation, ids taken
from one pattern descriptor; written back, a dissimilarity representation stays the same
dissimilarities (``ids`` as the pattern descriptor). Similarities and features become
dissimilarities by a rule stated in ``dissimilarity_measure``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import InputError
from ._validation import optional_import, preview

__all__ = ["from_rsatoolbox", "to_rsatoolbox", "is_rdms", "ID_DESCRIPTOR"]

#: The pattern descriptor :func:`to_rsatoolbox` writes the stimulus ids to (and reads first).
ID_DESCRIPTOR = "ids"


def is_rdms(obj: Any) -> bool:
    """Whether ``obj`` is an rsatoolbox ``RDMs`` (checked without importing rsatoolbox)."""
    return type(obj).__module__.startswith("rsatoolbox") and type(obj).__name__ == "RDMs"


def _rsatoolbox(purpose: str) -> Any:
    return optional_import("rsatoolbox", extra="rsa", purpose=purpose)


def _pick_descriptor(descriptors: dict[str, Any], wanted: str | None, source: str) -> str:
    if wanted is not None:
        if wanted not in descriptors:
            raise InputError(
                f"{source}: no pattern descriptor {wanted!r}; it has {preview(sorted(descriptors))}."
            )
        return wanted
    if ID_DESCRIPTOR in descriptors:
        return ID_DESCRIPTOR
    named = [k for k in descriptors if k != "index"]
    if len(named) == 1:
        return named[0]
    if not named:
        raise InputError(
            f"{source}: the RDMs have no pattern descriptor naming the stimuli (only 'index'), so they "
            "cannot be matched to other representations by id. Add one (pattern_descriptors={'ids': [...]}) "
            "or pass pattern_descriptor='index' to use the positions as ids."
        )
    raise InputError(
        f"{source}: several pattern descriptors could name the stimuli ({preview(named)}); "
        "say which with pattern_descriptor=."
    )


def from_rsatoolbox(rdms: Any, *, rdm: int | None = None, pattern_descriptor: str | None = None,
                    name: str | None = None) -> tuple[list[Any], np.ndarray, dict[str, Any]]:
    """Ids, the dissimilarity matrix and provenance of one RDM of an rsatoolbox ``RDMs`` object.

    :meth:`repalign.Representation.from_rsatoolbox` builds the representation from them
    (this module stays below ``representations`` in the import graph).
    """
    source = name or "RDMs"
    n_rdm = int(rdms.n_rdm)
    if rdm is None:
        if n_rdm != 1:
            raise InputError(f"{source}: holds {n_rdm} RDMs; choose one with rdm=<index> (0 to {n_rdm - 1}).")
        rdm = 0
    if not 0 <= int(rdm) < n_rdm:
        raise InputError(f"{source}: rdm={rdm} is out of range; it holds {n_rdm} RDMs.")
    key = _pick_descriptor(dict(rdms.pattern_descriptors), pattern_descriptor, source)
    ids = list(rdms.pattern_descriptors[key])
    matrix = np.asarray(rdms.get_matrices()[int(rdm)], dtype=np.float64)
    meta = {"source": "rsatoolbox", "pattern_descriptor": key,
            "dissimilarity_measure": getattr(rdms, "dissimilarity_measure", None), "kind_source": "rsatoolbox RDMs"}
    return ids, matrix, meta


#: How a similarity becomes a dissimilarity for rsatoolbox, and the measure name written.
_FROM_SIMILARITY = {
    "cosine": (lambda s: 1.0 - s, "cosine distance (1 - cosine similarity)"),
    "correlation": (lambda s: 1.0 - s, "correlation distance (1 - Pearson r)"),
    "euclidean": (lambda s: -s, "euclidean distance"),
    "dot": (lambda s: -s, "negative dot product"),
}


def to_rsatoolbox(rep: Any, *, similarity: str = "cosine") -> Any:
    """An rsatoolbox ``RDMs`` holding one RDM of ``rep``, ids as the ``'ids'`` pattern descriptor.

    Dissimilarities are written as they are. A similarity matrix ``S`` is written as ``-S``
    and features as the distance that ``similarity=`` implies (``1 - cosine``,
    ``1 - correlation``, the euclidean distance, ``-dot``), each a decreasing affine map of
    the similarity, so every repalign metric on the result equals the metric on ``rep``.
    """
    rsa = _rsatoolbox("Converting to rsatoolbox RDMs")
    if rep.kind == "dissimilarity":
        matrix, measure = np.asarray(rep.values), rep.meta.get("dissimilarity_measure") or "dissimilarity"
    elif rep.kind == "similarity":
        matrix, measure = -np.asarray(rep.values), "negative similarity"
    else:
        to_dissimilarity, measure = _FROM_SIMILARITY[similarity]
        matrix = to_dissimilarity(rep.similarity(similarity))
    n = matrix.shape[0]
    vector = matrix[np.triu_indices(n, k=1)][None, :]
    return rsa.rdm.RDMs(
        dissimilarities=vector,
        dissimilarity_measure=measure,
        descriptors={"name": rep.name} if rep.name else None,
        pattern_descriptors={ID_DESCRIPTOR: list(rep.ids)},
    )

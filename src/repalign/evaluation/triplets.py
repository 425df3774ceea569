"""Scoring a representation on human triplet judgments, and the noise ceiling of that score.

Scoring (:func:`triplet_accuracy`) is vectorized over all triplets (in chunks of a million)
on the similarity matrix of the items the triplets use:

* odd-one-out: the three pairwise similarities are compared and the item outside the
  most similar pair is the prediction;
* anchor/positive/negative: correct when ``s(anchor, positive) > s(anchor, negative)``.

Ties (the same ``ties`` names as the triplet metric): ``"half"`` (default) scores a tie
among ``t`` equally good predictions as ``1/t`` when the human choice is among them (the
expected accuracy of breaking the tie by a fair coin, so 1/2 for two tied pairs, 1/3 for
three); ``"exclude"`` leaves tied triplets out and reports how many.

The triplets themselves are read by :func:`repalign.data.triplets.load_triplets`. The noise
ceiling of triplet accuracy (:func:`triplet_ceiling`, how consistently people answer repeated
triplets) is a fact about the human data alone, so it is defined in :mod:`repalign.data.triplets`
(no metric involved) and re-exported here with the other scores.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option, preview
from ..data.triplets import TRIPLET_METRICS, TripletCeiling, TripletData, triplet_ceiling
from ..metrics import TIE_POLICIES
from ..representations import Representation
from ..similarity import SIMILARITY_FUNCTIONS

__all__ = ["TripletAccuracy", "TripletCeiling", "triplet_accuracy", "odd_one_out_accuracy", "triplet_ceiling"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class TripletAccuracy:
    """How often a representation reproduces human triplet judgments."""

    metric: str
    accuracy: float
    n_triplets: int
    n_used: int
    n_tied: int
    n_items: int
    ties: str
    similarity: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _scores_odd_one_out(flat: np.ndarray, m: int, t: np.ndarray, odd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-triplet expected accuracy (1/t over t tied best pairs) and the tie size.

    ``flat`` is the raveled ``m x m`` similarity matrix; ``s[p]`` is the similarity of the pair
    that leaves out position ``p``.
    """
    i, j, k = t[:, 0], t[:, 1], t[:, 2]
    s0 = flat.take(j * m + k)
    s1 = flat.take(i * m + k)
    s2 = flat.take(i * m + j)
    best = np.maximum(np.maximum(s0, s1), s2)
    n_best = (s0 == best).astype(np.int8) + (s1 == best) + (s2 == best)
    chosen = np.choose(odd, (s0, s1, s2))
    return (chosen == best) / n_best, n_best


def _scores_anchor(flat: np.ndarray, m: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diff = flat.take(t[:, 0] * m + t[:, 1]) - flat.take(t[:, 0] * m + t[:, 2])
    tied = diff == 0
    return np.where(tied, 0.5, (diff > 0).astype(np.float64)), np.where(tied, 2, 1)


def triplet_accuracy(
    rep: Representation,
    data: TripletData,
    *,
    similarity: str = "cosine",
    ties: str = "half",
    chunk: int = _CHUNK,
) -> TripletAccuracy:
    """Share of human triplet judgments that a representation reproduces.

    Parameters
    ----------
    rep : Representation
        Must hold every item the triplets use (matched by id; other stimuli are ignored).
    data : TripletData
    similarity : {"cosine", "correlation", "euclidean", "dot"}
        Similarity of feature representations (the SPoSE reference uses ``"dot"``).
    ties : {"half", "exclude"}
        See the module docstring.
    chunk : int
        Triplets scored at once (bounds the memory to a few arrays of this length).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from repalign import Representation
    >>> from repalign.data.triplets import load_triplets
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("item1,item2,item3,odd\\ncat,dog,car,car\\ncat,dog,car,dog\\n")
    >>> rep = Representation.from_features(["cat", "dog", "car"], [[1, 0.1], [1, 0.2], [0, 1]])
    >>> triplet_accuracy(rep, load_triplets(p)).accuracy
    0.5
    """
    check_option("ties", ties, TIE_POLICIES)
    check_option("similarity", similarity, SIMILARITY_FUNCTIONS)
    if not isinstance(rep, Representation):
        raise InputError(f"rep must be a Representation, got {type(rep).__name__}.")
    if int(chunk) < 1:
        raise InputError(f"chunk must be a positive integer; got {chunk}.")
    present = np.zeros(len(data.items), dtype=bool)
    present[data.triplets.ravel()] = True  # O(n), unlike np.unique's sort
    used = np.flatnonzero(present)
    used_ids = [data.items[u] for u in used]
    missing = [x for x in used_ids if x not in rep.index]
    if missing:
        hint = ""
        if all(x.lstrip("-").isdigit() for x in missing[:20]):
            hint = " The triplets name items by number: give the item list (items=..., CLI: --items FILE)."
        raise InputError(
            f"{rep.name or 'representation'} lacks {len(missing)} of the {len(used_ids)} items the triplets in "
            f"{data.source} use: {preview(missing)}.{hint}"
        )
    flat = np.ascontiguousarray(rep.select(used_ids).similarity(similarity)).ravel()
    m = used.size
    identity = m == len(data.items)  # every item is used: indices are already rows
    local = None if identity else np.full(len(data.items), -1, dtype=np.int64)
    if local is not None:
        local[used] = np.arange(m)
    total = 0.0
    n_used = 0
    n_tied = 0
    for start in range(0, data.n_triplets, int(chunk)):
        block = data.triplets[start : start + int(chunk)]
        t = block.astype(np.int64, copy=False) if local is None else local[block]
        if data.format == "odd-one-out":
            scores, n_best = _scores_odd_one_out(flat, m, t, data.odd[start : start + int(chunk)])
        else:
            scores, n_best = _scores_anchor(flat, m, t)
        tied = n_best > 1
        n_tied += int(tied.sum())
        if ties == "exclude":
            scores = scores[~tied]
        total += float(scores.sum())
        n_used += int(scores.size)
    if n_used == 0:
        raise InputError(
            f"ties='exclude' left none of the {data.n_triplets} triplets of {data.source}: every prediction is tied."
        )
    return TripletAccuracy(data.metric, total / n_used, data.n_triplets, n_used, n_tied, int(m), ties, similarity)


def odd_one_out_accuracy(
    rep: Representation, data: TripletData, *, similarity: str = "cosine", ties: str = "half"
) -> TripletAccuracy:
    """:func:`triplet_accuracy` for odd-one-out data (refuses anchor/positive/negative data)."""
    if data.format != "odd-one-out":
        raise InputError(
            f"{data.source}: holds anchor/positive/negative triplets, not odd-one-out choices "
            f"(its metric is {TRIPLET_METRICS['anchor']!r})."
        )
    return triplet_accuracy(rep, data, similarity=similarity, ties=ties)

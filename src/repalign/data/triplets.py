"""Human triplet judgments: the data, and how consistently people answer repeated triplets.

The files are read by :mod:`repalign.io.triplets` (formats in ``docs/formats.md``); the
names below are re-exported from there. Scoring a representation on the triplets
(triplet / odd-one-out accuracy) is in :mod:`repalign.evaluation.triplets`.

:func:`triplet_ceiling` (the agreement of repeated human answers, the noise ceiling of
triplet accuracy) is a fact about the human data alone, computed without any metric, so it
lives here and the evaluation layer re-exports it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._errors import InputError
from ..io.triplets import TRIPLET_FORMATS, TRIPLET_METRICS, TripletData, load_triplets

__all__ = [
    "TRIPLET_FORMATS",
    "TRIPLET_METRICS",
    "TripletData",
    "TripletCeiling",
    "load_triplets",
    "triplet_ceiling",
]


@dataclass(frozen=True)
class TripletCeiling:
    """How consistently people answer repeated triplets: the noise ceiling of triplet accuracy.

    Attributes
    ----------
    lower : float
        Agreement between two different trials of the same triplet (how well one person
        predicts another), over all pairs of trials of repeated triplets.
    upper : float
        Accuracy of the best possible prediction, the most frequent answer of each
        repeated triplet, scored on the same trials (in-sample, so it is optimistic).
    n_repeated : int
        Distinct triplets asked at least twice.
    n_trials : int
        Trials of those triplets (trials of triplets asked once are not used).
    """

    metric: str
    lower: float
    upper: float
    n_repeated: int
    n_trials: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def triplet_ceiling(data: TripletData) -> TripletCeiling:
    """Noise ceiling of triplet accuracy from triplets that several trials repeat.

    A triplet is the same whatever order its items were shown in (odd-one-out: the set of
    three items; anchor format: the anchor and the unordered pair). See
    :class:`TripletCeiling` for the two bounds.

    Raises
    ------
    InputError
        When no triplet is repeated.
    """
    t = data.triplets
    if data.format == "odd-one-out":
        key = np.sort(t, axis=1)
    else:
        key = np.column_stack((t[:, 0], np.minimum(t[:, 1], t[:, 2]), np.maximum(t[:, 1], t[:, 2])))
    choice = data.chosen()
    _, group, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    repeated = counts[group] >= 2
    if not repeated.any():
        raise InputError(
            f"{data.source}: no triplet is asked more than once, so the consistency of the answers (the noise "
            "ceiling) cannot be measured."
        )
    g, c = group[repeated], choice[repeated]
    answers, answer_counts = np.unique(np.column_stack((g, c)), axis=0, return_counts=True)
    best = np.zeros(counts.size, dtype=np.int64)  # count of each triplet's most frequent answer
    np.maximum.at(best, answers[:, 0], answer_counts)
    n_trials = int(repeated.sum())
    rep_counts = counts[counts >= 2]
    agree_pairs = float(np.sum(answer_counts * (answer_counts - 1)))
    all_pairs = float(np.sum(rep_counts * (rep_counts - 1)))
    return TripletCeiling(
        data.metric, agree_pairs / all_pairs, float(best.sum()) / n_trials, int(rep_counts.size), n_trials
    )

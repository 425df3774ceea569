"""Evaluation: a representation against a human dataset.

This layer sits above :mod:`repalign.data` (which finds and reads human data and never
computes a score) and :mod:`repalign.metrics` (which compares two representations and
knows nothing of datasets).

Submodules
----------
:mod:`.alignment`  one model against every domain of a dataset, and the aggregate over domains
:mod:`.ceilings`   split-half reliability and noise ceilings (the one ceiling function every
                   command uses: :func:`part_ceiling`)
:mod:`.triplets`   triplet / odd-one-out accuracy and its noise ceiling
"""

from __future__ import annotations

from .alignment import DatasetAlignment, DomainStimuli, align_dataset
from .ceilings import (
    CeilingEstimate,
    NoiseCeiling,
    SplitHalfReliability,
    noise_ceiling,
    part_ceiling,
    ratings_matrix,
    ratings_noise_ceiling,
    read_ratings,
    reference_ceiling,
    spearman_brown,
    split_half_reliability,
)
from .triplets import (
    TripletAccuracy,
    TripletCeiling,
    odd_one_out_accuracy,
    triplet_accuracy,
    triplet_ceiling,
)

__all__ = [
    "CeilingEstimate",
    "DatasetAlignment",
    "DomainStimuli",
    "NoiseCeiling",
    "SplitHalfReliability",
    "TripletAccuracy",
    "TripletCeiling",
    "align_dataset",
    "noise_ceiling",
    "odd_one_out_accuracy",
    "part_ceiling",
    "ratings_matrix",
    "ratings_noise_ceiling",
    "read_ratings",
    "reference_ceiling",
    "spearman_brown",
    "split_half_reliability",
    "triplet_accuracy",
    "triplet_ceiling",
]

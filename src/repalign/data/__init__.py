"""Human data: the dataset registry, the download layer, and loaders for matrices,
images and triplets, and the reliability of the human data.

Submodules
----------
:mod:`.registry`     datasets (citation, licence, layout), the user registry, where copies live
:mod:`.fetch`        hash-checked, resumable downloads and safe archive extraction
:mod:`.images`       exact, safe image loading
:mod:`.folders`      datasets as folders of matrices and stimuli (any user's data)
:mod:`.peterson`     Peterson et al. (2018), both layouts
:mod:`.things`       THINGS concepts, SPoSE embedding, triplet files
:mod:`.matrices`     NPY + id list and MATLAB matrices
:mod:`.triplets`     triplet files and triplet / odd-one-out accuracy
:mod:`.reliability`  split-half reliability and noise ceilings
:mod:`.names`        stimulus names for text models
:mod:`.references`   ``NAME:PART`` dataset references
:mod:`.alignment`    one model against every domain of a dataset
"""

from __future__ import annotations

from .alignment import DatasetAlignment, DomainStimuli, align_dataset
from .folders import match_images
from .images import list_images, load_image
from ..io.matrices import load_matrix
from .references import (
    is_reference,
    load_reference,
    load_reference_triplets,
    parse_reference,
    resolve_representation,
    resolve_triplets,
    split_halves,
    stimulus_images,
    stimulus_names,
)
from .registry import DATASETS, dataset_root, get_dataset, register_dataset, scan_dataset
from .reliability import (
    noise_ceiling,
    ratings_matrix,
    ratings_noise_ceiling,
    read_ratings,
    spearman_brown,
    split_half_reliability,
)
from .triplets import TripletData, load_triplets, odd_one_out_accuracy, triplet_accuracy, triplet_ceiling

__all__ = [
    "DATASETS",
    "DatasetAlignment",
    "DomainStimuli",
    "TripletData",
    "align_dataset",
    "dataset_root",
    "get_dataset",
    "is_reference",
    "list_images",
    "load_image",
    "load_matrix",
    "load_reference",
    "load_reference_triplets",
    "load_triplets",
    "match_images",
    "noise_ceiling",
    "odd_one_out_accuracy",
    "parse_reference",
    "ratings_matrix",
    "ratings_noise_ceiling",
    "read_ratings",
    "register_dataset",
    "resolve_representation",
    "resolve_triplets",
    "scan_dataset",
    "spearman_brown",
    "split_half_reliability",
    "split_halves",
    "stimulus_images",
    "stimulus_names",
    "triplet_accuracy",
    "triplet_ceiling",
]

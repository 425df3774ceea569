"""Human data: datasets as plugins, the download layer, and loaders for images and dataset parts.

File formats are read by :mod:`repalign.io`.

This package finds and reads data; it never scores a representation (that is
:mod:`repalign.evaluation`, which sits above it and :mod:`repalign.metrics`).

Submodules
----------
:mod:`.adapters`     what a dataset adapter is, how adapters are found, the memoised open
:mod:`.datasets`     the built-in datasets, one module each (peterson2018, things, lee, cifar100)
:mod:`.registry`     dataset cards, the user registry, where copies live (``--data-root``)
:mod:`.fetch`        hash-checked, resumable downloads and safe archive extraction
:mod:`.images`       exact, safe image loading
:mod:`.folders`      datasets as folders of matrices and stimuli (any user's data)
:mod:`.peterson`     Peterson et al. (2018), both layouts
:mod:`.things`       THINGS concepts, SPoSE embedding, triplet files
:mod:`.triplets`     triplet files, and the agreement of repeated human answers
:mod:`.names`        stimulus names for text models
:mod:`.references`   ``NAME:PART`` dataset references
"""

from __future__ import annotations

from .folders import match_images
from .images import list_images, load_image
from ..io.matrices import load_matrix
from .references import (
    is_reference,
    load_reference,
    load_reference_triplets,
    matrix_part,
    parse_reference,
    resolve_representation,
    resolve_triplets,
    split_halves,
    stimulus_images,
    stimulus_names,
)
from .registry import (
    DATASETS,
    dataset_root,
    get_adapter,
    get_dataset,
    register_dataset,
    resolve_dataset_root,
    scan_dataset,
)
from .triplets import TripletData, load_triplets

__all__ = [
    "DATASETS",
    "TripletData",
    "dataset_root",
    "get_adapter",
    "get_dataset",
    "is_reference",
    "list_images",
    "load_image",
    "load_matrix",
    "load_reference",
    "load_reference_triplets",
    "load_triplets",
    "match_images",
    "matrix_part",
    "parse_reference",
    "register_dataset",
    "resolve_dataset_root",
    "resolve_representation",
    "resolve_triplets",
    "scan_dataset",
    "split_halves",
    "stimulus_images",
    "stimulus_names",
]

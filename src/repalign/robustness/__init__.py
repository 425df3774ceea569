"""Robustness: timm's published ImageNet evaluation tables, and direct evaluation on folders.

- :func:`load_timm_results` reads a folder of timm ``results-*.csv`` files into one wide
  table in the shared results schema; :func:`join_timm_results` joins it to models through
  a name mapping (:func:`legacy_timm_name` maps the paper's names to the 2022-07 tables).
- :func:`evaluate_folder` scores a 1,000-class classifier on an ImageNet-A/-R/-Sketch
  folder, restricting the logits to the 200 classes of ImageNet-A and -R (torch, lazily).
"""

from __future__ import annotations

from ._classes import IMAGENET_A_WNIDS, IMAGENET_R_WNIDS
from .evaluate import (
    EVAL_DATASETS,
    RobustnessResult,
    class_indices,
    evaluate_folder,
    imagenet_wnids,
    load_classifier,
    masked_topk_correct,
    scan_class_folder,
)
from .tables import (
    IMG_SIZE_POLICIES,
    TIMM_TABLES,
    TimmJoin,
    join_timm_results,
    legacy_timm_name,
    load_timm_results,
    read_timm_table,
)

__all__ = [
    "EVAL_DATASETS",
    "IMAGENET_A_WNIDS",
    "IMAGENET_R_WNIDS",
    "IMG_SIZE_POLICIES",
    "TIMM_TABLES",
    "RobustnessResult",
    "TimmJoin",
    "class_indices",
    "evaluate_folder",
    "imagenet_wnids",
    "join_timm_results",
    "legacy_timm_name",
    "load_classifier",
    "load_timm_results",
    "masked_topk_correct",
    "read_timm_table",
    "scan_class_folder",
]

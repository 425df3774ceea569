"""Labelled features for the few-shot protocol; the file parsing lives in :mod:`repalign.io.labels`."""

from __future__ import annotations

from ..io.labels import LabelledFeatures, load_labelled_features, read_labels

__all__ = ["LabelledFeatures", "load_labelled_features", "read_labels"]

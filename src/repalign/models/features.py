"""Extracted features; the feature-file format lives in :mod:`repalign.io.features`."""

from __future__ import annotations

from ..io.features import ExtractedFeatures, features_checksum, load_features

__all__ = ["ExtractedFeatures", "load_features", "features_checksum"]

"""Extracted features: stimulus ids, a float32 matrix, and the metadata that produced them.

Saved as ``.npz`` with the arrays ``ids`` and ``features`` (what
:func:`repalign.load_representation` and ``repalign align`` read), plus ``metadata``
(the JSON text of the metadata) and ``checksum`` (SHA-256 of ids and features, checked
on load). :meth:`ExtractedFeatures.save` also writes the metadata next to the file as
``<name>.json`` for people to read.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._files import atomic_path, atomic_write
from ._checks import decode_ids, real_array
from .npz import read_npz

__all__ = ["ExtractedFeatures", "load_features", "features_checksum"]


def features_checksum(ids: tuple[str, ...], features: np.ndarray) -> str:
    """SHA-256 over the ids (as JSON) and the features' dtype, shape and bytes."""
    h = hashlib.sha256()
    h.update(json.dumps(list(ids)).encode("utf-8"))
    h.update(f"{features.dtype.str}{features.shape}".encode("ascii"))
    h.update(np.ascontiguousarray(features).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class ExtractedFeatures:
    """One model's features for a set of stimuli.

    Attributes
    ----------
    ids : tuple of str
        Stimulus ids, in row order.
    features : numpy.ndarray
        ``(n_stimuli, n_features)`` float32, read-only.
    metadata : dict
        Model configuration, layer, pool, preprocessing, stimulus fingerprint, versions,
        device, timing, cache key.
    cache_hit : bool
        Whether they came from the feature cache.

    Examples
    --------
    >>> import numpy as np
    >>> f = ExtractedFeatures(("a", "b", "c"), np.eye(3, dtype=np.float32), {"model_id": "demo"})
    >>> f.to_representation().kind, f.shape
    ('features', (3, 3))
    """

    ids: tuple[str, ...]
    features: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    cache_hit: bool = False

    def __post_init__(self) -> None:
        arr = np.asarray(self.features)
        if arr.ndim != 2 or arr.shape[0] != len(self.ids):
            raise InputError(f"features of shape {arr.shape} do not match {len(self.ids)} stimulus ids.")
        if not np.isfinite(arr).all():
            bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
            raise InputError(
                f"{self.metadata.get('model_id', 'model')}: features of {len(bad)} stimuli are NaN or infinite "
                f"(first: {self.ids[bad[0]]!r})."
            )
        arr = np.array(arr, dtype=np.float32, copy=True)
        arr.setflags(write=False)
        object.__setattr__(self, "features", arr)
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.features.shape[0]), int(self.features.shape[1]))

    def to_representation(self, name: str | None = None) -> Any:
        """A :class:`repalign.Representation` of kind ``features`` (metadata in ``meta``)."""
        from ..representations import Representation

        return Representation.from_features(
            self.ids, self.features, name=name or self.metadata.get("model_id"), meta={"extraction": self.metadata}
        )

    def save(self, path: str | os.PathLike[str], *, sidecar: bool = True) -> Path:
        """Write ``.npz`` (ids, features, metadata, checksum) atomically; optionally ``<name>.json``."""
        p = Path(path)
        if p.suffix.lower() != ".npz":
            raise InputError(f"{p}: feature files are .npz; give a path ending in .npz.")
        meta_text = json.dumps(self.metadata, sort_keys=True, default=str)
        with atomic_path(p, what="feature file") as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                ids=np.array(self.ids, dtype=str),
                features=self.features,
                metadata=np.array(meta_text),
                checksum=np.array(features_checksum(self.ids, self.features)),
            )
        if sidecar:
            side = p.with_suffix(".json")
            summary = {"file": p.name, "n_stimuli": self.shape[0], "n_features": self.shape[1], **self.metadata}
            with atomic_write(side, what="feature file metadata") as fh:
                json.dump(summary, fh, indent=2, sort_keys=True, default=str)
                fh.write("\n")
        return p


def load_features(path: str | os.PathLike[str]) -> ExtractedFeatures:
    """Read a feature file written by :meth:`ExtractedFeatures.save` (checksum verified).

    Raises
    ------
    InputError
        If the file is not a readable ``.npz``, lacks ``ids``/``features``, or its
        checksum does not match its content.
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: no such feature file.")
    data = read_npz(p)
    if "ids" not in data or "features" not in data:
        raise InputError(f"{p}: needs 'ids' and 'features' arrays; has {sorted(data)}.")
    ids = tuple(decode_ids(data["ids"], str(p)))
    feats = real_array(data["features"], str(p), what="features", cast=False)
    if feats.dtype != np.float32:
        feats = feats.astype(np.float32)
    if "checksum" in data and str(data["checksum"]) != features_checksum(ids, feats):
        raise InputError(f"{p}: checksum mismatch; the file is corrupt or was edited.")
    meta: dict[str, Any] = {}
    if "metadata" in data:
        try:
            meta = json.loads(str(data["metadata"]))
        except ValueError as exc:
            raise InputError(f"{p}: its metadata is not valid JSON ({exc}).") from exc
    return ExtractedFeatures(ids, feats, meta)

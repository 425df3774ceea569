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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._files import atomic_path

__all__ = [
    "ExtractedFeatures", "load_features", "features_checksum", "LayeredFeatures", "save_layered",
    "load_layered_features", "is_layered_file",
]


def features_checksum(ids: tuple[str, ...], features: np.ndarray, labels: tuple[str, ...] | None = None) -> str:
    """SHA-256 over the ids (as JSON), the features' dtype, shape and bytes, and the labels if any."""
    h = hashlib.sha256()
    h.update(json.dumps(list(ids)).encode("utf-8"))
    h.update(f"{features.dtype.str}{features.shape}".encode("ascii"))
    h.update(np.ascontiguousarray(features).tobytes())
    if labels is not None:
        h.update(json.dumps(["labels", *labels]).encode("utf-8"))
    return h.hexdigest()


def check_real(arr: np.ndarray, what: str) -> np.ndarray:
    """Refuse complex and non-numeric arrays (casting would drop the imaginary part silently)."""
    if np.iscomplexobj(arr):
        raise InputError(f"{what}: complex features; repalign needs real values (take .real or abs() yourself).")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{what}: features of dtype {arr.dtype}, not numbers.")
    return arr


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
    labels : tuple of str or None
        A class label per stimulus (from an ImageFolder), saved as ``labels``.

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
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        arr = check_real(np.asarray(self.features), str(self.metadata.get("model_id", "model")))
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
        if self.labels is not None:
            labels = tuple(str(x) for x in self.labels)
            if len(labels) != len(self.ids):
                raise InputError(f"{len(labels)} labels for {len(self.ids)} stimuli.")
            object.__setattr__(self, "labels", labels)

    def with_labels(self, labels: tuple[str, ...] | None) -> ExtractedFeatures:
        """The same features with these labels (unchanged when ``labels`` is None)."""
        return self if labels is None else replace(self, labels=tuple(labels))

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
        arrays = {"ids": np.array(self.ids, dtype=str), "features": self.features, "metadata": np.array(meta_text),
                  "checksum": np.array(features_checksum(self.ids, self.features, self.labels))}
        if self.labels is not None:
            arrays["labels"] = np.array(self.labels, dtype=str)
        with atomic_path(p, what="feature file") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        if sidecar:
            side = {"file": p.name, "n_stimuli": self.shape[0], "n_features": self.shape[1], **self.metadata}
            if self.labels is not None:
                side["labels"] = {"n_classes": len(set(self.labels)), "source": "class sub-folders"}
            write_json(p.with_suffix(".json"), side)
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
    try:
        with np.load(p, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except Exception as exc:  # zipfile, OSError, ValueError: all mean "not a valid file"
        raise InputError(f"{p}: not a readable .npz feature file ({type(exc).__name__}: {exc}).") from exc
    if "ids" not in data or "features" not in data:
        raise InputError(f"{p}: needs 'ids' and 'features' arrays; has {sorted(data)}.")
    ids = tuple(str(x) for x in data["ids"].tolist())
    feats = check_real(data["features"], str(p))
    if feats.dtype != np.float32:
        feats = feats.astype(np.float32)
    labels = tuple(str(x) for x in data["labels"].tolist()) if "labels" in data else None
    if "checksum" in data and str(data["checksum"]) != features_checksum(ids, feats, labels):
        raise InputError(f"{p}: checksum mismatch; the file is corrupt or was edited.")
    meta: dict[str, Any] = {}
    if "metadata" in data:
        try:
            meta = json.loads(str(data["metadata"]))
        except ValueError as exc:
            raise InputError(f"{p}: its metadata is not valid JSON ({exc}).") from exc
    return ExtractedFeatures(ids, feats, meta, labels=labels)


def write_json(path: Path, obj: Any) -> None:
    """A metadata sidecar, atomically."""
    from .._files import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", what="metadata file")


# -- multi-layer feature files ---------------------------------------------------------
#: Key prefix of one layer's features in a multi-layer ``.npz``.
LAYER_PREFIX = "features/"


@dataclass(frozen=True)
class LayeredFeatures:
    """A multi-layer feature file: one model's features at several layers, same stimuli.

    The file (``.npz``) holds ``ids`` (stimulus ids, row order), ``layers`` (layer names
    in depth order: the order the forward pass reaches them), ``features/<layer>`` (one
    float32 ``(n_stimuli, n_features_of_layer)`` array per layer), ``metadata`` (JSON:
    model, pool, per-layer output shapes and depth), ``checksum`` (SHA-256 over ids,
    layer names and every layer's values) and, for an ImageFolder, ``labels``. It has no
    ``features`` key, so a reader that wants one representation cannot take one layer of
    it by mistake.

    Attributes
    ----------
    path : Path
    ids : tuple of str
    layers : tuple of str
        Depth order.
    n_features : dict of str to int
    metadata : dict
    labels : tuple of str or None
    """

    path: Path
    ids: tuple[str, ...]
    layers: tuple[str, ...]
    n_features: dict[str, int]
    metadata: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None

    def features(self, layer: str) -> np.ndarray:
        """One layer's ``(n_stimuli, n_features)`` float32 array (read on demand)."""
        if layer not in self.layers:
            from .._validation import preview

            raise InputError(f"{self.path}: no layer {layer!r}; it has {preview(list(self.layers), 8)}.")
        with np.load(self.path, allow_pickle=False) as npz:
            return check_real(npz[LAYER_PREFIX + layer], f"{self.path} layer {layer}").astype(np.float32, copy=False)

    def layer(self, layer: str) -> ExtractedFeatures:
        """One layer as :class:`ExtractedFeatures` (what a single-layer extraction gives)."""
        meta = {k: v for k, v in self.metadata.items() if k not in ("layer_output_shapes", "layer_depth")}
        meta.update({"layer": layer, "depth": self.layers.index(layer)})
        return ExtractedFeatures(self.ids, self.features(layer), meta, labels=self.labels)


def save_layered(
    path: str | os.PathLike[str], ids: tuple[str, ...], layers: list[str], get: Any, metadata: dict[str, Any],
    *, labels: tuple[str, ...] | None = None, sidecar: bool = True,
) -> LayeredFeatures:
    """Write a multi-layer ``.npz`` atomically, one layer at a time (``get(layer) -> array``).

    Only one layer's array is in memory at a time, so ``get`` may read from disk.
    """
    import zipfile

    p = Path(path)
    if p.suffix.lower() != ".npz":
        raise InputError(f"{p}: feature files are .npz; give a path ending in .npz.")
    ids = tuple(str(i) for i in ids)
    names = tuple(layers)
    h = hashlib.sha256()
    h.update(json.dumps(["layered", list(ids), list(names)]).encode("utf-8"))
    n_features: dict[str, int] = {}

    def member(zf: Any, name: str, arr: np.ndarray) -> None:
        with zf.open(name + ".npy", "w", force_zip64=True) as fh:
            # ascontiguousarray would turn a 0-d array (metadata, checksum) into a 1-d one
            np.lib.format.write_array(fh, arr if arr.ndim == 0 else np.ascontiguousarray(arr), allow_pickle=False)

    with atomic_path(p, what="feature file") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        member(zf, "ids", np.array(ids, dtype=str))
        member(zf, "layers", np.array(names, dtype=str))
        if labels is not None:
            member(zf, "labels", np.array(labels, dtype=str))
        for name in names:
            arr = np.asarray(get(name), dtype=np.float32)
            if arr.ndim != 2 or arr.shape[0] != len(ids):
                raise InputError(f"layer {name!r}: features of shape {arr.shape} do not match {len(ids)} stimulus ids.")
            if not np.isfinite(arr).all():
                raise InputError(f"{metadata.get('model_id', 'model')}: layer {name!r} has NaN or infinite features.")
            h.update(f"{name}|{arr.dtype.str}{arr.shape}".encode("utf-8"))
            h.update(np.ascontiguousarray(arr).tobytes())
            n_features[name] = int(arr.shape[1])
            member(zf, LAYER_PREFIX + name, arr)
        meta = {**metadata, "layers": list(names), "n_features": n_features, "n_stimuli": len(ids)}
        member(zf, "metadata", np.array(json.dumps(meta, sort_keys=True, default=str)))
        member(zf, "checksum", np.array(h.hexdigest()))
    if sidecar:
        write_json(p.with_suffix(".json"), {"file": p.name, **meta})
    return LayeredFeatures(p, ids, names, n_features, meta, labels)


def is_layered_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a multi-layer feature ``.npz`` (reads only the file's member list)."""
    import zipfile

    p = Path(path)
    if p.suffix.lower() != ".npz" or not p.is_file():
        return False
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return "layers.npy" in names and any(n.startswith(LAYER_PREFIX) for n in names)


def load_layered_features(path: str | os.PathLike[str], *, verify: bool = True) -> LayeredFeatures:
    """Read a multi-layer feature file (see :class:`LayeredFeatures`); the checksum is verified
    one layer at a time."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: no such feature file.")
    try:
        with np.load(p, allow_pickle=False) as npz:
            files = set(npz.files)
            if "ids" not in files or "layers" not in files:
                raise InputError(f"{p}: not a multi-layer feature file (needs 'ids' and 'layers'); has {sorted(files)[:6]}.")
            ids = tuple(str(x) for x in npz["ids"].tolist())
            layers = tuple(str(x) for x in npz["layers"].tolist())
            missing = [n for n in layers if LAYER_PREFIX + n not in files]
            if missing:
                raise InputError(f"{p}: lists layers without features: {missing[:3]}.")
            labels = tuple(str(x) for x in npz["labels"].tolist()) if "labels" in files else None
            meta = json.loads(str(npz["metadata"])) if "metadata" in files else {}
            n_features = {}
            h = hashlib.sha256()
            h.update(json.dumps(["layered", list(ids), list(layers)]).encode("utf-8"))
            for name in layers:
                arr = check_real(npz[LAYER_PREFIX + name], f"{p} layer {name}")
                if arr.ndim != 2 or arr.shape[0] != len(ids):
                    raise InputError(f"{p}: layer {name!r} has shape {arr.shape}, not ({len(ids)}, n_features).")
                n_features[name] = int(arr.shape[1])
                if verify:
                    h.update(f"{name}|{arr.dtype.str}{arr.shape}".encode("utf-8"))
                    h.update(np.ascontiguousarray(arr).tobytes())
            if verify and "checksum" in files and str(npz["checksum"]) != h.hexdigest():
                raise InputError(f"{p}: checksum mismatch; the file is corrupt or was edited.")
    except InputError:
        raise
    except Exception as exc:  # zipfile, OSError, ValueError: all mean "not a valid file"
        raise InputError(f"{p}: not a readable multi-layer .npz ({type(exc).__name__}: {exc}).") from exc
    return LayeredFeatures(p, ids, layers, n_features, meta, labels)

"""Extracted features, and the multi-layer feature file.

One model's features at one layer (:class:`ExtractedFeatures`, the ``.npz`` with ``ids``
and ``features``) live in :mod:`repalign.io.features` with the other file formats. The
multi-layer file that :func:`repalign.models.extract_layers` writes (one array per layer,
``features/<layer>``) is defined here, beside its writer; :func:`is_layered_file` lets a
reader tell the two apart from the zip's member list alone.
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
from .._files import atomic_path
from ..io._checks import real_array
from ..io.features import ExtractedFeatures, features_checksum, load_features

__all__ = [
    "ExtractedFeatures", "load_features", "features_checksum", "LayeredFeatures", "save_layered",
    "load_layered_features", "is_layered_file",
]


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
            return real_array(npz[LAYER_PREFIX + layer], f"{self.path} layer {layer}", what="features", cast=False).astype(np.float32, copy=False)

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
                arr = real_array(npz[LAYER_PREFIX + name], f"{p} layer {name}", what="features", cast=False)
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

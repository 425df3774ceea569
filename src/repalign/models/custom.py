"""Your own model, in Python: a ``torch.nn.Module`` or a plain callable ``images -> features``.

:func:`repalign.models.extract_features` accepts either in place of a model id.

``torch.nn.Module``
    With ``transform=`` a callable (PIL RGB image -> ``(3, H, W)`` tensor) or a
    preprocessing config: timm-style (``input_size``, ``interpolation``, ``mean``,
    ``std``, ``crop_pct``, ``crop_mode``) or torchvision-style (``resize_size`` and
    ``input_size``/``crop_size``, ``mean``, ``std``, ``interpolation``). A timm model
    needs no transform: its own ``pretrained_cfg`` gives one. Layer ``output`` (the
    default) is ``module(x)``; ``penultimate`` is the input of the last linear layer the
    forward pass calls (timm models: ``forward_head(..., pre_logits=True)``); any submodule name works as
    for model ids.
plain callable
    ``fn(batch) -> (n, d)`` array or tensor. Without a transform it receives a list of
    PIL RGB images; with one, the stacked ``(N, 3, H, W)`` tensor.

What the feature cache does with them
-------------------------------------
A module's features are cached under a key made of the SHA-256 of its ``state_dict``
(every parameter and buffer), its class (module and qualified name), the SHA-256 of
the file defining that class, and the transform: a config by its content, a callable by
its ``repr`` when that is stable (torchvision's ``Compose`` is; a ``lambda`` or an
object printed with its memory address is not, and then nothing is cached, said on the
log) together with its outputs on two fixed probe images (a repr alone does not pin a
transform: torchvision's ``Lambda`` prints as ``Lambda()`` whatever it computes); a
transform that gives two outputs for one image (random augmentation) is not cached. Code outside the class's file that changes the forward pass is not seen: pass
``cache=False`` while editing such code. A plain callable is never cached: nothing
pins what it computes.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import InputError
from ._hashing import RANDOM_TRANSFORM, digest_json, probe_transform, sha256_file, state_dict_sha256
from .config import LoadedModel, ModelConfig, library_versions
from .sources._common import IMAGE_PREPROCESSING_KEYS, image_transform, merge_preprocessing, torch_module

__all__ = ["wrap_model", "transform_from_config", "state_dict_sha256"]

log = logging.getLogger(__name__)

_TORCHVISION_KEYS = ("resize_size", "crop_size")
#: A repr that prints an object's address changes every run: no stable cache key.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _size(value: Any, key: str) -> int | tuple[int, int]:
    """A torchvision size: an int, or ``[s]`` (the same: the shorter side), or ``[h, w]``."""
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(items) not in (1, 2) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1
                                           for v in items):
        raise InputError(f"transform config: {key}={value!r}; give a size in pixels, [size] or [height, width].")
    return int(items[0]) if len(items) == 1 else (int(items[0]), int(items[1]))


def _torchvision_config(cfg: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """A torchvision-style config (the attributes of a weights preset, as they are: lists,
    an ``InterpolationMode``) in plain, JSON-able values."""
    if "crop_size" in cfg:
        crop = _size(cfg.pop("crop_size"), "crop_size")
        cfg.setdefault("input_size", (3, *crop) if isinstance(crop, tuple) else (3, crop, crop))
    allowed = ("input_size", "resize_size", "mean", "std", "interpolation")
    unknown = sorted(set(cfg) - set(allowed))
    if unknown or "input_size" not in cfg or "resize_size" not in cfg:
        raise InputError(
            f"transform config {dict(given)}: a torchvision-style config needs resize_size and "
            f"crop_size (or input_size), and may have mean, std, interpolation; unknown: {unknown or 'none'}."
        )
    cfg["resize_size"] = _size(cfg["resize_size"], "resize_size")
    cfg.setdefault("mean", (0.485, 0.456, 0.406))
    cfg.setdefault("std", (0.229, 0.224, 0.225))
    cfg["mean"], cfg["std"] = tuple(float(v) for v in cfg["mean"]), tuple(float(v) for v in cfg["std"])
    interpolation = cfg.setdefault("interpolation", "bilinear")
    cfg["interpolation"] = str(getattr(interpolation, "value", interpolation))  # InterpolationMode.BILINEAR
    return cfg


#: Keys of timm's pretrained_cfg that describe the weights, not the preprocessing.
_TIMM_CFG_KEYS = ("url", "hf_hub_id", "architecture", "tag", "num_classes", "classifier", "first_conv", "license")


def transform_from_config(config: Mapping[str, Any]) -> tuple[Callable[[Any], Any], dict[str, Any]]:
    """A preprocessing transform from a timm- or torchvision-style config, and the config used.

    A torchvision-style config takes the attributes of a weights preset as they are
    (``{k: getattr(preset, k) for k in ("crop_size", "resize_size", "mean", "std",
    "interpolation")}``: one-element lists, an ``InterpolationMode``) and gives the
    preset's own result.

    Examples
    --------
    >>> tf, used = transform_from_config({"input_size": (3, 32, 32), "mean": (0.5,) * 3, "std": (0.5,) * 3})  # doctest: +SKIP
    """
    cfg = {k: (tuple(v) if isinstance(v, list) else v) for k, v in dict(config).items()}
    if any(k in cfg for k in _TORCHVISION_KEYS):
        from .sources._torchvision import _transform

        used = _torchvision_config(cfg, config)
        return _transform(used), used
    unknown = sorted(set(cfg) - set(IMAGE_PREPROCESSING_KEYS))
    if unknown:
        hint = (" This looks like a timm pretrained_cfg: pass timm.data.resolve_model_data_config(model), the "
                "preprocessing it resolves to." if any(k in cfg for k in _TIMM_CFG_KEYS) else "")
        raise InputError(
            f"transform config: unknown key(s) {', '.join(unknown)}; timm-style keys are "
            f"{', '.join(IMAGE_PREPROCESSING_KEYS)}, torchvision-style add resize_size/crop_size.{hint}"
        )
    if "input_size" not in cfg:
        raise InputError("transform config: needs input_size, e.g. (3, 224, 224).")
    used = merge_preprocessing(cfg, image_size=None, overrides=None, source="transform config")
    return image_transform(used), used


def _class_id(obj: Any) -> tuple[str, str | None]:
    cls = type(obj)
    name = f"{cls.__module__}.{cls.__qualname__}"
    try:
        path = inspect.getsourcefile(cls)
    except (TypeError, OSError):
        path = None
    return name, sha256_file(path) if path else None


def _transform_for(module: Any, transform: Any, model_id: str) -> tuple[Any, Any, str | None]:
    """(transform callable, its fingerprint for the cache key, why it cannot be cached)."""
    if transform is None:
        pcfg = getattr(module, "pretrained_cfg", None)
        if not isinstance(pcfg, Mapping) or "input_size" not in pcfg:
            raise InputError(
                f"{model_id}: give transform= (a callable from a PIL image to a tensor, or a preprocessing "
                "config such as {'input_size': (3, 224, 224), 'mean': ..., 'std': ...})."
            )
        from .._validation import optional_import

        tdata = optional_import("timm.data", extra="torch", purpose="Preprocessing for a timm module")
        cfg = tdata.resolve_data_config({}, model=module)
        transform = {k: cfg[k] for k in IMAGE_PREPROCESSING_KEYS if k in cfg}
    if isinstance(transform, Mapping):
        tf, used = transform_from_config(transform)
        return tf, {"config": used}, None
    if not callable(transform):
        raise InputError(f"{model_id}: transform must be callable or a preprocessing config; got {type(transform).__name__}.")
    text = repr(transform)
    if _ADDRESS.search(text):
        return transform, None, f"the transform's repr {text[:60]!r} is not stable across runs"
    outputs, why_not = probe_transform(transform)
    if why_not:
        if why_not == RANDOM_TRANSFORM:
            log.warning("%s: the transform gives different outputs for the same image (a random augmentation?): "
                        "features are not reproducible, and are not cached", model_id)
        return transform, None, why_not
    return transform, {"repr": text, "probe_outputs": outputs}, None


def _module_layers(module: Any, model_id: str) -> tuple[dict[str, Any], str]:
    layers: dict[str, Any] = {"output": lambda m, x: m(x)}
    if hasattr(module, "forward_features") and hasattr(module, "forward_head"):
        layers["penultimate"] = lambda m, x: m.forward_head(m.forward_features(x), pre_logits=True)
        layers["logits"] = lambda m, x: m(x)
    else:
        torch = torch_module()
        if any(isinstance(s, torch.nn.Linear) for s in module.modules()):
            layers["penultimate"] = _last_called_linear_input(module, model_id)
    return layers, "output"


def _last_called_linear_input(module: Any, model_id: str) -> Callable[[Any, Any], Any]:
    """A read-out of the input of the ``nn.Linear`` the forward pass calls *last*.

    Not the last one registered: a wrapper that defines its head before its backbone (or a
    transformer whose MLPs are registered after the head) would then give another layer.
    Only the latest input is kept, so memory holds one of them at a time.
    """
    torch = torch_module()
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]

    def read(mod: Any, x: Any) -> Any:
        latest: list[Any] = []

        def keep(_m: Any, args: Any) -> None:
            latest[:] = [args[0]]

        handles = [m.register_forward_pre_hook(keep) for m in linears]
        try:
            mod(x)
        finally:
            for h in handles:
                h.remove()
        if not latest:
            raise InputError(f"{model_id}: no nn.Linear was called in the forward pass, so there is no penultimate "
                             "layer; use layer='output' or a submodule name.")
        return latest[0].flatten(1)

    return read


def _array(out: Any) -> Any:
    """A callable's output as something with a shape (a list of vectors becomes an array)."""
    if hasattr(out, "ndim"):
        return out
    import numpy as np

    return np.asarray(out)


def _unwrapped(model: Any, torch: Any) -> Any:
    """The network inside ``torch.compile`` and (Distributed)DataParallel wrappers.

    Their submodules are named ``_orig_mod.*`` / ``module.*`` and their class is the
    wrapper's, so layer names, the model id and the cache key would all differ from the
    network's own; hooks need the eager module anyway. The network computes the same
    features, on the one device a run uses.
    """
    while True:
        if type(model).__name__ == "OptimizedModule" and isinstance(getattr(model, "_orig_mod", None), torch.nn.Module):
            inner = model._orig_mod
        elif isinstance(model, (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)):
            inner = model.module
        else:
            return model
        log.info("%s: reading the %s it wraps (layer names and cache key are the network's own)",
                 type(model).__name__, type(inner).__name__)
        model = inner


def wrap_model(model: Any, transform: Any = None) -> tuple[LoadedModel, bool]:
    """A :class:`LoadedModel` for a ``torch.nn.Module`` or a callable, and whether it may be cached."""
    torch = torch_module("Extracting features from your own model")
    if isinstance(model, torch.nn.Module):
        model = _unwrapped(model, torch)
        cls_name, cls_sha = _class_id(model)
        model_id = f"module:{type(model).__qualname__}"
        tf, tf_key, why_not = _transform_for(model, transform, model_id)
        layers, default = _module_layers(model, model_id)
        content = digest_json({"state_dict": state_dict_sha256(model), "class": cls_name, "class_file": cls_sha,
                               "transform": tf_key})
        config = ModelConfig(
            model_id=model_id, source="module", name=cls_name, weights="pretrained",
            weights_sha256=content, preprocessing=tf_key or {"transform": "unstable repr"}, default_layer=default,
            provenance={"requested": "a torch.nn.Module", "class": cls_name, "class_file_sha256": cls_sha,
                        "versions": library_versions("torchvision", "timm"),
                        **({"not_cached": why_not} if why_not else {})},
        )
        # Not put in eval() here: each run does that and then gives the module back as it was.
        return LoadedModel(config=config, module=model, transform=tf, layers=layers, borrowed=True), why_not is None
    if callable(model):
        name = getattr(model, "__qualname__", type(model).__qualname__)
        model_id = f"callable:{name}"
        tf = None
        if transform is not None:
            tf = transform_from_config(transform)[0] if isinstance(transform, Mapping) else transform
            if not callable(tf):
                raise InputError(f"{model_id}: transform must be callable or a preprocessing config.")
        config = ModelConfig(
            model_id=model_id, source="callable", name=name, weights="pretrained", weights_sha256=None,
            preprocessing={"transform": repr(tf) if tf is not None else "PIL images as given"}, default_layer="output",
            provenance={"requested": "a callable", "not_cached": "a plain callable: nothing pins what it computes"},
        )
        return LoadedModel(config=config, module=None, transform=tf, layers={"output": lambda _m, x: _array(model(x))},
                           takes_images=tf is None), False
    raise InputError(
        f"model {model!r}: give a model id such as 'timm:resnet50.a1_in1k', a torch.nn.Module, "
        "or a callable from a batch of images to features."
    )

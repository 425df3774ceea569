"""``python:<module>:<callable>``: any model, from your own code.

``<module>`` is an importable module (``my_lab.models``) or a ``.py`` file; the callable
is called with ``model_kwargs`` as keyword arguments (under a fixed torch seed) and
returns the model and its preprocessing, as a ``(model, transform)`` pair, a dict with
``"model"`` and ``"transform"``, or an object with those attributes. ``transform`` maps
a PIL RGB image to a ``(3, H, W)`` tensor. ``--weights FILE`` is loaded into the
returned model.

Layer ``output`` (the default) is ``model(x)``; a timm-style model (with
``forward_features`` and ``forward_head``) also has ``penultimate`` and is read there by
default. Since only the callable knows which weights it loads, the cache key includes a
hash of the returned model's parameters and buffers and the ``repr`` of its transform
with its outputs on two fixed probe images, so this source builds the model even when
its features are cached.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..._errors import InputError
from ..options import ModelOptions
from .._hashing import probe_transform, state_dict_sha256
from ..config import LoadedModel, ModelConfig, library_versions
from ._common import Source, apply_state_dict, hash_weights, load_state_dict_file, seeded, torch_module

log = logging.getLogger(__name__)


def _split(name: str) -> tuple[str, str]:
    module, sep, func = name.rpartition(":")
    if not sep or not module or not func.isidentifier():
        raise InputError(
            f"python:{name}: expected python:<module or file.py>:<callable>, e.g. python:my_models:build."
        )
    return module, func


def _import(module: str) -> Any:
    if module.endswith(".py"):
        path = Path(module).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"python:{module}: no such file.")
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(f"_repalign_user_{path.stem}_{digest}", path)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
            raise InputError(f"python:{module}: cannot import this file.")
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception as exc:  # the user's code: one line naming the file
            raise InputError(f"python:{module}: importing the file raised {type(exc).__name__}: {exc}") from exc
        return mod
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"python:{module}: cannot import module {module!r} ({exc}).") from exc
    except Exception as exc:  # the user's code: one line naming the module
        raise InputError(f"python:{module}: importing it raised {type(exc).__name__}: {exc}") from exc


def _module_file(module: str) -> str | None:
    if module.endswith(".py"):
        path = Path(module).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"python:{module}: no such file (give an existing .py file or an importable module).")
        return str(path)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.origin and os.path.isfile(spec.origin) else None


class PythonSource(Source):
    prefix = "python"
    extra = "torch"
    requires = ("torch",)
    summary = "your own model: python:<module or file.py>:<callable> returning (model, transform)"
    example = "python:my_models:build"

    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        module, func = _split(name)
        if options.image_size is not None or options.preprocessing:
            raise InputError(f"python:{name}: the callable returns its own preprocessing; change it there.")
        if options.weights_kind == "random-init":
            raise InputError(f"python:{name}: the callable decides its weights; random init is not an option here.")
        weights_file = self._user_weights_file(options)
        source_file = _module_file(module)
        return self._make_config(
            name, options, weights_file=weights_file, preprocessing={}, default_layer="output",
            weights_sha256=None,  # known only once the callable has built the model
            seed=int(options.seed),
            provenance={
                "requested": f"python:{name}",
                "module_file": source_file,
                "module_sha256": hash_weights(source_file) if source_file else None,
                "versions": library_versions("torchvision", "timm"),
            },
        )

    def weights_status(self, config: ModelConfig) -> dict[str, Any]:
        # The callable chooses (and may download) its own weights: repalign cannot see them.
        return {"present": True, "download_bytes": None,
                "where": f"chosen by your code ({config.provenance.get('module_file') or config.name})"}

    def load(self, config: ModelConfig) -> LoadedModel:
        torch = torch_module()
        module, func = _split(config.name)
        mod = _import(module)
        fn = getattr(mod, func, None)
        if not callable(fn):
            raise InputError(f"{config.model_id}: {module} has no callable {func!r}.")
        with seeded(config.seed or 0):
            try:
                built = fn(**dict(config.model_kwargs))
            except InputError:
                raise
            except Exception as exc:  # the user's code: one line naming the model
                raise InputError(f"{config.model_id}: building the model raised {type(exc).__name__}: {exc}") from exc
        model, transform = _unpack(built, config.model_id)
        if not isinstance(model, torch.nn.Module):
            raise InputError(f"{config.model_id}: the callable returned a {type(model).__name__}, not a torch.nn.Module.")
        if not callable(transform):
            raise InputError(f"{config.model_id}: the returned transform is not callable.")
        if config.weights == "file":
            apply_state_dict(model, load_state_dict_file(config.weights_file), config.model_id)  # type: ignore[arg-type]
        model.eval()
        timm_like = hasattr(model, "forward_features") and hasattr(model, "forward_head")
        layers: dict[str, Any] = {"output": lambda m, x: m(x)}
        if timm_like:
            layers["penultimate"] = lambda m, x: m.forward_head(m.forward_features(x), pre_logits=True)
        content = hashlib.sha256(
            f"{config.provenance.get('module_sha256')}|{func}|{state_dict_sha256(model)}".encode()
        ).hexdigest()
        # The repr alone does not pin a transform (T.Lambda prints as Lambda()); its outputs on
        # fixed probe images do, whatever code outside this file it calls.
        probe, why = probe_transform(transform)
        if why:
            log.warning("%s: no probe of the transform (%s); its cache key holds only its repr", config.model_id, why)
        config = config.replace(
            weights_sha256=content,
            preprocessing={"transform": repr(transform), "probe_outputs": probe},
            default_layer="penultimate" if timm_like else "output",
        )
        return LoadedModel(config=config, module=model, transform=transform, layers=layers)


def _unpack(built: Any, model_id: str) -> tuple[Any, Any]:
    if isinstance(built, Mapping):
        if "model" in built and "transform" in built:
            return built["model"], built["transform"]
    elif isinstance(built, (tuple, list)) and len(built) == 2:
        return built[0], built[1]
    elif hasattr(built, "model") and hasattr(built, "transform"):
        return built.model, built.transform
    raise InputError(
        f"{model_id}: the callable must return (model, transform), a dict with 'model' and 'transform', "
        f"or an object with those attributes; it returned {type(built).__name__}."
    )

"""``torchvision:<name>[.<weights>]``: torchvision's classification models.

``torchvision:resnet50`` pins the weights enum torchvision calls ``DEFAULT`` today
(``torchvision:resnet50.IMAGENET1K_V2``). Preprocessing is the weights' own
``ImageClassification`` transform (resize, center crop, normalise); the penultimate
embedding is the input of the last linear layer (``fc``, ``classifier[-1]``, ``heads``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..._errors import DataNotFoundError, InputError
from ..._validation import preview
from ..options import ModelOptions
from ..config import LoadedModel, ModelConfig, library_versions
from ._common import (
    Source,
    apply_state_dict,
    hf_offline,
    last_linear_readout,
    load_state_dict_file,
    match_names,
    missing_weights_message,
    seeded,
    torch_module,
)

_KEYS = ("input_size", "resize_size", "mean", "std", "interpolation")
_DEFAULT_PREP = {"input_size": (3, 224, 224), "resize_size": 256, "mean": (0.485, 0.456, 0.406),
                 "std": (0.229, 0.224, 0.225), "interpolation": "bilinear"}


class TorchvisionSource(Source):
    prefix = "torchvision"
    extra = "torch"
    requires = ("torch", "torchvision")
    summary = "torchvision classification models, <name>[.<weights enum>]; penultimate = input of the last linear layer"
    example = "torchvision:resnet50.IMAGENET1K_V2"

    def _tv(self) -> Any:
        return self.import_("torchvision.models")

    def _names(self) -> list[str]:
        tvm = self._tv()
        return list(tvm.list_models(module=tvm))

    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        tvm = self._tv()
        arch, _, tag = name.partition(".")
        if arch not in self._names():
            import difflib

            close = difflib.get_close_matches(arch, self._names(), n=3)
            raise InputError(
                f"torchvision:{name}: {arch!r} is not a torchvision classification model"
                + (f"; did you mean {', '.join(close)}?" if close else ".")
            )
        kind = options.weights_kind
        enum = tvm.get_model_weights(arch)
        provenance: dict[str, Any] = {"requested": f"torchvision:{name}"}
        w = None
        if tag or kind == "pretrained":
            try:
                w = enum[tag] if tag else enum.DEFAULT
            except KeyError as exc:
                raise InputError(
                    f"torchvision:{name}: no weights {tag!r}; {arch} has {preview([m.name for m in enum], 6)}."
                ) from exc
        if w is not None:
            t = w.transforms()
            prep = {
                "input_size": (3, int(t.crop_size[0]), int(t.crop_size[0])),
                "resize_size": int(t.resize_size[0]),
                "mean": tuple(t.mean),
                "std": tuple(t.std),
                "interpolation": t.interpolation.value,
            }
        else:
            prep = dict(_DEFAULT_PREP)
        if options.image_size is not None:
            ratio = prep["resize_size"] / prep["input_size"][-1]
            prep["input_size"] = (3, int(options.image_size), int(options.image_size))
            prep["resize_size"] = int(round(options.image_size * ratio))
        for key, value in options.preprocessing.items():
            if key not in _KEYS:
                raise InputError(f"torchvision:{name}: unknown preprocessing key {key!r}; valid: {', '.join(_KEYS)}.")
            prep[key] = tuple(value) if isinstance(value, list) else value
        weights_file = None
        model_name = f"{arch}.{w.name}" if w is not None else arch
        if kind == "pretrained":
            torch = torch_module()
            provenance["url"] = w.url  # type: ignore[union-attr]
            cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(w.url)  # type: ignore[union-attr]
            weights_file = str(cached) if cached.is_file() else None
        elif kind == "file":
            weights_file = self._user_weights_file(options)
        provenance["versions"] = library_versions("torchvision")
        return self._make_config(model_name, options, weights_file=weights_file, preprocessing=prep, provenance=provenance)

    def load(self, config: ModelConfig) -> LoadedModel:
        tvm = self._tv()
        arch, _, tag = config.name.partition(".")
        kwargs = dict(config.model_kwargs)
        if config.weights == "pretrained":
            w = tvm.get_model_weights(arch)[tag]
            if config.weights_file is None and hf_offline():  # as the other sources: offline means no download
                raise DataNotFoundError(missing_weights_message(config.model_id, url=w.url))
            try:
                model = tvm.get_model(arch, weights=w, **kwargs)
            except Exception as exc:  # download errors have many types
                raise DataNotFoundError(
                    missing_weights_message(config.model_id, url=w.url)
                    + f" (Loading failed: {type(exc).__name__}: {str(exc)[:200]})"
                ) from exc
            if config.weights_file is None:
                config = self.config(config.name, ModelOptions(model_kwargs=config.model_kwargs)).replace(
                    preprocessing=config.preprocessing
                )
        else:
            with seeded(config.seed or 0):
                model = tvm.get_model(arch, weights=None, **kwargs)
            if config.weights == "file":
                apply_state_dict(model, load_state_dict_file(config.weights_file), config.model_id)  # type: ignore[arg-type]
        model.eval()
        last, penultimate = last_linear_readout(model, source=config.model_id)
        return LoadedModel(
            config=config.replace(provenance={**config.provenance, "penultimate_module": last}),
            module=model,
            transform=_transform(config.preprocessing),
            layers={"penultimate": penultimate, "logits": lambda m, x: m(x)},
        )

    def available(self, pattern: str | None = None) -> list[str]:
        return match_names(self._names(), pattern)


def _transform(prep: Mapping[str, Any]) -> Any:
    """The same steps as torchvision's ``ImageClassification`` preset, from public transforms."""
    torch = torch_module()
    import torchvision.transforms as T

    resize = prep["resize_size"]  # the shorter side, or (height, width)
    _, height, width = (int(v) for v in prep["input_size"])
    return T.Compose([
        T.Resize(tuple(resize) if isinstance(resize, (tuple, list)) else int(resize),
                 interpolation=T.InterpolationMode(prep["interpolation"]), antialias=True),
        T.CenterCrop((height, width)),
        T.PILToTensor(),
        T.ConvertImageDtype(torch.float),
        T.Normalize(mean=tuple(prep["mean"]), std=tuple(prep["std"])),
    ])

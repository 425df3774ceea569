"""``open_clip:<arch>/<pretrained>``: OpenCLIP image towers (``repalign[clip]``).

The embedding (layer ``output``) is ``model.encode_image(x)``, the CLIP image embedding
before normalisation. Preprocessing is OpenCLIP's evaluation transform for the pretrained
tag (its image size, mean/std, interpolation and resize mode).
"""

from __future__ import annotations

import difflib
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
    hf_cached_file,
    load_state_dict_file,
    match_names,
    missing_weights_message,
    seeded,
)

_OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
_OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
_KEYS = ("input_size", "mean", "std", "interpolation", "resize_mode")


class OpenClipSource(Source):
    prefix = "open_clip"
    extra = "clip"
    requires = ("torch", "open_clip")
    summary = "OpenCLIP image encoders, <arch>/<pretrained>; output = encode_image(x)"
    example = "open_clip:ViT-B-32/laion2b_s34b_b79k"

    def _oc(self) -> Any:
        return self.import_("open_clip")

    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        oc = self._oc()
        arch, _, tag = name.partition("/")
        if arch not in oc.list_models():
            close = difflib.get_close_matches(arch, oc.list_models(), n=3)
            raise InputError(
                f"open_clip:{name}: unknown OpenCLIP architecture {arch!r}"
                + (f"; did you mean {', '.join(close)}?" if close else ".")
            )
        kind = options.weights_kind
        tags = list(oc.list_pretrained_tags_by_model(arch))
        pcfg: Mapping[str, Any] = {}
        if tag or kind == "pretrained":
            if not tag:
                raise InputError(
                    f"open_clip:{name}: name the pretrained weights, as open_clip:{arch}/<pretrained>; "
                    f"{arch} has {preview(tags, 6) if tags else 'none'}."
                )
            if tag not in tags:
                raise InputError(f"open_clip:{name}: no pretrained {tag!r} for {arch}; it has {preview(tags, 6) or 'none'}.")
            pcfg = oc.get_pretrained_cfg(arch, tag)
        vision = oc.get_model_config(arch).get("vision_cfg", {})
        size = vision.get("image_size", 224)
        size = int(size[0] if isinstance(size, (list, tuple)) else size)
        prep: dict[str, Any] = {
            "input_size": (3, size, size),
            "mean": tuple(pcfg.get("mean") or _OPENAI_MEAN),
            "std": tuple(pcfg.get("std") or _OPENAI_STD),
            "interpolation": pcfg.get("interpolation") or "bicubic",
            "resize_mode": pcfg.get("resize_mode") or "shortest",
        }
        if options.image_size is not None:
            prep["input_size"] = (3, int(options.image_size), int(options.image_size))
        for key, value in options.preprocessing.items():
            if key not in _KEYS:
                raise InputError(f"open_clip:{name}: unknown preprocessing key {key!r}; valid: {', '.join(_KEYS)}.")
            prep[key] = tuple(value) if isinstance(value, list) else value
        provenance: dict[str, Any] = {"requested": f"open_clip:{name}", "versions": library_versions("open_clip_torch")}
        weights_file = None
        if kind == "pretrained":
            for key in ("hf_hub", "url", "quick_gelu"):
                if pcfg.get(key):
                    provenance[key] = pcfg[key]
            weights_file = self._find_cached(pcfg)
        elif kind == "file":
            weights_file = self._user_weights_file(options)
        model_name = f"{arch}/{tag}" if tag else arch
        return self._make_config(
            model_name, options, weights_file=weights_file, preprocessing=prep, provenance=provenance,
            default_layer="output",
        )

    def _find_cached(self, pcfg: Mapping[str, Any]) -> str | None:
        hub = (pcfg.get("hf_hub") or "").strip("/")
        if hub:
            parts = hub.split("/")
            repo = "/".join(parts[:2])
            names = ("/".join(parts[2:]),) if len(parts) > 2 else ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
            found = hf_cached_file(repo, names)
            if found:
                return found
        url = pcfg.get("url")
        if url:
            candidate = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
            if candidate.is_file():
                return str(candidate)
        return None

    def load(self, config: ModelConfig) -> LoadedModel:
        oc = self._oc()
        arch, _, tag = config.name.partition("/")
        prep = config.preprocessing
        kwargs = dict(config.model_kwargs)
        size = int(prep["input_size"][-1])
        if config.weights == "pretrained":
            try:
                model = oc.create_model(arch, pretrained=tag, **kwargs)
            except Exception as exc:  # download and hub errors have many types
                raise DataNotFoundError(
                    missing_weights_message(
                        config.model_id, hf_repo="/".join(str(config.provenance.get("hf_hub", "")).strip("/").split("/")[:2]) or None,
                        url=config.provenance.get("url") or None,
                    ) + f" (Loading failed: {type(exc).__name__}: {str(exc)[:200]})"
                ) from exc
            if config.weights_file is None:
                config = self.config(config.name, model_kwargs=config.model_kwargs).replace(preprocessing=prep)
        else:
            with seeded(config.seed or 0):
                model = oc.create_model(arch, pretrained=None, **kwargs)
            if config.weights == "file":
                apply_state_dict(model, load_state_dict_file(config.weights_file), config.model_id)  # type: ignore[arg-type]
        model.eval()
        transform = oc.image_transform(
            size, is_train=False, mean=tuple(prep["mean"]), std=tuple(prep["std"]),
            resize_mode=prep["resize_mode"], interpolation=prep["interpolation"],
        )
        return LoadedModel(
            config=config, module=model, transform=transform, layers={"output": lambda m, x: m.encode_image(x)},
        )

    def available(self, pattern: str | None = None) -> list[str]:
        oc = self._oc()
        return match_names([f"{a}/{t}" for a, t in oc.list_pretrained()], pattern)

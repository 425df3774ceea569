"""``timm:<arch>[.<tag>]``: PyTorch Image Models, the primary source.

The penultimate embedding is timm's own pre-logits output,
``forward_head(forward_features(x), pre_logits=True)``, defined the same way for CNNs,
ViTs and MLP-mixers. ``intermediate:<i>`` reads block/stage ``i`` through
``forward_intermediates`` (NCHW, prefix tokens dropped), pooled explicitly.
Preprocessing is timm's resolved data config of the pinned tag.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..resolve import Resolution

from ..._errors import DataNotFoundError, InputError
from ..._validation import preview
from ..config import LoadedModel, ModelConfig, library_versions
from ..options import ModelOptions
from ._common import (
    Source,
    hf_cached_file,
    hf_offline,
    image_transform,
    load_state_dict_file,
    match_names,
    merge_preprocessing,
    missing_weights_message,
    seeded,
    torch_module,
)

log = logging.getLogger(__name__)

_HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_model.safetensors", "open_clip_pytorch_model.bin")


class TimmSource(Source):
    prefix = "timm"
    extra = "torch"
    requires = ("torch", "timm")
    summary = "PyTorch Image Models, <arch>[.<tag>]; penultimate = forward_head(..., pre_logits=True)"
    example = "timm:resnet50.a1_in1k"

    def _timm(self) -> Any:
        return self.import_("timm")

    # -- naming: architecture.pretrained_tag ------------------------------------------
    def resolve(self, requested: str, name: str) -> Resolution:
        """Pin a timm name (no prefix) to ``timm:arch.tag``; see :func:`repalign.models.resolve_name`."""
        return resolve_timm_name(self._timm().models, requested, name)

    # -- configuration, without building the model -----------------------------------
    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        timm = self._timm()
        kind = options.weights_kind
        arch, tag = timm.models.split_model_name_tag(name)
        provenance: dict[str, Any] = {"requested": f"timm:{name}"}
        if kind == "pretrained" or name in timm.models.get_deprecated_models():
            res = self.resolve(f"timm:{name}", name)
            if res.method == "no-pretrained-weights" and kind == "pretrained":
                raise InputError(
                    f"timm:{name}: timm has no pretrained weights for this architecture; "
                    "use random initialisation (pretrained=False, CLI --random-init) or --weights FILE."
                )
            provenance["resolution"] = res.to_dict()
            arch, tag = timm.models.split_model_name_tag(res.model_id.split(":", 1)[1])
        if not timm.models.is_model(arch):
            self.resolve(f"timm:{name}", arch)  # raises, with close matches
        cfg_name = f"{arch}.{tag}" if tag else arch
        try:
            pcfg = timm.models.get_pretrained_cfg(cfg_name)
        except RuntimeError as exc:
            raise InputError(f"timm:{name}: {exc}") from exc
        cfg_dict = pcfg.to_dict() if pcfg is not None else {}
        if cfg_dict.get("tag"):
            provenance["preprocessing_from"] = f"{arch}.{cfg_dict['tag']}"
        data_cfg = timm.data.resolve_data_config(pretrained_cfg=cfg_dict) if cfg_dict else {}
        prep = merge_preprocessing(
            data_cfg, image_size=options.image_size, overrides=options.preprocessing, source=f"timm:{name}"
        )
        if kind == "pretrained":
            model_name = f"{arch}.{tag}"
            weights_file = self._find_cached_weights(cfg_dict)
            for key in ("hf_hub_id", "url", "license", "origin_url", "paper_ids"):
                if cfg_dict.get(key):
                    provenance[key] = cfg_dict[key]
        elif kind == "file":
            model_name = f"{arch}.{tag}" if tag else arch
            weights_file = self._user_weights_file(options)
        else:
            model_name = f"{arch}.{tag}" if tag and tag != "untrained" else arch
            weights_file = None
        provenance["versions"] = library_versions("timm", "safetensors")
        return self._make_config(model_name, options, weights_file=weights_file, preprocessing=prep, provenance=provenance)

    def weights_status(self, config: ModelConfig) -> dict[str, Any]:
        """Present when timm's published file is in the local hub or torch cache (never the network)."""
        status = super().weights_status(config)
        if not status["present"]:
            # timm's pretrained config records where the file lives, not its size, and asking the
            # hub would be a network call: the size stays unknown (None) rather than guessed.
            hub = config.provenance.get("hf_hub_id") or ""
            status["where"] = (f"Hugging Face hub {hub} (not in the local cache)" if hub
                               else f"{config.provenance.get('url') or 'timm'} (not in torch's hub cache)")
        return status

    def _find_cached_weights(self, cfg: Mapping[str, Any]) -> str | None:
        """The local file timm would load the pretrained weights from, without any download."""
        hub_id = cfg.get("hf_hub_id")
        if hub_id:
            repo, _, revision = hub_id.partition("@")
            names = (cfg["hf_hub_filename"],) if cfg.get("hf_hub_filename") else _HF_WEIGHT_FILES
            found = hf_cached_file(repo, names, revision or None)
            if found:
                return found
        url = cfg.get("url")
        if url:
            torch = torch_module()
            candidate = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url.split("?")[0])
            if candidate.is_file():
                return str(candidate)
        return None

    # -- building ------------------------------------------------------------------
    def load(self, config: ModelConfig) -> LoadedModel:
        timm = self._timm()
        kwargs = dict(config.model_kwargs)
        name = config.name
        if config.weights == "random-init":
            with seeded(config.seed or 0):
                model = timm.create_model(name, pretrained=False, **kwargs)
        else:
            if config.weights_file is None:
                model = self._download(config, kwargs)
                config = self.config(name, ModelOptions(model_kwargs=config.model_kwargs)).replace(
                    preprocessing=config.preprocessing
                )
                if config.weights_file is None:
                    raise DataNotFoundError(missing_weights_message(config.model_id))
            else:
                if config.weights == "file":
                    # A user's file: read safely here (safetensors, or weights_only=True), then
                    # let timm apply its checkpoint filter and classifier adaptation.
                    overlay = {"state_dict": load_state_dict_file(config.weights_file)}  # type: ignore[arg-type]
                else:
                    overlay = {"file": config.weights_file}  # timm's own published file, from the cache
                try:
                    model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=overlay, **kwargs)
                except (RuntimeError, ValueError, KeyError) as exc:
                    raise InputError(
                        f"{config.model_id}: the weights in {config.weights_file} do not fit this model: {exc}"
                    ) from exc
        model.eval()
        return LoadedModel(
            config=config,
            module=model,
            transform=image_transform(config.preprocessing),
            layers={
                "penultimate": lambda m, x: m.forward_head(m.forward_features(x), pre_logits=True),
                "logits": lambda m, x: m(x),
                "features": lambda m, x: m.forward_features(x),
            },
            intermediate=_intermediate if hasattr(model, "forward_intermediates") else None,
        )

    def _download(self, config: ModelConfig, kwargs: dict[str, Any]) -> Any:
        timm = self._timm()
        hub = config.provenance.get("hf_hub_id")
        url = config.provenance.get("url")
        if hf_offline() and hub:
            raise DataNotFoundError(missing_weights_message(config.model_id, hf_repo=hub, url=url or None))
        log.info("%s: weights not in the local cache; asking timm to download them", config.model_id)
        try:
            return timm.create_model(config.name, pretrained=True, **kwargs)
        except Exception as exc:  # network, hub and HTTP errors have many types
            raise DataNotFoundError(
                missing_weights_message(config.model_id, hf_repo=hub, url=url or None)
                + f" (The download failed: {type(exc).__name__}: {str(exc)[:200]})"
            ) from exc

    def available(self, pattern: str | None = None) -> list[str]:
        timm = self._timm()
        return match_names(list(timm.list_pretrained()), pattern)


def _intermediate(module: Any, x: Any, index: int) -> Any:
    out = module.forward_intermediates(x, indices=[index], intermediates_only=True)
    return out[0] if isinstance(out, (list, tuple)) else out


def resolve_timm_name(tm: Any, requested: str, name: str) -> Resolution:
    """Pin a timm name to ``timm:arch.tag``: exact tags, deprecated names (timm's map, corrected
    by the paper's pins where the map is wrong), and today's default tag of a bare architecture.
    ``tm`` is ``timm.models``."""
    from ..resolve import Resolution, _paper_index

    arch, tag = tm.split_model_name_tag(name)
    deprecated = tm.get_deprecated_models()
    if tag and tm.is_model_pretrained(name):
        return Resolution(requested, f"timm:{name}", "exact")
    if name in deprecated:
        pin = _paper_index().get(name)
        target = deprecated[name]
        if pin is not None and pin.resolved and pin.timm_name != target and pin.method != "deprecation-map":
            return Resolution(
                requested, f"timm:{pin.timm_name}", "paper-pin",
                f"corrects timm's map of deprecated names: {pin.note}",
            )
        if "." not in target:
            target = f"{target}.{tm.get_pretrained_cfg(target).tag}"
        return Resolution(requested, f"timm:{target}", "deprecated-name", f"timm renamed {name} to {deprecated[name]}")
    if not tm.is_model(arch):
        close = difflib.get_close_matches(arch, tm.list_models(), n=3)
        raise InputError(
            f"{requested!r}: {arch!r} is not a timm architecture"
            + (f"; did you mean {', '.join(close)}?" if close else ".")
            + " `repalign models list PATTERN` lists the pretrained ones."
        )
    if tag:
        tags = [t.split(".", 1)[1] for t in tm.list_pretrained(f"{arch}.*")]
        raise InputError(
            f"{requested!r}: timm has no pretrained tag {tag!r} for {arch}; "
            + (f"its tags are {preview(tags, 8)}." if tags else "it has no pretrained weights (use random init).")
        )
    cfg = tm.get_pretrained_cfg(arch)
    if cfg is None or not tm.is_model_pretrained(arch):
        return Resolution(requested, f"timm:{arch}", "no-pretrained-weights", f"timm has no pretrained weights for {arch}")
    note = ""
    pin = _paper_index().get(name)
    if pin is not None and pin.resolved and pin.timm_name != f"{arch}.{cfg.tag}":
        note = f"the paper's {name} is {pin.timm_name} (paper:{name})"
    return Resolution(requested, f"timm:{arch}.{cfg.tag}", "default-tag", note)

"""``hf:<repo id or folder>``: Hugging Face ``transformers`` vision backbones (``repalign[hf]``).

The model is ``AutoModel`` and its preprocessing ``AutoImageProcessor`` of the same
repository (its ``preprocessor_config.json`` is recorded as the preprocessing). Layer
``output`` is the model's ``pooler_output`` when the checkpoint holds the pooler's
weights, and otherwise the mean of ``last_hidden_state`` over tokens (or spatial
positions): a pooler that ``transformers`` had to initialise randomly is never used.

Offline use: a repo id is looked up in the local Hugging Face cache first (and
``HF_HUB_OFFLINE=1`` is respected); a local folder written by ``save_pretrained`` works
directly.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..._errors import DataNotFoundError, InputError
from ..options import ModelOptions
from ..config import LoadedModel, ModelConfig, library_versions
from ._common import (
    Source,
    apply_state_dict,
    hf_cached_snapshot,
    hf_offline,
    load_state_dict_file,
    missing_weights_message,
    seeded,
)

log = logging.getLogger(__name__)


class _ProcessorTransform:
    """PIL image -> ``pixel_values`` tensor with a ``transformers`` image processor (picklable)."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    def __call__(self, image: Any) -> Any:
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]


class HFSource(Source):
    prefix = "hf"
    extra = "hf"
    requires = ("torch", "transformers")
    summary = "Hugging Face transformers vision backbones (AutoModel + AutoImageProcessor), repo id or folder"
    example = "hf:facebook/dinov2-small"

    def _location(self, name: str) -> tuple[str, str | None, str | None]:
        """(what to load from, local folder if any, revision)."""
        path = Path(name).expanduser()
        if path.is_dir():
            return str(path.resolve()), str(path.resolve()), None
        repo, _, revision = name.partition("@")
        if repo.count("/") != 1 or repo.startswith((".", "/")):
            raise InputError(f"hf:{name}: not a local folder nor a Hugging Face repo id of the form 'org/name'.")
        return repo, hf_cached_snapshot(repo, revision or None), revision or None

    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        kind = options.weights_kind
        target, folder, revision = self._location(name)
        prep: dict[str, Any] = {}
        if folder is not None:
            pp = Path(folder) / "preprocessor_config.json"
            if pp.is_file():
                try:
                    prep = json.loads(pp.read_text())
                except ValueError as exc:
                    raise InputError(f"{pp}: not valid JSON ({exc}).") from exc
        if options.image_size is not None:
            prep["size"] = {"height": int(options.image_size), "width": int(options.image_size)}
            prep.pop("crop_size", None)
            prep["do_center_crop"] = False
        prep.update(options.preprocessing)
        weights_file = None
        if kind == "pretrained":
            weights_file = folder
        elif kind == "file":
            weights_file = self._user_weights_file(options)
            if folder is None:
                raise DataNotFoundError(missing_weights_message(f"hf:{name}", hf_repo=target) + " (Its config is needed to build the model.)")
        provenance: dict[str, Any] = {
            "requested": f"hf:{name}",
            "location": target,
            "output": "pooler_output if the checkpoint has the pooler's weights, else mean of last_hidden_state",
            "versions": library_versions("transformers", "huggingface_hub", "safetensors"),
        }
        if revision:
            provenance["revision"] = revision
        return self._make_config(
            name, options, weights_file=weights_file, preprocessing=prep, provenance=provenance, default_layer="output"
        )

    def load(self, config: ModelConfig) -> LoadedModel:
        tf = self.import_("transformers")
        target, folder, revision = self._location(config.name)
        source = folder or target
        local_only = folder is not None or hf_offline()
        kwargs = dict(config.model_kwargs)
        try:
            processor = tf.AutoImageProcessor.from_pretrained(source, revision=revision, local_files_only=local_only)
            if config.weights == "pretrained":
                model, info = tf.AutoModel.from_pretrained(
                    source, revision=revision, local_files_only=local_only, output_loading_info=True, **kwargs
                )
            else:
                mcfg = tf.AutoConfig.from_pretrained(source, revision=revision, local_files_only=local_only)
                with seeded(config.seed or 0):
                    model = tf.AutoModel.from_config(mcfg, **kwargs)
                info = {"missing_keys": []}
        except OSError as exc:
            raise DataNotFoundError(
                missing_weights_message(config.model_id, hf_repo=target if folder is None else None)
                + f" ({type(exc).__name__}: {str(exc)[:200]})"
            ) from exc
        if config.weights == "file":
            apply_state_dict(model, load_state_dict_file(config.weights_file), config.model_id)  # type: ignore[arg-type]
        missing = sorted(info.get("missing_keys") or [])
        random_pooler = any(k.startswith("pooler.") for k in missing)
        others = [k for k in missing if not k.startswith("pooler.")]
        if others:
            log.warning("%s: %d weights missing from the checkpoint were initialised randomly: %s",
                        config.model_id, len(others), others[:3])
        if config.weights == "pretrained" and config.weights_file is None:
            config = self.config(config.name, model_kwargs=config.model_kwargs)
        if config.preprocessing:  # the recorded config, with any overrides, is what runs
            processor = type(processor).from_dict(dict(config.preprocessing))
        model.eval()
        use_pooler = config.weights != "pretrained" or not random_pooler
        provenance = {**config.provenance, "output_used": "pooler_output if returned" if use_pooler else "mean of last_hidden_state (the pooler is not in the checkpoint)"}
        return LoadedModel(
            config=config.replace(provenance=provenance, preprocessing=config.preprocessing or processor.to_dict()),
            module=model,
            transform=_ProcessorTransform(processor),
            layers={
                "output": lambda m, x: _output(m(pixel_values=x), use_pooler),
                "last_hidden_state": lambda m, x: m(pixel_values=x).last_hidden_state,
            },
        )


def _output(out: Any, use_pooler: bool) -> Any:
    pooled = getattr(out, "pooler_output", None)
    if use_pooler and pooled is not None:
        return pooled.flatten(1)
    hidden = out.last_hidden_state
    if hidden.ndim == 3:
        return hidden.mean(dim=1)
    return hidden.flatten(2).mean(dim=2)

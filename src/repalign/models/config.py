"""The model configuration: weights, preprocessing and provenance kept together.

Like timm's ``pretrained_cfg``, a :class:`ModelConfig` says everything that determines a
model's features *before* the model is built: which weights (and the SHA-256 of the
file holding them), how images are preprocessed, which layer is read by default, and
where it all came from. The feature cache keys on it, so a cache hit never builds the
model, and a change of weights or preprocessing never reuses stale features.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["WEIGHT_KINDS", "LoadedModel", "ModelConfig", "library_versions"]

#: How the weights of a model were chosen.
WEIGHT_KINDS: tuple[str, ...] = ("pretrained", "file", "random-init")


def library_versions(*modules: str) -> dict[str, str]:
    """Installed versions of ``modules`` (plus repalign, numpy, torch), ``"absent"`` if missing.

    Read from the package metadata, so nothing is imported.
    """
    from .._environment import package_versions

    out = package_versions(sorted({"numpy", "torch", "pillow", *modules}), missing="absent")
    out.pop("python")
    return out


@dataclass(frozen=True)
class ModelConfig:
    """What a model id resolves to, before any weights are loaded.

    Attributes
    ----------
    model_id : str
        Canonical id, ``source:name`` with the pretrained tag pinned
        (``timm:resnet50`` becomes ``timm:resnet50.a1_in1k``).
    source, name : str
        The two halves of ``model_id``.
    modality : {"image", "text", "synthetic"}
        What the model reads (``synthetic``: a zoo model, fixed features of its own stimuli).
    weights : {"pretrained", "file", "random-init"}
        Where the weights come from.
    weights_file : str or None
        The local file (or folder) the weights are read from, once it is known.
    weights_sha256 : str or None
        SHA-256 of ``weights_file`` (of every file, for a folder). ``None`` for random
        initialisation and for pretrained weights not yet on this machine.
    seed : int or None
        The seed of a random initialisation.
    preprocessing : mapping
        The model's own preprocessing (for images: ``input_size``, ``interpolation``,
        ``crop_pct``, ``crop_mode``, ``mean``, ``std``).
    default_layer : str
        The layer read when none is requested (``penultimate`` for classifiers).
    model_kwargs : mapping
        Extra keyword arguments used to build the model (e.g. timm's ``img_size``).
    provenance : mapping
        Where everything came from: the requested name, how it was resolved, hub ids,
        URLs, licenses, library versions. Not part of the cache key, except ``versions``.
    """

    model_id: str
    source: str
    name: str
    modality: str = "image"
    weights: str = "pretrained"
    weights_file: str | None = None
    weights_sha256: str | None = None
    seed: int | None = None
    preprocessing: Mapping[str, Any] = field(default_factory=dict)
    default_layer: str = "penultimate"
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def weights_known(self) -> bool:
        """Whether the weights are pinned by content (or are a seeded random init)."""
        return self.weights == "random-init" or self.weights_sha256 is not None

    def fingerprint(self) -> dict[str, Any]:
        """The part of the configuration that determines the features (for the cache key)."""
        return {
            "model_id": self.model_id,
            "modality": self.modality,
            "weights": self.weights,
            "weights_sha256": self.weights_sha256,
            "seed": self.seed if self.weights == "random-init" else None,
            "preprocessing": _plain(self.preprocessing),
            "model_kwargs": _plain(self.model_kwargs),
            "versions": _plain(self.provenance.get("versions", {})),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-able."""
        return {
            "model_id": self.model_id,
            "source": self.source,
            "name": self.name,
            "modality": self.modality,
            "weights": self.weights,
            "weights_file": self.weights_file,
            "weights_sha256": self.weights_sha256,
            "seed": self.seed,
            "preprocessing": _plain(self.preprocessing),
            "default_layer": self.default_layer,
            "model_kwargs": _plain(self.model_kwargs),
            "provenance": _plain(self.provenance),
        }

    def replace(self, **changes: Any) -> ModelConfig:
        return replace(self, **changes)


def _plain(obj: Any) -> Any:
    """Tuples to lists and paths to strings, recursively, so the object is JSON-able."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "item") and callable(obj.item) and not isinstance(obj, (str, bytes)):
        return obj.item()
    return obj


@dataclass
class LoadedModel:
    """A built model, ready to embed stimuli.

    Attributes
    ----------
    config : ModelConfig
        Its configuration (with the weight hash filled in once the weights are local).
    module : torch.nn.Module or None
        The network, in ``eval()`` mode (``None`` only for text encoders without one).
    transform : callable or None
        Image preprocessing: a PIL image to a ``(3, H, W)`` tensor.
    layers : dict of str to callable
        Named read-outs: ``name -> f(module, batch) -> tensor``; ``penultimate`` and
        ``logits`` for classifiers, ``output`` for embedding models. Any other layer is
        read from a submodule with a forward hook.
    intermediate : callable or None
        ``f(module, batch, index) -> NCHW tensor`` for ``intermediate:<index>`` layers.
    encode_text : callable or None
        Text models: ``f(texts, batch_size, device) -> (n, d) array``.
    representation : Representation or None
        Synthetic models (``zoo:``): the fixed features of their own stimuli.
    takes_images : bool
        The read-outs take a list of PIL images instead of a tensor batch (a plain
        callable given without a transform).
    borrowed : bool
        ``module`` is the caller's own object (``extract_features(my_module, ...)``): a run
        gives it back in its own train/eval mode and on its own device
        (:func:`repalign.models.runtime.borrowed`).
    """

    config: ModelConfig
    module: Any = None
    transform: Callable[[Any], Any] | None = None
    layers: dict[str, Callable[[Any, Any], Any]] = field(default_factory=dict)
    intermediate: Callable[[Any, Any, int], Any] | None = None
    encode_text: Callable[..., Any] | None = None
    representation: Any = None
    takes_images: bool = False
    borrowed: bool = False

    @property
    def modality(self) -> str:
        return self.config.modality

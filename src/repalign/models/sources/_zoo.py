"""``zoo:<family>-<index>``: a model of the synthetic zoo of :func:`repalign.theory.make_zoo`.

A zoo model is a fixed feature representation of the zoo's own stimuli, rebuilt
deterministically from the zoo's settings (``ModelOptions(zoo={...})``; default
:data:`DEFAULT_ZOO`), so any process that has the settings has the model. It has no
network and no weights: :func:`repalign.models.extract_features` returns its features for
the zoo's stimuli (all of them, or the ids asked for, in that order) without caching,
since rebuilding is cheaper than reading a cache entry. :func:`synthetic_zoo` gives the
whole zoo (teacher, labels) for the zoo's human dataset and transfer task.

Examples
--------
>>> from repalign.models import ModelOptions, extract_features
>>> settings = {"n_classes": 3, "n_per_class": 8, "models_per_family": 2, "seed": 0}
>>> zoo_model_ids(settings)[:2]
['zoo:noise-0', 'zoo:noise-1']
>>> extract_features("zoo:noise-0", None, options=ModelOptions(zoo=settings)).shape
(24, 64)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ..._errors import InputError
from ..._validation import preview
from .._hashing import digest_json
from ..config import LoadedModel, ModelConfig
from ..options import ModelOptions
from ._common import Source, match_names

__all__ = ["ZooSource", "DEFAULT_ZOO", "synthetic_zoo", "zoo_model_ids"]

#: The zoo of the built-in offline study (and of a ``zoo:`` id given without settings).
DEFAULT_ZOO: dict[str, Any] = {"n_classes": 10, "n_per_class": 30, "models_per_family": 8, "seed": 0}


def _key(settings: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    chosen = DEFAULT_ZOO if settings is None else settings
    return tuple(sorted((str(k), _hashable(v)) for k, v in chosen.items()))


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


@functools.lru_cache(maxsize=4)
def _zoo(key: tuple[tuple[str, Any], ...]) -> Any:
    from ...theory import make_zoo

    settings = {k: (dict(v) if k == "models_per_family" and isinstance(v, tuple) else v) for k, v in key}
    try:
        return make_zoo(**settings)
    except TypeError as exc:  # an unknown setting
        raise InputError(f"zoo settings {settings}: {exc}") from exc


def synthetic_zoo(settings: Mapping[str, Any] | None = None) -> Any:
    """The :class:`repalign.theory.SyntheticZoo` that ``settings`` describe (memoised)."""
    return _zoo(_key(settings))


def zoo_model_ids(settings: Mapping[str, Any] | None = None) -> list[str]:
    """``zoo:<name>`` ids of the zoo that ``settings`` describe."""
    return [f"zoo:{name}" for name in synthetic_zoo(settings).models]


class ZooSource(Source):
    prefix = "zoo"
    extra = ""
    requires = ()
    modality = "synthetic"
    summary = "a model of the synthetic zoo (repalign.theory.make_zoo; settings via ModelOptions(zoo=...))"
    example = "zoo:noise-0"

    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        settings = dict(DEFAULT_ZOO if options.zoo is None else options.zoo)
        zoo = synthetic_zoo(settings)
        if name not in zoo.models:
            raise InputError(
                f"zoo:{name}: not a model of this zoo ({len(zoo.models)} models: {preview(list(zoo.models), 6)})."
            )
        if options.weights is not None or not options.pretrained or options.image_size or options.preprocessing:
            raise InputError(f"zoo:{name}: a synthetic model takes only zoo settings (no weights or preprocessing).")
        return self._make_config(
            name, options, weights_file=None, preprocessing={}, default_layer="output",
            provenance={"requested": f"zoo:{name}", "zoo": settings},
            weights="random-init", seed=int(settings.get("seed", 0)), weights_sha256=digest_json(settings),
            model_kwargs={"zoo": settings},
        )

    def load(self, config: ModelConfig) -> LoadedModel:
        zoo = synthetic_zoo(config.model_kwargs["zoo"])
        return LoadedModel(config=config, representation=zoo.models[config.name])

    def weights_status(self, config: ModelConfig) -> dict[str, Any]:
        return {"present": True, "download_bytes": 0, "where": "synthetic (rebuilt from the zoo settings)"}

    def available(self, pattern: str | None = None) -> list[str]:
        return match_names(list(synthetic_zoo(None).models), pattern)

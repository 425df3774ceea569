"""The user's model settings, as one object passed from the caller to the model source.

Every source takes the same settings (which weights, the seed of a random init, the
input resolution, preprocessing overrides, build arguments, and for the synthetic zoo
the zoo's settings). They travel together as one frozen :class:`ModelOptions`, from
:func:`repalign.models.extract_features` or a study unit down to
:meth:`repalign.models.sources.Source.config`, instead of as a list of keywords repeated
at every level.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .._errors import InputError

__all__ = ["ModelOptions", "OPTION_NAMES", "as_options"]


@dataclass(frozen=True)
class ModelOptions:
    """How to build a model, beyond its id.

    Attributes
    ----------
    pretrained : bool, default True
        ``False``: random initialisation, seeded with ``seed``.
    weights : path, optional
        A local weight file (safetensors, or a state dict read with ``weights_only=True``).
    seed : int, default 0
        Seed of a random initialisation (and of a ``python:`` callable's build).
    image_size : int, optional
        Override the input resolution of the preprocessing.
    preprocessing : mapping, optional
        Override preprocessing keys (``mean``, ``std``, ``crop_pct``, ``interpolation``, ...).
    model_kwargs : mapping, optional
        Extra arguments for building the model (e.g. timm's ``img_size``).
    zoo : mapping, optional
        ``zoo:`` models: the arguments of :func:`repalign.theory.make_zoo` (default:
        :data:`repalign.models.sources.DEFAULT_ZOO`). Ignored by the other sources.

    Examples
    --------
    >>> opts = ModelOptions(pretrained=False, seed=3)
    >>> opts.weights_kind, opts.replace(image_size=96).image_size
    ('random-init', 96)
    >>> ModelOptions(weights="w.pth", pretrained=False)
    Traceback (most recent call last):
    ...
    repalign._errors.InputError: give either weights=FILE or pretrained=False (random init), not both.
    """

    pretrained: bool = True
    weights: str | None = None
    seed: int = 0
    image_size: int | None = None
    preprocessing: Mapping[str, Any] = field(default_factory=dict)
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    zoo: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.weights is not None:
            object.__setattr__(self, "weights", os.fspath(self.weights))
            if not self.pretrained:
                raise InputError("give either weights=FILE or pretrained=False (random init), not both.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InputError(f"seed={self.seed!r}: must be an integer.")
        if self.image_size is not None and (isinstance(self.image_size, bool) or not isinstance(self.image_size, int)):
            raise InputError(f"image_size={self.image_size!r}: must be an integer number of pixels.")
        object.__setattr__(self, "preprocessing", dict(self.preprocessing or {}))
        object.__setattr__(self, "model_kwargs", dict(self.model_kwargs or {}))
        if self.zoo is not None:
            object.__setattr__(self, "zoo", dict(self.zoo))

    @property
    def weights_kind(self) -> str:
        """``file`` (a local file), ``pretrained`` or ``random-init``."""
        if self.weights is not None:
            return "file"
        return "pretrained" if self.pretrained else "random-init"

    def replace(self, **changes: Any) -> ModelOptions:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings that differ from the defaults (JSON-able), e.g. for a study record."""
        default = ModelOptions()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)}


#: The setting names, as keyword arguments of :func:`repalign.models.extract_features`.
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ModelOptions))


def as_options(options: ModelOptions | Mapping[str, Any] | None = None, **settings: Any) -> ModelOptions:
    """One :class:`ModelOptions` from an options object or mapping plus keyword settings.

    Keywords that are ``None`` are "not given" and leave the options as they are, so a
    caller can pass its optional arguments straight through.

    Examples
    --------
    >>> as_options({"seed": 2}, image_size=None, pretrained=False)
    ModelOptions(pretrained=False, weights=None, seed=2, image_size=None, preprocessing={}, model_kwargs={}, zoo=None)
    """
    unknown = sorted(set(settings) - set(OPTION_NAMES))
    if isinstance(options, Mapping):
        unknown += sorted(set(options) - set(OPTION_NAMES))
        options = ModelOptions(**dict(options)) if not unknown else None
    if unknown:
        raise InputError(f"unknown model option(s) {', '.join(unknown)}; valid: {', '.join(OPTION_NAMES)}.")
    base = options if options is not None else ModelOptions()
    given = {k: v for k, v in settings.items() if v is not None}
    return base.replace(**given) if given else base

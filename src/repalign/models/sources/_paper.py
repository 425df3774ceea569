"""``paper:<name>``: a model name as printed in the paper, pinned to the timm weights it meant.

The name goes through the committed pins table (:func:`repalign.models.paper_pins`);
everything else (configuration, weights, preprocessing, building) is the timm source's,
so ``paper:resnet18`` and ``timm:resnet18.tv_in1k`` give the same features and share
cache entries. The configuration records the paper name in its provenance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._errors import InputError
from ..config import LoadedModel, ModelConfig
from ..options import ModelOptions
from ._common import Source, match_names

if TYPE_CHECKING:
    from ..resolve import Resolution


class PaperSource(Source):
    prefix = "paper"
    extra = "torch"
    requires = ("torch", "timm")
    summary = "a model name as printed in the paper, pinned to its timm weights"
    example = "paper:tf_efficientnet_b0_ns"

    def resolve(self, requested: str, name: str) -> Resolution:
        from ..resolve import resolve_paper

        return resolve_paper(requested, name)

    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        from . import get_source, parse_model_id

        requested = f"paper:{name}"
        res = self.resolve(requested, name)
        if not res.resolved:
            raise InputError(f"{requested!r}: the paper's model has no weights in timm today ({res.note}).")
        prefix, timm_name = parse_model_id(res.model_id)
        cfg = get_source(prefix).config(timm_name, options)
        return cfg.replace(provenance={**cfg.provenance, "paper_name": name, "requested": requested})

    def load(self, config: ModelConfig) -> LoadedModel:
        from . import get_source

        return get_source(config.source).load(config)  # a paper config is a timm config

    def weights_status(self, config: ModelConfig) -> dict[str, Any]:
        from . import get_source

        return get_source(config.source).weights_status(config)

    def available(self, pattern: str | None = None) -> list[str]:
        from ..resolve import paper_pins

        return match_names([p.paper_name for p in paper_pins()], pattern)

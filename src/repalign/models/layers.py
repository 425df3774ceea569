"""Which layer to read, and how to pool it into one vector per stimulus.

Layer names
-----------
``penultimate``
    Classifiers: the embedding the classifier reads. timm: ``forward_head(...,
    pre_logits=True)``; torchvision and EfficientNet-Lite: the input of the last linear
    layer. The default for classifiers.
``logits``
    The classifier's output.
``output``
    Embedding models (CLIP image tower, Hugging Face backbones, sentence encoders,
    ``python:`` models): the model's own output embedding. Their default.
``features``
    timm: ``forward_features`` (unpooled; give a pool).
``intermediate:<i>``
    timm: block or stage ``i`` (negative counts from the end) via
    ``forward_intermediates``, always NCHW, prefix tokens dropped.
any submodule name
    e.g. ``layer3`` or ``blocks.5``: the submodule's output, captured with a forward
    hook (the first tensor if it returns a tuple).

Pools
-----
``avg`` (default for everything except ``penultimate``/``logits``/``output``)
    Mean over spatial positions of an ``(N, C, H, W)`` output, or over all tokens of an
    ``(N, L, C)`` output (class token included).
``max``
    Maximum over the same axes.
``cls``
    The first token of an ``(N, L, C)`` output.
``flatten``
    Every value, flattened.
``none``
    The output must already be ``(N, D)``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from .._errors import InputError
from .._validation import check_option, preview
from .config import LoadedModel

__all__ = ["POOLS", "POOLED_LAYERS", "pool_output", "layer_reader"]

#: Ways to turn a layer's output into one vector per stimulus.
POOLS: tuple[str, ...] = ("avg", "max", "cls", "flatten", "none")
#: Layers that are already one vector per stimulus (default pool ``none``).
POOLED_LAYERS: tuple[str, ...] = ("penultimate", "logits", "output")


def pool_output(t: Any, pool: str, *, layer: str) -> Any:
    """Pool a layer output tensor to ``(N, D)`` (see the module docstring)."""
    if isinstance(t, (tuple, list)):
        t = next((x for x in t if hasattr(x, "ndim")), None)
        if t is None:
            raise InputError(f"layer {layer!r} returned no tensor.")
    if not hasattr(t, "ndim") or t.ndim < 2:
        raise InputError(f"layer {layer!r} gives {getattr(t, 'shape', type(t).__name__)}; expected a batch of vectors or maps.")
    if pool == "none":
        if t.ndim != 2:
            raise InputError(
                f"layer {layer!r} gives shape {tuple(t.shape[1:])} per stimulus, not a vector; choose a pool: "
                + ", ".join(p for p in POOLS if p != "none") + "."
            )
        return t
    if pool == "flatten":
        return t.flatten(1)
    if pool == "cls":
        if t.ndim != 3:
            raise InputError(f"pool 'cls' needs token outputs (N, L, C); layer {layer!r} gives {tuple(t.shape)}.")
        return t[:, 0]
    if t.ndim == 2:
        return t
    dims = (1,) if t.ndim == 3 else tuple(range(2, t.ndim))
    return t.mean(dim=dims) if pool == "avg" else t.amax(dim=dims)


def _default_pool(layer: str) -> str:
    return "none" if layer in POOLED_LAYERS else "avg"


def layer_reader(loaded: LoadedModel, layer: str | None = None, pool: str | None = None) -> tuple[str, str, Callable[[Any], Any]]:
    """Resolve ``layer`` and ``pool`` for a loaded model.

    Returns
    -------
    (layer, pool, read)
        The canonical layer name, the pool used, and ``read(batch) -> (N, D) tensor``.
    """
    layer = (layer or loaded.config.default_layer).strip()
    pool = _default_pool(layer) if pool is None else check_option("pool", pool, POOLS)
    module = loaded.module
    if layer in loaded.layers:
        fn = loaded.layers[layer]
        return layer, pool, lambda x: pool_output(fn(module, x), pool, layer=layer)
    if layer.startswith("intermediate:"):
        if loaded.intermediate is None:
            raise InputError(
                f"{loaded.config.model_id}: 'intermediate:<i>' layers need timm's forward_intermediates; "
                "name a submodule instead (e.g. 'layer3')."
            )
        raw = layer.split(":", 1)[1]
        try:
            index = int(raw)
        except ValueError as exc:
            raise InputError(f"layer {layer!r}: the index after 'intermediate:' must be an integer.") from exc
        inter = loaded.intermediate

        def read_intermediate(x: Any) -> Any:
            try:
                out = inter(module, x, index)
            except (AssertionError, IndexError, ValueError) as exc:
                raise InputError(f"{loaded.config.model_id}: no intermediate layer {index} ({exc}).") from exc
            return pool_output(out, pool, layer=layer)

        return f"intermediate:{index}", pool, read_intermediate
    if module is None:
        raise InputError(f"{loaded.config.model_id}: has no layers to choose from; valid: {', '.join(loaded.layers)}.")
    names = dict(module.named_modules())
    if layer not in names or not layer:
        special = list(loaded.layers) + (["intermediate:<i>"] if loaded.intermediate else [])
        close = difflib.get_close_matches(layer, list(names), n=3)
        top = [n for n in names if n and "." not in n]
        raise InputError(
            f"{loaded.config.model_id}: no layer {layer!r}. Valid: {', '.join(special)}, or a submodule name "
            f"such as {preview(top, 8)}" + (f". Did you mean {', '.join(close)}?" if close else ".")
        )
    target = names[layer]
    forward = loaded.layers.get("logits") or loaded.layers.get("output") or (lambda m, x: m(x))

    def read_hooked(x: Any) -> Any:
        captured: list[Any] = []  # the last call's output only: a module reused N times holds one, not N
        handle = target.register_forward_hook(lambda _m, _i, out: captured.__setitem__(slice(None), [out]))
        try:
            forward(module, x)
        finally:
            handle.remove()
        if not captured:
            raise InputError(f"{loaded.config.model_id}: layer {layer!r} was not used in the forward pass.")
        return pool_output(captured[-1], pool, layer=layer)

    return layer, pool, read_hooked

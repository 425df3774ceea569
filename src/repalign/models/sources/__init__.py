"""The registry of model sources: one class per ``<prefix>:`` of a model id.

======================== ============================================ ===========================
prefix                   name                                         needs
======================== ============================================ ===========================
``timm``                 ``<arch>[.<tag>]``                           ``repalign[torch]``
``paper``                a model name as printed in the paper          ``repalign[torch]`` (timm)
``torchvision``          ``<name>[.<weights enum>]``                  ``repalign[torch]``
``open_clip``            ``<arch>/<pretrained>``                      ``repalign[clip]``
``hf``                   a Hugging Face repo id or a local folder      ``repalign[hf]``
``sentence-transformers`` a model name, repo id or folder (text)      ``repalign[text]``
``python``               ``<module or file.py>:<callable>``           ``repalign[torch]``
``efficientnet-lite``    ``lite0``, ``lite1`` or ``lite2``            ``repalign[lite]``
``zoo``                  ``<family>-<index>`` of a synthetic zoo      nothing (numpy)
======================== ============================================ ===========================

A bare name without a prefix is a timm name. Sources are instantiated on first use and
import their libraries only inside their methods.
"""

from __future__ import annotations

import difflib
import importlib

from ..._errors import InputError
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._common import Source

if TYPE_CHECKING:
    from ..resolve import Resolution

__all__ = ["resolve_name", "resolve_names", "SOURCES", "SOURCE_PREFIXES", "DEFAULT_SOURCE", "get_source", "parse_model_id", "Source"]

#: prefix -> (module, class name), in the order ``repalign models list --sources`` shows them.
SOURCES: dict[str, tuple[str, str]] = {
    "timm": ("._timm", "TimmSource"),
    "torchvision": ("._torchvision", "TorchvisionSource"),
    "open_clip": ("._open_clip", "OpenClipSource"),
    "hf": ("._hf", "HFSource"),
    "sentence-transformers": ("._sentence_transformers", "SentenceTransformersSource"),
    "python": ("._python", "PythonSource"),
    "efficientnet-lite": ("._efficientnet_lite", "EfficientNetLiteSource"),
    "paper": ("._paper", "PaperSource"),
    "zoo": ("._zoo", "ZooSource"),
}
#: Every valid prefix.
SOURCE_PREFIXES: tuple[str, ...] = tuple(SOURCES)
#: The source of a model id without a prefix.
DEFAULT_SOURCE = "timm"

_instances: dict[str, Source] = {}


def get_source(prefix: str) -> Source:
    """The :class:`Source` for ``prefix`` (``timm``, ``hf``, ...)."""
    if prefix not in SOURCES:
        raise InputError(_unknown(prefix, prefix))
    if prefix not in _instances:
        module, cls = SOURCES[prefix]
        _instances[prefix] = getattr(importlib.import_module(module, __name__), cls)()
    return _instances[prefix]


def _unknown(prefix: str, model_id: str) -> str:
    msg = (
        f"Unknown model source {prefix!r} in {model_id!r}. Valid sources: "
        + ", ".join(f"{p}:" for p in SOURCE_PREFIXES)
        + " (a name without a prefix is a timm name)."
    )
    close = difflib.get_close_matches(prefix, SOURCE_PREFIXES, n=1)
    return msg + (f" Did you mean {close[0]!r}?" if close else "")


def parse_model_id(model_id: str) -> tuple[str, str]:
    """Split ``source:name``; a bare name is a timm name.

    Examples
    --------
    >>> parse_model_id("timm:resnet50.a1_in1k")
    ('timm', 'resnet50.a1_in1k')
    >>> parse_model_id("python:my_models:build")
    ('python', 'my_models:build')
    >>> parse_model_id("vit_base_patch16_224")
    ('timm', 'vit_base_patch16_224')
    """
    if not isinstance(model_id, str) or not model_id.strip():
        raise InputError(f"model id {model_id!r}: give a non-empty name such as 'timm:resnet50.a1_in1k'.")
    text = model_id.strip()
    if ":" not in text:
        return DEFAULT_SOURCE, text
    prefix, name = text.split(":", 1)
    if prefix not in SOURCE_PREFIXES:
        raise InputError(_unknown(prefix, text))
    if not name.strip():
        raise InputError(f"model id {text!r}: nothing after {prefix + ':'!r}.")
    return prefix, name.strip()


def resolve_name(name: str) -> Resolution:
    """Resolve one model name to a pinned model id.

    * ``paper:<name>``: the pins table (the weights the paper used);
    * ``timm:<arch>.<tag>`` or ``<arch>.<tag>``: itself, if timm has those weights;
    * a deprecated timm name (``tf_efficientnet_b0_ns``): timm's own map, corrected where
      the pins table shows the map is wrong;
    * ``<arch>``: timm's current default tag, pinned;
    * any other source: as given (its weights are pinned when it is loaded).

    Examples
    --------
    >>> resolve_name("paper:xcit_tiny_12_p16_224.dist").model_id
    'timm:xcit_tiny_12_p16_224.fb_dist_in1k'
    """
    prefix, rest = parse_model_id(name)
    return get_source(prefix).resolve(name, rest)


def resolve_names(names: Iterable[str]) -> list[Resolution]:
    """:func:`resolve_name` for each name, in order."""
    return [resolve_name(n) for n in names]

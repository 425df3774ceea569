"""Listing the models each source can load here, and the sources themselves."""

from __future__ import annotations

import logging

from .._errors import MissingDependencyError
from .._validation import check_option
from .sources import SOURCES, get_source

log = logging.getLogger(__name__)

__all__ = ["list_models", "list_sources"]

#: Sources listed by default (the others list nothing useful without a name: hf, python).
_LISTED = ("timm", "efficientnet-lite", "torchvision", "open_clip", "sentence-transformers")


def list_models(pattern: str | None = None, *, source: str | None = None, paper: bool = False) -> list[str]:
    """Model ids matching ``pattern`` (a glob like ``resnet*``, or a substring).

    Parameters
    ----------
    pattern : str, optional
    source : str, optional
        Only this source (``timm``, ``torchvision``, ...). Sources whose library is not
        installed are skipped when no source is named.
    paper : bool, default False
        The paper's model names instead (as ``paper:<name>``).

    Examples
    --------
    >>> list_models("tf_efficientnet_b0_n*", paper=True)
    ['paper:tf_efficientnet_b0_ns']
    """
    if paper:
        source = "paper"
    if source is not None:
        check_option("model source", source, list(SOURCES))
        return [f"{source}:{n}" for n in get_source(source).available(pattern)]
    out: list[str] = []
    for prefix in _LISTED:
        try:
            out += [f"{prefix}:{n}" for n in get_source(prefix).available(pattern)]
        except MissingDependencyError as exc:
            log.debug("not listing %s models: %s", prefix, exc)
    return out


def list_sources() -> list[dict[str, str]]:
    """One record per source: prefix, what it needs, an example id, a summary."""
    rows = []
    for prefix in SOURCES:
        s = get_source(prefix)
        rows.append({"prefix": prefix, "extra": s.extra, "modality": s.modality, "example": s.example, "summary": s.summary})
    return rows

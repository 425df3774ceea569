"""Whether a model's weights are on this machine, without touching the network.

:func:`weights_status` answers for one model id what a study's dry run and
``repalign models list --offline/--status`` need: can it load offline now, how much
would have to be downloaded (when known; never guessed), and where the weights are or
would come from. Each source decides from its own local caches (the Hugging Face hub
cache, torch's hub cache, files shipped in pip packages, local folders).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import MissingDependencyError
from .options import ModelOptions

__all__ = ["weights_status"]


def weights_status(
    model_id: str, *, options: ModelOptions | Mapping[str, Any] | None = None, **settings: Any
) -> dict[str, Any]:
    """``{"present": bool, "download_bytes": int or None, "where": str}`` for a model id.

    ``present``: the model can be built offline now (its weights are local, or it needs
    none: random init, a synthetic zoo model). ``download_bytes``: 0 when present, the
    size when a local record states it, else None (unknown: timm's configs record where
    a file lives, not its size). ``where``: the local file, or where it would come from.
    A source whose library is not installed gives ``present: False`` and says why.
    Never touches the network.

    Examples
    --------
    >>> weights_status("zoo:noise-0")["present"]
    True
    """
    from .extract import model_config
    from .sources import get_source

    try:
        config = model_config(model_id, options=options, **settings)
    except MissingDependencyError as exc:
        return {"present": False, "download_bytes": None, "where": f"cannot check: {exc}"}
    return get_source(config.source).weights_status(config)

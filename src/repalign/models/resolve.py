"""Resolving model names to pinned ids: paper names, deprecated timm names, default tags.

``timm:resnet50`` means "timm's default weights for resnet50", which timm may change in
a later release; repalign resolves it to the tag it means *today*
(``timm:resnet50.a1_in1k``) and records that in every result. Paper names go through
the committed pins table (:func:`paper_pins`, made by ``tools/make_paper_pins.py``):
``paper:resnet18`` is ``timm:resnet18.tv_in1k``, the weights the paper used, although
timm's default for resnet18 is now ``a1_in1k``.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from importlib import resources

from .._errors import InputError
from .paper import Pin, pins_by_name, read_pins

__all__ = ["Resolution", "paper_pins", "paper_pins_header", "PINS_FILE"]

#: The committed pins table, inside the package.
PINS_FILE = "paper_pins.csv"


@dataclass(frozen=True)
class Resolution:
    """What a requested model name resolves to.

    Attributes
    ----------
    requested : str
        The name as given.
    model_id : str
        The pinned id (``timm:arch.tag``, ...); empty when the name cannot be resolved.
    method : str
        How: ``exact``, ``default-tag``, ``deprecated-name``, ``paper-pin``, ``as-given``,
        or a paper-pin method (see :data:`repalign.models.paper.METHODS`).
    note : str
        Anything the user should know (a correction of timm's map, a differing pin).
    """

    requested: str
    model_id: str
    method: str
    note: str = ""

    @property
    def resolved(self) -> bool:
        return bool(self.model_id)

    def to_dict(self) -> dict[str, str]:
        return {"requested": self.requested, "model_id": self.model_id, "method": self.method, "note": self.note}


@functools.lru_cache(maxsize=1)
def _load_pins() -> tuple[tuple[Pin, ...], dict[str, str]]:
    text = resources.files(__package__).joinpath(PINS_FILE).read_text(encoding="utf-8")
    pins, header = read_pins(text)
    return tuple(pins), header


def paper_pins() -> list[Pin]:
    """The paper's 489 model names pinned to timm ``arch.tag`` ids (see :mod:`repalign.models.paper`).

    Examples
    --------
    >>> pins = {p.paper_name: p for p in paper_pins()}
    >>> pins["tf_efficientnet_b0_ns"].timm_name
    'tf_efficientnet_b0.ns_jft_in1k'
    """
    return list(_load_pins()[0])


def paper_pins_header() -> dict[str, str]:
    """The ``key: value`` comment lines of the pins table (timm version, inputs)."""
    return dict(_load_pins()[1])


def _paper_index() -> dict[str, Pin]:
    return pins_by_name(_load_pins()[0])


def resolve_paper(requested: str, name: str) -> Resolution:
    """A paper name (no prefix) through the pins table."""
    pin = _paper_index().get(name)
    if pin is None:
        names = [p.paper_name for p in _load_pins()[0]]
        close = difflib.get_close_matches(name, names, n=3)
        raise InputError(
            f"{requested!r}: not one of the paper's {len(names)} model names"
            + (f"; did you mean {', '.join(close)}?" if close else "; see `repalign models list --paper`.")
        )
    if not pin.resolved:
        return Resolution(requested, "", "unresolved", pin.note)
    return Resolution(requested, f"timm:{pin.timm_name}", pin.method, pin.note)

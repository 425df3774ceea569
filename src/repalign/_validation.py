"""Small helpers shared by every module that validates user input."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Sequence
from types import ModuleType

from ._errors import InputError, MissingDependencyError

__all__ = ["check_option", "parse_list", "optional_import", "preview"]


def preview(items: Iterable[object], limit: int = 5) -> str:
    """Render at most ``limit`` items for an error message, e.g. ``'a', 'b', ... (+3 more)``."""
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:limit])
    if len(items) > limit:
        shown += f", ... (+{len(items) - limit} more)"
    return shown


def check_option(name: str, value: object, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise a helpful :class:`InputError`.

    The message lists every valid option and suggests the closest match.

    Examples
    --------
    >>> check_option("ties", "half", ["half", "exclude"])
    'half'
    """
    if isinstance(value, str) and value in options:
        return value
    message = f"Unknown {name} {value!r}. Valid options: {', '.join(options)}."
    if isinstance(value, str):
        close = difflib.get_close_matches(value, list(options), n=1)
        if close:
            message += f" Did you mean {close[0]!r}?"
    raise InputError(message)


def parse_list(name: str, value: str | Iterable[str], options: Sequence[str] | None = None) -> list[str]:
    """Split a comma-separated option (or pass a list through), checking each entry.

    Examples
    --------
    >>> parse_list("metric", "pearson, spearman", ["pearson", "spearman", "triplet"])
    ['pearson', 'spearman']
    """
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v).strip() for v in value]
    items = [v for v in items if v]
    if not items:
        raise InputError(f"{name} is empty; give at least one value.")
    if options is not None:
        for item in items:
            check_option(name, item, options)
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def optional_import(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency or explain which extra provides it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"torch"``.
    extra : str
        The ``repalign[...]`` extra that installs it.
    purpose : str
        What it is needed for, used in the error message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{purpose} needs the optional dependency {module!r}, which is not installed "
            f"({exc}). Install it with: pip install 'repalign[{extra}]'"
        ) from exc

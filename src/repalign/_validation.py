"""Small helpers shared by every module that validates user input."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from ._errors import InputError, MissingDependencyError

if TYPE_CHECKING:  # numpy is imported inside the functions that need it (the CLI's --help imports none)
    import numpy as np

__all__ = ["check_option", "parse_list", "optional_import", "preview", "make_rng", "check_flag"]


def preview(items: Iterable[object], limit: int = 5) -> str:
    """Render at most ``limit`` items for an error message, e.g. ``'a', 'b', ... (+3 more)``."""
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:limit])
    if len(items) > limit:
        shown += f", ... (+{len(items) - limit} more)"
    return shown


def make_rng(seed: object, name: str = "seed") -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, refusing what numpy would reject with a bare error.

    ``seed`` is ``None``, a whole number >= 0 or a :class:`numpy.random.Generator` (passed
    through). Anything else (a negative number, a float, a string, a bool) is an
    :class:`InputError` naming the option.

    Examples
    --------
    >>> int(make_rng(0).integers(10)) == int(make_rng(0).integers(10))
    True
    >>> make_rng(-1)
    Traceback (most recent call last):
    ...
    repalign._errors.InputError: seed must be a whole number >= 0 (CLI: --seed); got -1.
    """
    import numpy as np

    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"{name} must be a whole number >= 0 (CLI: --{name.replace('_', '-')}); got {seed!r}.")
    return np.random.default_rng(int(seed))


def check_flag(name: str, value: object) -> bool:
    """``value`` if it is a bool (or numpy bool); anything else is an :class:`InputError`.

    ``symmetrize="no"`` would otherwise be true.

    Examples
    --------
    >>> check_flag("symmetrize", False)
    False
    """
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{name} must be True or False; got {value!r}.")


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
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        items = [str(v).strip() for v in value]
    else:
        raise InputError(f"{name} must be a name, a comma-separated string or a list of names; got {value!r}.")
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

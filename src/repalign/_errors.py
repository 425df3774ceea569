"""Exception types raised by repalign.

Every error a user can trigger with bad input derives from :class:`RepalignError`,
so the command-line interface can turn it into one clear message and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "RepalignError",
    "InputError",
    "MissingDependencyError",
    "DataNotFoundError",
]


class RepalignError(Exception):
    """Base class of all errors repalign raises on purpose."""


class InputError(RepalignError, ValueError):
    """An input (file, array, option) is invalid; the message names it and says why."""


class MissingDependencyError(RepalignError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class DataNotFoundError(RepalignError, FileNotFoundError):
    """A dataset or file is not where it was expected; the message says where to put it."""

"""Small text helpers for messages a person reads (log lines, CLI tables, report captions)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number that agrees with it.

    Parameters
    ----------
    n : int
        The count.
    noun : str
        The singular noun.
    plural : str, optional
        The plural when it is not ``noun + "s"``.

    Examples
    --------
    >>> counted(1, "unit"), counted(24, "unit"), counted(0, "unit")
    ('1 unit', '24 units', '0 units')
    >>> counted(2, "family", "families")
    '2 families'
    """
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"

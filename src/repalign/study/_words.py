"""Counts with the words that agree with them, for the lines a study prints."""

from __future__ import annotations

__all__ = ["count_noun"]


def count_noun(n: int, one: str, many: str | None = None) -> str:
    """``1 model`` / ``3 models`` (``many`` defaults to ``one + "s"``).

    Examples
    --------
    >>> count_noun(1, "model has", "models have"), count_noun(3, "part"), count_noun(0, "unit")
    ('1 model has', '3 parts', '0 units')
    """
    return f"{n:,} {one if n == 1 else (many if many is not None else one + 's')}"

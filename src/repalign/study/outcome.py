"""The outcome of one unit of work: its result, or the error that stopped it.

Shared by every executor (:mod:`repalign.study.executors`, :mod:`repalign.study.slurm`),
so that the SLURM executor does not import the module that dispatches to it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .store import UnitResult

__all__ = ["Outcome", "UnitFunction", "execute_unit"]

UnitFunction = Callable[[str, dict[str, Any]], UnitResult]


@dataclass
class Outcome:
    """The result of one unit, or why it failed."""

    result: UnitResult | None
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result is not None


def execute_unit(fn: UnitFunction, unit_id: str, context: dict[str, Any]) -> Outcome:
    """Run one unit, turning any exception into a failed :class:`Outcome`."""
    start = time.perf_counter()
    try:
        result = fn(unit_id, context)
    except Exception as exc:  # noqa: BLE001 - a failing unit must never stop the study
        return Outcome(
            None,
            f"{type(exc).__name__}: {exc}",
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            time.perf_counter() - start,
        )
    if not isinstance(result, UnitResult) or result.unit_id != unit_id:
        return Outcome(None, f"TypeError: unit function returned {type(result).__name__} for {unit_id!r}", None, time.perf_counter() - start)
    return Outcome(result, seconds=time.perf_counter() - start)

"""Executors run units of work and stream their outcomes back to the driver.

Every executor yields ``(unit_id, outcome)`` pairs as units finish, where ``outcome`` is an
:class:`Outcome`: the unit's :class:`~repalign.study.store.UnitResult`, or the error and
traceback of a failed unit. Workers never write to the run directory; only the driver does.

* ``local`` with ``workers=1``: units run one after another in this process.
* ``local`` with ``workers>1``: a process pool (``spawn`` start method, safe with CUDA and
  threads). When a worker dies (killed, out of memory), the units it may have held are
  rerun one at a time; only a unit that kills its worker again is recorded as failed.
* ``ray``: tasks on a Ray cluster (``address=None`` starts a local one), one GPU per unit
  when the cluster has GPUs; results stream back with ``ray.wait``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from .._errors import InputError
from .._validation import check_option, optional_import
from .store import UnitResult

__all__ = ["EXECUTORS", "Outcome", "run_units", "execute_unit"]

log = logging.getLogger(__name__)

EXECUTORS: tuple[str, ...] = ("local", "ray")

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


def _run_sequential(fn: UnitFunction, units: Sequence[str], context: dict[str, Any]) -> Iterator[tuple[str, Outcome]]:
    for uid in units:
        yield uid, execute_unit(fn, uid, context)


def _run_isolated(fn: UnitFunction, uid: str, context: dict[str, Any], ctx: Any) -> Outcome:
    """Run one unit alone in a fresh worker, so a worker death can be blamed on it."""
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        try:
            return pool.submit(execute_unit, fn, uid, context).result()
        except BrokenProcessPool as exc:
            return Outcome(None, f"WorkerDied: the worker process died while running this unit alone ({exc})")


def _run_pool(fn: UnitFunction, units: Sequence[str], context: dict[str, Any], workers: int) -> Iterator[tuple[str, Outcome]]:
    queue = list(units)
    ctx = mp.get_context("spawn")
    while queue:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        running: dict[Future, str] = {}
        suspects: list[str] = []
        try:
            while (queue or running) and not suspects:
                while queue and len(running) < workers:
                    uid = queue.pop(0)
                    running[pool.submit(execute_unit, fn, uid, context)] = uid
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    uid = running.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        suspects.append(uid)
                        continue
                    yield uid, outcome
            # A worker died (killed, out of memory) and broke the pool. Every unit in flight
            # is a suspect: rerun each alone, so only the one that dies again is failed.
            suspects += list(running.values())
        finally:
            pool.shutdown(wait=not suspects, cancel_futures=True)
        for uid in suspects:
            log.warning("a worker died; rerunning %s on its own to find the cause", uid)
            yield uid, _run_isolated(fn, uid, context, ctx)


def _run_ray(
    fn: UnitFunction, units: Sequence[str], context: dict[str, Any], address: str | None, gpus_per_unit: float | None
) -> Iterator[tuple[str, Outcome]]:
    ray = optional_import("ray", extra="dist", purpose="The Ray executor")
    started_here = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        started_here = True
    try:
        if gpus_per_unit is None:
            gpus_per_unit = 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
        remote = ray.remote(num_gpus=gpus_per_unit, max_retries=0)(execute_unit)
        pending = {remote.remote(fn, uid, context): uid for uid in units}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                uid = pending.pop(ref)
                try:
                    yield uid, ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - worker crash, lost node, ...
                    yield uid, Outcome(None, f"RayTaskError: {type(exc).__name__}: {exc}")
    finally:
        if started_here:
            ray.shutdown()


def run_units(
    fn: UnitFunction,
    units: Sequence[str],
    context: dict[str, Any],
    *,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    gpus_per_unit: float | None = None,
) -> Iterator[tuple[str, Outcome]]:
    """Run ``fn(unit_id, context)`` for every unit, yielding outcomes as they finish.

    ``fn`` must be importable by name (a module-level function) for the pool and Ray.
    """
    check_option("executor", executor, EXECUTORS)
    if workers < 1:
        raise InputError(f"workers must be >= 1; got {workers}.")
    if executor == "ray":
        return _run_ray(fn, units, context, address, gpus_per_unit)
    if address is not None:
        raise InputError("--address is only meaningful with --executor ray.")
    if workers == 1:
        return _run_sequential(fn, units, context)
    return _run_pool(fn, units, context, workers)

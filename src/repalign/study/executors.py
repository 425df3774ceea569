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
* ``slurm``: job-array tasks through submitit (:mod:`repalign.study.slurm`); a restarted
  driver collects tasks that finished while it was down instead of resubmitting them.

:func:`run_in_child` runs one unit in a fresh process: the driver uses it for a unit that
was in flight when an in-process run ended without an outcome (``os._exit``, a segfault,
SIGKILL), so that unit is recorded as failed instead of taking the study down again.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .._errors import InputError
from .._validation import check_option, optional_import
from .outcome import Outcome, UnitFunction, execute_unit

__all__ = ["EXECUTORS", "Outcome", "run_units", "execute_unit"]

log = logging.getLogger(__name__)

EXECUTORS: tuple[str, ...] = ("local", "ray", "slurm")

def _run_sequential(
    fn: UnitFunction, units: Sequence[str], context: Any, on_start: Callable[[str], None] | None
) -> Iterator[tuple[str, Outcome]]:
    for uid in units:
        if on_start is not None:
            on_start(uid)  # the driver notes the unit, so a hard exit inside it is found on resume
        yield uid, execute_unit(fn, uid, context)


def _child_main(conn: Any, fn: UnitFunction, uid: str, context: Any) -> None:
    conn.send(execute_unit(fn, uid, context))
    conn.close()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "an unknown status"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def run_in_child(fn: UnitFunction, uid: str, context: Any) -> Outcome:
    """Run one unit alone in a fresh ``spawn`` process, so a hard exit or kill is blamed on it.

    A unit that ends its process (``os._exit``, a segfault, SIGKILL from the OOM killer)
    comes back as a failed :class:`Outcome` naming the exit status.
    """
    ctx = mp.get_context("spawn")
    start = time.perf_counter()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(send, fn, uid, context), daemon=True)
    proc.start()
    send.close()
    outcome: Outcome | None = None
    try:
        while outcome is None:
            if receive.poll(0.2):
                try:
                    outcome = receive.recv()
                except EOFError:
                    break
            elif not proc.is_alive() and not receive.poll(0):
                break
    finally:
        proc.join(timeout=30)
        receive.close()
    if outcome is not None:
        return outcome
    return Outcome(None, f"WorkerDied: the worker process died while running this unit alone "
                         f"({_describe_exit(proc.exitcode)})", None, time.perf_counter() - start)


def _run_isolated(fn: UnitFunction, uid: str, context: Any, ctx: Any = None) -> Outcome:
    """Run one unit alone in a fresh worker, so a worker death can be blamed on it."""
    return run_in_child(fn, uid, context)


def worker_thread_budget(workers: int) -> int:
    """Threads each of ``workers`` pool processes gets: this process's budget split evenly.

    Every worker would otherwise size its torch and BLAS pools to the whole machine, so
    ``workers`` processes would run ``workers x cores`` threads on ``cores`` cores.

    Examples
    --------
    >>> from repalign._threads import thread_plan
    >>> worker_thread_budget(2) == max(1, thread_plan().budget // 2)
    True
    """
    from .._threads import thread_plan

    return max(1, thread_plan().budget // max(1, workers))


def _worker_threads(budget: int) -> None:
    """Pool initializer: fix the worker's thread budget before any unit imports numpy or torch."""
    from .._threads import set_thread_override

    set_thread_override(budget, source="share of the pool")
    log.debug("pool worker: %d thread(s)", budget)


def _run_pool(fn: UnitFunction, units: Sequence[str], context: dict[str, Any], workers: int) -> Iterator[tuple[str, Outcome]]:
    queue = list(units)
    ctx = mp.get_context("spawn")
    while queue:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_threads,
                                   initargs=(worker_thread_budget(workers),))
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
    context: Any,
    *,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    gpus_per_unit: float | None = None,
    on_start: Callable[[str], None] | None = None,
    slurm: Any = None,
    slurm_cluster: str = "slurm",
    units_per_task: int = 1,
    run_dir: Any = None,
) -> Iterator[tuple[str, Outcome]]:
    """Run ``fn(unit_id, context)`` for every unit, yielding outcomes as they finish.

    ``fn`` must be importable by name (a module-level function) for the pool, Ray and
    SLURM. ``on_start(unit_id)`` is called before each unit of the in-process executor.
    ``slurm`` (:class:`~repalign.study.slurm.SlurmSettings`), ``slurm_cluster``,
    ``units_per_task`` and ``run_dir`` (where submitit keeps its job files) are for the
    SLURM executor.
    """
    check_option("executor", executor, EXECUTORS)
    if workers < 1:
        raise InputError(f"workers must be >= 1; got {workers}.")
    if executor == "ray":
        return _run_ray(fn, units, context, address, gpus_per_unit)
    if address is not None:
        raise InputError("--address is only meaningful with --executor ray.")
    if executor == "slurm":
        from .slurm import SlurmSettings, run_slurm

        if run_dir is None:
            raise InputError("the SLURM executor needs the run directory (run_dir) for its job files.")
        return run_slurm(fn, units, context, run_dir=run_dir, settings=slurm or SlurmSettings(),
                         cluster=slurm_cluster, units_per_task=units_per_task)
    if workers == 1:
        return _run_sequential(fn, units, context, on_start)
    return _run_pool(fn, units, context, workers)

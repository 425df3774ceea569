"""Threads chosen together from the cores this process may use, never oversubscribed.

Three pools compete for the same cores: torch's intra-op threads, the BLAS threads numpy
and scipy use (OpenBLAS/MKL, controlled with threadpoolctl), and DataLoader worker
processes decoding images. Left alone, each sizes itself to the whole machine, so on two
cores a run can have six busy threads; spin-waiting OpenMP threads then make small
problems several times slower (measured on the few-shot heads: 98 s with one thread vs
about 7 min by default, on a busy 2-core machine). :func:`thread_plan` sizes the pools
together so that ``loader_workers + intra_op <= budget``.

The budget is, first match wins:

1. :func:`set_thread_override` (the command line's ``--threads N``);
2. ``$REPALIGN_THREADS``;
3. ``$OMP_NUM_THREADS`` (what SLURM scripts and test suites already set);
4. the cores available: ``os.sched_getaffinity`` (cpusets, ``taskset``, SLURM), capped by
   a cgroup CPU quota (containers).

:func:`apply_thread_plan` sets torch (when it is imported) and the BLAS pools;
:func:`limited_threads` does so for a block and restores the previous settings;
:func:`current_thread_plan` tells what was applied last.

Examples
--------
>>> plan = thread_plan(threads=4, loader=True)
>>> plan.loader_workers + plan.intra_op <= plan.budget == 4
True
>>> thread_plan(threads=1, loader=True).loader_workers
0
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._errors import InputError

__all__ = [
    "ThreadPlan",
    "available_cores",
    "thread_plan",
    "set_thread_override",
    "thread_override",
    "thread_override_source",
    "apply_thread_plan",
    "limited_threads",
    "current_thread_plan",
    "THREADS_ENV",
]

logger = logging.getLogger(__name__)

#: Environment variable with the thread budget (overridden by ``--threads``).
THREADS_ENV = "REPALIGN_THREADS"
#: Environment variables the BLAS / OpenMP runtimes read when they start.
_RUNTIME_ENVS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")

_override: int | None = None
_override_source = "--threads"
_applied: ThreadPlan | None = None


@dataclasses.dataclass(frozen=True)
class ThreadPlan:
    """How many threads each pool gets.

    Attributes
    ----------
    cores : int
        Cores this process may use.
    budget : int
        Threads the plan may use in total (``cores`` unless overridden).
    intra_op : int
        torch intra-op threads of the main process.
    blas : int
        BLAS threads (numpy/scipy) of the main process.
    loader_workers : int
        DataLoader worker processes (each runs one thread); 0 when no loader is planned.
    source : str
        Where the budget came from: ``"--threads"``, ``"$REPALIGN_THREADS"``,
        ``"$OMP_NUM_THREADS"`` or ``"cores"``.
    """

    cores: int
    budget: int
    intra_op: int
    blas: int
    loader_workers: int
    source: str

    def describe(self) -> str:
        """One line for logs.

        Examples
        --------
        >>> ThreadPlan(2, 2, 1, 1, 1, "cores").describe()
        'threads: 1 intra-op, 1 BLAS, 1 loader worker(s) of 2 (cores; 2 cores available)'
        """
        return (
            f"threads: {self.intra_op} intra-op, {self.blas} BLAS, {self.loader_workers} loader worker(s) "
            f"of {self.budget} ({self.source}; {self.cores} cores available)"
        )


def _cgroup_quota_cores() -> int | None:
    """CPU limit of a cgroup v2 container (``cpu.max``: ``"quota period"`` or ``"max ..."``)."""
    try:
        text = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    except OSError:
        return None
    if len(text) != 2 or text[0] == "max":
        return None
    try:
        quota, period = float(text[0]), float(text[1])
    except ValueError:
        return None
    return max(1, math.ceil(quota / period)) if period > 0 else None


def available_cores() -> int:
    """Cores this process may run on (affinity mask, capped by a cgroup quota).

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS / Windows have no affinity mask
        cores = os.cpu_count() or 1
    quota = _cgroup_quota_cores()
    return max(1, min(cores, quota) if quota else cores)


def _parse_threads(raw: str, where: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{where}={raw!r}: must be a whole number of threads >= 1")
    return value


def set_thread_override(threads: int | None, *, source: str = "--threads") -> None:
    """Fix the thread budget for this process (``--threads N``); ``None`` removes it.

    Also sets the OpenMP/BLAS environment variables, so runtimes that start later (numpy,
    torch, DataLoader workers, child processes) start with the same budget. ``source`` is
    where the number came from, as plans describe it (the command line fixes the default
    budget too, which then still says ``cores``, not ``--threads``).
    """
    global _override, _override_source
    if threads is not None:
        threads = _parse_threads(str(threads), "--threads")
        for name in _RUNTIME_ENVS:
            os.environ[name] = str(threads)
    _override = threads
    _override_source = source


def thread_override() -> int | None:
    """The budget set by :func:`set_thread_override`, or ``None``."""
    return _override


def thread_override_source() -> str:
    """Where the budget of :func:`set_thread_override` came from (``--threads``, ``cores``, ...)."""
    return _override_source


def _budget(threads: int | None) -> tuple[int, str]:
    if threads is not None:
        return _parse_threads(str(threads), "threads"), "argument"
    if _override is not None:
        return _override, _override_source
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        return _parse_threads(raw, f"${THREADS_ENV}"), f"${THREADS_ENV}"
    raw = os.environ.get("OMP_NUM_THREADS", "").strip()
    if raw.isdigit() and int(raw) >= 1:
        return int(raw), "$OMP_NUM_THREADS"
    return available_cores(), "cores"


def thread_plan(*, threads: int | None = None, loader: bool = False, gpu: bool = False) -> ThreadPlan:
    """Size the thread pools together.

    Parameters
    ----------
    threads
        Budget for this call (default: the override, the environment, or the cores).
    loader
        Plan DataLoader workers for image decoding. On the CPU one worker per eight threads
        of the budget, at most four, none below eight: decoding is a small part of a CPU
        forward pass, and a core taken from the model costs more than decoding in turn
        saves (measured on 2 cores, efficientnet-lite0, 96 Peterson PNGs: 2 intra-op
        threads and no worker 4.2 s, 2 threads plus a worker 4.2 s, 1 thread plus a worker
        5.6 s; 64 500x375 JPEGs: 3.0, 3.1 and 4.0 s). Beside a GPU (``gpu=True``) all but
        one thread, at most eight, since the model runs elsewhere.
    gpu
        The model runs on an accelerator.

    Examples
    --------
    >>> thread_plan(threads=16, loader=True)  # doctest: +ELLIPSIS
    ThreadPlan(cores=..., budget=16, intra_op=14, blas=14, loader_workers=2, source='argument')
    >>> thread_plan(threads=2).intra_op
    2
    """
    budget, source = _budget(threads)
    workers = 0
    if loader and budget >= 2:
        workers = min(8, budget - 1) if gpu else min(4, budget // 8)
    intra = max(1, budget - workers)
    return ThreadPlan(
        cores=available_cores(), budget=budget, intra_op=intra, blas=intra, loader_workers=workers, source=source
    )


def _threadpool_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it BLAS pools keep their own size
        return None
    return ThreadpoolController()


def apply_thread_plan(plan: ThreadPlan | None = None) -> ThreadPlan:
    """Set torch intra-op threads (if torch is imported) and the BLAS pools to ``plan``.

    Cheap and idempotent: library code calls it right after importing torch.

    Examples
    --------
    >>> plan = apply_thread_plan(thread_plan(threads=1))
    >>> current_thread_plan() == plan
    True
    """
    global _applied
    plan = thread_plan() if plan is None else plan
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != plan.intra_op:
        torch.set_num_threads(plan.intra_op)
    controller = _threadpool_controller()
    if controller is not None:
        controller.limit(limits=plan.blas, user_api="blas")
    if _applied != plan:
        logger.debug("%s", plan.describe())
    _applied = plan
    return plan


@contextlib.contextmanager
def limited_threads(plan: ThreadPlan | None = None) -> Iterator[ThreadPlan]:
    """Apply ``plan`` for a block, then restore torch's and the BLAS pools' settings.

    Examples
    --------
    >>> with limited_threads(thread_plan(threads=1)) as plan:
    ...     plan.intra_op
    1
    """
    global _applied
    plan = thread_plan() if plan is None else plan
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch is not None else None
    controller = _threadpool_controller()
    applied_before = _applied
    if controller is None:
        limiter: Any = contextlib.nullcontext()
    else:
        limiter = controller.limit(limits=plan.blas, user_api="blas")
    try:
        with limiter:
            if torch is not None:
                torch.set_num_threads(plan.intra_op)
            _applied = plan
            yield plan
    finally:
        if torch is not None and torch_before is not None:
            torch.set_num_threads(torch_before)
        _applied = applied_before


def current_thread_plan() -> ThreadPlan | None:
    """The plan :func:`apply_thread_plan` applied last (``None`` before the first call)."""
    return _applied

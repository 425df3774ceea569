"""Running a study: plan the units, skip finished ones, execute the rest, collect.

The driver (this module) is the only writer of the run directory. A unit's outcome is
written the moment it arrives, so stopping the driver at any time (Ctrl-C, ``kill -9``,
a lost machine) loses at most the units in flight; re-running the same command resumes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._environment import machine_info, package_versions
from .._errors import InputError
from .._progress import display_mode
from .._progress import progress as progress_display
from .._text import counted
from .executors import run_in_child, run_units
from .store import RunStore, UnitResult

__all__ = ["StudyRun", "execute_plan", "library_versions"]

log = logging.getLogger(__name__)

#: Libraries whose versions go into every manifest.
_TRACKED = ("numpy", "scipy", "pandas", "numba", "torch", "torchvision", "timm", "scikit-learn", "pyarrow", "ray")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that can change results."""
    return package_versions(_TRACKED)


@dataclass
class StudyRun:
    """What one invocation did."""

    run_dir: Path
    planned: list[str]
    skipped: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def pending(self) -> list[str]:
        done = set(self.skipped) | set(self.finished)
        return [u for u in self.planned if u not in done]


def _log_handler(run_dir: Path) -> logging.Handler:
    handler = logging.FileHandler(run_dir / "study.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    return handler


class _Eta:
    """Remaining time from the mean duration of the units finished in this invocation, the
    units left running in waves of ``parallel`` (workers, or SLURM's array parallelism)."""

    def __init__(self, total: int, parallel: int):
        self.total, self.parallel, self.seconds = total, max(1, parallel), []

    def add(self, seconds: float) -> None:
        self.seconds.append(seconds)

    def text(self, done: int) -> str:
        left = self.total - done
        if not self.seconds or left <= 0:
            return "" if left > 0 else "; all units handled"
        waves = -(-left // self.parallel)  # at most `parallel` units at once: 2 left on 32 tasks still take one unit
        eta = sum(self.seconds) / len(self.seconds) * waves
        return f"; ETA {format_eta(eta)} for {left} more (mean {sum(self.seconds) / len(self.seconds):.1f} s a unit)"


def format_eta(seconds: float) -> str:
    """A rough duration for ETAs and plans: ``45 s``, ``12 min``, ``3.5 h``, ``9.2 days``.

    Examples
    --------
    >>> [format_eta(s) for s in (45, 720, 12600, 800000)]
    ['45 s', '12 min', '3.5 h', '9.3 days']
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def execute_plan(
    run_dir: str | Path,
    units: Sequence[str],
    unit_fn: Callable[[str, Any], UnitResult],
    context: Any,
    *,
    manifest: dict[str, Any],
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    retry_failed: bool = True,
    progress: Callable[[int, int, str, str], None] | None = None,
    slurm: Any = None,
    slurm_cluster: str = "slurm",
    units_per_task: int = 1,
) -> StudyRun:
    """Run every unit of ``units`` not yet recorded in ``run_dir``.

    Parameters
    ----------
    run_dir : path
        The run directory (created if needed).
    units : sequence of str
        Unit ids, in order; duplicates are an error.
    unit_fn : callable
        ``unit_fn(unit_id, context) -> UnitResult``; module-level, so pools, Ray and SLURM
        can import it.
    context : object
        Passed to every unit (must be picklable; studies pass a
        :class:`~repalign.study.context.UnitContext`).
    manifest : dict
        Must hold ``fingerprint``; recorded as ``manifest.json``. Resuming a run whose
        fingerprint differs is refused, so one run directory never mixes settings.
    retry_failed : bool
        Run units whose last attempt failed again (default), or leave them failed.
    progress : callable, optional
        ``progress(done, total, unit_id, status)`` after each unit.
    slurm, slurm_cluster, units_per_task
        Settings of the SLURM executor (see :func:`repalign.study.slurm.run_slurm`).

    Notes
    -----
    Before running, damaged unit folders are moved aside (:meth:`RunStore.heal`), and units
    that were in flight when an in-process run ended without an outcome run first, each in
    a fresh child process (:func:`~repalign.study.executors.run_in_child`): one that ends
    its process again is recorded as failed and the study goes on.
    """
    if len(set(units)) != len(units):
        dup = sorted({u for u in units if list(units).count(u) > 1})
        raise InputError(f"the study plans some units twice: {dup[:5]}.")
    store = RunStore(run_dir)
    old = store.read_manifest()
    if old is not None and old.get("fingerprint") != manifest["fingerprint"]:
        raise InputError(
            f"{store.root} holds a run made with different settings (fingerprint {old.get('fingerprint')} "
            f"vs {manifest['fingerprint']} now); results would mix. Use a new output folder, or delete that one."
        )
    store.prepare()
    handler = _log_handler(store.root)
    logging.getLogger("repalign").addHandler(handler)
    started = time.time()
    try:
        record = dict(manifest)
        record.update(
            units=list(units),
            versions=library_versions(),
            machine=machine_info(),
            argv=sys.argv,
            created=(old or {}).get("created", started),
            updated=started,
        )
        store.write_manifest(record)
        store.heal()
        done = store.done_units()
        failed_before = store.failures()
        interrupted = store.interrupted()
        run = StudyRun(store.root, list(units))
        todo = []
        for u in units:
            if u in done:
                run.skipped.append(u)
            elif u in failed_before and not retry_failed and u not in interrupted:
                run.failed[u] = failed_before[u]["error"]
            else:
                todo.append(u)
        for uid in interrupted:
            if uid not in todo:
                store.clear_running(uid)
        suspects = [u for u in todo if u in interrupted]
        rest = [u for u in todo if u not in interrupted]
        log.info(
            "study %s: %s planned, %d already done, %d to run%s", store.root, counted(len(units), "unit"),
            len(run.skipped), len(todo), f" ({len(suspects)} ended their process last time: rerun each in a child process)" if suspects else "",
        )
        total = len(units)
        count = len(run.skipped)
        bar = _units_bar(total, count)
        eta = _Eta(total, workers if executor == "local" else (getattr(slurm, "array_parallelism", 1) if executor == "slurm" else 1))
        with bar, _lines_above(bar):
            for uid, outcome in _outcomes(unit_fn, suspects, rest, context, store, executor=executor, workers=workers,
                                          address=address, slurm=slurm, slurm_cluster=slurm_cluster,
                                          units_per_task=units_per_task):
                count += 1
                status = _record_outcome(store, run, uid, outcome, count, total, eta)
                bar.update(1)
                bar.step(f"{status} {uid}")
                if progress is not None:
                    progress(count, total, uid, status)
        run.seconds = time.time() - started
        return run
    finally:
        # a unit interrupted by an exception here (Ctrl-C) did not end the process: not a suspect
        for uid, info in store.interrupted(dead_only=False).items():
            if info.get("pid") == os.getpid():
                store.clear_running(uid)
        logging.getLogger("repalign").removeHandler(handler)
        handler.close()


def _units_bar(total: int, already: int) -> Any:
    """A tqdm bar over the units on a terminal; on a pipe the ``[k/n]`` log lines are the progress.

    Plain progress lines would repeat the ``[k/n] done ...; ETA`` line every unit already
    prints (once per unit, with its ETA), so outside bar mode the display is silenced.
    """
    shown = None if display_mode() == "bar" else False
    bar = progress_display(total=total, desc="study units", unit="unit", enabled=shown)
    if already:
        bar.update(already)
    return bar


@contextlib.contextmanager
def _lines_above(bar: Any) -> Iterator[None]:
    """While a bar is drawn, log lines go through tqdm so they print above it instead of through it."""
    if bar.mode != "bar":
        yield
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(loggers=[logging.getLogger()]):
        yield


def _record_outcome(store: RunStore, run: StudyRun, uid: str, outcome: Any, count: int, total: int, eta: _Eta) -> str:
    """Write one unit's outcome (tables or failure) and log its ``[k/n]`` line; returns its status."""
    eta.add(outcome.seconds)
    if outcome.result is not None:
        outcome.result.record.setdefault("seconds", round(outcome.seconds, 3))
        store.write_unit(outcome.result)
        run.finished.append(uid)
        log.info("[%d/%d] done %s (%.1f s)%s", count, total, uid, outcome.seconds, eta.text(count))
        return "done"
    store.write_failure(uid, outcome.error or "unknown error", tb=outcome.traceback, attempt_seconds=outcome.seconds)
    run.failed[uid] = outcome.error or "unknown error"
    log.warning("[%d/%d] FAILED %s: %s%s", count, total, uid, outcome.error, eta.text(count))
    return "failed"


def _outcomes(unit_fn: Callable[[str, Any], UnitResult], suspects: list[str], rest: list[str], context: Any,
              store: RunStore, **options: Any) -> Iterator[tuple[str, Any]]:
    """Suspects one at a time in child processes, then the rest through the chosen executor."""
    for uid in suspects:
        log.warning("%s ended its process without an outcome last time; running it in a child process", uid)
        yield uid, run_in_child(unit_fn, uid, context)
    if rest:
        yield from run_units(unit_fn, rest, context, on_start=store.mark_running, run_dir=store.root, **options)

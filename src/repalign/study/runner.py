"""Running a study: plan the units, skip finished ones, execute the rest, collect.

The driver (this module) is the only writer of the run directory. A unit's outcome is
written the moment it arrives, so stopping the driver at any time (Ctrl-C, ``kill -9``,
a lost machine) loses at most the units in flight; re-running the same command resumes.
"""

from __future__ import annotations

import logging
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__
from .._errors import InputError
from .executors import run_units
from .store import RunStore, UnitResult

__all__ = ["StudyRun", "execute_plan", "library_versions"]

log = logging.getLogger(__name__)

#: Libraries whose versions go into every manifest.
_TRACKED = ("numpy", "scipy", "pandas", "numba", "torch", "torchvision", "timm", "scikit-learn", "pyarrow", "ray")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that can change results."""
    out = {"python": platform.python_version(), "repalign": __version__}
    for name in _TRACKED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


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


def execute_plan(
    run_dir: str | Path,
    units: Sequence[str],
    unit_fn: Callable[[str, dict[str, Any]], UnitResult],
    context: dict[str, Any],
    *,
    manifest: dict[str, Any],
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    retry_failed: bool = True,
    progress: Callable[[int, int, str, str], None] | None = None,
) -> StudyRun:
    """Run every unit of ``units`` not yet recorded in ``run_dir``.

    Parameters
    ----------
    run_dir : path
        The run directory (created if needed).
    units : sequence of str
        Unit ids, in order; duplicates are an error.
    unit_fn : callable
        ``unit_fn(unit_id, context) -> UnitResult``; module-level, so pools and Ray can
        import it.
    context : dict
        Passed to every unit (must be picklable).
    manifest : dict
        Must hold ``fingerprint``; recorded as ``manifest.json``. Resuming a run whose
        fingerprint differs is refused, so one run directory never mixes settings.
    retry_failed : bool
        Run units whose last attempt failed again (default), or leave them failed.
    progress : callable, optional
        ``progress(done, total, unit_id, status)`` after each unit.
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
            argv=sys.argv,
            created=(old or {}).get("created", started),
            updated=started,
        )
        store.write_manifest(record)
        done = store.done_units()
        failed_before = store.failures()
        run = StudyRun(store.root, list(units))
        todo = []
        for u in units:
            if u in done:
                run.skipped.append(u)
            elif u in failed_before and not retry_failed:
                run.failed[u] = failed_before[u]["error"]
            else:
                todo.append(u)
        log.info(
            "study %s: %d units planned, %d already done, %d to run", store.root, len(units), len(run.skipped), len(todo)
        )
        total = len(units)
        count = len(run.skipped)
        for uid, outcome in run_units(unit_fn, todo, context, executor=executor, workers=workers, address=address):
            count += 1
            if outcome.result is not None:
                outcome.result.record.setdefault("seconds", round(outcome.seconds, 3))
                store.write_unit(outcome.result)
                run.finished.append(uid)
                status = "done"
                log.info("[%d/%d] done %s (%.1f s)", count, total, uid, outcome.seconds)
            else:
                store.write_failure(uid, outcome.error or "unknown error", tb=outcome.traceback, attempt_seconds=outcome.seconds)
                run.failed[uid] = outcome.error or "unknown error"
                status = "failed"
                log.warning("[%d/%d] FAILED %s: %s", count, total, uid, outcome.error)
            if progress is not None:
                progress(count, total, uid, status)
        run.seconds = time.time() - started
        return run
    finally:
        logging.getLogger("repalign").removeHandler(handler)
        handler.close()

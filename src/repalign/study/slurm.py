"""The SLURM executor: units as job-array tasks through submitit, outcomes back to the driver.

Each pending unit becomes one task of a job array (``--units-per-task`` groups several
units into one task, for short units). A task runs :func:`run_chunk`, which returns the
units' :class:`~repalign.study.executors.Outcome` objects; submitit stores them in its job
folder (``RUN_DIR/.submitit/``: pickled inputs, logs and outputs of submitit's own), and the
driver reads them as tasks finish and alone writes ``units/`` and ``failed/``, exactly as
with the local and Ray executors.

The driver also keeps ``RUN_DIR/slurm_jobs.json``, the journal of the jobs it submitted.
A driver that is killed and started again reads the journal first: a task that finished
meanwhile is collected from its output without running again, a task still queued or
running on SLURM is waited for, and only units whose task is gone without an output are
submitted again. ``cluster="local"`` runs the same code on submitit's local cluster (one
process per task on this machine), which is how the tests exercise it.

Only our own job outputs are unpickled (submitit's protocol), from the run folder this
driver created; never a downloaded file.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._files import atomic_write_text
from .._validation import optional_import

__all__ = ["SlurmSettings", "SLURM_CLUSTERS", "run_chunk", "run_slurm"]

log = logging.getLogger(__name__)

#: ``slurm``: a real cluster (``sbatch``); ``local``: submitit's local cluster; ``debug``: in this process.
SLURM_CLUSTERS: tuple[str, ...] = ("slurm", "local", "debug")
#: SLURM states in which a job may still produce its output (wait for it on resume).
_ALIVE = {"PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "RESIZING", "SUSPENDED", "UNKNOWN"}


@dataclass(frozen=True)
class SlurmSettings:
    """Resources of one job-array task (the ``execution.slurm`` section of a study config)."""

    partition: str | None = None
    gpus_per_task: int = 0
    cpus_per_task: int = 4
    mem_gb: float = 16.0
    time_min: int = 120
    array_parallelism: int = 32

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_chunk(fn: Callable[[str, Any], Any], unit_ids: Sequence[str], context: Any) -> list[tuple[str, Any]]:
    """Run a chunk of units inside one job-array task (never raises for a failing unit)."""
    from .outcome import execute_unit

    return [(uid, execute_unit(fn, uid, context)) for uid in unit_ids]


class _Journal:
    """``slurm_jobs.json``: which job holds which units (written by the driver only)."""

    def __init__(self, path: Path):
        self.path = path
        self.jobs: list[dict[str, Any]] = []
        if path.is_file():
            try:
                self.jobs = list(json.loads(path.read_text())["jobs"])
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
                log.warning("ignoring an unreadable job journal %s (%s); its units are submitted again", path, exc)

    def add(self, job_id: str, units: Sequence[str], cluster: str) -> None:
        self.jobs.append({"job_id": job_id, "units": list(units), "cluster": cluster, "submitted": time.time()})
        self.save()

    def keep_only(self, pending: set[str]) -> None:
        self.jobs = [j for j in self.jobs if pending & set(j["units"])]
        self.save()

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps({"jobs": self.jobs}, indent=2), what="SLURM job journal")


def _executor(folder: Path, cluster: str, settings: SlurmSettings) -> Any:
    submitit = optional_import("submitit", extra="slurm", purpose="The SLURM executor")
    ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    params: dict[str, Any] = {
        "timeout_min": settings.time_min, "cpus_per_task": settings.cpus_per_task,
        "mem_gb": settings.mem_gb, "gpus_per_node": settings.gpus_per_task, "name": "repalign-study",
    }
    if cluster == "slurm":
        params["slurm_array_parallelism"] = settings.array_parallelism
        if settings.partition:
            params["slurm_partition"] = settings.partition
    ex.update_parameters(**params)
    return ex


def _reattach(folder: Path, entry: dict[str, Any]) -> Any | None:
    """The journal's job if it finished or may still finish; None if it is gone without output."""
    submitit = optional_import("submitit", extra="slurm", purpose="The SLURM executor")
    cluster = entry.get("cluster")
    if cluster == "slurm":
        job = submitit.SlurmJob(folder, entry["job_id"])
        if job.paths.result_pickle.exists() or job.state.split(" ")[0] in _ALIVE:
            return job
        return None
    if cluster == "local":
        job = submitit.LocalJob(folder, entry["job_id"])
        if job.paths.result_pickle.exists():
            return job
        # a local task whose driver died runs on as an orphan (its job id is its pid): wait
        # for it rather than run its units a second time beside it
        return _OrphanLocalJob(job) if _local_task_alive(entry["job_id"]) else None
    return None


def _local_task_alive(job_id: str) -> bool:
    """Whether the process of a local-cluster task still runs (and is that task: the pid of a
    finished one may have been reused; a zombie is not running)."""
    import os

    try:
        pid = int(job_id)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # pragma: no cover - another user's process took the pid
        return False
    proc = Path("/proc") / str(pid)
    if not proc.is_dir():  # no procfs (macOS): the signal check is all there is
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
    except (OSError, IndexError):
        return False
    return state != "Z" and b"submitit" in cmdline


class _OrphanLocalJob:
    """A local task of an earlier driver that still runs: done when its output is written or
    its process is gone (then :func:`run_slurm` submits its units again)."""

    def __init__(self, job: Any):
        self._job = job
        self.job_id = job.job_id
        self.paths = job.paths

    def done(self) -> bool:
        return self.paths.result_pickle.exists() or not _local_task_alive(str(self.job_id))

    def result(self) -> Any:
        return self._job.result()


def _outcomes(job: Any, units: Sequence[str]) -> list[tuple[str, Any]]:
    from .outcome import Outcome

    try:
        pairs = job.result()
    except Exception as exc:  # noqa: BLE001 - the task died, timed out or was cancelled
        message = str(exc).strip().splitlines()
        tail = " | ".join(line for line in message[-6:] if line.strip())
        return [(uid, Outcome(None, f"SlurmTaskFailed: job {job.job_id}: {type(exc).__name__}: {tail}")) for uid in units]
    got = dict(pairs)
    return [(uid, got.get(uid) or Outcome(None, f"SlurmTaskFailed: job {job.job_id} returned no outcome for it"))
            for uid in units]


def run_slurm(
    fn: Callable[[str, Any], Any],
    units: Sequence[str],
    context: Any,
    *,
    run_dir: Path,
    settings: SlurmSettings,
    cluster: str = "slurm",
    units_per_task: int = 1,
    poll_seconds: float | None = None,
) -> Iterator[tuple[str, Any]]:
    """Run ``units`` as job-array tasks, yielding ``(unit_id, outcome)`` as tasks finish.

    See the module docstring for the journal and what a restarted driver does.
    """
    if cluster not in SLURM_CLUSTERS:
        raise InputError(f"--slurm-cluster: {cluster!r} is not one of {', '.join(SLURM_CLUSTERS)}.")
    if units_per_task < 1:
        raise InputError(f"--units-per-task must be >= 1; got {units_per_task}.")
    if cluster == "debug":  # submitit's in-process debug executor adds nothing over the local one
        yield from run_chunk(fn, units, context)
        return
    folder = Path(run_dir) / ".submitit"
    folder.mkdir(parents=True, exist_ok=True)
    journal = _Journal(Path(run_dir) / "slurm_jobs.json")
    pending = set(units)
    journal.keep_only(pending)
    running: dict[Any, list[str]] = {}
    for entry in journal.jobs:
        mine = [u for u in entry["units"] if u in pending]
        job = _reattach(folder, entry) if entry.get("cluster") == cluster else None
        if job is not None and mine:
            if isinstance(job, _OrphanLocalJob):
                log.info("job %s (%s) from an earlier driver is still running: waiting for it instead of resubmitting",
                         job.job_id, ", ".join(mine))
            else:
                log.info("job %s (%s) from an earlier driver: collecting it instead of resubmitting", job.job_id, ", ".join(mine))
            running[job] = mine
            pending -= set(mine)
        elif mine:
            log.info("job %s (%s) from an earlier driver ended without an output: submitting again",
                     entry["job_id"], ", ".join(mine))
    todo = [u for u in units if u in pending]
    chunks = [todo[i:i + units_per_task] for i in range(0, len(todo), units_per_task)]
    ex = _executor(folder, cluster, settings)
    poll = poll_seconds if poll_seconds is not None else (0.5 if cluster == "local" else 15.0)

    def submit(batch: list[list[str]]) -> None:
        jobs = ex.map_array(run_chunk, [fn] * len(batch), batch, [context] * len(batch))
        for job, chunk in zip(jobs, batch):
            journal.add(str(job.job_id), chunk, cluster)
            running[job] = chunk
        log.info("submitted %d task(s) to %s (%s)", len(batch), cluster, ", ".join(str(j.job_id) for j in jobs[:3]))

    if cluster == "slurm" and chunks:
        submit(chunks)  # one array; SLURM enforces array_parallelism (%N)
        chunks = []
    while running or chunks:
        # the local cluster has no queue: keep at most array_parallelism tasks alive ourselves
        free = settings.array_parallelism - len(running)
        if chunks and free > 0:
            submit(chunks[:free])
            chunks = chunks[free:]
        finished = [job for job in running if job.done()]
        for job in finished:
            mine = running.pop(job)
            if isinstance(job, _OrphanLocalJob) and not job.paths.result_pickle.exists():
                log.info("job %s (%s) from an earlier driver ended without an output: submitting again",
                         job.job_id, ", ".join(mine))
                chunks.append(mine)
                continue
            yield from _outcomes(job, mine)
        if not finished:
            time.sleep(poll)

"""The SLURM executor on submitit's local cluster: streaming, kill + resume, identical tables."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from repalign import InputError
from repalign.cli import main
from repalign.study.config import config_from_dict
from repalign.study.runner import execute_plan
from repalign.study.store import RunStore

from .toy_units import toy_unit

pytest.importorskip("submitit")

REPO = Path(__file__).resolve().parents[2]
UNITS = [f"zoo:{i}" for i in range(6)]


def _traces(trace_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in trace_dir.iterdir():
        unit = f.name.rsplit("-", 1)[0].replace("_", ":")
        counts[unit] = counts.get(unit, 0) + 1
    return counts


def _driver(run_dir: Path, traces: Path) -> list[str]:
    script = textwrap.dedent(
        f"""
        import logging, sys
        sys.path.insert(0, {str(REPO)!r})
        logging.basicConfig(level=logging.INFO, stream=sys.stdout)
        from tests.study.toy_units import toy_unit
        from repalign.study.runner import execute_plan
        from repalign.study.slurm import SlurmSettings
        run = execute_plan({str(run_dir)!r}, {UNITS!r}, toy_unit, {{"sleep": 3, "trace_dir": {str(traces)!r}}},
                           manifest={{"fingerprint": "abc"}}, executor="slurm", slurm_cluster="local",
                           slurm=SlurmSettings(array_parallelism=2, time_min=5))
        print("finished", sorted(run.finished), "skipped", sorted(run.skipped))
        """
    )
    return [sys.executable, "-c", script]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))


def _start_driver(tmp_path):
    """A study driver on the local cluster in a child process: (run folder, traces folder, store, process)."""
    run_dir, traces = tmp_path / "run", tmp_path / "traces"
    traces.mkdir()
    driver = subprocess.Popen(_driver(run_dir, traces), env=_env(), cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    return run_dir, traces, RunStore(run_dir), driver


@pytest.mark.slow
def test_killed_driver_resumes_without_resubmitting_finished_units(tmp_path):
    run_dir, traces, store, driver = _start_driver(tmp_path)
    deadline = time.time() + 120

    def submitted_units() -> set[str]:
        try:
            return {u for job in json.loads((run_dir / "slurm_jobs.json").read_text())["jobs"] for u in job["units"]}
        except (OSError, ValueError):
            return set()

    # kill while two units are recorded and the next tasks run
    while time.time() < deadline and driver.poll() is None:
        done = set(store.done_units())
        if len(done) >= 2 and len(submitted_units() - done) >= 1:
            break
        time.sleep(0.1)
    os.kill(driver.pid, signal.SIGKILL)  # the driver dies; its running tasks go on as orphans
    driver.wait()
    done_at_kill = set(store.done_units())
    assert 2 <= len(done_at_kill) < len(UNITS), driver.stdout.read()[-3000:]
    journal = json.loads((run_dir / "slurm_jobs.json").read_text())["jobs"]
    submitted = {u for job in journal for u in job["units"]}
    assert submitted < set(UNITS)  # some units were never submitted (array_parallelism 2)
    # let the orphaned tasks finish: their outputs must be collected, not recomputed
    while len(list((run_dir / ".submitit").glob("*_result.pkl"))) < len(journal) and time.time() < deadline:
        time.sleep(0.2)
    finished_meanwhile = submitted - done_at_kill
    assert finished_meanwhile, "no task was in flight at the kill; the test needs one"

    second = subprocess.run(_driver(run_dir, traces), env=_env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "instead of resubmitting" in second.stdout
    assert _traces(traces) == {u: 1 for u in UNITS}  # every unit ran exactly once over both drivers
    assert set(store.status()["status"]) == {"done"}

    local_dir = tmp_path / "local"
    execute_plan(local_dir, UNITS, toy_unit, {}, manifest={"fingerprint": "abc"})
    for table in ("fewshot", "results"):
        pd.testing.assert_frame_equal(store.collect(table), RunStore(local_dir).collect(table))


def test_slurm_failures_are_isolated(tmp_path):
    from repalign.study.slurm import SlurmSettings

    run = execute_plan(tmp_path / "run", UNITS[:3], toy_unit, {"fail": ["zoo:1"]}, manifest={"fingerprint": "x"},
                       executor="slurm", slurm_cluster="local", slurm=SlurmSettings(array_parallelism=3, time_min=5))
    assert sorted(run.finished) == ["zoo:0", "zoo:2"] and "deliberate failure of zoo:1" in run.failed["zoo:1"]
    assert "Traceback" in json.loads(next((tmp_path / "run" / "failed").glob("*.json")).read_text())["traceback"]
    # a task that dies (os._exit) fails only its own units
    run = execute_plan(tmp_path / "run2", UNITS[:2], toy_unit, {"exit_on": "zoo:0"}, manifest={"fingerprint": "x"},
                       executor="slurm", slurm_cluster="local", slurm=SlurmSettings(array_parallelism=2, time_min=5))
    assert run.finished == ["zoo:1"] and "SlurmTaskFailed" in run.failed["zoo:0"]


def _zoo_config(tmp_path: Path, name: str, **execution) -> Path:
    import yaml

    cfg = {
        "name": name, "output": str(tmp_path / name), "models": ["zoo"],
        "zoo": {"n_classes": 3, "n_per_class": 6, "models_per_family": 1, "seed": 0},
        "human": {"datasets": ["zoo"]},
        "transfer": [{"dataset": "zoo", "shots": [1, 2], "heads": ["linear"], "seeds": 2}],
        "analysis": {"report": False},
        "execution": execution,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
def test_study_cli_on_the_local_slurm_cluster_equals_the_local_executor(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    slurm = _zoo_config(tmp_path, "viaslurm", executor="slurm",
                        slurm={"partition": "gpu", "gpus_per_task": 0, "cpus_per_task": 1, "mem_gb": 2,
                               "time_min": 10, "array_parallelism": 2})
    local = _zoo_config(tmp_path, "vialocal")
    assert main(["-q", "study", str(slurm), "--slurm-cluster", "local", "--units-per-task", "2"]) == 0
    assert main(["-q", "study", str(local)]) == 0
    for table in ("results", "alignment", "fewshot"):
        a = pd.read_parquet(tmp_path / "viaslurm" / f"{table}.parquet")
        b = pd.read_parquet(tmp_path / "vialocal" / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b)
    jobs = json.loads((tmp_path / "viaslurm" / "slurm_jobs.json").read_text())["jobs"]
    assert [len(j["units"]) for j in jobs] == [2, 1]  # 3 zoo models, 2 units per task


def test_slurm_config_section():
    cfg = config_from_dict({"models": ["zoo"], "execution": {"executor": "slurm", "slurm": {
        "partition": "gpu", "gpus_per_task": 1, "cpus_per_task": 8, "mem_gb": 32, "time_min": 240,
        "array_parallelism": 50}}})
    assert cfg.execution.slurm.partition == "gpu" and cfg.execution.slurm.array_parallelism == 50
    assert cfg.fingerprint() == config_from_dict({"models": ["zoo"]}).fingerprint()  # resources never change results
    with pytest.raises(InputError, match=r"execution.slurm.gpu_per_task: unknown key. Did you mean 'gpus_per_task'"):
        config_from_dict({"models": ["zoo"], "execution": {"slurm": {"gpu_per_task": 1}}})
    with pytest.raises(InputError, match=r"execution.slurm.mem_gb: must be a positive number"):
        config_from_dict({"models": ["zoo"], "execution": {"slurm": {"mem_gb": 0}}})


@pytest.mark.slow
def test_a_driver_restarted_at_once_waits_for_the_orphaned_local_tasks(tmp_path):
    """Restarted while the killed driver's local tasks still run, the driver waits for them
    instead of running their units a second time beside them."""
    run_dir, traces, store, driver = _start_driver(tmp_path)
    deadline = time.time() + 120
    while time.time() < deadline and driver.poll() is None:
        done = set(store.done_units())
        started = set(_traces(traces)) if traces.is_dir() else set()
        if len(done) >= 2 and len(started - done) >= 1:  # a task of this driver is running now
            break
        time.sleep(0.05)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    in_flight = set(_traces(traces)) - set(store.done_units())
    assert in_flight, "no task was in flight at the kill; the test needs one"
    second = subprocess.run(_driver(run_dir, traces), env=_env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "still running: waiting for it" in second.stdout, second.stdout[-3000:]
    assert _traces(traces) == {u: 1 for u in UNITS}, second.stdout[-3000:]  # no unit ran twice
    assert set(store.status()["status"]) == {"done"}

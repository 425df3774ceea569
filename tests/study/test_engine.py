"""The study engine: atomic store, resume after kill -9, failure isolation, executors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from repalign import InputError
from repalign.study.executors import run_units
from repalign.study.runner import execute_plan
from repalign.study.store import RunStore, UnitResult

from .toy_units import toy_unit

REPO = Path(__file__).resolve().parents[2]
UNITS = [f"zoo:{i}" for i in range(6)]
MANIFEST = {"fingerprint": "abc"}


def test_units_are_written_atomically_and_never_twice(tmp_path):
    store = RunStore(tmp_path / "run")
    store.prepare()
    res = toy_unit("zoo:1", {})
    path = store.write_unit(res)
    assert (path / "record.json").is_file() and store.is_done("zoo:1")
    with pytest.raises(InputError, match="already recorded"):
        store.write_unit(res)
    # a temporary folder left by a killed writer is cleaned up and never read as a unit
    (store.units_dir / ".tmp-zoo_2-123").mkdir()
    (store.units_dir / ".tmp-zoo_2-123" / "fewshot.parquet").write_text("partial")
    assert list(store.done_units()) == ["zoo:1"]
    store.prepare()
    assert not (store.units_dir / ".tmp-zoo_2-123").exists()


def test_failures_are_recorded_and_the_rest_finish(tmp_path):
    run = execute_plan(tmp_path / "run", UNITS, toy_unit, {"fail": ["zoo:2"]}, manifest=MANIFEST)
    assert sorted(run.finished) == sorted(u for u in UNITS if u != "zoo:2")
    assert "deliberate failure of zoo:2" in run.failed["zoo:2"]
    status = RunStore(tmp_path / "run").status()
    assert status.set_index("unit_id").loc["zoo:2", "status"] == "failed"
    assert (status["status"] == "done").sum() == 5
    fail = json.loads(next((tmp_path / "run" / "failed").glob("*.json")).read_text())
    assert "Traceback" in fail["traceback"]
    # a retry that succeeds clears the failure record
    run2 = execute_plan(tmp_path / "run", UNITS, toy_unit, {}, manifest=MANIFEST)
    assert run2.finished == ["zoo:2"] and len(run2.skipped) == 5
    assert not any((tmp_path / "run" / "failed").iterdir())


def test_changed_settings_refuse_to_mix(tmp_path):
    execute_plan(tmp_path / "run", UNITS[:2], toy_unit, {}, manifest=MANIFEST)
    with pytest.raises(InputError, match="different settings"):
        execute_plan(tmp_path / "run", UNITS[:2], toy_unit, {}, manifest={"fingerprint": "other"})


def test_resume_after_kill_9_loses_nothing_and_duplicates_nothing(tmp_path):
    run_dir, flag = tmp_path / "run", tmp_path / "crashed"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.study.toy_units import toy_unit
        from repalign.study.runner import execute_plan
        execute_plan({str(run_dir)!r}, {UNITS!r}, toy_unit,
                     {{"crash_on": "zoo:3", "crash_flag": {str(flag)!r}}}, manifest={{"fingerprint": "abc"}})
        """
    )
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert first.returncode == -9, first.stderr  # killed by SIGKILL inside unit zoo:3
    store = RunStore(run_dir)
    assert sorted(store.done_units()) == ["zoo:0", "zoo:1", "zoo:2"]
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    rows = store.collect("fewshot")
    assert sorted(rows["model"].unique()) == sorted(UNITS)
    assert len(rows) == 3 * len(UNITS) and not rows.duplicated().any()
    expected = pd.concat([toy_unit(u, {}).tables["fewshot"] for u in sorted(UNITS)], ignore_index=True)
    pd.testing.assert_frame_equal(rows.sort_values(["model", "seed"]).reset_index(drop=True),
                                  expected.sort_values(["model", "seed"]).reset_index(drop=True))


def _collect(outcomes):
    return {uid: o.result.tables["fewshot"] for uid, o in outcomes if o.ok}


def test_process_pool_equals_sequential_and_survives_a_dead_worker(tmp_path):
    seq = _collect(run_units(toy_unit, UNITS, {}))
    # zoo:4 kills its worker every time (no flag file): only it may be failed
    outcomes = list(run_units(toy_unit, UNITS, {"crash_on": "zoo:4", "crash_flag": "/nonexistent/flag"}, workers=2))
    failed = {u: o.error for u, o in outcomes if not o.ok}
    assert list(failed) == ["zoo:4"] and "WorkerDied" in failed["zoo:4"]
    pool = _collect(outcomes)
    assert sorted(pool) == sorted(u for u in UNITS if u != "zoo:4")
    for u, frame in pool.items():
        pd.testing.assert_frame_equal(frame, seq[u])


def test_executor_option_errors():
    with pytest.raises(InputError, match="Valid options: local, ray"):
        list(run_units(toy_unit, UNITS, {}, executor="dask"))
    with pytest.raises(InputError, match="only meaningful with --executor ray"):
        list(run_units(toy_unit, UNITS, {}, address="auto"))


def test_bad_unit_return_is_a_failure():
    def bad(uid, ctx):  # returns the wrong id
        return UnitResult("other", {}, {})

    (uid, outcome), = list(run_units(bad, ["a"], {}))
    assert not outcome.ok and "returned" in outcome.error


def test_pool_workers_split_the_thread_budget(monkeypatch):
    from repalign._threads import THREADS_ENV

    from .toy_units import thread_budget_unit

    monkeypatch.setenv(THREADS_ENV, "4")  # this process's budget: 4 threads
    outcomes = dict(run_units(thread_budget_unit, ["zoo:a", "zoo:b"], {}, workers=2))
    for outcome in outcomes.values():
        row = outcome.result.tables["results"].iloc[0]
        assert row["budget"] == 2 and row["omp"] == "2"  # 2 workers x 2 threads, not 2 x 4

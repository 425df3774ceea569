"""The study store heals itself: damaged units are moved aside and rerun, hard exits recorded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from repalign import InputError
from repalign.cli import main
from repalign.study.runner import execute_plan
from repalign.study.store import RunStore, unit_key

from .toy_units import toy_unit

REPO = Path(__file__).resolve().parents[2]
UNITS = [f"zoo:{i}" for i in range(4)]
MANIFEST = {"fingerprint": "abc"}


def _expected(table: str = "fewshot") -> pd.DataFrame:
    return pd.concat([toy_unit(u, {}).tables[table] for u in sorted(UNITS)], ignore_index=True)


def _traces(trace_dir: Path, unit: str) -> int:
    return len(list(trace_dir.glob(f"{unit.replace(':', '_')}-*")))


def _damage(store: RunStore, unit: str, how: str) -> Path:
    folder = store.unit_dir(unit)
    if how == "record":
        (folder / "record.json").write_text('{"unit_id": "zoo:1", "tab')  # cut off mid-write
    elif how == "truncated":
        data = (folder / "fewshot.parquet").read_bytes()
        (folder / "fewshot.parquet").write_bytes(data[: len(data) // 2])
    elif how == "missing":
        (folder / "results.parquet").unlink()
    elif how == "pages":  # the footer is intact, a data page is not
        data = bytearray((folder / "fewshot.parquet").read_bytes())
        data[4:20] = b"\xff" * 16  # just after the magic bytes: the first page header
        (folder / "fewshot.parquet").write_bytes(bytes(data))
    elif how == "rows":  # a readable table with other rows than the record lists
        toy_unit("zoo:0", {}).tables["fewshot"].iloc[:1].to_parquet(folder / "fewshot.parquet", index=False)
    return folder


@pytest.mark.parametrize("how", ["record", "truncated", "missing", "pages", "rows"])
def test_a_damaged_unit_is_reported_moved_aside_and_rerun(tmp_path, how, capsys):
    run_dir, traces = tmp_path / "run", tmp_path / "traces"
    traces.mkdir()
    context = {"trace_dir": str(traces)}
    execute_plan(run_dir, UNITS, toy_unit, context, manifest=MANIFEST)
    store = RunStore(run_dir)
    folder = _damage(store, "zoo:1", how)

    # status and collection tell the same truth: the unit is not done, and collection names it
    status = store.status().set_index("unit_id")
    assert status.loc["zoo:1", "status"] == "failed" and "damaged unit folder" in status.loc["zoo:1", "error"]
    assert (status["status"] == "done").sum() == 3
    with pytest.raises(InputError, match=unit_key("zoo:1")):
        store.collect("fewshot")
    assert main(["status", str(run_dir), "--json"]) == 0
    assert '"failed": 1' in capsys.readouterr().out

    run = execute_plan(run_dir, UNITS, toy_unit, context, manifest=MANIFEST)
    assert run.finished == ["zoo:1"] and sorted(run.skipped) == ["zoo:0", "zoo:2", "zoo:3"]
    assert _traces(traces, "zoo:1") == 2 and _traces(traces, "zoo:0") == 1
    kept = list(store.units_dir.glob(f"{folder.name}.broken-*"))
    assert len(kept) == 1 and kept[0].is_dir()  # kept for inspection, never read as a unit
    rows = store.collect("fewshot")
    pd.testing.assert_frame_equal(rows.sort_values(["model", "seed"]).reset_index(drop=True), _expected())
    assert set(store.status()["status"]) == {"done"}
    # the report reads the rerun unit's record, never the one moved aside
    import json

    from repalign.report.data import RunData, _read_provenance

    report_run = RunData(results=pd.DataFrame(), source=run_dir)
    _read_provenance(report_run, run_dir)
    fresh = json.loads((store.unit_dir("zoo:1") / "record.json").read_text())
    assert report_run.units["zoo:1"]["finished"] == fresh["finished"]


def test_a_damaged_unit_in_the_way_is_moved_aside_by_write_unit(tmp_path):
    store = RunStore(tmp_path / "run")
    store.prepare()
    store.write_unit(toy_unit("zoo:1", {}))
    _damage(store, "zoo:1", "record")
    store.write_unit(toy_unit("zoo:1", {}))  # no "already recorded": the damaged one is not a record
    assert store.is_done("zoo:1") and len(list(store.units_dir.glob("*.broken-*"))) == 1


def _script(run_dir: Path, traces: Path) -> str:
    return textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.study.toy_units import toy_unit
        from repalign.study.runner import execute_plan
        run = execute_plan({str(run_dir)!r}, {UNITS!r}, toy_unit,
                           {{"exit_on": "zoo:2", "trace_dir": {str(traces)!r}}}, manifest={{"fingerprint": "abc"}})
        print("failed:", run.failed)
        """
    )


def test_a_unit_that_hard_exits_in_process_is_recorded_as_failed(tmp_path, capsys):
    run_dir, traces = tmp_path / "run", tmp_path / "traces"
    traces.mkdir()
    first = subprocess.run([sys.executable, "-c", _script(run_dir, traces)], capture_output=True, text=True, timeout=120)
    assert first.returncode == 3, first.stderr  # os._exit(3) inside zoo:2 ended the driver
    store = RunStore(run_dir)
    status = store.status().set_index("unit_id")
    assert status.loc["zoo:2", "status"] == "failed" and "ended without an outcome" in status.loc["zoo:2", "error"]
    assert status.loc["zoo:3", "status"] == "pending"

    second = subprocess.run([sys.executable, "-c", _script(run_dir, traces)], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr  # the study survives: zoo:2 ran in a child process
    assert "WorkerDied" in second.stdout and "exit code 3" in second.stdout
    status = store.status().set_index("unit_id")["status"].to_dict()
    assert status == {"zoo:0": "done", "zoo:1": "done", "zoo:2": "failed", "zoo:3": "done"}
    assert [_traces(traces, u) for u in UNITS] == [1, 1, 2, 1]
    assert main(["status", str(run_dir), "--json"]) == 0
    assert '"failed": 1' in capsys.readouterr().out

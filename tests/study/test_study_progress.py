"""Study progress through repalign._progress: one line per unit on a pipe, a bar on a terminal, -q silent."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

CONFIG = (
    "name: p\noutput: {out}\nmodels: [zoo]\nhuman: {{datasets: [zoo]}}\n"
    "transfer:\n  - {{name: zoo, dataset: zoo, shots: [1], heads: [linear], seeds: 1}}\n"
    "zoo: {{n_classes: 3, n_per_class: 6, models_per_family: 1, seed: 0}}\nanalysis: {{report: false}}\n"
)


def _study(tmp_path, mode: str, *flags: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / f"run-{mode}-{'q' if flags else 'v'}"
    config = tmp_path / f"{out.name}.yaml"
    config.write_text(CONFIG.format(out=out))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "REPALIGN_PROGRESS": mode,
           "REPALIGN_PROGRESS_INTERVAL": "0"}
    proc = subprocess.run([sys.executable, "-m", "repalign", *flags, "study", str(config)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("mode", ["plain", "bar"])
def test_study_prints_unit_progress_once_per_unit_and_nothing_with_quiet(tmp_path, mode):
    proc = _study(tmp_path, mode)
    units = re.findall(r"\[(\d+)/(\d+)\] done (zoo:\S+)", proc.stderr)
    n = int(units[0][1])
    assert n >= 3 and [int(k) for k, _, _ in units] == list(range(1, n + 1))  # each unit once, in order
    assert len({u for _, _, u in units}) == n
    assert "ETA" in proc.stderr
    if mode == "plain":  # the [k/n] lines are the plain progress: no second display repeating them
        assert "study units" not in proc.stderr
    else:  # a tqdm bar over the units, drawn with carriage returns
        assert re.search(rf"study units: +100%\|.*\| {n}/{n}", proc.stderr)
    quiet = _study(tmp_path, mode, "-q")
    assert quiet.stderr == "", quiet.stderr[-2000:]


def test_the_summary_separates_the_units_time_from_the_whole_command(tmp_path):
    proc = _study(tmp_path, "plain")
    line = re.search(r"p: (\d+) run, 0 already done, 0 failed of (\d+) units; units (\d+) s, in all (\d+) s",
                     proc.stdout)
    assert line, proc.stdout
    assert int(line[4]) >= int(line[3])
    # a rerun runs no unit: 0 s for the units, but the command still took its time (tables, analysis)
    again = subprocess.run([sys.executable, "-m", "repalign", "study", "--json", str(tmp_path / "run-plain-v.yaml")],
                           capture_output=True, text=True, cwd=tmp_path, timeout=600,
                           env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})
    import json

    summary = json.loads(again.stdout)
    assert summary["finished"] == 0 and summary["skipped"] == int(line[2])
    assert summary["wall_seconds"] >= summary["seconds"] >= 0

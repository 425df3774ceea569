"""Building a report shows its steps through the one progress utility; progress=False hides them."""

from __future__ import annotations

from repalign.report import build_report

from .conftest import make_run


def test_build_steps_are_reported_on_a_pipe(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REPALIGN_PROGRESS", "plain")
    monkeypatch.setenv("REPALIGN_PROGRESS_INTERVAL", "0")  # every update prints (no delay either)
    run = make_run(tmp_path / "run", n_models=12)
    build_report(run, tmp_path / "out")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("report: ")]
    assert lines[0].startswith("report: 1/5 (20%)") and "[the run's own sections]" in lines[0]
    assert any("[analysis and figures]" in line for line in lines)
    assert lines[-1].startswith("report: 5/5 (100%) done in")
    build_report(run, tmp_path / "again", progress=False)
    assert "report: " not in capsys.readouterr().err

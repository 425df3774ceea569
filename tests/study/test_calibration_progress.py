"""The dry run's calibration of the few-shot grid says how far it is: for the paper's grid
(100 classes x 6 shot counts x 3 heads x 5 seeds) it ran 5 minutes here with one line."""

from __future__ import annotations

import pytest


def test_grid_calibration_shows_progress(monkeypatch, capsys):
    pytest.importorskip("torch")
    from repalign import _progress
    from repalign.study import estimate

    monkeypatch.setenv(_progress.MODE_ENV, "plain")
    monkeypatch.setenv(_progress.INTERVAL_ENV, "0")
    seconds = estimate._time_grid(3, (1, 2), ("linear", "mlp1"), 1, 8)
    assert set(seconds) == {"linear", "mlp1"}
    err = capsys.readouterr().err
    assert "calibrating the few-shot grid: 2/2 (100%) done" in err
    assert "few-shot fits" in err  # the fits inside each head's grid


def test_grid_calibration_is_silent_with_q(monkeypatch, capsys):
    pytest.importorskip("torch")
    from repalign import _progress
    from repalign.study import estimate

    monkeypatch.setenv(_progress.MODE_ENV, "plain")
    monkeypatch.setenv(_progress.INTERVAL_ENV, "0")
    _progress.set_quiet(True)
    try:
        estimate._time_grid(3, (1,), ("linear",), 1, 8)
    finally:
        _progress.set_quiet(False)
    assert capsys.readouterr().err == ""

"""Figures: matplotlib Figure objects on the Agg canvas, no files written, bad tables refused."""

import io

import numpy as np
import pandas as pd
import pytest

from repalign import InputError
from repalign.theory import plot_capacity, plot_game, plot_geometry, simulate_bsc_game, simulate_geometric_game
from repalign.theory.game import fit_query_constant

pytest.importorskip("matplotlib")


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_capacity_figure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from matplotlib.figure import Figure

    fig = plot_capacity(sizes=(8, 64))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    left, right = fig.axes
    c_line = left.get_lines()[0]
    np.testing.assert_allclose(c_line.get_ydata()[[0, 200, 400]], [1.0, 0.0, 1.0], atol=1e-12)
    assert right.get_yscale() == "log" and len(right.get_lines()) >= 2
    assert _png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_game_figure_marks_unreached_points():
    df = simulate_bsc_game([0.0, 0.1, 0.2, 0.5, 0.8, 0.9, 1.0], n=8, n_trials=40, n_bootstrap=20, max_queries=100, seed=0)
    df.insert(0, "variant", "adaptive, eps known")
    fig = plot_game(df, fit_query_constant(df))
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("not reached in 100 queries") or label.startswith("not reached in 8 queries") for label in labels)
    assert any("(fit)" in label for label in labels) and any("Fano" in label for label in labels)
    assert _png(fig)


def test_geometry_figure():
    df = simulate_geometric_game({"noise": [0.0, 0.3], "anti": [0.0, 0.3]}, n=8, n_trials=16, n_bootstrap=0, seed=0)
    fig = plot_geometry(df)
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes][:2] == ["noise", "anti"]
    assert _png(fig)


def test_figures_refuse_bad_tables():
    with pytest.raises(InputError, match="lacks the columns"):
        plot_game(pd.DataFrame({"eps": [0.1]}))
    with pytest.raises(InputError, match="empty"):
        plot_geometry(pd.DataFrame(columns=["family", "level", "eps_queries", "eps_estimated", "final_accuracy", "reached"]))
    with pytest.raises(InputError, match="DataFrame"):
        plot_game([1, 2, 3])

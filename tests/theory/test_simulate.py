"""run_simulations: one call for the demo, tidy tables, a fitted constant, figures."""

import json

import numpy as np
import pytest

from repalign import InputError
from repalign.theory import MAIN_VARIANT, run_simulations


@pytest.fixture(scope="module")
def results():
    return run_simulations("test", seed=0)


def test_tables_and_fit(results):
    game, geom = results.game, results.geometry
    assert set(game.variant) == {MAIN_VARIANT}
    assert sorted(set(game.n)) == [8, 16] and len(game) == 22
    assert {"eps", "n", "queries", "ci_low", "ci_high", "reached", "capacity", "bound", "fano"} <= set(game.columns)
    assert set(geom.family) == {"noise", "rotation", "anti"}
    assert {"eps_queries", "eps_shared", "eps_estimated", "final_accuracy"} <= set(geom.columns)
    assert 1.0 < results.fit.constant < 1.8 and abs(results.fit.slope - 1) < 0.2
    assert set(results.theory.columns) == {"eps", "n", "entropy", "capacity", "bound", "fano"}
    reached = game[game.reached]
    assert (reached.eps != 0.5).all() and len(reached) == 20


def test_summary_is_json_ready(results):
    summary = json.loads(json.dumps(results.summary()))
    assert summary["fit"]["constant"] == pytest.approx(results.fit.constant)
    assert summary["max_abs_log_asymmetry"] < np.log(1.6)
    assert set(summary["seconds"]) == {"game", "geometry", "geometry_eps"}


def test_figures(results):
    pytest.importorskip("matplotlib")
    figs = results.figures()
    assert set(figs) == {"capacity", "game", "geometry"}


def test_unknown_size():
    with pytest.raises(InputError, match="Valid options: test, demo"):
        run_simulations("huge")

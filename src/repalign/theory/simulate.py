"""One call that runs every simulation of the theory, for ``repalign demo`` and the report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_option
from .capacity import binary_entropy, capacity, fano_query_bound, query_bound
from .game import QueryFit, fit_query_constant, simulate_bsc_game
from .geometry import measure_geometric_eps, simulate_geometric_game

log = logging.getLogger(__name__)

__all__ = ["SIZES", "MAIN_VARIANT", "SimulationResults", "run_simulations"]

#: The variant the constant is fitted on: adaptive queries, Bob knows eps and inverts above 1/2.
MAIN_VARIANT = "adaptive, eps known"

#: Settings of each size. ``test`` runs in about a second, ``demo`` in about 20 s on one core.
SIZES: dict[str, dict[str, Any]] = {
    "test": {
        "game_sizes": (8, 16),
        "eps_step": 0.1,
        "n_trials": 120,
        "max_queries": 600,
        "variants_at": None,
        "variants_max_queries": 0,
        "variants_eps_step": 0.1,
        "geometry_n": 12,
        "geometry_trials": 60,
        "geometry_levels": {"noise": (0.0, 0.1, 0.3), "rotation": (0.0, 45.0, 90.0), "anti": (0.0, 0.1, 0.3)},
        "curve_levels": {"noise": (0.0, 0.1, 0.2, 0.4), "rotation": (0.0, 30.0, 60.0, 90.0), "anti": (0.0, 0.1, 0.2, 0.4)},
        "n_bootstrap": 100,
        "target": 0.9,
    },
    "demo": {
        "game_sizes": (16, 64),
        "eps_step": 0.05,
        "n_trials": 300,
        "max_queries": 3000,
        "variants_at": 16,
        "variants_max_queries": 600,
        "variants_eps_step": 0.1,
        "geometry_n": 32,
        "geometry_trials": 200,
        "geometry_levels": {
            "noise": (0.0, 0.05, 0.1, 0.2, 0.4),
            "rotation": (0.0, 10.0, 20.0, 45.0, 90.0),
            "anti": (0.0, 0.05, 0.1, 0.2, 0.4),
        },
        "curve_levels": {
            "noise": tuple(np.round(np.linspace(0.0, 1.0, 21), 3)),
            "rotation": tuple(np.linspace(0.0, 90.0, 19)),
            "anti": tuple(np.round(np.linspace(0.0, 1.0, 21), 3)),
        },
        "n_bootstrap": 200,
        "target": 0.9,
    },
}

# (variant name, keyword arguments of play_bsc_game)
_VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("random queries, eps known", {"select": "random"}),
    ("adaptive, eps estimated (100 triplets)", {"bob_eps": "estimated", "n_calibration": 100}),
    ("adaptive, eps known, no inversion", {"flip": False}),
)


@dataclass(frozen=True)
class SimulationResults:
    """Everything :func:`run_simulations` measured.

    Attributes
    ----------
    game : DataFrame
        The BSC game, one row per (variant, n, eps); columns of
        :class:`repalign.theory.GameResult` plus ``variant``.
    geometry : DataFrame
        The geometric game, one row per (family, level); columns of
        :class:`repalign.theory.GeometricResult`.
    geometry_eps : DataFrame
        eps of each family on a finer grid of levels, without the game
        (:func:`repalign.theory.measure_geometric_eps`).
    fit : QueryFit
        ``queries ~ constant * log2 n / C(eps)`` on the :data:`MAIN_VARIANT` rows.
    theory : DataFrame
        Closed forms on a fine eps grid: ``eps, n, entropy, capacity, bound, fano``.
    settings : dict
    seconds : dict
        Wall time of each part.
    """

    game: pd.DataFrame
    geometry: pd.DataFrame
    geometry_eps: pd.DataFrame
    fit: QueryFit
    theory: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def main_game(self) -> pd.DataFrame:
        """The rows of the :data:`MAIN_VARIANT`."""
        return self.game[self.game["variant"] == MAIN_VARIANT]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready digest: the fit, the symmetry of the curve, timings."""
        main = self.main_game
        sym = []
        for _, df in main.groupby("n"):
            q = dict(zip(np.round(df["eps"], 6), df["queries"]))
            for e, v in q.items():
                mirror = round(1.0 - e, 6)
                if e < 0.5 and mirror in q and np.isfinite(v) and np.isfinite(q[mirror]):
                    sym.append(abs(np.log(v / q[mirror])))
        return {
            "fit": self.fit.to_dict(),
            "game_points": int(len(self.game)),
            "geometry_points": int(len(self.geometry)),
            "max_abs_log_asymmetry": float(max(sym)) if sym else None,
            "seconds": dict(self.seconds),
            "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.settings.items() if not k.endswith("_levels")},
        }

    def figures(self) -> dict[str, Any]:
        """The report's figures (matplotlib Figures), by name.

        ``capacity`` (C(eps) and the query bound), ``game`` (the simulated U-shape with
        the fitted ``C(eps)`` prediction), ``geometry`` (geometric eps versus distortion and
        the distorted game's accuracy), and ``variants`` (the variants at one ``n``, when
        they were run).
        """
        from .figures import plot_capacity, plot_game, plot_geometry

        figs = {
            "capacity": plot_capacity(sizes=tuple(sorted(set(self.game["n"]))) + (1024,)),
            "game": plot_game(self.main_game, self.fit),
            "geometry": plot_geometry(self.geometry, self.geometry_eps),
        }
        at = self.settings.get("variants_at")
        if at is not None and self.game["variant"].nunique() > 1:
            figs["variants"] = plot_game(
                self.game[self.game["n"] == at], None, title=f"Variants of the game (n = {at})"
            )
        return figs


def _theory_table(sizes: tuple[int, ...], target: float) -> pd.DataFrame:
    eps = np.round(np.linspace(0.0, 1.0, 101), 10)
    frames = []
    for n in sizes:
        frames.append(
            pd.DataFrame(
                {
                    "eps": eps,
                    "n": n,
                    "entropy": binary_entropy(eps),
                    "capacity": capacity(eps),
                    "bound": query_bound(n, eps=eps),
                    "fano": fano_query_bound(n, eps, accuracy=target),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run_simulations(size: str = "demo", *, seed: int = 0) -> SimulationResults:
    """Run the BSC game over an eps grid, its variants, and the geometric game.

    Parameters
    ----------
    size : {"demo", "test"}
        ``demo``: n = 16 and 64, eps every 0.05, 300 trials per point, plus three variants at
        n = 16 and eps every 0.1 (random queries; eps estimated from 100 triplets; no
        inversion), and the geometric game at n = 32 (about 20 s on one core). ``test``: a
        reduced version (about a second).
    seed : int

    Returns
    -------
    SimulationResults

    Examples
    --------
    >>> res = run_simulations("test", seed=0)
    >>> 1.0 < res.fit.constant < 2.0
    True
    """
    check_option("size", size, tuple(SIZES))
    cfg = SIZES[size]
    seeds = np.random.SeedSequence(seed).spawn(4)
    grid = np.round(np.arange(0.0, 1.0 + 1e-9, cfg["eps_step"]), 10)
    common = {
        "n_trials": cfg["n_trials"], "max_queries": cfg["max_queries"], "target": cfg["target"],
        "n_bootstrap": cfg["n_bootstrap"],
    }
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    main = simulate_bsc_game(grid, n=list(cfg["game_sizes"]), seed=int(seeds[0].generate_state(1)[0]), **common)
    main.insert(0, "variant", MAIN_VARIANT)
    frames = [main]
    seconds["game"] = time.perf_counter() - start
    log.info("BSC game: %d points in %.1f s", len(main), seconds["game"])

    if cfg["variants_at"] is not None:
        start = time.perf_counter()
        for (name, kwargs), child in zip(_VARIANTS, seeds[1].spawn(len(_VARIANTS))):
            coarse = np.round(np.arange(0.0, 1.0 + 1e-9, cfg["variants_eps_step"]), 10)
            df = simulate_bsc_game(
                coarse, n=cfg["variants_at"], seed=int(child.generate_state(1)[0]),
                **{**common, "max_queries": cfg["variants_max_queries"]}, **kwargs,
            )
            df.insert(0, "variant", name)
            frames.append(df)
        seconds["variants"] = time.perf_counter() - start
        log.info("BSC game variants in %.1f s", seconds["variants"])
    game = pd.concat(frames, ignore_index=True)
    fit = fit_query_constant(main)

    start = time.perf_counter()
    geometry = simulate_geometric_game(
        cfg["geometry_levels"], n=cfg["geometry_n"], n_trials=cfg["geometry_trials"], target=cfg["target"],
        n_bootstrap=cfg["n_bootstrap"], seed=int(seeds[2].generate_state(1)[0]),
    )
    seconds["geometry"] = time.perf_counter() - start
    log.info("geometric game: %d points in %.1f s", len(geometry), seconds["geometry"])
    start = time.perf_counter()
    geometry_eps = measure_geometric_eps(cfg["curve_levels"], n=cfg["geometry_n"], seed=int(seeds[3].generate_state(1)[0]))
    seconds["geometry_eps"] = time.perf_counter() - start

    theory = _theory_table(tuple(cfg["game_sizes"]), cfg["target"])
    return SimulationResults(game, geometry, geometry_eps, fit, theory, {"size": size, "seed": seed, **cfg}, seconds)

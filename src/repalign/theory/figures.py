"""Figures of the theory and its simulations, for the report.

Each function returns a :class:`matplotlib.figure.Figure` drawn on the Agg canvas; none
touches pyplot's global state or writes a file (the caller saves or embeds it).
matplotlib is imported only when a function is called (the ``plot`` extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import optional_import
from .capacity import binary_entropy, capacity, fano_query_bound, query_bound
from .game import QueryFit

__all__ = ["plot_capacity", "plot_game", "plot_geometry"]

_FAMILY_COLORS = {"noise": "tab:blue", "rotation": "tab:green", "anti": "tab:red"}
_LEVEL_LABELS = {"noise": "noise sigma (x RMS scale)", "rotation": "rotation angle (degrees)", "anti": "noise sigma before reversal"}


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Any, list[Any]]:
    optional_import("matplotlib", extra="plot", purpose="Drawing the theory figures")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _require(df: pd.DataFrame, columns: set[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what} must be a DataFrame; got {type(df).__name__}.")
    missing = columns - set(df.columns)
    if missing:
        raise InputError(f"{what} lacks the columns {sorted(missing)}.")
    if df.empty:
        raise InputError(f"{what} is empty; there is nothing to plot.")


def _broken_at_half(eps: np.ndarray, values: np.ndarray, width: float = 0.0) -> np.ndarray:
    """NaN where ``|eps - 1/2| <= width`` (and where infinite), so a line is not drawn across the pole."""
    out = np.asarray(values, dtype=np.float64).copy()
    out[(np.abs(eps - 0.5) <= width) | ~np.isfinite(out)] = np.nan
    return out


def plot_capacity(*, sizes: tuple[int, ...] = (16, 64, 1024), d: int = 1, points: int = 401) -> Any:
    """``C(eps)`` and ``H(eps)`` (left) and the query bound ``d log2 n / C(eps)`` (right).

    Examples
    --------
    >>> fig = plot_capacity()
    >>> len(fig.axes)
    2
    """
    eps = np.linspace(0.0, 1.0, points)
    fig, (left, right) = _figure(9.5, 3.6, 2)
    left.plot(eps, capacity(eps), color="black", lw=2, label="capacity C(eps) = 1 - H(eps)")
    left.plot(eps, binary_entropy(eps), color="gray", ls="--", label="binary entropy H(eps)")
    left.set_xlabel("misalignment eps = D_P (flip probability)")
    left.set_ylabel("bits per triplet")
    left.set_title("Binary symmetric channel")
    left.set_xlim(0, 1)
    left.set_ylim(0, 1.05)
    left.legend(loc="center", fontsize=8)
    for n in sizes:
        right.plot(eps, _broken_at_half(eps, query_bound(n, d=d, eps=eps)), lw=1.8, label=f"n = {n}")
    right.axvline(0.5, color="gray", lw=0.8, ls=":")
    right.set_yscale("log")
    right.set_xlim(0, 1)
    right.set_xlabel("misalignment eps = D_P")
    right.set_ylabel(f"queries  (d log2 n / C(eps), d = {d})")
    right.set_title("Proposition 3.8: queries to learn a new object")
    right.legend(fontsize=8)
    return fig


def plot_game(game: pd.DataFrame, fit: QueryFit | None = None, *, title: str | None = None) -> Any:
    """Measured queries to the target accuracy versus eps, with the prediction overlaid.

    One series per ``n`` (and per variant, when the table has a ``variant`` column):
    points with bootstrap intervals; the line ``fit.constant * log2 n / C(eps)``; the Fano
    lower bound (dotted). Points that did not reach the target are triangles at the top
    of the axis, with the most queries run in the legend.

    Examples
    --------
    >>> from repalign.theory import simulate_bsc_game
    >>> df = simulate_bsc_game([0.0, 0.2, 0.8, 1.0], n=8, n_trials=32, n_bootstrap=20, seed=0)
    >>> len(plot_game(df).axes)
    1
    """
    _require(game, {"eps", "n", "queries", "ci_low", "ci_high", "reached", "queries_run", "target"}, "game table")
    fig, (ax,) = _figure(7.0, 5.6)
    eps_line = np.linspace(0.0, 1.0, 401)
    target = float(game["target"].iloc[0])
    finite = game.loc[np.isfinite(game["queries"].to_numpy(float)), "ci_high"].to_numpy(float)
    finite = finite[np.isfinite(finite)]
    top = 2.0 * float(np.max(finite)) if finite.size else 10.0
    keys = ["variant", "n"] if "variant" in game.columns else ["n"]
    colors = iter(["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray"])
    for key, df in game.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        n = int(df["n"].iloc[0])
        label = f"{key[0]}, n = {n}" if len(key) == 2 else f"n = {n}"
        color = next(colors)
        ok = df[df["reached"].astype(bool)]
        yerr = np.vstack([ok["queries"] - ok["ci_low"], ok["ci_high"] - ok["queries"]])
        yerr = np.where(np.isfinite(yerr), yerr, 0.0)
        ax.errorbar(ok["eps"], ok["queries"], yerr=yerr, fmt="o", ms=4, capsize=2, color=color, label=f"simulated, {label}")
        miss = df[~df["reached"].astype(bool)]
        if len(miss):
            ax.plot(miss["eps"], np.full(len(miss), top), "^", color=color, ms=7,
                    label=f"not reached in {int(miss['queries_run'].max())} queries, {label}")
        if fit is not None:
            ax.plot(eps_line, _broken_at_half(eps_line, fit.constant * query_bound(n, eps=eps_line), 0.01), color=color, lw=1.2)
        ax.plot(eps_line, _broken_at_half(eps_line, fano_query_bound(n, eps_line, accuracy=target), 0.01), color=color, lw=1.0, ls=":")
    ax.axvline(0.5, color="gray", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(top=top * 1.6)
    ax.set_xlabel("misalignment eps (BSC flip probability)")
    ax.set_ylabel(f"triplet queries to reach {target:.0%} accuracy")
    if fit is not None:
        ax.plot([], [], color="black", lw=1.2, label=f"{fit.constant:.2f} x log2 n / C(eps) (fit)")
    ax.plot([], [], color="black", lw=1.0, ls=":", label="Fano lower bound")
    ax.set_title(title or "Alice/Bob game over a binary symmetric channel")
    ncol = 1 if "variant" in game.columns and game["variant"].nunique() > 1 else 2
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=ncol, frameon=False)
    return fig


def plot_geometry(geometry: pd.DataFrame, curve: pd.DataFrame | None = None) -> Any:
    """eps arising from geometry versus each distortion's level, and the game's accuracy versus eps.

    One panel per distortion family: the disagreement rate on the game's queries
    (line) and Bob's estimate from the shared objects (open squares), from ``curve`` (a
    :func:`repalign.theory.measure_geometric_eps` table) when given, else from the game
    table; the levels the game was played at are the filled dots. Last panel: the
    accuracy Bob reached (after all ``n (n - 1) / 2`` queries when the target was not
    reached) against the geometric eps, all families together.

    Examples
    --------
    >>> from repalign.theory import simulate_geometric_game
    >>> df = simulate_geometric_game({"noise": [0.0, 0.2], "anti": [0.0, 0.2]}, n=10, n_trials=20, n_bootstrap=0)
    >>> len(plot_geometry(df).axes)
    3
    """
    needed = {"family", "level", "eps_queries", "eps_estimated"}
    _require(geometry, needed | {"final_accuracy", "reached"}, "geometry table")
    if curve is not None:
        _require(curve, needed, "geometric eps curve")
    families = list(dict.fromkeys(geometry["family"]))
    fig, axes = _figure(3.2 * (len(families) + 1), 3.4, len(families) + 1)
    for ax, family in zip(axes, families):
        game = geometry[geometry["family"] == family].sort_values("level")
        line = game if curve is None else curve[curve["family"] == family].sort_values("level")
        color = _FAMILY_COLORS.get(family, "black")
        ax.plot(line["level"], line["eps_queries"], "-", color=color, label="on the game's queries")
        ax.plot(line["level"], line["eps_estimated"], "s", mfc="none", color="black", ms=5, label="Bob's estimate (shared objects)")
        ax.plot(game["level"], game["eps_queries"], "o", color=color, ms=6, label="levels played")
        ax.axhline(0.5, color="gray", lw=0.8, ls=":")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(_LEVEL_LABELS.get(family, "level"))
        ax.set_title(f"{family}")
        ax.set_ylabel("geometric eps")
        ax.legend(fontsize=7)
    last = axes[-1]
    for family in families:
        df = geometry[geometry["family"] == family]
        last.plot(df["eps_queries"], df["final_accuracy"], "o", color=_FAMILY_COLORS.get(family, "black"), label=family)
    last.axvline(0.5, color="gray", lw=0.8, ls=":")
    last.set_xlim(-0.02, 1.02)
    last.set_ylim(0, 1.02)
    last.set_xlabel("geometric eps")
    last.set_ylabel("accuracy reached")
    last.set_title("Game with a distorted Bob")
    last.legend(fontsize=7)
    return fig

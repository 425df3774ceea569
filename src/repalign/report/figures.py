"""The report's figures: the paper's Figures 3-6 and a robustness forest plot.

matplotlib is imported lazily (the ``plot`` extra) and used without pyplot: each function
builds a :class:`matplotlib.figure.Figure` on an Agg canvas, so no global backend or state
is touched. :func:`to_png` renders one to PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import optional_import
from .format import head_name, pretty_column

__all__ = [
    "METRIC_COLORS",
    "GROUP_COLORS",
    "new_figure",
    "to_png",
    "group_curves",
    "correlation_by_shots",
    "alignment_scatter",
    "forest",
]

#: Okabe-Ito colours (distinguishable with colour-vision deficiencies).
METRIC_COLORS = {"pearson": "#0072B2", "spearman": "#E69F00", "kendall": "#CC79A7", "triplet": "#009E73"}
GROUP_COLORS = {"high": "#0072B2", "mid": "#999999", "low": "#D55E00"}
_FALLBACK = ["#56B4E9", "#F0E442", "#000000", "#882255"]
_STYLE = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.frameon": False,
    "legend.fontsize": 9,
    "figure.dpi": 100,
    "savefig.dpi": 144,
}


def _mpl() -> Any:
    return optional_import("matplotlib", extra="plot", purpose="Drawing report figures")


def new_figure(width: float, height: float) -> Any:
    """A Figure on an Agg canvas, in the report's style."""
    mpl = _mpl()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with mpl.rc_context(_STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
    return fig


def to_png(fig: Any) -> bytes:
    """The figure as PNG bytes."""
    mpl = _mpl()
    buffer = io.BytesIO()
    with mpl.rc_context(_STYLE):
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _color(metric: str, i: int) -> str:
    return METRIC_COLORS.get(metric, _FALLBACK[i % len(_FALLBACK)])


def _shot_axis(ax: Any, shots: Sequence[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(shots))
    ax.set_xticklabels([str(s) for s in shots])
    ax.minorticks_off()
    ax.set_xlabel("examples per class (n)")


def group_curves(groups: pd.DataFrame, heads: dict[str, list[tuple[int, str]]], alignments: Sequence[str]) -> Any:
    """Figure 3: mean n-shot accuracy of the high / mid / low groups, heads x alignment metrics.

    ``groups`` is the concatenated output of :func:`repalign.stats.alignment_groups` over the
    few-shot columns.
    """
    mpl = _mpl()
    rows, cols = len(heads), len(alignments)
    with mpl.rc_context(_STYLE):
        fig = new_figure(2.9 * cols + 0.4, 2.35 * rows + 0.5)
        axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False, sharey="row"))
        for i, (head, pairs) in enumerate(heads.items()):
            shots = [s for s, _ in pairs]
            for j, metric in enumerate(alignments):
                ax = axes[i, j]
                sub = groups[(groups["alignment"] == metric) & groups["outcome"].isin([c for _, c in pairs])]
                for g in ("high", "mid", "low"):
                    line = sub[sub["group"] == g].set_index("outcome").reindex([c for _, c in pairs])
                    ax.plot(
                        shots,
                        line["mean"],
                        marker="o",
                        ms=4,
                        lw=1.8,
                        color=GROUP_COLORS[g],
                        label=f"{g} {int(sub['k'].iloc[0]) if len(sub) else ''}",
                    )
                _shot_axis(ax, shots)
                if i == 0:
                    ax.set_title(pretty_column(metric))
                if j == 0:
                    ax.set_ylabel(f"{head_name(head)}\naccuracy (%)")
                if i < rows - 1:
                    ax.set_xlabel("")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=3)
    return fig


def correlation_by_shots(
    table: pd.DataFrame, heads: dict[str, list[tuple[int, str]]], alignments: Sequence[str], *, ylabel: str
) -> Any:
    """Figures 4-5: correlation (95% CI) between alignment and n-shot accuracy, one panel per head."""
    mpl = _mpl()
    n = len(heads)
    with mpl.rc_context(_STYLE):
        fig = new_figure(3.3 * n + 0.3, 2.9)
        axes = np.atleast_1d(fig.subplots(1, n, squeeze=False, sharey=True)[0])
        offsets = np.linspace(-0.12, 0.12, max(len(alignments), 1)) if len(alignments) > 1 else [0.0]
        for ax, (head, pairs) in zip(axes, heads.items()):
            shots = np.array([s for s, _ in pairs], dtype=float)
            ax.axhline(0, color="#888888", lw=0.9, zorder=1)
            for m_i, metric in enumerate(alignments):
                rows = table[table["alignment"] == metric].set_index("outcome").reindex([c for _, c in pairs])
                xs = shots * 2.0 ** offsets[m_i]
                r = rows["r"].to_numpy(dtype=float)
                err = np.vstack([r - rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float) - r])
                ax.errorbar(
                    xs,
                    r,
                    yerr=err,
                    marker="o",
                    ms=4,
                    lw=1.5,
                    capsize=2.5,
                    color=_color(metric, m_i),
                    label=pretty_column(metric),
                )
            _shot_axis(ax, [int(s) for s in shots])
            ax.set_title(head_name(head))
        axes[0].set_ylabel(ylabel)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=len(alignments))
    return fig


def alignment_scatter(
    frame: pd.DataFrame,
    alignments: Sequence[str],
    outcome: str,
    bands: dict[str, pd.DataFrame] | None = None,
    breakpoints: dict[str, float] | None = None,
) -> Any:
    """Figure 6: outcome against each alignment metric over all models, with the quadratic fit.

    ``bands`` maps a metric to :func:`repalign.stats.quadratic_band` (the tested fit and the
    confidence band of its mean); ``breakpoints`` to the two-lines breakpoint (dashed).
    """
    mpl = _mpl()
    n = len(alignments)
    bands = bands or {}
    breakpoints = breakpoints or {}
    with mpl.rc_context(_STYLE):
        fig = new_figure(3.4 * n + 0.3, 3.2)
        axes = np.atleast_1d(fig.subplots(1, n, squeeze=False, sharey=True)[0])
        for i, (ax, metric) in enumerate(zip(axes, alignments)):
            sub = frame[[metric, outcome]].apply(pd.to_numeric, errors="coerce").dropna()
            x, y = sub[metric].to_numpy(float), sub[outcome].to_numpy(float)
            color = _color(metric, i)
            ax.scatter(x, y, s=11, alpha=0.55, color=color, edgecolors="none", rasterized=len(x) > 2000)
            band = bands.get(metric)
            if band is not None:
                ax.fill_between(band["x"], band["ci_low"], band["ci_high"], color="#333333", alpha=0.12, lw=0)
                ax.plot(band["x"], band["fit"], color="#222222", lw=1.6, label="quadratic fit (95% CI)")
            if metric in breakpoints:
                ax.axvline(breakpoints[metric], color="#CC79A7", lw=1.2, ls="--", label="two-lines breakpoint")
            ax.set_xlabel(f"{pretty_column(metric)} alignment")
            ax.set_title(f"{pretty_column(metric)} (n = {len(x)})")
        axes[0].set_ylabel(f"{pretty_column(outcome)} (%)")
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside upper center", ncols=2)
    return fig


def forest(tables: dict[str, pd.DataFrame], outcomes: Sequence[str], alignments: Sequence[str]) -> Any:
    """Correlation (95% CI) of each alignment metric with each outcome; one panel per table."""
    mpl = _mpl()
    n = len(tables)
    with mpl.rc_context(_STYLE):
        fig = new_figure(3.6 * n + 1.6, 0.42 * len(outcomes) * max(1, len(alignments)) ** 0.5 + 1.3)
        axes = np.atleast_1d(fig.subplots(1, n, squeeze=False, sharey=True, sharex=True)[0])
        ypos = np.arange(len(outcomes))[::-1].astype(float)
        spread = np.linspace(0.22, -0.22, len(alignments)) if len(alignments) > 1 else [0.0]
        for ax, (title, table) in zip(axes, tables.items()):
            ax.axvline(0, color="#888888", lw=0.9)
            for m_i, metric in enumerate(alignments):
                rows = table[table["alignment"] == metric].set_index("outcome").reindex(list(outcomes))
                r = rows["r"].to_numpy(float)
                err = np.vstack([r - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - r])
                ax.errorbar(
                    r,
                    ypos + spread[m_i],
                    xerr=err,
                    fmt="o",
                    ms=4,
                    lw=1.4,
                    capsize=2,
                    color=_color(metric, m_i),
                    label=pretty_column(metric),
                )
            ax.set_title(title)
            ax.set_xlabel("correlation r (95% CI)")
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(ypos)
        axes[0].set_yticklabels([pretty_column(o) for o in outcomes])
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=len(alignments))
    return fig

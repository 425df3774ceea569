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
from .colors import GROUP_COLORS, METRIC_COLORS, PALETTE, head_dash, metric_color
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
    "similarity_panels",
    "layer_curves",
    "explorer_scatter",
    "domain_bars",
    "model_fewshot_curves",
]

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
                    color=metric_color(metric, m_i),
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
            color = metric_color(metric, i)
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
                    color=metric_color(metric, m_i),
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


def similarity_panels(panels: Sequence[tuple[str, np.ndarray]]) -> Any:
    """Similarity matrices side by side (``(title, matrix)``), each on its own scale without the diagonal."""
    mpl = _mpl()
    n = len(panels)
    with mpl.rc_context(_STYLE):
        fig = new_figure(2.6 * n + 0.3, 2.9)
        axes = np.atleast_1d(fig.subplots(1, n, squeeze=False)[0])
        for ax, (title, matrix) in zip(axes, panels):
            m = np.asarray(matrix, dtype=float)
            off = m[~np.eye(len(m), dtype=bool)]
            ax.imshow(m, cmap="viridis", vmin=float(np.nanmin(off)), vmax=float(np.nanmax(off)), interpolation="nearest")
            ax.set_title(title.replace("<br>", "\n"), fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
    return fig


def layer_curves(layers: pd.DataFrame) -> Any:
    """Alignment against depth, one line per (model, metric)."""
    mpl = _mpl()
    with mpl.rc_context(_STYLE):
        fig = new_figure(6.4, 3.2)
        ax = fig.subplots()
        groups = layers.groupby(["model", "metric"], sort=False) if "model" in layers.columns else layers.groupby("metric", sort=False)
        styles = ("-", "--", ":", "-.")
        models = list(dict.fromkeys(layers["model"])) if "model" in layers.columns else [None]
        for i, (key, lines) in enumerate(groups):
            model, metric = key if isinstance(key, tuple) else (None, key)
            lines = lines.sort_values("depth")
            ax.plot(lines["depth"], lines["value"], marker="o", ms=3.5, lw=1.6, ls=styles[models.index(model) % len(styles)],
                    color=metric_color(str(metric), i), label=pretty_column(str(metric)) + (f" · {model}" if model is not None and len(models) > 1 else ""))
        ax.set_xlabel("depth (layer index, input to output)")
        ax.set_ylabel("alignment")
        ax.legend(loc="best")
    return fig


def _short_id(model: str) -> str:
    """A model id without its source prefix, for labels inside a static figure (``zoo:noise-00`` -> ``noise-00``)."""
    return model.partition(":")[2] or model


def _spread(values: Sequence[float], gap: float) -> np.ndarray:
    """Label positions at least ``gap`` apart, each as near its value as that allows (order kept)."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    out = v[order].copy()
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    out -= max(0.0, (out[-1] - v[order][-1]) / 2) if len(out) else 0.0
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    result = np.empty_like(out)
    result[order] = out
    return result


def _category_legend(fig: Any, palette: dict[str, str], used: Sequence[str], title: str, extra: Sequence[Any] = ()) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", color=palette[c], label=str(c)) for c in dict.fromkeys(used)]
    handles += list(extra)
    if handles:
        fig.legend(handles=handles, loc="outside right upper", title=title or None)


def _label_points(ax: Any, names: Sequence[str], x: np.ndarray, y: np.ndarray) -> None:
    """Write each id beside its point; ids of points that (nearly) coincide are stacked, not overprinted."""
    span_x = float(np.ptp(x)) or 1.0
    span_y = float(np.ptp(y)) or 1.0
    placed: list[tuple[float, float]] = []
    for name, xi, yi in sorted(zip(names, x, y), key=lambda t: (t[2], t[1])):
        nx, ny = (xi - x.min()) / span_x, (yi - y.min()) / span_y
        near = sum(1 for px, py in placed if abs(px - nx) < 0.12 and abs(py - ny) < 0.05)
        placed.append((nx, ny))
        ax.annotate(_short_id(name), (float(xi), float(yi)), xytext=(4, 3 + 8 * near), textcoords="offset points",
                    fontsize=6.5, color="#333333")


def explorer_scatter(frame: pd.DataFrame, alignments: Sequence[str], outcome: str, colors: pd.Series, palette: dict[str, str],
                     *, ylabel: str | None = None) -> Any:
    """The explorer's static twin: ``outcome`` against each alignment metric (at most four
    panels), one point per model coloured by ``colors`` (family or source), ids written beside
    the points when there are at most 20 models."""
    mpl = _mpl()
    metrics = list(alignments)[:4]
    sub = frame.assign(_c=colors.astype(str).to_numpy())
    with mpl.rc_context(_STYLE):
        fig = new_figure(3.2 * len(metrics) + 1.6, 3.3)
        axes = np.atleast_1d(fig.subplots(1, len(metrics), squeeze=False, sharey=True)[0])
        for ax, metric in zip(axes, metrics):
            rows = sub[["model", metric, outcome, "_c"]].dropna(subset=[metric, outcome])
            for category, block in rows.groupby("_c", sort=False):
                ax.scatter(block[metric].astype(float), block[outcome].astype(float), s=26, color=palette[category],
                           edgecolors="white", linewidths=0.5, zorder=3)
            if 0 < len(rows) <= 20:
                _label_points(ax, rows["model"].astype(str).tolist(), rows[metric].astype(float).to_numpy(),
                              rows[outcome].astype(float).to_numpy())
            ax.set_xlabel(f"{pretty_column(metric)} alignment")
            ax.set_title(f"{pretty_column(metric)} (n = {len(rows)})")
        axes[0].set_ylabel(f"{ylabel or pretty_column(outcome)} (%)")
        _category_legend(fig, palette, sub["_c"].tolist(), str(colors.name or ""))
    return fig


def domain_bars(frame: pd.DataFrame, per_domain: dict[str, list[str]]) -> Any:
    """The per-domain figure's static twin: every model's alignment on every human domain,
    one panel per metric (at most four), one bar group per model."""
    mpl = _mpl()
    metrics = [m for m, cols in per_domain.items() if cols][:4]
    models = frame["model"].astype(str).tolist()
    domains = list(dict.fromkeys(c[len(m) + 1 :] for m in metrics for c in per_domain[m]))
    with mpl.rc_context(_STYLE):
        fig = new_figure(max(5.5, 0.32 * len(models) * max(1, len(domains)) ** 0.5 + 2.0), 2.1 * len(metrics) + 1.2)
        axes = np.atleast_1d(fig.subplots(len(metrics), 1, squeeze=False, sharex=True)[:, 0])
        x = np.arange(len(models), dtype=float)
        width = 0.8 / max(1, len(domains))
        for ax, metric in zip(axes, metrics):
            for d_i, domain in enumerate(domains):
                col = f"{metric}_{domain}"
                if col in frame.columns:
                    ax.bar(x + (d_i - (len(domains) - 1) / 2) * width, pd.to_numeric(frame[col], errors="coerce"), width,
                           color=PALETTE[d_i % len(PALETTE)], label=domain)
            ax.set_ylabel(f"{pretty_column(metric)}\nalignment")
            values = pd.to_numeric(frame[[c for c in per_domain[metric] if c in frame.columns]].stack(), errors="coerce").dropna()
            if len(values):  # bars start at zero (as the interactive twin's); the range ends just past the data
                lo, hi = float(values.min()), float(values.max())
                pad = 0.08 * max(hi - lo, abs(hi), abs(lo), 1e-3)
                ax.set_ylim(min(0.0, lo - pad), max(0.0, hi + pad))
            ax.grid(axis="x", visible=False)
        axes[-1].set_xticks(x)
        axes[-1].set_xticklabels([_short_id(m) for m in models], rotation=45, ha="right", fontsize=7.5)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=min(len(domains), 6), title="human domain")
    return fig


def model_fewshot_curves(long: pd.DataFrame, palette: dict[str, str], colors: dict[str, str], *, title: str = "") -> Any:
    """The per-model few-shot figure's static twin: mean accuracy against n, one line per model
    and head (colour: the model's family or source; line style: the head); model ids at the
    line ends when there are at most 12 models."""
    from matplotlib.lines import Line2D

    mpl = _mpl()
    shots = sorted(int(s) for s in long["shots"].unique())
    models = list(dict.fromkeys(long["model"].astype(str)))
    with mpl.rc_context(_STYLE):
        fig = new_figure(6.6, 3.6)
        ax = fig.subplots()
        ends = []
        for (model, head), block in long.groupby(["model", "head"], sort=False):
            block = block.sort_values("shots")
            ax.plot(block["shots"], block["accuracy"], marker="o", ms=3, lw=1.4, ls=head_dash(str(head))[1],
                    color=palette[colors[str(model)]], alpha=0.9)
            ends.append((str(model), float(block["shots"].iloc[-1]), float(block["accuracy"].iloc[-1])))
        _shot_axis(ax, shots)
        ax.set_ylabel("accuracy (%)")
        if title:
            ax.set_title(title)
        if 0 < len(models) <= 12:
            last = {}
            for model, x, y in ends:
                last[model] = max(last.get(model, (x, y)), (x, y))
            lo, hi = ax.get_ylim()
            ys = _spread([y for _, y in last.values()], gap=(hi - lo) * 0.045)
            for (model, (x, _)), y in zip(last.items(), ys):
                ax.annotate(_short_id(model), (x, y), xytext=(6, 0), textcoords="offset points", fontsize=7, va="center",
                            color=palette[colors[model]], annotation_clip=False)
        heads = list(dict.fromkeys(long["head"].astype(str)))
        extra = [Line2D([], [], color="#444444", ls=head_dash(h)[1], label=head_name(h)) for h in heads] if len(heads) > 1 else []
        _category_legend(fig, palette, [colors[m] for m in models], "", extra)
    return fig

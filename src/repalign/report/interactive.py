"""Interactive figures: Plotly specs (plain ``data`` / ``layout`` dicts) drawn by the inlined bundle.

Every point that is a model carries its id (hover shows it); legends toggle heads,
metrics, groups and families; axes are fitted to the data (never a fixed 0-1). The
numbers come from :mod:`repalign.stats` (the analysis frame, :func:`~repalign.stats.quadratic_band`);
nothing is fitted here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .colors import GROUP_COLORS, METRIC_COLORS, PALETTE, category_colors, head_dash, metric_color
from .format import head_name, pretty_column
from .format import pretty_column as _pretty

__all__ = [
    "GROUP_COLORS",
    "METRIC_COLORS",
    "category_colors",
    "correlation_by_shots_plot",
    "domain_bars_plot",
    "explorer_plot",
    "forest_plot",
    "group_curves_plot",
    "layers_plot",
    "model_fewshot_plot",
    "scatter_plot",
    "similarity_plot",
]

_FONT = {"family": "-apple-system, Segoe UI, Roboto, Helvetica Neue, DejaVu Sans, Arial, sans-serif", "size": 12}


def _layout(**extra: Any) -> dict[str, Any]:
    base = {
        "font": _FONT,
        "margin": {"l": 64, "r": 18, "t": 46, "b": 52},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": 1.12, "x": 0, "yanchor": "bottom"},
    }
    base.update(extra)
    return base


def _axis(title: str = "", **extra: Any) -> dict[str, Any]:
    axis = {"title": {"text": title}, "gridcolor": "#ececec", "zeroline": False, "linecolor": "#888", "automargin": True}
    axis.update(extra)
    return axis


def _grid(rows: int, cols: int, gap: float = 0.07) -> tuple[dict[str, Any], list[list[tuple[str, str]]]]:
    """Axes for a rows x cols grid of panels: the layout entries, and (xref, yref) per panel."""
    layout: dict[str, Any] = {}
    refs = []
    width = (1.0 - gap * (cols - 1)) / cols
    height = (1.0 - gap * 1.6 * (rows - 1)) / rows
    for i in range(rows):
        row = []
        for j in range(cols):
            n = i * cols + j + 1
            suffix = "" if n == 1 else str(n)
            x0 = j * (width + gap)
            y1 = 1.0 - i * (height + gap * 1.6)
            layout[f"xaxis{suffix}"] = _axis(domain=[x0, x0 + width], anchor=f"y{suffix}")
            layout[f"yaxis{suffix}"] = _axis(domain=[y1 - height, y1], anchor=f"x{suffix}")
            row.append((f"x{suffix}", f"y{suffix}"))
        refs.append(row)
    return layout, refs


def _panel_title(x: str, y: str, text: str, layout: dict[str, Any]) -> dict[str, Any]:
    xa, ya = layout["xaxis" + x[1:]], layout["yaxis" + y[1:]]
    head, _, rest = text.partition("<br>")
    return {
        "text": f"<b>{head}</b>" + (f"<br>{rest}" if rest else ""), "showarrow": False, "xref": "paper", "yref": "paper",
        "x": sum(xa["domain"]) / 2, "y": ya["domain"][1], "yanchor": "bottom", "font": {"size": 12.5},
    }


def _shot_axis(layout: dict[str, Any], ref: str, shots: Sequence[int], title: bool) -> None:
    axis = layout["xaxis" + ref[1:]]
    axis.update(type="log", tickvals=list(shots), ticktext=[str(s) for s in shots])
    axis["title"] = {"text": "examples per class (n)" if title else ""}


def group_curves_plot(groups: pd.DataFrame, heads: Mapping[str, list[tuple[int, str]]], alignments: Sequence[str]) -> tuple[list, dict]:
    """Figure 3: mean n-shot accuracy of the high / mid / low groups; hover names the models."""
    layout, refs = _grid(len(heads), len(alignments))
    data, notes = [], []
    for i, (head, pairs) in enumerate(heads.items()):
        shots = [s for s, _ in pairs]
        for j, metric in enumerate(alignments):
            x, y = refs[i][j]
            sub = groups[(groups["alignment"] == metric) & groups["outcome"].isin([c for _, c in pairs])]
            for g in ("high", "mid", "low"):
                line = sub[sub["group"] == g].set_index("outcome").reindex([c for _, c in pairs])
                hover = [
                    f"{g} {int(k) if k == k else ''}: {m:.2f}%<br>" + "<br>".join(models if isinstance(models, list) else [])
                    for m, k, models in zip(line["mean"], line["k"], line["models"])
                ]
                data.append({
                    "type": "scatter", "mode": "lines+markers", "x": shots, "y": line["mean"].tolist(),
                    "name": f"{g} {int(sub['k'].iloc[0]) if len(sub) else ''}", "legendgroup": g,
                    "showlegend": i == 0 and j == 0, "line": {"color": GROUP_COLORS[g], "width": 2},
                    "xaxis": x, "yaxis": y, "text": hover, "hovertemplate": "n = %{x}<br>%{text}<extra></extra>",
                })
            _shot_axis(layout, x, shots, i == len(heads) - 1)
            if i == 0:
                notes.append(_panel_title(x, y, pretty_column(metric), layout))
            if j == 0:
                layout["yaxis" + y[1:]]["title"] = {"text": f"{head_name(head)}<br>accuracy (%)"}
    return data, _layout(annotations=notes, **layout)


def correlation_by_shots_plot(
    table: pd.DataFrame, heads: Mapping[str, list[tuple[int, str]]], alignments: Sequence[str], *, ylabel: str
) -> tuple[list, dict]:
    """Figures 4-5: correlation with its CI against n, one panel per head, one trace per metric."""
    layout, refs = _grid(1, len(heads))
    data, notes = [], []
    # metrics side by side around each n (as in the PNG), so their intervals do not overlap
    offsets = np.linspace(-0.12, 0.12, len(alignments)) if len(alignments) > 1 else [0.0]
    for j, (head, pairs) in enumerate(heads.items()):
        x, y = refs[0][j]
        shots = [s for s, _ in pairs]
        for m_i, metric in enumerate(alignments):
            rows = table[table["alignment"] == metric].set_index("outcome").reindex([c for _, c in pairs])
            r = rows["r"].to_numpy(float)
            xs = (np.array(shots, dtype=float) * 2.0 ** offsets[m_i]).tolist()
            data.append({
                "type": "scatter", "mode": "lines+markers", "x": xs, "y": r.tolist(), "name": pretty_column(metric),
                "legendgroup": metric, "showlegend": j == 0, "line": {"color": metric_color(metric, m_i), "width": 1.8},
                "error_y": {"type": "data", "symmetric": False, "array": (rows["ci_high"] - r).tolist(),
                            "arrayminus": (r - rows["ci_low"]).tolist(), "thickness": 1.2, "width": 3},
                "customdata": np.column_stack([rows["ci_low"], rows["ci_high"], rows["p_val"], rows["n"], shots]).tolist(),
                "hovertemplate": f"{pretty_column(metric)}, n = %{{customdata[4]}}<br>r = %{{y:.3f}} [%{{customdata[0]:.3f}}, "
                "%{customdata[1]:.3f}]<br>p = %{customdata[2]:.2g}, models = %{customdata[3]}<extra></extra>",
                "xaxis": x, "yaxis": y,
            })
        _shot_axis(layout, x, shots, True)
        layout["yaxis" + y[1:]]["zeroline"] = True
        if j:  # one correlation scale for every head, so the panels compare at a glance (as the PNG's sharey)
            layout["yaxis" + y[1:]]["matches"] = "y"
        notes.append(_panel_title(x, y, head_name(head), layout))
    layout["yaxis"]["title"] = {"text": ylabel}
    return data, _layout(annotations=notes, **layout)


def forest_plot(tables: Mapping[str, pd.DataFrame], outcomes: Sequence[str], alignments: Sequence[str]) -> tuple[list, dict]:
    """Correlation (CI) of each metric with each outcome; one panel per table (partial, raw)."""
    layout, refs = _grid(1, len(tables))
    data, notes = [], []
    labels = [pretty_column(o) for o in outcomes]
    for j, (title, table) in enumerate(tables.items()):
        x, y = refs[0][j]
        for m_i, metric in enumerate(alignments):
            rows = table[table["alignment"] == metric].set_index("outcome").reindex(list(outcomes))
            r = rows["r"].to_numpy(float)
            data.append({
                "type": "scatter", "mode": "markers", "x": r.tolist(), "y": labels, "name": pretty_column(metric),
                "legendgroup": metric, "showlegend": j == 0, "marker": {"color": metric_color(metric, m_i), "size": 8},
                "error_x": {"type": "data", "symmetric": False, "array": (rows["ci_high"] - r).tolist(),
                            "arrayminus": (r - rows["ci_low"]).tolist(), "thickness": 1.3, "width": 3},
                "customdata": np.column_stack([rows["ci_low"], rows["ci_high"], rows["p_val"]]).tolist(),
                "hovertemplate": f"{pretty_column(metric)} · %{{y}}<br>r = %{{x:.3f}} [%{{customdata[0]:.3f}}, "
                "%{customdata[1]:.3f}], p = %{customdata[2]:.2g}<extra></extra>",
                "xaxis": x, "yaxis": y,
            })
        layout["xaxis" + x[1:]].update(title={"text": "correlation r (95% CI)"}, zeroline=True, zerolinecolor="#999")
        layout["yaxis" + y[1:]].update(autorange="reversed", showticklabels=j == 0, type="category")
        notes.append(_panel_title(x, y, title, layout))
    # two-line panel titles sit above the panels: room for them below the toolbar (top right)
    return data, _layout(annotations=notes, margin={"l": 24, "r": 18, "t": 86, "b": 24}, **layout)


def _points(frame: pd.DataFrame, x: str, y: str, colors: pd.Series, palette: Mapping[str, str], axes: tuple[str, str], show: bool) -> list:
    sub = frame[["model", x, y]].assign(_c=colors).dropna(subset=[x, y])
    traces = []
    for category, block in sub.groupby("_c", sort=False):
        traces.append({
            "type": "scatter", "mode": "markers", "x": block[x].tolist(), "y": block[y].tolist(),
            "text": block["model"].astype(str).tolist(), "name": str(category), "legendgroup": str(category),
            "showlegend": show, "marker": {"color": palette[category], "size": 8, "opacity": 0.85,
                                           "line": {"width": 0.5, "color": "#ffffff"}},
            "hovertemplate": f"<b>%{{text}}</b><br>{pretty_column(x)}: %{{x:.3f}}<br>{pretty_column(y)}: %{{y:.2f}}<extra>{category}</extra>",
            "xaxis": axes[0], "yaxis": axes[1],
        })
    return traces


def scatter_plot(
    frame: pd.DataFrame,
    alignments: Sequence[str],
    outcome: str,
    *,
    colors: pd.Series,
    palette: Mapping[str, str],
    bands: Mapping[str, pd.DataFrame],
    breakpoints: Mapping[str, float],
) -> tuple[list, dict]:
    """Figure 6: the outcome against each metric, every model a named point, with the tested
    quadratic fit and its band and the two-lines breakpoint."""
    layout, refs = _grid(1, len(alignments))
    data, notes, shapes = [], [], []
    for j, metric in enumerate(alignments):
        x, y = refs[0][j]
        data += _points(frame, metric, outcome, colors, palette, (x, y), j == 0)
        band = bands.get(metric)
        if band is not None:
            data.append({"type": "scatter", "mode": "lines", "x": band["x"].tolist() + band["x"].tolist()[::-1],
                         "y": band["ci_high"].tolist() + band["ci_low"].tolist()[::-1], "fill": "toself",
                         "fillcolor": "rgba(40,40,40,0.12)", "line": {"width": 0}, "hoverinfo": "skip",
                         "name": "quadratic fit, 95% CI", "legendgroup": "fit", "showlegend": False, "xaxis": x, "yaxis": y})
            data.append({"type": "scatter", "mode": "lines", "x": band["x"].tolist(), "y": band["fit"].tolist(),
                         "line": {"color": "#222", "width": 1.8}, "name": "quadratic fit (95% CI)", "legendgroup": "fit",
                         "showlegend": j == 0, "hoverinfo": "skip", "xaxis": x, "yaxis": y})
        if metric in breakpoints:
            shapes.append({"type": "line", "xref": x, "yref": f"{y} domain", "x0": breakpoints[metric],
                           "x1": breakpoints[metric], "y0": 0, "y1": 1, "line": {"color": "#CC79A7", "dash": "dash", "width": 1.4}})
        n = int(frame[[metric, outcome]].dropna().shape[0])
        layout["xaxis" + x[1:]]["title"] = {"text": f"{pretty_column(metric)} alignment"}
        notes.append(_panel_title(x, y, f"{pretty_column(metric)} (n = {n})", layout))
    layout["yaxis"]["title"] = {"text": f"{pretty_column(outcome)} (%)"}
    return data, _layout(annotations=notes, shapes=shapes, **layout)


def _percent(column: str, label: str | None = None) -> str:
    """An outcome's axis title: accuracies are in percent (the results schema), counts are not."""
    return (label or pretty_column(column)) + ("" if column in ("param_count", "img_size") else " (%)")


#: Runs with at most this many models get their points named on the explorer (more would pile up).
EXPLORER_LABELS_UP_TO = 12


def explorer_plot(
    frame: pd.DataFrame, xs: Sequence[str], ys: Sequence[str], *, colors: pd.Series, palette: Mapping[str, str],
    names: Mapping[str, str] | None = None,
) -> tuple[list, dict]:
    """Any alignment column against any outcome, chosen from two menus; every point named
    (``names``: menu labels of columns, default :func:`pretty_column`)."""
    names = dict(names or {})

    def pretty_column(col: str) -> str:  # noqa: F811 - the menus' names, when given
        return names.get(col) or _pretty(col)

    traces = _points(frame, xs[0], ys[0], colors, palette, ("x", "y"), True)
    cats = [t["name"] for t in traces]
    sub = frame.assign(_c=colors.astype(str))

    def arrays(col: str) -> list[list[float | None]]:
        return [sub.loc[sub["_c"] == c, col].astype(float).tolist() for c in cats]

    # every trace holds all models of its category; a choice swaps the x or y arrays
    labelled = len(frame) <= EXPLORER_LABELS_UP_TO
    x_all = pd.to_numeric(frame[xs[0]], errors="coerce")
    x_mid = float(x_all.min() + 0.6 * (x_all.max() - x_all.min())) if x_all.notna().any() else 0.0
    for t, c in zip(traces, cats):
        block = sub[sub["_c"] == c]
        t["x"], t["y"], t["text"] = block[xs[0]].astype(float).tolist(), block[ys[0]].astype(float).tolist(), block["model"].astype(str).tolist()
        if labelled:  # a small run: each point's name on the page, as in the static figure (the id without its source)
            t.update(mode="markers+text", customdata=[m.partition(":")[2] or m for m in t["text"]], texttemplate="%{customdata}",
                     # right of a point on the left of the first view, left of it on the right: off the axes and legend
                     textposition=["top right" if v <= x_mid else "top left" for v in t["x"]], cliponaxis=False, textfont={"size": 10.5, "color": t["marker"]["color"]})
        # the axis titles follow the menus, so the tooltip names the columns shown
        t["hovertemplate"] = "<b>%{text}</b><br>%{xaxis.title.text}: %{x:.3f}<br>%{yaxis.title.text}: %{y:.2f}<extra>" + c + "</extra>"
    menus = [
        {"buttons": [{"label": pretty_column(col), "method": "update", "args": [{"x": arrays(col)}, {"xaxis.title.text": pretty_column(col)}]} for col in xs],
         "x": 0.0, "y": 1.22, "xanchor": "left", "yanchor": "top", "showactive": True, "direction": "down"},
        {"buttons": [{"label": pretty_column(col), "method": "update", "args": [{"y": arrays(col)}, {"yaxis.title.text": _percent(col, pretty_column(col))}]} for col in ys],
         "x": 0.34, "y": 1.22, "xanchor": "left", "yanchor": "top", "showactive": True, "direction": "down"},
    ]
    layout = _layout(
        xaxis=_axis(pretty_column(xs[0])), yaxis=_axis(_percent(ys[0], pretty_column(ys[0]))), updatemenus=menus,
        margin={"l": 64, "r": 18, "t": 96, "b": 52},
        legend={"orientation": "v", "x": 1.02, "y": 1, "title": {"text": str(colors.name or "")}},
        annotations=[{"text": "x:", "showarrow": False, "xref": "paper", "yref": "paper", "x": -0.02, "y": 1.2, "xanchor": "right"},
                     {"text": "y:", "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.33, "y": 1.2, "xanchor": "right"}],
    )
    return traces, layout


def model_fewshot_plot(long: pd.DataFrame, palette: Mapping[str, str], colors: Mapping[str, str]) -> tuple[list, dict]:
    """Mean few-shot accuracy against n for every model (one line per model and head).

    ``long`` holds ``model, head, shots, accuracy``; the legend toggles models, the line
    style tells the heads apart.
    """
    data = []
    shots = sorted(long["shots"].unique().tolist())
    seen: set[str] = set()
    for (model, head), block in long.groupby(["model", "head"], sort=False):
        block = block.sort_values("shots")
        # one legend entry per model (its heads toggle together; the line style tells them apart)
        first = str(model) not in seen
        seen.add(str(model))
        data.append({
            "type": "scatter", "mode": "lines+markers", "x": block["shots"].tolist(), "y": block["accuracy"].tolist(),
            "name": str(model), "legendgroup": str(model), "showlegend": first,
            "line": {"color": palette[colors[model]], "dash": head_dash(head)[0], "width": 1.6},
            "hovertemplate": f"<b>{model}</b><br>{head_name(head)}, n = %{{x}}: %{{y:.2f}}%<extra></extra>",
        })
    layout = _layout(xaxis=_axis("examples per class (n)", type="log", tickvals=shots, ticktext=[str(s) for s in shots]),
                     yaxis=_axis("accuracy (%)"), legend={"orientation": "v", "x": 1.02, "y": 1})
    return data, layout


def domain_bars_plot(frame: pd.DataFrame, per_domain: Mapping[str, list[str]]) -> tuple[list, dict]:
    """Alignment of every model on every human domain, one bar group per model; a menu picks the metric."""
    metrics = list(per_domain)
    data, visible = [], []
    for m_i, metric in enumerate(metrics):
        for d_i, col in enumerate(per_domain[metric]):
            data.append({
                "type": "bar", "x": frame["model"].astype(str).tolist(), "y": frame[col].tolist(),
                "name": col[len(metric) + 1 :], "marker": {"color": PALETTE[d_i % len(PALETTE)]}, "visible": m_i == 0,
                "hovertemplate": "<b>%{x}</b><br>" + f"{pretty_column(metric)} on {col[len(metric) + 1:]}: " + "%{y:.3f}<extra></extra>",
            })
            visible.append(m_i)
    buttons = [{"label": pretty_column(m), "method": "update",
                "args": [{"visible": [v == i for v in visible]}, {"yaxis.title.text": f"{pretty_column(m)} alignment"}]}
               for i, m in enumerate(metrics)]
    layout = _layout(barmode="group", xaxis=_axis("", tickangle=-30), yaxis=_axis(f"{pretty_column(metrics[0])} alignment"),
                     updatemenus=[{"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.2, "yanchor": "top"}] if len(metrics) > 1 else [])
    return data, layout


def similarity_plot(panels: Sequence[tuple[str, np.ndarray, Sequence[str]]]) -> tuple[list, dict]:
    """Similarity matrices side by side (``(title, matrix, ids)`` per panel), each on its own scale."""
    layout, refs = _grid(1, len(panels), gap=0.05)
    data, notes = [], []
    for j, (title, matrix, ids) in enumerate(panels):
        x, y = refs[0][j]
        m = np.asarray(matrix, dtype=float)
        off = m[~np.eye(len(m), dtype=bool)]
        data.append({
            "type": "heatmap", "z": np.round(m, 4).tolist(), "x": list(ids), "y": list(ids), "colorscale": "Viridis",
            "zmin": float(np.nanmin(off)), "zmax": float(np.nanmax(off)), "showscale": False, "xaxis": x, "yaxis": y,
            "hovertemplate": "%{y} · %{x}<br>similarity %{z:.3f}<extra>" + title.replace("<", "") + "</extra>",
        })
        layout["xaxis" + x[1:]].update(showticklabels=False, title={"text": ""}, constrain="domain")
        layout["yaxis" + y[1:]].update(showticklabels=False, autorange="reversed", scaleanchor=x, constrain="domain")
        notes.append(_panel_title(x, y, title, layout))
    # two-line panel titles sit above the panels: room for them below the toolbar (top right)
    return data, _layout(annotations=notes, margin={"l": 24, "r": 18, "t": 86, "b": 24}, **layout)


def layers_plot(layers: pd.DataFrame) -> tuple[list, dict]:
    """Alignment against depth, one line per (model, dataset, metric); hover names the layer.

    ``lower`` / ``upper`` columns (bootstrap intervals of :func:`repalign.models.align_layers`)
    become error bars.
    """
    data = []
    keys = [c for c in ("model", "dataset") if c in layers.columns]
    blocks = layers.groupby(keys, sort=False) if keys else [((), layers)]
    dashes = ("solid", "dash", "dot", "dashdot", "longdash")
    for b_i, (key, block) in enumerate(blocks):
        suffix = " · ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        for m_i, (metric, lines) in enumerate(block.groupby("metric", sort=False)):
            lines = lines.sort_values("depth")
            label = pretty_column(str(metric)) + (f" · {suffix}" if suffix else "")
            trace = {
                "type": "scatter", "mode": "lines+markers", "x": lines["depth"].tolist(), "y": lines["value"].tolist(),
                "text": lines["layer"].astype(str).tolist(), "name": label,
                "line": {"color": metric_color(str(metric), m_i), "dash": dashes[b_i % len(dashes)], "width": 1.8},
                "hovertemplate": "<b>%{text}</b><br>depth %{x}: %{y:.3f}<extra>" + label + "</extra>",
            }
            if {"lower", "upper"} <= set(lines.columns):
                trace["error_y"] = {"type": "data", "symmetric": False, "array": (lines["upper"] - lines["value"]).tolist(),
                                    "arrayminus": (lines["value"] - lines["lower"]).tolist(), "thickness": 1, "width": 2}
            data.append(trace)
    integer = bool(np.allclose(layers["depth"], np.round(layers["depth"])))
    extra = {"dtick": 1} if integer and layers["depth"].nunique() <= 24 else {}
    layout = _layout(xaxis=_axis("depth (layer index, input to output)", **extra), yaxis=_axis("alignment"))
    return data, layout

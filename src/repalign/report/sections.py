"""The statistical sections (few-shot, robustness, U-shape, metric agreement), all from the
one analysis frame of :func:`repalign.stats.analyze` held by the :class:`ReportContext`.

A test that could not be computed for some pairs is summarised in one line per section
(what, how many pairs, why), not one box per pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from ..stats import GROUPS, metric_correlations, quadratic_band
from ..stats.tables import TABLE_COLUMNS
from .format import format_ci, format_number, format_p, format_r, pretty_column, slug
from .model import Report, ReportContext, Section
from .render import Plot, Table

__all__ = ["correlations_of", "groups_of", "fewshot_section", "robustness_section", "ushape_section", "metrics_section"]

_TEST_NAMES = {
    "pearson": "correlations",
    "spearman": "Spearman correlations",
    "partial": "partial correlations",
    "z2": "z² correlations",
    "z2_partial": "partial z² correlations",
    "quadratic": "quadratic regressions",
    "two_lines": "two-lines tests",
    "groups": "high/mid/low groups",
}


def correlations_of(pairs: pd.DataFrame, test: str, covariates: Sequence[str] = ()) -> pd.DataFrame:
    """One correlation of the analysis frame as a correlation table (:data:`TABLE_COLUMNS`).

    ``test`` is ``pearson``, ``spearman``, ``partial``, ``z2`` or ``z2_partial``; pairs where
    it was not computed are left out.
    """
    got = pairs[pairs[f"{test}_r"].notna()]
    out = pd.DataFrame({
        "alignment": got["alignment"].to_numpy(),
        "outcome": got["outcome"].to_numpy(),
        "transform": "z2" if test.startswith("z2") else "none",
        "method": "spearman" if test == "spearman" else "pearson",
        "covariates": got["covariates"].to_numpy() if test in ("partial", "z2_partial") else "",
        "n": got["n"].astype(int).to_numpy(),
        "n_missing": got["n_missing"].astype(int).to_numpy(),
        "r": got[f"{test}_r"].to_numpy(float),
        "ci_low": got[f"{test}_ci_low"].to_numpy(float),
        "ci_high": got[f"{test}_ci_high"].to_numpy(float),
        "p_val": got[f"{test}_p_val"].to_numpy(float),
    })
    return out[list(TABLE_COLUMNS)]


def groups_of(pairs: pd.DataFrame) -> pd.DataFrame:
    """The high / mid / low groups of the analysis frame, long (one row per group)."""
    rows = []
    for r in pairs[pairs["groups_k"].notna()].itertuples(index=False):
        for g in GROUPS:
            rows.append({
                "alignment": r.alignment, "outcome": r.outcome, "group": g, "k": int(r.groups_k), "n": int(r.n),
                "n_missing": int(r.n_missing), "mean": getattr(r, f"groups_{g}_mean"), "sd": getattr(r, f"groups_{g}_sd"),
                "alignment_mean": getattr(r, f"groups_{g}_alignment_mean"), "models": list(getattr(r, f"groups_{g}_models")),
            })
    return pd.DataFrame(rows, columns=["alignment", "outcome", "group", "k", "n", "n_missing", "mean", "sd", "alignment_mean", "models"])


def _skipped(rep: Report, sec: Section, pairs: pd.DataFrame, tests: Sequence[str]) -> None:
    """One line per test that some pairs could not compute (count and the first reason)."""
    if "skipped" not in pairs.columns:
        return
    for test in tests:
        reasons = [s[test] for s in pairs["skipped"] if isinstance(s, dict) and test in s]
        if reasons:
            rep.skip(sec, f"The {_TEST_NAMES[test]} are left out for {len(reasons)} of {len(pairs)} pair{'s' if len(pairs) != 1 else ''}: {reasons[0]}")


def _models(n: int) -> str:
    return f"{n} model{'s' if n != 1 else ''}"


def n_text(table: pd.DataFrame) -> str:
    lo, hi = int(table["n"].min()), int(table["n"].max())
    return f"n = {_models(lo)}" if lo == hi else f"n = {lo}–{hi} models"


def _corr_cell(r: Any) -> str:
    p = "p<0.001" if r.p_val < 0.001 else f"p={format_p(r.p_val)}"
    return f"{format_r(r.r)} {format_ci(r.ci_low, r.ci_high)} {p}"


def corr_table(key: str, title: str, caption: str, table: pd.DataFrame, align: Sequence[str], outcomes: Sequence[str], level: float) -> Table:
    """Outcome x alignment cells ``r [CI] p``; bold where p < 0.05."""
    outs = [o for o in outcomes if o in set(table["outcome"])]
    cols = [pretty_column(a) for a in align if a in set(table["alignment"])]
    cells = pd.DataFrame("–", index=[pretty_column(o) for o in outs], columns=cols, dtype=object)
    emphasis = pd.DataFrame(False, index=cells.index, columns=cells.columns)
    for row in table.itertuples():
        r, c = pretty_column(row.outcome), pretty_column(row.alignment)
        cells.loc[r, c] = _corr_cell(row)
        emphasis.loc[r, c] = row.p_val < 0.05
    notes = [f"{n_text(table)}; r with its {level:.0%} Fisher-z interval and two-sided p; bold: p < 0.05 (uncorrected)."]
    return Table(key, "", title, caption, cells, table, emphasis.reset_index(drop=True), notes=notes)


def group_table(key: str, title: str, caption: str, groups: pd.DataFrame, align: Sequence[str], outcomes: Sequence[str]) -> Table:
    k = int(groups["k"].iloc[0])
    labels, row_groups, rows, emph = [], [], [], []
    for o in outcomes:
        block = groups[groups["outcome"] == o]
        if block.empty:
            continue
        best = {a: block[block["alignment"] == a]["mean"].max() for a in align}
        for g in GROUPS:
            labels.append(f"{g.capitalize()} {k}")
            row_groups.append(pretty_column(o))
            values, marks = [], []
            for a in align:
                v = block[(block["alignment"] == a) & (block["group"] == g)]["mean"]
                values.append(format_number(float(v.iloc[0]), 2) if len(v) else "–")
                marks.append(bool(len(v) and float(v.iloc[0]) == best[a]))
            rows.append(values)
            emph.append(marks)
    cols = [pretty_column(a) for a in align]
    data = groups.assign(models=groups["models"].map(";".join))
    notes = [f"{n_text(groups)} with every value; bold: the best of the three groups. The models of each group are in the CSV and on hover in the figures."]
    return Table(key, "", title, caption, pd.DataFrame(rows, index=labels, columns=cols), data, pd.DataFrame(emph, columns=cols), row_groups=row_groups, notes=notes)


def _plot(key: str, title: str, caption: str, spec: tuple[list, dict], alt: str, png: Any = None, height: int = 420) -> Plot:
    from .figures import to_png

    data, layout = spec
    return Plot(key, "", title, caption, data, layout, alt, height=height, png=to_png(png) if png is not None else None)


def fewshot_section(rep: Report, ctx: ReportContext, task: str | None = None) -> None:
    """Few-shot accuracy of one transfer task against alignment: groups (Figure 3), partial (4)
    and z² (5) correlations. ``task`` is the column prefix (``None``: the first task); with
    several tasks each has its own section, named in the heading."""
    from . import figures as static
    from . import interactive as live

    heads = ctx.columns.fewshot.get(task, {})
    heads = {h: [(s, c) for s, c in pairs if c in ctx.fewshot] for h, pairs in heads.items()}
    heads = {h: v for h, v in heads.items() if v}
    pairs = ctx.pairs([c for v in heads.values() for _, c in v])
    info = ctx.run.fewshot_tasks.get(task)
    n_seeds = info.seeds if info is not None else ctx.run.fewshot_seeds
    seeds = f", mean over {n_seeds} seed{'s' if n_seeds != 1 else ''}" if n_seeds else ""
    several = len(ctx.fewshot_tasks()) > 1
    label = ctx.task_label(task)
    dataset = f" on {label}" if (info is not None or ctx.run.fewshot_dataset or task) else ""
    suffix = "" if task is None else f"_{slug(task)}"
    of = f" on {label}" if several else ""
    sec = rep.section("fewshot" + suffix, f"Few-shot transfer: {label}" if several else "Few-shot transfer",
                      f"Accuracy of few-shot classifiers trained on each model's features{dataset}{seeds}, "
                      "with n examples per class, against alignment with human similarity judgments.", kind=_kind(ctx))
    _skipped(rep, sec, pairs, ("groups", "partial", "z2"))
    groups = groups_of(pairs)
    if len(groups):
        rep.add(sec, "plot", _plot(
            "figure_groups_fewshot" + suffix, f"Few-shot accuracy{of} of the most, mid and least aligned models.",
            f"Mean n-shot accuracy (%) of the {_models(ctx.k)} with the highest alignment (high), the {ctx.k} nearest the mean "
            f"(mid) and the {ctx.k} lowest (low), per head (rows) and alignment metric (columns); hover for the models of a "
            f"group; {n_text(groups)} per panel. The paper's Figure 3.",
            live.group_curves_plot(groups, heads, ctx.align), "Group mean accuracy against examples per class",
            static.group_curves(groups, heads, ctx.align), height=260 * len(heads) + 80))
        rep.tables.append(Table("fewshot_groups" + suffix, "", "Few-shot groups", "", pd.DataFrame(), groups.assign(models=groups["models"].map(";".join))))
    cov = ctx.cov
    word = f"partial correlation given {pretty_column(cov)}" if cov else "correlation (no covariate)"
    corr = correlations_of(pairs, "partial" if cov else "pearson", ctx.covariates)
    if len(corr):
        rep.add(sec, "plot", _plot(
            "figure_fewshot_partial" + suffix, f"Alignment vs few-shot accuracy{of}: {word}.",
            f"Pearson {word} between each alignment metric and n-shot accuracy, with {ctx.confidence:.0%} Fisher-z intervals, "
            f"per head; {n_text(corr)}. Click a metric in the legend to hide it. The paper's Figure 4.",
            live.correlation_by_shots_plot(corr, heads, ctx.align, ylabel="partial r" if cov else "r"),
            "Correlation with error bars against examples per class",
            static.correlation_by_shots(corr, heads, ctx.align, ylabel="partial r" if cov else "r"), height=380))
        rep.tables.append(Table("fewshot_correlations" + suffix, "", "", "", pd.DataFrame(), corr))
    z2 = correlations_of(pairs, "z2")
    if len(z2):
        rep.add(sec, "plot", _plot(
            "figure_fewshot_z2" + suffix, f"Distance from the mean alignment vs few-shot accuracy{of}.",
            "Pearson correlation between n-shot accuracy and z² = ((x − mean)/sd)² of each alignment metric (large for models "
            f"far from the mean on either side), with {ctx.confidence:.0%} intervals; {n_text(z2)}. Positive values mean both the "
            "least and the most aligned models do better than the middle. The paper's Figure 5.",
            live.correlation_by_shots_plot(z2, heads, ctx.align, ylabel="r with z²"),
            "Correlation with z-squared alignment against examples per class",
            static.correlation_by_shots(z2, heads, ctx.align, ylabel="r with z²"), height=380))
        rep.tables.append(Table("fewshot_z2_correlations" + suffix, "", "", "", pd.DataFrame(), z2))


def _kind(ctx: ReportContext) -> str:
    return "simulation" if ctx.simulated else ""


def robustness_section(rep: Report, ctx: ReportContext) -> dict[str, pd.DataFrame]:
    """Group tables (Tables 1-2), partial / raw / z² correlation tables (3-4) and a forest plot."""
    from . import figures as static
    from . import interactive as live

    others = ctx.others
    pairs = ctx.pairs(others)
    robust = any(o in ctx.columns.robustness for o in others)
    sec = rep.section(
        "robustness", "Robustness" if robust else "Other outcomes",
        "Top-1 and top-5 accuracy (%) on ImageNet-A (natural adversarial examples), ImageNet-R (renditions) and "
        "ImageNet-Sketch, as published by timm, against alignment." if robust else "Outcomes against alignment.", kind=_kind(ctx))
    _skipped(rep, sec, pairs, ("groups", "partial", "pearson", "z2"))
    a_like = [o for o in others if o.startswith("imagenet_a_")]
    blocks = (a_like, [o for o in others if o not in a_like]) if a_like and len(a_like) < len(others) else (others, [])
    groups = groups_of(pairs)
    for block, paper in zip(blocks, ("Table 1", "Table 2")):
        g = groups[groups["outcome"].isin(block)]
        if block and len(g):
            rep.add(sec, "table", group_table(
                f"table_groups_{paper[-1]}", "Mean accuracy of the most, mid and least aligned models.",
                f"Mean of each outcome over the {_models(ctx.k)} with the highest (High), nearest-to-the-mean (Mid) and lowest (Low) "
                f"alignment, per alignment metric. The paper's {paper}.", g, ctx.align, block))
    tables: dict[str, pd.DataFrame] = {}
    level = ctx.confidence
    if ctx.cov:
        part = correlations_of(pairs, "partial", ctx.covariates)
        if len(part):
            tables[f"partial, given {pretty_column(ctx.cov)}"] = part
            rep.add(sec, "table", corr_table(
                "table_partial", f"Partial correlation given {pretty_column(ctx.cov)}.",
                f"Pearson partial correlation between each outcome and each alignment metric, controlling for {pretty_column(ctx.cov)} "
                "accuracy. The paper's Table 3.", part, ctx.align, others, level))
    raw = correlations_of(pairs, "pearson")
    if len(raw):
        tables["raw"] = raw
        extra = f" (the rows with {pretty_column(ctx.cov)}, as every test of a pair)" if ctx.cov else ""
        rep.add(sec, "table", corr_table(
            "table_raw", "Correlation.", f"Pearson correlation between each outcome and each alignment metric, no covariate{extra}. "
            "The paper's Table 4 as captioned.", raw, ctx.align, others, level))
    z2 = correlations_of(pairs, "z2")
    if len(z2):
        rep.add(sec, "table", corr_table(
            "table_z2", "Correlation with the z² transform of alignment.",
            "Pearson correlation between each outcome and z² = ((x − mean)/sd)² of each alignment metric. The paper's text describes "
            "its Table 4 as these z² correlations, while that table's caption describes raw correlations; both are given here.",
            z2, ctx.align, others, level))
    if tables:
        two = len(tables) > 1
        rep.add(sec, "plot", _plot(
            "figure_robustness_forest", "Alignment vs robustness at a glance.",
            f"Correlation of each alignment metric with each outcome, with {level:.0%} Fisher-z intervals"
            + (f"; left: partial correlation given {pretty_column(ctx.cov)}, right: raw" if two else "")
            + f"; {n_text(next(iter(tables.values())))}. The tables above as a figure.",
            live.forest_plot(tables, others, ctx.align), "Forest plot of correlations with confidence intervals",
            static.forest(tables, others, ctx.align), height=max(300, 60 + 46 * len(others))))
    return tables


def ushape_section(rep: Report, ctx: ReportContext, scatter: Any) -> pd.DataFrame:
    """The scatter of one outcome against alignment (Figure 6) and the U-shape tests."""
    primary = [pairs[0][1] for task in ctx.fewshot_tasks() for pairs in ctx.columns.fewshot.get(task, {}).values()
               if pairs and pairs[0][1] in ctx.fewshot]
    u_outcomes = primary + [o for o in ctx.others if o.endswith("_top1") or not o.endswith("_top5")]
    sec = rep.section(
        "ushape", "Is the relationship U-shaped?",
        "The paper reads a U (mid-aligned models doing worst) from z² correlations and a quadratic trend. A significant quadratic "
        "term does not show a U by itself (y = log x has one), so the two-lines test of Simonsohn (2018) is added: a U needs a "
        "significant negative slope below a data-driven breakpoint and a significant positive one above it (or the reverse for an "
        "inverted U).", kind=_kind(ctx))
    if scatter is not None:
        rep.add(sec, "plot", scatter)
    pairs = ctx.pairs(u_outcomes)
    _skipped(rep, sec, pairs, ("quadratic", "two_lines"))
    u = pairs[pairs["quadratic_b2"].notna() & pairs["two_lines_u_shape"].notna() & pairs["z2_r"].notna()]
    order = {o: i for i, o in enumerate(u_outcomes)}
    u = u.assign(_o=u["outcome"].map(order)).sort_values("_o", kind="stable").drop(columns="_o")
    if u.empty:
        return u
    verdict = [("U" if r.two_lines_searched == "U" else "inverted U") if r.two_lines_u_shape else "no" for r in u.itertuples()]
    cells = pd.DataFrame({
        "z² r (p)": [f"{format_r(r.z2_r)} ({format_p(r.z2_p_val)})" for r in u.itertuples()],
        "quadratic b₂ (p)": [f"{format_number(r.quadratic_b2_std, 2)} ({format_p(r.quadratic_p_val)})" for r in u.itertuples()],
        "vertex in range": ["yes" if r.quadratic_vertex_inside else "no" for r in u.itertuples()],
        "slope below (p)": [f"{format_number(r.two_lines_b1, 2)} ({format_p(r.two_lines_p1)})" for r in u.itertuples()],
        "slope above (p)": [f"{format_number(r.two_lines_b2, 2)} ({format_p(r.two_lines_p2)})" for r in u.itertuples()],
        "two lines": verdict,
    }, index=[pretty_column(a) for a in u["alignment"]])
    emphasis = pd.DataFrame({c: [False] * len(u) for c in cells.columns})
    emphasis["z² r (p)"] = (u["z2_p_val"] < 0.05).to_numpy()
    emphasis["quadratic b₂ (p)"] = (u["quadratic_p_val"] < 0.05).to_numpy()
    emphasis["two lines"] = u["two_lines_u_shape"].astype(bool).to_numpy()
    ctrl = f" Regressions control for {pretty_column(ctx.cov)}, and every test of a pair uses the same models." if ctx.cov else ""
    data = u.drop(columns=[c for c in u.columns if c.startswith("groups_") or c == "skipped"])
    rep.add(sec, "table", Table(
        "table_ushape", "", "U-shape tests.",
        "Per outcome and alignment metric: the paper's z² correlation; the squared term of a quadratic regression (accuracy points "
        "per squared standard deviation of alignment; its CI is in the CSV) and whether the parabola's vertex lies inside the "
        "observed alignment range; and the two-lines test: the slopes below and above the Robin Hood breakpoint (accuracy points "
        f"per unit of alignment, HC3 robust z-tests).{ctrl}", cells, data, emphasis,
        row_groups=[pretty_column(o) for o in u["outcome"]], notes=[f"{n_text(u)}; bold: p < 0.05, or a U supported by the two-lines test."]))
    return u


def scatter_plot(ctx: ReportContext, outcome: str, breakpoints: dict[str, float]) -> Plot:
    """Figure 6 from the stats fits: the quadratic band of :func:`quadratic_band`, the two-lines breakpoint."""
    from . import figures as static
    from . import interactive as live

    bands = {}
    for a in ctx.align:
        try:
            bands[a] = quadratic_band(ctx.frame, a, outcome, confidence=ctx.confidence)
        except InputError:
            continue
    n_sc = int(ctx.frame[outcome].notna().sum())
    return _plot(
        "figure_scatter", f"{pretty_column(outcome)} against alignment, all models.",
        f"Each dot is one model ({n_sc} with {pretty_column(outcome)}; hover for its id, click a colour in the legend to hide that "
        f"group, drag to zoom); black: the quadratic regression with the {ctx.confidence:.0%} confidence band of the mean (no "
        "covariate); dashed: the two-lines breakpoint. The paper's Figure 6.",
        live.scatter_plot(ctx.frame, ctx.align, outcome, colors=ctx.colors, palette=ctx.palette, bands=bands, breakpoints=breakpoints),
        "Scatter plots of accuracy against alignment with quadratic fits",
        static.alignment_scatter(ctx.frame, ctx.align, outcome, bands, breakpoints), height=430)


def metrics_section(rep: Report, ctx: ReportContext) -> pd.DataFrame | None:
    """Do the alignment metrics agree? (The paper's section 5.1.)"""
    sec = rep.section("metrics", "Do the alignment metrics agree?",
                      "Correlation across models between the alignment metrics (the paper's section 5.1 reports Spearman vs triplet "
                      "ρ = 0.992 and Pearson vs triplet ρ = 0.824 over its models).", kind=_kind(ctx))
    try:
        table = metric_correlations(ctx.frame, ctx.align, confidence=ctx.confidence)
    except InputError as exc:
        rep.skip(sec, f"The alignment-metric correlations are left out: {exc}")
        return None
    pairs = list(dict.fromkeys(zip(table["x"], table["y"])))
    cols = [f"Pearson r [{ctx.confidence:.0%} CI]", f"Spearman ρ [{ctx.confidence:.0%} CI]", "n"]
    cells = pd.DataFrame(index=[f"{pretty_column(x)} vs {pretty_column(y)}" for x, y in pairs], columns=cols, dtype=object)
    for (x, y), label in zip(pairs, cells.index):
        for method, col in zip(("pearson", "spearman"), cols):
            row = table[(table.x == x) & (table.y == y) & (table.method == method)].iloc[0]
            cells.loc[label, col] = f"{format_r(row.r)} {format_ci(row.ci_low, row.ci_high)}"
            cells.loc[label, "n"] = str(int(row.n))
    rep.add(sec, "table", Table("table_metrics", "", "Agreement between alignment metrics.",
                                "Each pair's correlation across models with its Fisher-z interval.", cells, table))
    return table


def breakpoints_of(ctx: ReportContext, outcome: str) -> dict[str, float]:
    """Two-lines breakpoints of ``outcome`` on each metric, from the analysis frame."""
    rows = ctx.pairs([outcome])
    return {r.alignment: float(r.two_lines_breakpoint) for r in rows.itertuples() if np.isfinite(r.two_lines_breakpoint)}

"""The summary's findings (each computed from the tables it cites) and the methods text."""

from __future__ import annotations

import pandas as pd

from .format import format_ci, format_p, format_r, pretty_column
from .model import Report, ReportContext
from .sections import correlations_of, groups_of

__all__ = ["add_findings", "methods_text"]


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {format_p(p)}"


def _extremes(ctx: ReportContext) -> str | None:
    if not ctx.align or ctx.n_models < 2:
        return None
    metric = ctx.align[0]
    values = ctx.frame[["model", metric]].dropna()
    if len(values) < 2:
        return None
    hi, lo = values.loc[values[metric].idxmax()], values.loc[values[metric].idxmin()]
    return (f"Most aligned ({pretty_column(metric)}): {hi['model']} ({format_r(hi[metric])}); least aligned: "
            f"{lo['model']} ({format_r(lo[metric])}).")


def add_findings(rep: Report, ctx: ReportContext, u: pd.DataFrame | None, metric_table: pd.DataFrame | None) -> None:
    """Findings in the order of the page; every number is one the sections show."""
    line = _extremes(ctx)
    if line:
        rep.findings.append(line)
    if ctx.analysis is None:
        return
    robust = ctx.pairs(ctx.others)
    part = correlations_of(robust, "partial") if ctx.cov else pd.DataFrame()
    raw = correlations_of(robust, "pearson")
    if len(part):
        sig = part[(part.p_val < 0.05) & (part.r > 0)]
        best = part.loc[part.r.idxmax()]
        rep.findings.append(
            f"Controlling for {pretty_column(ctx.cov)}, {len(sig)} of {len(part)} alignment–robustness correlations are positive "
            f"with p < 0.05; the largest is {pretty_column(best.alignment)} with {pretty_column(best.outcome)}: r = "
            f"{format_r(best.r)} {format_ci(best.ci_low, best.ci_high)}.")
    elif len(raw):
        sig = raw[(raw.p_val < 0.05) & (raw.r > 0)]
        rep.findings.append(f"{len(sig)} of {len(raw)} alignment–outcome correlations are positive with p < 0.05.")
    groups = groups_of(robust)
    if len(groups):
        wide = groups.pivot_table(index=["alignment", "outcome"], columns="group", values="mean")
        n = len(wide)
        hi_lo = int((wide["high"] > wide["low"]).sum())
        u_pat = int(((wide["mid"] < wide["high"]) & (wide["mid"] < wide["low"])).sum())
        rep.findings.append(f"The {ctx.k} most aligned models beat the {ctx.k} least aligned on {hi_lo} of {n} robustness "
                            f"comparisons; the mid group is below both (the paper's U pattern) on {u_pat} of {n}.")
    if u is not None and len(u):
        rep.findings.append(
            f"U-shape: the z² correlation is positive with p < 0.05 for {int(((u.z2_p_val < 0.05) & (u.z2_r > 0)).sum())} of "
            f"{len(u)} pairs and the quadratic term for {int((u.quadratic_p_val < 0.05).sum())}, but Simonsohn's two-lines test "
            f"supports a U or inverted U for {int(u.two_lines_u_shape.astype(bool).sum())} of {len(u)}.")
    if metric_table is not None:
        sp = metric_table[metric_table.method == "pearson"]
        strongest, weakest = sp.loc[sp.r.idxmax()], sp.loc[sp.r.idxmin()]
        text = (f"Across models, the alignment metrics correlate most between {pretty_column(strongest.x)} and "
                f"{pretty_column(strongest.y)} (r = {format_r(strongest.r)})")
        if len(sp) > 1:
            text += f" and least between {pretty_column(weakest.x)} and {pretty_column(weakest.y)} (r = {format_r(weakest.r)})"
        rep.findings.append(text + "; the paper reports 0.992 for Spearman vs triplet and 0.824 for Pearson vs triplet.")
    tasks = ctx.fewshot_tasks()
    for task in tasks:  # one line per transfer task
        columns = [c for pairs in ctx.columns.fewshot.get(task, {}).values() for _, c in pairs if c in ctx.fewshot]
        fs = correlations_of(ctx.pairs(columns), "partial" if ctx.cov else "pearson")
        if not len(fs):
            continue
        best = fs.loc[fs.r.idxmax()]
        kind = "partial correlations" if ctx.cov else "correlations"
        n_sig = int(((fs.p_val < 0.05) & (fs.r > 0)).sum())
        where = f" on {ctx.task_label(task)}" if len(tasks) > 1 else ""
        rep.findings.append(
            f"Few-shot{where}: {n_sig} of {len(fs)} alignment–accuracy {kind} are positive with p < 0.05; the largest is "
            f"{pretty_column(best.alignment)} with {ctx.column_label(best.outcome)} accuracy, r = {format_r(best.r)} "
            f"{format_ci(best.ci_low, best.ci_high)} ({_p_text(best.p_val)}).")


def methods_text(cov: str | None, k: int) -> list[str]:
    """The methods paragraphs."""
    return [
        "All statistics come from one call of repalign.stats.analyze (the numbers `repalign analyze` prints): for each "
        "(alignment, outcome) pair, every test uses the same models, those with the alignment, the outcome"
        + (f" and {pretty_column(cov)}" if cov else "") + "; n is reported per table.",
        "Correlations are Pearson's r across models with two-sided t-test p-values and Fisher-z confidence intervals. "
        + (f"Partial correlations remove {pretty_column(cov)} from both variables by least squares (as pingouin's partial_corr). "
           if cov else ""),
        f"High / mid / low groups are the {k} model{'s' if k != 1 else ''} with the highest alignment, the {k} nearest the mean alignment and the {k} "
        "lowest; ties are broken by table order. z² = ((x − mean)/sd)² of the alignment over the models of the test.",
        "The quadratic regression is ordinary least squares on centred alignment and its square. The two-lines test follows "
        "Simonsohn (2018, Advances in Methods and Practices in Psychological Science 1(4), 538–555): a penalised cubic spline "
        "locates the most extreme fitted value among the middle 80% of alignment values, the Robin Hood algorithm sets the "
        "breakpoint within the flat region around it, and two interrupted regressions give the slope below and above it with HC3 "
        "robust standard errors; a U needs opposite signs, both p < 0.05.",
        "No correction for multiple comparisons is applied; read p-values as descriptive across this many tests.",
    ]

"""Build the report: one self-contained HTML page, a Markdown twin, CSV and LaTeX tables.

:func:`build_report` reads a run folder or a results table, runs the paper's analyses with
:mod:`repalign.stats` and writes::

    OUT/report.html        figures embedded as base64 PNG, CSS inline: no network needed
    OUT/report.md          the same content, figures linked from figures/
    OUT/figures/*.png
    OUT/tables/*.csv       tidy numbers at full precision
    OUT/tables/*.tex       booktabs tables

A part that cannot be computed (no few-shot columns, too few models for the groups, ...)
is left out with a note saying why, rather than failing the whole report.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from .._errors import InputError
from .._validation import check_option
from ..stats import (
    alignment_groups,
    correlation_table,
    expand_columns,
    metric_correlations,
    quadratic_regression,
    two_lines,
)
from ..stats._frame import check_columns
from ..results import parse_column
from .data import default_columns, fewshot_columns, load_run
from .format import format_ci, format_number, format_p, format_r, pretty_column
from .render import PAGE_CSS, Figure, Table, table_html, table_latex, table_markdown

log = logging.getLogger(__name__)

__all__ = ["ReportOutput", "ReportSection", "build_report", "default_output_folder"]


@dataclass
class ReportOutput:
    """Paths of everything :func:`build_report` wrote, and what it left out."""

    folder: Path
    html: Path
    markdown: Path
    figures: dict[str, Path] = field(default_factory=dict)
    tables: dict[str, dict[str, Path]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    n_models: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "html": str(self.html),
            "markdown": str(self.markdown),
            "figures": {k: str(v) for k, v in self.figures.items()},
            "tables": {k: {f: str(p) for f, p in v.items()} for k, v in self.tables.items()},
            "notes": list(self.notes),
            "n_models": self.n_models,
        }


@dataclass
class ReportSection:
    """A section the caller adds to the report (e.g. the theory part of ``repalign demo``).

    Attributes
    ----------
    key, title, intro : str
        Anchor, heading and the paragraph under it.
    figures : list of (title, caption, matplotlib Figure, alt text)
    tables : list of (title, caption, DataFrame of display cells, DataFrame of data)
        The data frame is written to ``tables/<key>_<i>.csv``.
    position : {"start", "end"}
        Before or after the analysis sections.
    findings : list of str
        Lines added to the summary at the top.
    """

    key: str
    title: str
    intro: str
    figures: list[tuple[str, str, Any, str]] = field(default_factory=list)
    tables: list[tuple[str, str, pd.DataFrame, pd.DataFrame]] = field(default_factory=list)
    position: str = "end"
    findings: list[str] = field(default_factory=list)


def _add_sections(rep: _Report, sections: Sequence[ReportSection]) -> None:
    """Insert caller sections, then number every figure and table in reading order."""
    from .figures import to_png

    start: list[dict[str, Any]] = []
    for extra in sections:
        check_option("section position", extra.position, ("start", "end"))
        sec = {"key": extra.key, "title": extra.title, "intro": extra.intro, "items": []}
        for i, (title, caption, figure, alt) in enumerate(extra.figures):
            fig = Figure(key=f"{extra.key}_figure_{i + 1}", number="", title=title, caption=caption, png=to_png(figure), alt=alt)
            rep.figures.append(fig)
            sec["items"].append(("figure", fig))
        for i, (title, caption, cells, data) in enumerate(extra.tables):
            table = Table(f"{extra.key}_table_{i + 1}", "", title, caption, cells, data)
            rep.tables.append(table)
            sec["items"].append(("table", table))
        if extra.position == "start":
            start.append(sec)
        else:
            rep.sections.append(sec)
        rep.findings.extend(extra.findings)
    rep.sections[:0] = start
    n_fig = n_tab = 0
    for sec in rep.sections:
        for kind, item in sec["items"]:
            if kind == "figure":
                n_fig += 1
                item.number = f"Figure {n_fig}"
            elif kind == "table":
                n_tab += 1
                item.number = f"Table {n_tab}"
    for table in rep.tables:  # tables shown in no section keep no number
        if not any(item is table for sec in rep.sections for _, item in sec["items"]):
            table.number = ""


def default_output_folder(source: str | os.PathLike[str]) -> Path:
    """``RUN_DIR/report`` for a run folder, ``<stem>_report`` next to a results file."""
    p = Path(source)
    return p / "report" if p.is_dir() else p.with_name(f"{p.stem}_report")


def _n_text(table: pd.DataFrame) -> str:
    lo, hi = int(table["n"].min()), int(table["n"].max())
    return f"n = {lo} models" if lo == hi else f"n = {lo}–{hi} models"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {format_p(p)}"


def _corr_cell(row: Any) -> str:
    return f"{format_r(row.r)} ({_p_text(row.p_val)})"


def _corr_table(
    key: str,
    number: str,
    title: str,
    caption: str,
    table: pd.DataFrame,
    alignments: Sequence[str],
    outcomes: Sequence[str],
) -> Table:
    cells = pd.DataFrame(
        index=[pretty_column(o) for o in outcomes], columns=[pretty_column(a) for a in alignments], dtype=object
    )
    emphasis = pd.DataFrame(False, index=cells.index, columns=cells.columns)
    for row in table.itertuples():
        r, c = pretty_column(row.outcome), pretty_column(row.alignment)
        cells.loc[r, c] = _corr_cell(row)
        emphasis.loc[r, c] = row.p_val < 0.05
    notes = [f"{_n_text(table)}; bold: p < 0.05 (two-sided, uncorrected)."]
    return Table(key, number, title, caption, cells, table, emphasis.reset_index(drop=True), notes=notes)


def _group_table(
    key: str,
    number: str,
    title: str,
    caption: str,
    groups: pd.DataFrame,
    alignments: Sequence[str],
    outcomes: Sequence[str],
) -> Table:
    k = int(groups["k"].iloc[0])
    labels, row_groups, rows, emph = [], [], [], []
    for o in outcomes:
        block = groups[groups["outcome"] == o]
        best = {a: block[block["alignment"] == a]["mean"].max() for a in alignments}
        for g in ("high", "mid", "low"):
            labels.append(f"{g.capitalize()} {k}")
            row_groups.append(pretty_column(o))
            values, marks = [], []
            for a in alignments:
                v = block[(block["alignment"] == a) & (block["group"] == g)]["mean"]
                values.append(format_number(float(v.iloc[0]), 2) if len(v) else "–")
                marks.append(bool(len(v) and float(v.iloc[0]) == best[a]))
            rows.append(values)
            emph.append(marks)
    cols = [pretty_column(a) for a in alignments]
    cells = pd.DataFrame(rows, index=labels, columns=cols)
    emphasis = pd.DataFrame(emph, columns=cols)
    data = groups.assign(models=groups["models"].map(lambda m: ";".join(m)))
    notes = [
        f"{_n_text(groups)} with both values; bold: the best of the three groups. Models of each group are in the CSV."
    ]
    return Table(key, number, title, caption, cells, data, emphasis, row_groups=row_groups, notes=notes)


class _Report:
    """Collects sections, figures, tables and notes while the analyses run."""

    def __init__(self) -> None:
        self.sections: list[dict[str, Any]] = []
        self.figures: list[Figure] = []
        self.tables: list[Table] = []
        self.notes: list[str] = []
        self.findings: list[str] = []

    def section(self, key: str, title: str, intro: str) -> dict[str, Any]:
        sec = {"key": key, "title": title, "intro": intro, "items": []}
        self.sections.append(sec)
        return sec

    def attempt(self, sec: dict[str, Any], what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except InputError as exc:
            message = f"{what} left out: {exc}"
            log.warning("%s", message)
            self.notes.append(message)
            sec["items"].append(("skipped", message))
            return None

    def add_figure(self, sec: dict[str, Any], fig: Figure) -> None:
        self.figures.append(fig)
        sec["items"].append(("figure", fig))

    def add_table(self, sec: dict[str, Any], table: Table) -> None:
        self.tables.append(table)
        sec["items"].append(("table", table))


def _fig(key: str, number: int, title: str, caption: str, figure: Any, alt: str) -> Figure:
    from .figures import to_png

    return Figure(key=key, number=f"Figure {number}", title=title, caption=caption, png=to_png(figure), alt=alt)


def build_report(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    alignments: str | Sequence[str] | None = None,
    outcomes: str | Sequence[str] | None = None,
    covariate: str | None = "auto",
    k: int = 5,
    title: str | None = None,
    fewshot_dataset: str | None = None,
    confidence: float = 0.95,
    sections: Sequence[ReportSection] = (),
) -> ReportOutput:
    """Analyse a run folder or results table and write the report.

    Parameters
    ----------
    source : path
        A run folder (``results.parquet``/``.csv`` and optionally ``fewshot.*``,
        ``alignment.*``) or one results table.
    out : path, optional
        Output folder (default: :func:`default_output_folder`).
    alignments, outcomes : str or list of str, optional
        Columns or shell patterns. Defaults: the alignment metrics present (``pearson``,
        ``spearman``, ``kendall``, ``triplet``); the ``fewshot_<head>_<n>`` columns and the
        robustness columns (``imagenet_a_top1`` ... ``sketch_top5``) present.
    covariate : str or None, default "auto"
        Partialled out in the partial correlations (``"auto"``: ``imagenet_top1`` when
        present; ``None`` or ``"none"``: no partial correlations).
    k : int, default 5
        Models per high / mid / low group.
    sections : sequence of ReportSection
        Extra sections (figures and tables made by the caller) placed before or after the
        analysis; all figures and tables are then numbered in reading order.

    Returns
    -------
    ReportOutput
    """
    from .figures import alignment_scatter, correlation_by_shots, forest, group_curves

    run = load_run(source, fewshot_dataset=fewshot_dataset)
    frame = run.results
    defaults = default_columns(frame)
    align = expand_columns(frame, alignments, role="alignment") if alignments is not None else defaults["alignments"]
    if not align:
        raise InputError(
            f"{run.source}: no alignment column ({', '.join(('pearson', 'spearman', 'kendall', 'triplet'))}); name them with alignments=."
        )
    check_columns(frame, align, role="alignment column")
    if outcomes is not None:
        outs = expand_columns(frame, outcomes, role="outcome")
        fewshot = [c for c in outs if parse_column(c).kind == "fewshot" and parse_column(c).task is None]
        others = [c for c in outs if c not in fewshot]
    else:
        fewshot, others = defaults["fewshot"], defaults["robustness"]
    if not fewshot and not others:
        raise InputError(
            f"{run.source}: no outcome column (fewshot_<head>_<n>, imagenet_a_top1, ...); name them with outcomes=."
        )
    check_columns(frame, [*fewshot, *others], role="outcome column")
    cov = defaults["covariate"] if covariate == "auto" else (None if covariate in (None, "none", "") else covariate)
    if cov is not None:
        check_columns(frame, [cov], role="covariate")
    covs = [cov] if cov else []
    n_models = len(frame)
    rep = _Report()
    rep.notes.extend(run.notes)
    fig_no = 0
    tab_no = 0
    partial_word = f"partial correlation given {pretty_column(cov)}" if cov else "correlation (no covariate)"

    # ---- few-shot transfer -------------------------------------------------------------
    if fewshot:
        heads = fewshot_columns(frame[fewshot])
        seeds = f", mean over {run.fewshot_seeds} seeds" if run.fewshot_seeds else ""
        dataset = f" on {run.fewshot_dataset}" if run.fewshot_dataset else ""
        sec = rep.section(
            "fewshot",
            "Few-shot transfer",
            f"Accuracy of few-shot classifiers trained on each model's penultimate features{dataset}{seeds}, "
            f"with n examples per class, against alignment with human similarity judgments.",
        )
        groups = rep.attempt(
            sec,
            "The high/mid/low few-shot curves",
            lambda: pd.concat([alignment_groups(frame, a, fewshot, k=k) for a in align], ignore_index=True),
        )
        if groups is not None:
            fig_no += 1
            rep.add_figure(
                sec,
                _fig(
                    "figure_groups_fewshot",
                    fig_no,
                    "Few-shot accuracy of the most, mid and least aligned models.",
                    f"Mean n-shot accuracy (%) of the {k} models with the highest alignment (high), the {k} nearest the "
                    f"mean alignment (mid) and the {k} lowest (low), per few-shot head (rows) and alignment metric "
                    f"(columns); {_n_text(groups)} per panel. The paper's Figure 3.",
                    group_curves(groups, heads, align),
                    "Line charts of group mean accuracy against examples per class",
                ),
            )
            rep.tables.append(
                Table(
                    "fewshot_groups",
                    "",
                    "Few-shot groups",
                    "",
                    pd.DataFrame(),
                    groups.assign(models=groups["models"].map(";".join)),
                )
            )
        part = rep.attempt(
            sec,
            f"The few-shot {partial_word}s",
            lambda: correlation_table(frame, align, fewshot, covariates=covs, confidence=confidence),
        )
        if part is not None:
            fig_no += 1
            rep.add_figure(
                sec,
                _fig(
                    "figure_fewshot_partial",
                    fig_no,
                    f"Alignment vs few-shot accuracy: {partial_word}.",
                    f"Pearson {partial_word} between each alignment metric and n-shot accuracy, with "
                    f"{confidence:.0%} Fisher-z intervals, per head; {_n_text(part)}. The paper's Figure 4.",
                    correlation_by_shots(part, heads, align, ylabel="partial r" if cov else "r"),
                    "Correlation with error bars against examples per class",
                ),
            )
            rep.tables.append(Table("fewshot_correlations", "", "", "", pd.DataFrame(), part))
        z2 = rep.attempt(
            sec,
            "The few-shot z² correlations",
            lambda: correlation_table(frame, align, fewshot, transform="z2", confidence=confidence),
        )
        if z2 is not None:
            fig_no += 1
            rep.add_figure(
                sec,
                _fig(
                    "figure_fewshot_z2",
                    fig_no,
                    "Distance from the mean alignment vs few-shot accuracy.",
                    "Pearson correlation between n-shot accuracy and z² = ((x − mean)/sd)² of each alignment metric "
                    f"(large for models far from the mean on either side), with {confidence:.0%} intervals; {_n_text(z2)}. "
                    "Positive values mean both the least and the most aligned models do better than the middle. The paper's Figure 5.",
                    correlation_by_shots(z2, heads, align, ylabel="r with z²"),
                    "Correlation with z-squared alignment against examples per class",
                ),
            )
            rep.tables.append(Table("fewshot_z2_correlations", "", "", "", pd.DataFrame(), z2))

    # ---- robustness ---------------------------------------------------------------------
    robust_tables: dict[str, pd.DataFrame] = {}
    if others:
        a_like = [o for o in others if o.startswith("imagenet_a_")]
        first, second = (
            (a_like, [o for o in others if o not in a_like]) if a_like and len(a_like) < len(others) else (others, [])
        )
        sec = rep.section(
            "robustness",
            "Robustness" if any(o in defaults["robustness"] for o in others) else "Other outcomes",
            "Top-1 and top-5 accuracy (%) on ImageNet-A (natural adversarial examples), ImageNet-R (renditions) and "
            "ImageNet-Sketch, as published by timm, against alignment."
            if any(o in defaults["robustness"] for o in others)
            else "Outcomes against alignment.",
        )
        for block, paper in ((first, "Table 1"), (second, "Table 2")):
            if not block:
                continue
            g = rep.attempt(
                sec,
                f"The high/mid/low groups of {', '.join(block)}",
                lambda b=block: pd.concat([alignment_groups(frame, a, b, k=k) for a in align], ignore_index=True),
            )
            if g is not None:
                tab_no += 1
                rep.add_table(
                    sec,
                    _group_table(
                        f"table_groups_{tab_no}",
                        f"Table {tab_no}",
                        "Mean accuracy of the most, mid and least aligned models.",
                        f"Mean of each outcome over the {k} models with the highest (High), nearest-to-the-mean (Mid) and lowest (Low) "
                        f"alignment, per alignment metric. The paper's {paper}.",
                        g,
                        align,
                        block,
                    ),
                )
        if cov:
            part = rep.attempt(
                sec,
                "The partial correlation table",
                lambda: correlation_table(frame, align, others, covariates=covs, confidence=confidence),
            )
            if part is not None:
                tab_no += 1
                robust_tables[f"partial, given {pretty_column(cov)}"] = part
                rep.add_table(
                    sec,
                    _corr_table(
                        "table_partial",
                        f"Table {tab_no}",
                        f"Partial correlation given {pretty_column(cov)}.",
                        f"Pearson partial correlation (two-sided p) between each outcome and each alignment metric, controlling for "
                        f"{pretty_column(cov)} accuracy. The paper's Table 3.",
                        part,
                        align,
                        others,
                    ),
                )
        raw = rep.attempt(
            sec, "The correlation table", lambda: correlation_table(frame, align, others, confidence=confidence)
        )
        if raw is not None:
            tab_no += 1
            robust_tables["raw"] = raw
            t = _corr_table(
                "table_raw",
                f"Table {tab_no}",
                "Correlation.",
                "Pearson correlation (two-sided p) between each outcome and each alignment metric, no covariate. "
                "The paper's Table 4 as captioned.",
                raw,
                align,
                others,
            )
            rep.add_table(sec, t)
        z2r = rep.attempt(
            sec,
            "The z² correlation table",
            lambda: correlation_table(frame, align, others, transform="z2", confidence=confidence),
        )
        if z2r is not None:
            tab_no += 1
            t = _corr_table(
                "table_z2",
                f"Table {tab_no}",
                "Correlation with the z² transform of alignment.",
                "Pearson correlation between each outcome and z² = ((x − mean)/sd)² of each alignment metric. The paper's "
                "text describes its Table 4 as these z² correlations, while that table's caption describes raw correlations; "
                "both are given here.",
                z2r,
                align,
                others,
            )
            rep.add_table(sec, t)
        if robust_tables:
            fig_no += 1
            rep.add_figure(
                sec,
                _fig(
                    "figure_robustness_forest",
                    fig_no,
                    "Alignment vs robustness at a glance.",
                    f"Correlation of each alignment metric with each outcome, with {confidence:.0%} Fisher-z intervals"
                    + (
                        f"; left: partial correlation given {pretty_column(cov)}, right: raw"
                        if len(robust_tables) > 1
                        else ""
                    )
                    + f"; {_n_text(next(iter(robust_tables.values())))}. The tables above as a figure.",
                    forest(robust_tables, others, align),
                    "Forest plot of correlations with confidence intervals",
                ),
            )

    # ---- U shape --------------------------------------------------------------------------
    heads_all = fewshot_columns(frame[fewshot]) if fewshot else {}
    primary = [pairs[0][1] for pairs in heads_all.values()]
    if "fewshot_linear_1" in fewshot:
        scatter_outcome = "fewshot_linear_1"
    elif primary:
        scatter_outcome = primary[0]
    else:
        scatter_outcome = next((o for o in others if o == "imagenet_a_top1"), others[0] if others else None)
    u_outcomes = primary + [o for o in others if o.endswith("_top1") or not o.endswith("_top5")]
    sec = rep.section(
        "ushape",
        "Is the relationship U-shaped?",
        "The paper reads a U (mid-aligned models doing worst) from z² correlations and a quadratic trend. A significant "
        "quadratic term does not show a U by itself (y = log x has one), so the two-lines test of Simonsohn (2018) is "
        "added: a U needs a significant negative slope below a data-driven breakpoint and a significant positive one above it "
        "(or the reverse for an inverted U).",
    )
    lines_raw: dict[str, dict[str, Any]] = {}
    if scatter_outcome is not None:
        for a in align:
            res = rep.attempt(
                sec,
                f"The two-lines test of {scatter_outcome} on {a}",
                lambda a=a: two_lines(frame, a, scatter_outcome).iloc[0],
            )
            if res is not None:
                lines_raw[a] = res.to_dict()
        n_sc = int(frame[[scatter_outcome]].notna().sum().iloc[0])
        fig_no += 1
        rep.add_figure(
            sec,
            _fig(
                "figure_scatter",
                fig_no,
                f"{pretty_column(scatter_outcome)} against alignment, all models.",
                f"Each dot is one model ({n_sc} with {pretty_column(scatter_outcome)} accuracy); black: quadratic fit with the "
                "95% confidence band of the mean; dashed: the two-lines breakpoint (no covariate). The paper's Figure 6.",
                alignment_scatter(frame, align, scatter_outcome, lines_raw),
                "Scatter plots of accuracy against alignment with quadratic fits",
            ),
        )
    u_rows = []
    for o in u_outcomes:
        for a in align:

            def one(a: str = a, o: str = o) -> dict[str, Any]:
                q = quadratic_regression(frame, a, o, covariates=covs, confidence=confidence).iloc[0]
                tl = two_lines(frame, a, o, covariates=covs).iloc[0]
                z2 = correlation_table(frame, a, o, transform="z2").iloc[0]
                return {
                    "alignment": a,
                    "outcome": o,
                    "covariates": ",".join(covs),
                    "n": int(q["n"]),
                    "z2_r": z2["r"],
                    "z2_p": z2["p_val"],
                    **{
                        f"quad_{c}": q[c]
                        for c in ("b2", "b2_std", "ci_low", "ci_high", "p_val", "vertex", "vertex_inside", "shape")
                    },
                    **{f"lines_{c}": tl[c] for c in ("searched", "breakpoint", "b1", "p1", "b2", "p2", "u_shape")},
                }

            row = rep.attempt(sec, f"The U-shape tests of {o} on {a}", one)
            if row is not None:
                u_rows.append(row)
    if u_rows:
        u = pd.DataFrame(u_rows)
        labels = [pretty_column(a) for a in u["alignment"]]
        verdict = [
            ("U" if r.lines_searched == "U" else "inverted U") if r.lines_u_shape else "no" for r in u.itertuples()
        ]
        cells = pd.DataFrame(
            {
                "z² r (p)": [f"{format_r(r.z2_r)} ({format_p(r.z2_p)})" for r in u.itertuples()],
                "quadratic b₂ (p)": [
                    f"{format_number(r.quad_b2_std, 2)} ({format_p(r.quad_p_val)})" for r in u.itertuples()
                ],
                "vertex in range": ["yes" if r.quad_vertex_inside else "no" for r in u.itertuples()],
                "slope below (p)": [
                    f"{r.lines_b1:.3g} ({format_p(r.lines_p1)})".replace("-", "−") for r in u.itertuples()
                ],
                "slope above (p)": [
                    f"{r.lines_b2:.3g} ({format_p(r.lines_p2)})".replace("-", "−") for r in u.itertuples()
                ],
                "two lines": verdict,
            },
            index=labels,
        )
        emphasis = pd.DataFrame({c: [False] * len(u) for c in cells.columns})
        emphasis["z² r (p)"] = (u["z2_p"] < 0.05).to_numpy()
        emphasis["quadratic b₂ (p)"] = (u["quad_p_val"] < 0.05).to_numpy()
        emphasis["two lines"] = u["lines_u_shape"].astype(bool).to_numpy()
        tab_no += 1
        ctrl = f" Regressions control for {pretty_column(cov)}; z² correlations do not." if cov else ""
        rep.add_table(
            sec,
            Table(
                "table_ushape",
                f"Table {tab_no}",
                "U-shape tests.",
                "Per outcome and alignment metric: the paper's z² correlation; the squared term of a quadratic regression "
                "(accuracy points per squared standard deviation of alignment; its CI is in the CSV) and whether the "
                "parabola's vertex lies inside the observed alignment range; and the two-lines test: the slopes below and above "
                f"the Robin Hood breakpoint (accuracy points per unit of alignment, HC3 robust z-tests).{ctrl}",
                cells,
                u,
                emphasis,
                row_groups=[pretty_column(o) for o in u["outcome"]],
                notes=[f"{_n_text(u)}; bold: p < 0.05, or a U supported by the two-lines test."],
            ),
        )

    # ---- alignment metrics ----------------------------------------------------------------
    metric_table = None
    if len(align) > 1:
        sec = rep.section(
            "metrics",
            "Do the alignment metrics agree?",
            "Correlation across models between the alignment metrics (the paper's section 5.1 reports Spearman vs triplet ρ = 0.992 and Pearson vs triplet ρ = 0.824 over its models).",
        )
        metric_table = rep.attempt(
            sec, "The alignment-metric correlations", lambda: metric_correlations(frame, align, confidence=confidence)
        )
        if metric_table is not None:
            pairs = list(dict.fromkeys(zip(metric_table["x"], metric_table["y"])))
            cells = pd.DataFrame(
                index=[f"{pretty_column(x)} vs {pretty_column(y)}" for x, y in pairs],
                columns=["Pearson r [95% CI]", "Spearman ρ [95% CI]", "n"],
                dtype=object,
            )
            for (x, y), label in zip(pairs, cells.index):
                for method, col in (("pearson", "Pearson r [95% CI]"), ("spearman", "Spearman ρ [95% CI]")):
                    row = metric_table[
                        (metric_table.x == x) & (metric_table.y == y) & (metric_table.method == method)
                    ].iloc[0]
                    cells.loc[label, col] = f"{format_r(row.r)} {format_ci(row.ci_low, row.ci_high)}"
                    cells.loc[label, "n"] = str(int(row.n))
            tab_no += 1
            rep.add_table(
                sec,
                Table(
                    "table_metrics",
                    f"Table {tab_no}",
                    "Agreement between alignment metrics.",
                    "Each pair's correlation across models with its Fisher-z interval.",
                    cells,
                    metric_table,
                ),
            )

    # ---- findings -------------------------------------------------------------------------
    _findings(rep, align, others, fewshot, cov, robust_tables, u_rows, metric_table, k)

    # ---- write ----------------------------------------------------------------------------
    _add_sections(rep, sections)
    out_dir = Path(out) if out is not None else default_output_folder(run.source)
    return _write(rep, out_dir, run, title, n_models, align, fewshot, others, cov, k)


def _findings(rep: _Report, align, others, fewshot, cov, robust_tables, u_rows, metric_table, k) -> None:
    part = robust_tables.get(next((key for key in robust_tables if key.startswith("partial")), ""), None)
    if part is not None and len(part):
        sig = part[(part.p_val < 0.05) & (part.r > 0)]
        best = part.loc[part.r.idxmax()]
        rep.findings.append(
            f"Controlling for {pretty_column(cov)}, {len(sig)} of {len(part)} alignment–robustness correlations are positive with p < 0.05; "
            f"the largest is {pretty_column(best.alignment)} with {pretty_column(best.outcome)}: r = {format_r(best.r)} "
            f"{format_ci(best.ci_low, best.ci_high)}."
        )
    elif "raw" in robust_tables:
        raw = robust_tables["raw"]
        sig = raw[(raw.p_val < 0.05) & (raw.r > 0)]
        rep.findings.append(f"{len(sig)} of {len(raw)} alignment–outcome correlations are positive with p < 0.05.")
    group_tables = [t for t in rep.tables if t.key.startswith("table_groups")]
    if group_tables:
        data = pd.concat([t.data for t in group_tables])
        wide = data.pivot_table(index=["alignment", "outcome"], columns="group", values="mean")
        n = len(wide)
        hi_lo = int((wide["high"] > wide["low"]).sum())
        u_pat = int(((wide["mid"] < wide["high"]) & (wide["mid"] < wide["low"])).sum())
        rep.findings.append(
            f"The {k} most aligned models beat the {k} least aligned on {hi_lo} of {n} comparisons; the mid group is below both "
            f"(the paper's U pattern) on {u_pat} of {n}."
        )
    if u_rows:
        u = pd.DataFrame(u_rows)
        rep.findings.append(
            f"U-shape: the z² correlation is positive with p < 0.05 for {int(((u.z2_p < 0.05) & (u.z2_r > 0)).sum())} of {len(u)} pairs and the quadratic "
            f"term for {int((u.quad_p_val < 0.05).sum())}, but Simonsohn's two-lines test supports a U or inverted U for "
            f"{int(u.lines_u_shape.sum())} of {len(u)}."
        )
    if metric_table is not None:
        sp = metric_table[metric_table.method == "pearson"]
        strongest, weakest = sp.loc[sp.r.idxmax()], sp.loc[sp.r.idxmin()]
        text = (
            f"Across models, the alignment metrics correlate most between {pretty_column(strongest.x)} and "
            f"{pretty_column(strongest.y)} (r = {format_r(strongest.r)})"
        )
        if len(sp) > 1:
            text += f" and least between {pretty_column(weakest.x)} and {pretty_column(weakest.y)} (r = {format_r(weakest.r)})"
        rep.findings.append(text + "; the paper reports 0.992 for Spearman vs triplet and 0.824 for Pearson vs triplet.")
    fs = next((t.data for t in rep.tables if t.key == "fewshot_correlations"), None)
    if fs is not None and len(fs):
        best = fs.loc[fs.r.idxmax()]
        kind = "partial correlations" if cov else "correlations"
        n_sig = int(((fs.p_val < 0.05) & (fs.r > 0)).sum())
        rep.findings.append(
            f"Few-shot: {n_sig} of {len(fs)} alignment–accuracy {kind} are positive with p < 0.05; the largest is "
            f"{pretty_column(best.alignment)} with {pretty_column(best.outcome)} accuracy, r = {format_r(best.r)} "
            f"{format_ci(best.ci_low, best.ci_high)} ({_p_text(best.p_val)})."
        )


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _write(
    rep: _Report, out_dir: Path, run: Any, title: str | None, n_models: int, align, fewshot, others, cov, k
) -> ReportOutput:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(exist_ok=True)
    (out_dir / "tables").mkdir(exist_ok=True)
    output = ReportOutput(
        folder=out_dir,
        html=out_dir / "report.html",
        markdown=out_dir / "report.md",
        notes=list(rep.notes),
        n_models=n_models,
    )
    for fig in rep.figures:
        path = out_dir / "figures" / f"{fig.key}.png"
        path.write_bytes(fig.png)
        output.figures[fig.key] = path
    for t in rep.tables:
        files: dict[str, Path] = {}
        csv = out_dir / "tables" / f"{t.key}.csv"
        t.data.to_csv(csv, index=False)
        files["csv"] = csv
        if not t.cells.empty:
            tex = out_dir / "tables" / f"{t.key}.tex"
            tex.write_text(table_latex(t), encoding="utf-8")
            files["tex"] = tex
        output.tables[t.key] = files

    title = title or "Alignment with human representations and what it buys"
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    source = str(run.source)
    cards = [
        (str(n_models), "models"),
        (", ".join(pretty_column(a) for a in align), "alignment metrics"),
        (str(len(fewshot) + len(others)), "outcomes"),
        (pretty_column(cov) if cov else "none", "covariate"),
    ]
    # ---- HTML
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f'<meta name="generator" content="repalign {__version__}">',
        f"<style>{PAGE_CSS}</style></head><body><main>",
        '<header class="top">',
        f"<h1>{_esc(title)}</h1>",
        f'<p class="subtitle">{_esc(n_models)} models from <code>{_esc(source)}</code> · generated {stamp} by repalign {__version__}</p>',
        "</header>",
        '<section id="summary"><h2 style="border-top:0;margin-top:0">Summary</h2><div class="cards">',
        *[
            f'<div class="card"><div class="v{"" if v.isdigit() else " text"}">{_esc(v)}</div><div class="k">{_esc(lbl)}</div></div>'
            for v, lbl in cards
        ],
        "</div>",
    ]
    if rep.findings:
        parts.append('<ul class="findings">' + "".join(f"<li>{_esc(f)}</li>" for f in rep.findings) + "</ul>")
    parts.append(
        '<nav class="toc">'
        + "".join(f'<a href="#{s["key"]}">{_esc(s["title"])}</a>' for s in rep.sections)
        + '<a href="#methods">Methods and notes</a></nav></section>'
    )
    for s in rep.sections:
        parts.append(f'<section id="{s["key"]}"><h2>{_esc(s["title"])}</h2><p>{_esc(s["intro"])}</p>')
        for kind, item in s["items"]:
            if kind == "figure":
                parts.append(
                    f'<figure id="{item.key}"><img src="{item.data_uri()}" alt="{_esc(item.alt)}">'
                    f'<figcaption><span class="label">{_esc(item.number)}.</span> <strong>{_esc(item.title)}</strong> {_esc(item.caption)}</figcaption></figure>'
                )
            elif kind == "table":
                parts.append(table_html(item))
            else:
                parts.append(f'<p class="skipped">{_esc(item)}</p>')
        parts.append("</section>")
    methods = _methods_text(cov, k)
    parts.append('<section id="methods"><h2>Methods and notes</h2>' + "".join(f"<p>{_esc(m)}</p>" for m in methods))
    if rep.notes:
        parts.append("<ul>" + "".join(f'<li class="note">{_esc(n)}</li>' for n in rep.notes) + "</ul>")
    files_list = ", ".join(f"tables/{p['csv'].name}" for p in output.tables.values())
    parts.append(
        f'<p class="note">Tables as CSV (full precision) and LaTeX in <code>tables/</code>: {_esc(files_list)}.</p></section>'
    )
    parts.append(f"<footer>repalign {__version__} · {stamp}</footer></main></body></html>")
    output.html.write_text("\n".join(parts), encoding="utf-8")

    # ---- Markdown
    md = [
        f"# {title}",
        "",
        f"{n_models} models from `{source}` · generated {stamp} by repalign {__version__}",
        "",
        "## Summary",
        "",
    ]
    md += [f"- **{lbl.capitalize()}:** {v}" for v, lbl in cards] + [""]
    md += [f"- {f}" for f in rep.findings] + [""]
    for s in rep.sections:
        md += [f"## {s['title']}", "", s["intro"], ""]
        for kind, item in s["items"]:
            if kind == "figure":
                md += [
                    f"![{item.alt}](figures/{item.key}.png)",
                    "",
                    f"**{item.number}. {item.title}** {item.caption}",
                    "",
                ]
            elif kind == "table":
                md += [table_markdown(item), ""]
            else:
                md += [f"> {item}", ""]
    md += ["## Methods and notes", "", *[m + "\n" for m in methods], *[f"- {n}" for n in rep.notes], ""]
    output.markdown.write_text("\n".join(md), encoding="utf-8")
    log.info("report written to %s", output.html)
    return output


def _methods_text(cov: str | None, k: int) -> list[str]:
    return [
        "Correlations are Pearson's r across models with two-sided t-test p-values and Fisher-z confidence intervals. "
        + (
            f"Partial correlations remove {pretty_column(cov)} from both variables by least squares (as pingouin's partial_corr). "
            if cov
            else ""
        )
        + "Each test uses the models that have every value it needs; n is reported per table.",
        f"High / mid / low groups are the {k} models with the highest alignment, the {k} nearest the mean alignment and the {k} lowest; "
        "ties are broken by table order. z² = ((x − mean)/sd)² of the alignment over the models of the test.",
        "The quadratic regression is ordinary least squares on centred alignment and its square. The two-lines test follows Simonsohn (2018, "
        "Advances in Methods and Practices in Psychological Science 1(4), 538–555): a penalised cubic spline locates the most extreme fitted "
        "value among the middle 80% of alignment values, the Robin Hood algorithm sets the breakpoint within the flat region around it, and "
        "two interrupted regressions give the slope below and above it with HC3 robust standard errors; a U needs opposite signs, both p < 0.05.",
        "No correction for multiple comparisons is applied; read p-values as descriptive across this many tests.",
    ]

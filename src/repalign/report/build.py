"""Build the report: one self-contained HTML page, a Markdown twin, CSV and LaTeX tables.

:func:`build_report` reads a run folder or a results table, runs the paper's analyses once
through :func:`repalign.stats.analyze` (the function ``repalign analyze`` prints) and writes::

    OUT/report.html        one file: CSS, script and the Plotly bundle inlined; nothing is fetched
    OUT/report.md          the same content, static figures linked from figures/
    OUT/report.json        what was written and with which settings
    OUT/figures/*.png      the static twins of the figures (matplotlib)
    OUT/tables/*.csv       tidy numbers at full precision (tables/analysis.csv: every test)
    OUT/tables/*.tex       booktabs tables

:func:`write_report` is the one report of a run folder: ``repalign report RUN_DIR``, the
study and the demo all call it, so a run folder has one report, written in one place.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from .._errors import InputError
from .._files import atomic_write_bytes, atomic_write_text
from .._progress import progress as show_progress
from .._validation import check_option
from ..results import ALIGNMENT_METRICS, classify_columns, model_source, parse_column
from ..stats import analyze, expand_columns
from ..stats._frame import check_columns
from .data import RunData, default_columns, load_run
from .format import pretty_column
from .model import Report, ReportContext, ReportSection, Section
from .render import Figure, Table, table_latex, table_markdown

log = logging.getLogger(__name__)

__all__ = ["ReportOutput", "ReportSection", "build_report", "default_output_folder", "write_report"]

#: Fewer models than this get the compact per-model report (no statistics across models).
MIN_MODELS_FOR_STATISTICS = 5
_SETTINGS = ("alignments", "outcomes", "covariate", "k", "title", "fewshot_dataset", "confidence", "similarity_models")


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
    settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "html": str(self.html),
            "markdown": str(self.markdown),
            "figures": {k: str(v) for k, v in self.figures.items()},
            "tables": {k: {f: str(p) for f, p in v.items()} for k, v in self.tables.items()},
            "notes": list(self.notes),
            "n_models": self.n_models,
            "settings": dict(self.settings),
        }


def default_output_folder(source: str | os.PathLike[str]) -> Path:
    """Where the report of ``source`` lives.

    A run folder's report is ``RUN_DIR/report/``, unless the folder already holds its report
    at the top (``RUN_DIR/report.html``, as ``repalign demo`` writes it): then it is rewritten
    there, so a run folder never gets a second, different report. A results file's report is
    ``<stem>_report/`` next to it.
    """
    p = Path(source)
    if not p.is_dir():
        return p.with_name(f"{p.stem}_report")
    return p if (p / "report.html").is_file() and (p / "report.json").is_file() else p / "report"


def _previous_settings(out: Path) -> dict[str, Any]:
    path = out / "report.json"
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")).get("settings", {}))
    except (json.JSONDecodeError, AttributeError):
        log.warning("ignoring unreadable %s", path)
        return {}


def write_report(run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, **settings: Any) -> ReportOutput:
    """The one report of a run folder (or results table), in its :func:`default_output_folder`.

    Settings not given (``None``) are those of the folder's previous report (its
    ``report.json``), else the run's analysis settings (``manifest.json``), else the
    defaults of :func:`build_report`; so ``repalign report RUN_DIR`` rewrites the page the
    study or the demo wrote, the same.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, pandas as pd  # doctest: +SKIP
    >>> out = write_report("runs/demo")                       # doctest: +SKIP
    """
    unknown = sorted(set(settings) - set(_SETTINGS) - {"sections"})
    if unknown:
        raise InputError(f"write_report: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(_SETTINGS)}.")
    folder = Path(out) if out is not None else default_output_folder(run_dir)
    previous = _previous_settings(folder)
    manifest_analysis: dict[str, Any] = {}
    manifest = Path(run_dir) / "manifest.json"
    if manifest.is_file():
        try:
            manifest_analysis = dict((json.loads(manifest.read_text(encoding="utf-8")).get("config") or {}).get("analysis") or {})
        except (json.JSONDecodeError, AttributeError):
            manifest_analysis = {}
    chosen: dict[str, Any] = {}
    for key in _SETTINGS:
        value = settings.get(key)
        if value is None:
            value = previous.get(key, manifest_analysis.get(key))
        if value is not None:
            chosen[key] = value
    return build_report(run_dir, folder, sections=settings.get("sections", ()), **chosen)


def _choose_columns(run: RunData, alignments: Any, outcomes: Any, covariate: Any) -> tuple[list[str], list[str], list[str], list[str]]:
    frame = run.results
    defaults = default_columns(frame)
    align = expand_columns(frame, alignments, role="alignment") if alignments is not None else defaults["alignments"]
    if not align:
        raise InputError(f"{run.source}: no alignment column ({', '.join(ALIGNMENT_METRICS[:4])}, ...); name them with --alignment (alignments= in Python).")
    check_columns(frame, align, role="alignment column")
    if outcomes is not None:
        outs = expand_columns(frame, outcomes, role="outcome")
        fewshot = [c for c in outs if parse_column(c).kind == "fewshot"]
        others = [c for c in outs if c not in fewshot]
    else:
        fewshot, others = defaults["fewshot"], defaults["robustness"]
    check_columns(frame, [*fewshot, *others], role="outcome column")
    cov = defaults["covariate"] if covariate == "auto" else (None if covariate in (None, "none", "") else covariate)
    if cov is not None:
        check_columns(frame, [cov], role="covariate")
    return align, fewshot, others, [cov] if cov else []


def _context(run: RunData, align, fewshot, others, covs, k: int, confidence: float) -> ReportContext:
    from .overview import color_models

    frame = run.results
    colors, palette, _ = color_models(frame)
    models = frame["model"].astype(str) if "model" in frame.columns else pd.Series([], dtype=str)
    simulated = bool(len(models)) and (all(model_source(m) == "zoo" for m in models) or run.simulated_transfer)
    return ReportContext(run, frame, classify_columns(frame), align, fewshot, others, covs, k, confidence,
                         colors=colors, palette=palette, simulated=simulated)


def _analysis_sections(rep: Report, ctx: ReportContext, similarity_models: Sequence[str] | None) -> list[Section]:
    """The sections about this run's models, in page order; returns them (they are moved into place later)."""
    from .findings import add_findings
    from .overview import ceilings_section, layers_section, models_section, similarity_section
    from .sections import breakpoints_of, fewshot_section, metrics_section, robustness_section, scatter_plot, ushape_section

    start = len(rep.sections)
    ceilings_section(rep, ctx)
    models = models_section(rep, ctx)
    outcomes = [*ctx.fewshot, *ctx.others]
    if ctx.n_models < MIN_MODELS_FOR_STATISTICS or not outcomes:
        why = (f"this run has {ctx.n_models} model{'s' if ctx.n_models != 1 else ''}; correlations need at least "
               f"{MIN_MODELS_FOR_STATISTICS}, the high/mid/low groups {3 * ctx.k}") if outcomes else "the results have no outcome (few-shot or robustness) columns"
        models.items.insert(0, ("compact", f"A compact report: statistics across models are not computed because {why}. "
                                           "Every model's numbers are in the table and figures below."))
        rep.notes.append(f"statistics across models not computed: {why}")
        add_findings(rep, ctx, None, None)
    else:
        ctx.analysis = analyze(ctx.frame, ctx.align, outcomes, covariates=ctx.covariates or None, k=ctx.k,
                               confidence=ctx.confidence, model_column="model" if "model" in ctx.frame.columns else None,
                               errors="skip")
        rep.tables.append(Table("analysis", "", "", "", pd.DataFrame(), ctx.analysis.assign(
            **{c: ctx.analysis[c].map(lambda m: ";".join(m) if isinstance(m, list) else m) for c in ctx.analysis.columns if c.endswith("_models")})))
        for task in ctx.fewshot_tasks():
            fewshot_section(rep, ctx, task)
        if ctx.others:
            robustness_section(rep, ctx)
        heads = ctx.columns.fewshot.get(None, {})
        first = "fewshot_linear_1" if "fewshot_linear_1" in ctx.fewshot else next((p[0][1] for p in heads.values() if p and p[0][1] in ctx.fewshot), None)
        first = first or next((o for o in ctx.others if o == "imagenet_a_top1"), ctx.others[0] if ctx.others else None)
        scatter = scatter_plot(ctx, first, breakpoints_of(ctx, first)) if first else None
        u = ushape_section(rep, ctx, scatter)
        metric_table = metrics_section(rep, ctx) if len(ctx.align) > 1 else None
        add_findings(rep, ctx, u, metric_table)
    similarity_section(rep, ctx, similarity_models)
    layers_section(rep, ctx)
    made = rep.sections[start:]
    del rep.sections[start:]
    return made


def _caller_section(rep: Report, extra: ReportSection) -> Section:
    from .figures import to_png

    check_option("section position", extra.position, ("start", "end"))
    sec = Section(extra.key, extra.title, extra.intro, kind=extra.kind)
    for i, (title, caption, figure, alt) in enumerate(extra.figures):
        rep.add(sec, "figure", Figure(f"{extra.key}_figure_{i + 1}", "", title, caption, to_png(figure), alt))
    for i, (title, caption, cells, data) in enumerate(extra.tables):
        rep.add(sec, "table", Table(f"{extra.key}_table_{i + 1}", "", title, caption, cells, data))
    rep.findings.extend(extra.findings)
    return sec


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
    similarity_models: Sequence[str] | None = None,
    progress: bool | None = None,
) -> ReportOutput:
    """Analyse a run folder or results table and write the report.

    Parameters
    ----------
    source : path
        A run folder (``results.parquet``/``.csv`` and optionally ``fewshot.*``,
        ``alignment.*``, ``manifest.json``, ``units/``, ``similarity/*.npz``,
        ``alignment_layers.*``, ``theory_*.csv``, ``real_alignment.csv``) or one results table.
    out : path, optional
        Output folder (default: :func:`default_output_folder`).
    alignments, outcomes : str or list of str, optional
        Columns or shell patterns. Defaults: the alignment metrics present; the
        ``fewshot_<head>_<n>`` columns and the robustness columns present.
    covariate : str or None, default "auto"
        Partialled out (``"auto"``: ``imagenet_top1`` when present; ``None``/``"none"``: none).
    k : int, default 5
        Models per high / mid / low group.
    sections : sequence of ReportSection
        Extra sections made by the caller; real-data ones come first, simulations after.
    similarity_models : list of str, optional
        Models whose similarity matrices are shown beside the human ones (default: the most,
        median and least aligned of those with matrices in ``similarity/``).
    progress : bool, optional
        Progress of the building steps (:func:`repalign._progress.progress`: shown for a
        build over a second; ``False`` hides it).

    Returns
    -------
    ReportOutput
    """
    with show_progress(total=5, desc="report", unit="step", enabled=progress) as bar:
        bar.step("reading the run")
        run = load_run(source, fewshot_dataset=fewshot_dataset)
        if "model" not in run.results.columns:
            raise InputError(f"{run.source}: the results table has no 'model' column; every row must name its model.")
        align, fewshot, others, covs = _choose_columns(run, alignments, outcomes, covariate)
        ctx = _context(run, align, fewshot, others, covs, int(k), confidence)
        rep = Report()
        rep.notes.extend(run.notes)
        from .extras import folder_sections

        bar.step("the run's own sections")
        bar.update()
        extras = [_caller_section(rep, s) for s in [*folder_sections(run.folder, run.results, "zoo" if run.simulated_transfer else run.fewshot_dataset), *sections]]
        positions = {s.key: s.position for s in [*sections]}
        bar.step("analysis and figures")
        bar.update()
        analysis = _analysis_sections(rep, ctx, similarity_models)
        bar.step("provenance")
        bar.update()
        real = [s for s in extras if s.kind == "real data"]
        sims = [s for s in extras if s.kind == "simulation"]
        plain = [s for s in extras if s.kind not in ("real data", "simulation")]
        start = [s for s in plain if positions.get(s.key, "end") == "start"]
        end = [s for s in plain if s not in start]
        order = [*real, *start]
        order += [*sims, *analysis] if ctx.simulated else [*analysis, *sims]
        rep.sections = [*order, *end, *rep.sections]
        from .provenance import provenance_section

        provenance_section(rep, ctx)
        rep.number()
        bar.step("writing the page, figures and tables")
        bar.update()
        settings = {"alignments": alignments, "outcomes": outcomes, "covariate": covariate, "k": int(k), "title": title,
                    "fewshot_dataset": fewshot_dataset, "confidence": confidence,
                    "similarity_models": list(similarity_models) if similarity_models else None}
        out_dir = Path(out) if out is not None else default_output_folder(run.source)
        output = _write(rep, ctx, out_dir, title, settings)
        bar.update()
    log.info("report written to %s", output.html)  # after the progress display's last line
    return output


def _write(rep: Report, ctx: ReportContext, out_dir: Path, title: str | None, settings: dict[str, Any]) -> ReportOutput:
    from .findings import methods_text
    from .page import render_html, render_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    output = ReportOutput(out_dir, out_dir / "report.html", out_dir / "report.md", notes=list(rep.notes),
                          n_models=ctx.n_models, settings={k: v for k, v in settings.items() if v is not None})
    for fig in rep.figures:
        if fig.png is not None:
            output.figures[fig.key] = atomic_write_bytes(out_dir / "figures" / f"{fig.key}.png", fig.png, durable=False)
    for t in rep.tables:
        files = {"csv": out_dir / "tables" / f"{t.key}.csv"}
        atomic_write_text(files["csv"], t.data.to_csv(index=False), durable=False)
        if not t.cells.empty:
            files["tex"] = atomic_write_text(out_dir / "tables" / f"{t.key}.tex", table_latex(t), durable=False)
        output.tables[t.key] = files
    title = title or "Alignment with human representations and what it buys"
    cards = [
        (str(ctx.n_models), "models" if ctx.n_models != 1 else "model"),
        (", ".join(pretty_column(a) for a in ctx.align), "alignment metrics"),
        (str(len(ctx.fewshot) + len(ctx.others)), "outcomes"),
        (pretty_column(ctx.cov) if ctx.cov else "none", "covariate"),
    ]
    context = {
        "title": title, "version": __version__, "n_models": ctx.n_models, "source": str(ctx.run.source),
        "stamp": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "cards": cards, "findings": rep.findings,
        "sections": rep.sections, "methods": methods_text(ctx.cov, ctx.k), "notes": rep.notes,
        "table_files": ", ".join(f"tables/{p['csv'].name}" for p in output.tables.values()),
    }
    interactive = any(kind == "plot" for s in rep.sections for kind, _ in s.items)
    atomic_write_text(output.html, render_html(context, interactive=interactive), durable=False)
    atomic_write_text(output.markdown, render_markdown(context, table_markdown), durable=False)
    atomic_write_text(out_dir / "report.json", json.dumps(output.as_dict(), indent=2, default=str), durable=False)
    return output

"""The per-model parts of the report: the sortable model table, the explorer, per-domain
alignment, per-model few-shot curves, similarity matrices, alignment by layer.

Every model is shown by its id. Aggregates over fewer human domains than the dataset
has (``n_domains < n_domains_available``, :func:`repalign.results.partial_aggregates`)
carry a † that says which domains they average.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from ..results import classify_columns, fewshot_long, model_family, model_source, parse_column, partial_aggregates, split_domains
from .colors import HEAD_DASHES, head_dash
from .format import format_number, head_name, pretty_column, slug
from .model import Report, ReportContext, Section
from .render import Plot, Table

log = logging.getLogger(__name__)

__all__ = ["ModelTable", "color_models", "load_similarity", "model_table", "models_section", "similarity_section"]

#: Keys of a similarity file (``RUN_DIR/similarity/*.npz``, one per model and human domain).
SIMILARITY_KEYS: tuple[str, ...] = ("model", "dataset", "ids", "human", "similarity")


def color_models(frame: pd.DataFrame) -> tuple[pd.Series, dict[str, str], str]:
    """The category each model is coloured by (family when it separates the models into a
    readable number of groups, else source), its palette and the category's name."""
    from .colors import category_colors

    models = frame["model"].astype(str)
    family = frame["family"].astype(str) if "family" in frame.columns else models.map(model_family)
    source = frame["source"].astype(str) if "source" in frame.columns else models.map(model_source)
    n_fam = family.nunique()
    if 1 < n_fam <= 12 or source.nunique() <= 1:
        chosen, name = family, "family"
    else:
        chosen, name = source, "source"
    chosen = chosen.rename(name)
    return chosen, category_colors(chosen.tolist()), name


@dataclass
class Column:
    label: str
    group: str
    title: str = ""
    shown: bool = True
    ci: bool = False


@dataclass
class Cell:
    text: str
    value: Any = ""
    title: str = ""
    mark: str = ""
    color: str = ""


@dataclass
class ModelRow:
    cells: list[Cell]
    search: str


@dataclass
class ModelTable:
    """The sortable, filterable table of every model (rendered by the ``models_table`` macro)."""

    key: str
    columns: list[Column]
    rows: list[ModelRow]
    groups: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_table(self) -> Table:
        """The same numbers as a plain table (Markdown)."""
        labels = [c.label for c in self.columns[1:]]
        cells = pd.DataFrame(
            [[c.text + ("†" if c.mark else "") for c in r.cells[1:]] for r in self.rows],
            index=[r.cells[0].text for r in self.rows], columns=labels,
        )
        return Table(self.key, "", "Models.", "", cells, pd.DataFrame(), notes=self.notes)


def _short(column: str, first_task: str | None = None) -> str:
    """A compact column heading: ``linear 5`` for ``fewshot_linear_5`` (``cifar100 linear 5``
    when ``first_task`` names the first of several tasks), ``Pearson ρ · animals``."""
    info = parse_column(column)
    if info.kind == "fewshot":
        task = info.task or first_task
        return f"{task + ' ' if task else ''}{info.head} {info.shots}"
    if info.kind == "domain_alignment":
        return f"{pretty_column(str(info.metric))} · {info.domain}"
    return pretty_column(column)


def _number(value: Any, digits: int) -> Cell:
    v = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(v):
        return Cell("–", "")
    return Cell(format_number(float(v), digits), repr(float(v)))


def _fewshot_intervals(ctx: ReportContext) -> dict[tuple[str, str], str]:
    """``(model, fewshot column) -> "95% CI lo–hi over n seeds"``: the Student-t interval of
    the mean over seeds, from the run's long few-shot table (empty without one)."""
    from ..results import fewshot_column
    from ..transfer.summary import t_interval

    long = ctx.run.fewshot
    if long is None or long.empty or not {"model", "head", "shots", "accuracy"} <= set(long.columns):
        return {}
    out: dict[tuple[str, str], str] = {}
    level = f"{100 * ctx.confidence:g}%"
    for task, info in (ctx.run.fewshot_tasks or {None: None}).items():
        sub = long
        if info is not None and info.name is not None and "dataset" in long.columns:
            sub = long[long["dataset"].astype(str) == str(info.name)]
        for (model, head, shots), acc in sub.groupby(["model", "head", "shots"])["accuracy"]:
            values = pd.to_numeric(acc, errors="coerce").dropna().to_numpy()
            interval = t_interval(values, ctx.confidence, bounds=(0.0, 100.0))
            if interval is not None:
                out[(str(model), fewshot_column(str(head), int(shots), task))] = (
                    f"{level} CI {format_number(interval[0], 2)}–{format_number(interval[1], 2)} over {len(values)} seeds")
    return out


def model_table(ctx: ReportContext) -> ModelTable:
    """Alignment per metric (with CIs when the table has them) and domain, few-shot per head
    and n, robustness, ImageNet top-1, source and family: one row per model."""
    frame = ctx.frame
    cols = classify_columns(frame)
    partial = partial_aggregates(frame)
    columns = [Column("model", "model"), Column("source", "id"), Column(str(ctx.colors.name), "id")] if ctx.colors.name != "source" else [Column("model", "model"), Column("source", "id")]
    extra_family = ctx.colors.name != "source"
    spec: list[tuple[str, str, int, str]] = []  # (column, group, digits, kind)
    for metric in cols.alignment:
        spec.append((metric, "alignment", 3, "alignment"))
        if metric in cols.intervals:
            spec.append((metric, "alignment", 3, "interval"))
    if "n_domains" in frame.columns:
        spec.append(("n_domains", "alignment", 0, "domains"))
    many_domains = sum(len(v) for v in cols.per_domain.values()) > 12
    for metric, per in cols.per_domain.items():
        if len(per) > 1:  # one domain's column repeats its aggregate: left out
            spec += [(c, "domains", 3, "plain") for c in per]
    for task, heads in cols.fewshot.items():
        for pairs in heads.values():
            spec += [(c, "fewshot", 2, "plain") for _, c in pairs]
    spec += [(c, "robustness", 2, "plain") for c in cols.robustness]
    spec += [(c, "imagenet", 2, "plain") for c in ("imagenet_top1", "imagenet_top5") if c in frame.columns]
    intervals = _fewshot_intervals(ctx)
    first = ctx.run.fewshot_tasks[None].name if None in ctx.run.fewshot_tasks else None
    first = (first or "first") if len(cols.fewshot) > 1 else None
    for name, group, _, kind in spec:
        label = {"interval": f"{pretty_column(name)} CI", "domains": "domains"}.get(kind, _short(name, first))
        title = {"domains": "human domains averaged / domains the dataset has"}.get(kind, name)
        columns.append(Column(label, group, title, shown=not (group == "domains" and many_domains), ci=kind == "interval"))
    rows = []
    for i, rec in enumerate(frame.to_dict("records")):
        model = str(rec["model"])
        source = str(rec["source"]) if "source" in rec and pd.notna(rec["source"]) else model_source(model)
        cells = [Cell(model, model.lower(), color=ctx.palette.get(ctx.colors.iloc[i], "")), Cell(source or "–", source.lower())]
        if extra_family:
            cells.append(Cell(str(ctx.colors.iloc[i]), str(ctx.colors.iloc[i]).lower()))
        domains = split_domains(rec.get("human_domains"))
        mark = ""
        if bool(partial.iloc[i]):
            mark = f"mean over {len(domains)} of {int(rec['n_domains_available'])} domains: {', '.join(domains)}"
        for name, group, digits, kind in spec:
            if kind == "interval":
                lo, hi = cols.intervals[name]
                cell = Cell(f"[{format_number(rec[lo], 3)}, {format_number(rec[hi], 3)}]", repr(float(rec[lo])) if pd.notna(rec[lo]) else "")
            elif kind == "domains":
                n, total = rec.get("n_domains"), rec.get("n_domains_available")
                cell = Cell(f"{int(n)} / {int(total)}" if pd.notna(n) and pd.notna(total) else "–", repr(float(n)) if pd.notna(n) else "", title="; ".join(domains))
            else:
                cell = _number(rec.get(name), digits)
                if kind == "alignment" and mark:
                    cell.mark = mark
                if group == "fewshot" and cell.text != "–":
                    cell.title = intervals.get((model, name), "")
            cells.append(cell)
        rows.append(ModelRow(cells, " ".join(c.text.lower() for c in cells[:3])))
    present = list(dict.fromkeys(c.group for c in columns[1:]))
    names = {"id": "source / family", "alignment": "alignment", "domains": "per domain", "fewshot": "few-shot",
             "robustness": "robustness", "imagenet": "ImageNet"}
    groups = [{"key": g, "label": names[g], "shown": not (g == "domains" and many_domains)} for g in present if g != "id"]
    notes = ["Click a heading to sort (missing values last); type in the box to filter by id, source or family; "
             "the boxes above show or hide groups of columns. Few-shot columns are head and n (examples per class)."]
    if intervals:
        notes.append(f"Few-shot cells are means over seeds: hover a few-shot cell for its {100 * ctx.confidence:g}% CI over "
                     "seeds (Student t).")
    if partial.any():
        notes.append(f"† {int(partial.sum())} model(s) have alignment aggregates over fewer human domains than the dataset "
                     "has (hover a † for which); they are not comparable with full-dataset numbers such as the paper's.")
    return ModelTable("models-table", columns, rows, groups, notes)


def models_section(rep: Report, ctx: ReportContext) -> Section:
    """Every model by id: the table, the explorer, per-domain alignment and per-model few-shot curves."""
    from . import figures as static
    from . import interactive as live
    from .figures import to_png

    sec = rep.section("models", "Models", f"The {ctx.n_models} model{'s' if ctx.n_models != 1 else ''} of this run, "
                      f"coloured by {ctx.colors.name}.", kind="simulation" if ctx.simulated else "")
    rep.add(sec, "models", model_table(ctx))
    cols = ctx.columns
    outcomes = [*ctx.fewshot, *ctx.others] or [c for c in cols.covariates if c.endswith("_top1")]
    if ctx.align and outcomes and ctx.n_models >= 2:
        rep.add(sec, "plot", Plot(
            "figure_explorer", "", "Explore: any alignment metric against any outcome.",
            "Pick the x and y columns from the menus; every point is a model (hover for its id; click a legend entry to hide a "
            f"{ctx.colors.name}, double-click to show only it; drag to zoom, double-click to reset).",
            *live.explorer_plot(ctx.frame, ctx.align, outcomes, colors=ctx.colors, palette=ctx.palette,
                                names={c: ctx.column_label(c) for c in outcomes}),
            alt="Scatter plot of an outcome against an alignment metric, one point per model", height=460,
            png=to_png(static.explorer_scatter(ctx.frame, ctx.align, outcomes[0], ctx.colors, ctx.palette,
                                               ylabel=ctx.column_label(outcomes[0]))),
            png_note=f"The static figure shows the page's first view, {ctx.column_label(outcomes[0])} against "
                     f"{'each alignment metric' if len(ctx.align) > 1 else pretty_column(ctx.align[0])}."))
    if any(len(v) > 1 for v in cols.per_domain.values()) and ctx.n_models <= 40:
        rep.add(sec, "plot", Plot(
            "figure_domains", "", "Alignment on each human domain.",
            "Alignment of each model with each human domain (menu: the metric). The aggregate columns are the means of these bars.",
            *live.domain_bars_plot(ctx.frame, cols.per_domain), alt="Bar chart of alignment per model and domain", height=400,
            png=to_png(static.domain_bars(ctx.frame, cols.per_domain))))
    tasks = ctx.fewshot_tasks() or [t for t in cols.fewshot]
    for task in tasks:
        long = fewshot_long(ctx.frame, task=task)
        if not len(long) or ctx.n_models > 40:
            continue
        colors = dict(zip(ctx.frame["model"].astype(str), ctx.colors))
        of = f" on {ctx.task_label(task)}" if len(tasks) > 1 else ""
        present = set(long["head"].astype(str))
        ordered = [h for h in HEAD_DASHES if h in present] + sorted(present - set(HEAD_DASHES))
        styles = ", ".join(f"{head_dash(h)[2]}: {head_name(h)}" for h in ordered)
        rep.add(sec, "plot", Plot(
            "figure_model_fewshot" + ("" if task is None else "_" + slug(task)), "",
            f"Few-shot accuracy of every model{of}.",
            f"Mean accuracy over seeds against examples per class, one line per model and head ({styles}); click a model "
            "in the legend to hide it.",
            *live.model_fewshot_plot(long.assign(model=long["model"].astype(str)), ctx.palette, colors),
            alt=f"Line chart of few-shot accuracy per model{of}", height=440,
            png=to_png(static.model_fewshot_curves(long.assign(model=long["model"].astype(str)), ctx.palette, colors,
                                                   title=ctx.task_label(task) if len(tasks) > 1 else ""))))
    return sec


def load_similarity(folder: Path) -> list[dict[str, Any]]:
    """The similarity files of a run folder (``similarity/*.npz``, keys :data:`SIMILARITY_KEYS`)."""
    out = []
    for path in sorted((folder / "similarity").glob("*.npz")):
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in SIMILARITY_KEYS if k not in npz.files]
            if missing:
                raise InputError(f"{path}: missing array(s) {', '.join(missing)}; a similarity file holds {', '.join(SIMILARITY_KEYS)}.")
            entry = {k: npz[k] for k in SIMILARITY_KEYS}
        n = len(entry["ids"])
        for k in ("human", "similarity"):
            if entry[k].shape != (n, n):
                raise InputError(f"{path}: {k!r} is {entry[k].shape}, expected ({n}, {n}) for its {n} ids.")
        entry["model"], entry["dataset"] = str(entry["model"]), str(entry["dataset"])
        out.append(entry)
    return out


def _chosen(ctx: ReportContext, available: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    if wanted:
        missing = [m for m in wanted if m not in available]
        if missing:
            raise InputError(f"no similarity matrices for model(s) {', '.join(missing)} in this run; it has {', '.join(available) or 'none'}.")
        return list(wanted)
    if not ctx.align or len(available) <= 3:
        return list(available)[:3]
    score = ctx.frame.set_index(ctx.frame["model"].astype(str))[ctx.align[0]].reindex(list(available)).dropna().sort_values()
    picks = [score.index[-1], score.index[len(score) // 2], score.index[0]] if len(score) >= 3 else list(score.index)
    return list(dict.fromkeys(picks))


def similarity_section(rep: Report, ctx: ReportContext, wanted: Sequence[str] | None) -> None:
    """Human and model similarity matrices side by side, per human domain, for chosen models."""
    from . import figures as static
    from . import interactive as live
    from .figures import to_png

    folder = ctx.run.folder
    entries = load_similarity(folder) if folder is not None and (folder / "similarity").is_dir() else []
    if not entries:
        return
    chosen = _chosen(ctx, list(dict.fromkeys(e["model"] for e in entries)), wanted)
    sec = rep.section("similarity", "Similarity matrices, human and model",
                      "The human similarity judgments beside each chosen model's similarity matrix on the same stimuli (same order; "
                      "each panel on its own colour scale, diagonal excluded from the scale); hover a cell for the pair.",
                      kind="simulation" if ctx.simulated else "")
    for dataset in list(dict.fromkeys(e["dataset"] for e in entries))[:4]:
        mine = {e["model"]: e for e in entries if e["dataset"] == dataset and e["model"] in chosen}
        if not mine:
            continue
        first = next(iter(mine.values()))
        panels = [("human", first["human"], [str(i) for i in first["ids"]])]
        score = ctx.frame.set_index(ctx.frame["model"].astype(str))
        for model, e in mine.items():
            value = score.loc[model, ctx.align[0]] if ctx.align and model in score.index else None
            label = f"{model}" + (f"<br>{pretty_column(ctx.align[0])} {value:.3f}" if value is not None and pd.notna(value) else "")
            panels.append((label, e["similarity"], [str(i) for i in e["ids"]]))
        key = "figure_similarity_" + slug(dataset)
        png = to_png(static.similarity_panels([(title, m) for title, m, _ in panels]))
        rep.add(sec, "plot", Plot(key, "", f"Similarity matrices on {dataset}.",
                                  f"Left: the human matrix; then {', '.join(mine)}. Brighter is more similar: yellow the most similar pairs "
                                  "of a panel, dark blue the least.", *live.similarity_plot(panels),
                                  alt=f"Heat maps of human and model similarity on {dataset}", height=350, png=png))


def layers_section(rep: Report, ctx: ReportContext) -> None:
    """Alignment against depth when the run folder has an ``alignment_layers`` table."""
    from . import figures as static
    from . import interactive as live
    from .figures import to_png

    layers = ctx.run.layers
    if layers is None or layers.empty:
        return
    sec = rep.section("layers", "Alignment by layer", "Alignment of each layer's features with the human judgments, input to output.",
                      kind="simulation" if ctx.simulated else "")
    rep.add(sec, "plot", Plot("figure_layers", "", "Alignment against depth.",
                              "One line per metric (and model); hover a point for the layer's name.", *live.layers_plot(layers),
                              alt="Line chart of alignment against layer depth", height=400,
                              png=to_png(static.layer_curves(layers))))


def ceilings_section(rep: Report, ctx: ReportContext) -> None:
    """The human data's noise ceilings (``ceilings.*``, computed once per run by the study)."""
    table = ctx.run.ceilings
    if table is None or table.empty:
        return
    from .format import format_number

    sec = rep.section("ceilings", "Human data: noise ceilings",
                      "How well the human judgments agree with themselves: the split-half bounds of each metric, an upper limit "
                      "for any model's alignment with the same data.", kind="real data")
    metrics = list(dict.fromkeys(table["metric"].astype(str)))
    cells = pd.DataFrame(index=list(dict.fromkeys(table["dataset"].astype(str))), columns=[pretty_column(m) for m in metrics], dtype=object)
    cells.loc[:, :] = "–"
    for r in table.itertuples(index=False):
        cells.loc[str(r.dataset), pretty_column(str(r.metric))] = f"{format_number(r.lower, 3)}–{format_number(r.upper, 3)}"
    rep.add(sec, "table", Table("table_ceilings", "", "Noise ceilings.",
                                "Lower–upper split-half bounds per human domain and metric (the study's ceilings table).", cells, table))

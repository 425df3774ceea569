"""What a report is made of while it is being built: sections of items, and the run's context.

A :class:`Report` collects :class:`Section` objects (each a list of ``(kind, item)``:
``plot``, ``figure``, ``table``, ``models``, ``provenance``, ``compact``, ``heading``,
``paragraph`` or ``skipped``), the tables written to CSV and the notes. A
:class:`ReportContext` holds what every section reads: the results table, the chosen
columns, and the one analysis frame of :func:`repalign.stats.analyze` that all
statistical sections take their numbers from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..results import ResultColumns
from .data import RunData
from .render import Figure, Plot, Table

log = logging.getLogger(__name__)

__all__ = ["Report", "ReportContext", "Section", "ReportSection"]


@dataclass
class Section:
    """One section of the page."""

    key: str
    title: str
    intro: str = ""
    items: list[tuple[str, Any]] = field(default_factory=list)
    kind: str = ""  # "real data" or "simulation": real data first on the page


@dataclass
class ReportSection:
    """A section the caller adds to the report (figures and tables it made itself).

    Attributes
    ----------
    key, title, intro : str
        Anchor, heading and the paragraph under it.
    figures : list of (title, caption, matplotlib Figure, alt text)
    tables : list of (title, caption, DataFrame of display cells, DataFrame of data)
        The data frame is written to ``tables/<key>_<i>.csv``.
    position : {"start", "end"}
        Before or after the analysis sections of the same kind.
    findings : list of str
        Lines added to the summary at the top.
    kind : {"real data", "simulation", ""}
        Real-data sections come first on the page, simulations after.
    """

    key: str
    title: str
    intro: str
    figures: list[tuple[str, str, Any, str]] = field(default_factory=list)
    tables: list[tuple[str, str, pd.DataFrame, pd.DataFrame]] = field(default_factory=list)
    position: str = "end"
    findings: list[str] = field(default_factory=list)
    kind: str = ""


class Report:
    """Collects sections, the figures and tables to write, notes and findings."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.figures: list[Figure | Plot] = []
        self.tables: list[Table] = []
        self.notes: list[str] = []
        self.findings: list[str] = []

    def section(self, key: str, title: str, intro: str = "", kind: str = "") -> Section:
        sec = Section(key, title, intro, kind=kind)
        self.sections.append(sec)
        return sec

    def add(self, sec: Section, kind: str, item: Any) -> None:
        if kind in ("figure", "plot"):
            self.figures.append(item)
        elif kind == "table":
            self.tables.append(item)
        sec.items.append((kind, item))

    def skip(self, sec: Section, message: str) -> None:
        """One visible line saying what was left out and why (and a note for the CLI)."""
        log.warning("%s", message)
        self.notes.append(message)
        sec.items.append(("skipped", message))

    def number(self) -> None:
        """Number figures and tables in reading order."""
        n_fig = n_tab = 0
        for sec in self.sections:
            for kind, item in sec.items:
                if kind in ("figure", "plot"):
                    n_fig += 1
                    item.number = f"Figure {n_fig}"
                elif kind == "table":
                    n_tab += 1
                    item.number = f"Table {n_tab}"


@dataclass
class ReportContext:
    """What the sections read (see the module docstring)."""

    run: RunData
    frame: pd.DataFrame
    columns: ResultColumns
    align: list[str]
    fewshot: list[str]
    others: list[str]
    covariates: list[str]
    k: int
    confidence: float
    analysis: pd.DataFrame | None = None
    colors: pd.Series | None = None
    palette: dict[str, str] = field(default_factory=dict)
    simulated: bool = False

    def fewshot_tasks(self) -> list[str | None]:
        """The transfer tasks with few-shot columns in the report (``None``: the first task's
        unprefixed columns), first task first."""
        tasks = [t for t, heads in self.columns.fewshot.items() if any(c in self.fewshot for p in heads.values() for _, c in p)]
        return sorted(tasks, key=lambda t: t is not None)

    def task_label(self, task: str | None) -> str:
        """The task's name for headings (``a (zoo)``; ``cifar100`` for a task named after its data)."""
        info = self.run.fewshot_tasks.get(task)
        if info is not None:
            return info.label
        return task if task is not None else (self.run.fewshot_dataset or "the first transfer task")

    def column_label(self, column: str) -> str:
        """:func:`pretty_column`, naming the first task too when the run has several
        (``a: 1-shot, linear probe`` beside ``b: 1-shot, linear probe``)."""
        from ..results import parse_column
        from .format import pretty_column

        text = pretty_column(column)
        info = parse_column(column)
        if info.kind == "fewshot" and info.task is None and len(self.columns.fewshot) > 1:
            first = self.run.fewshot_tasks.get(None)
            text = f"{first.name if first is not None and first.name else 'first task'}: {text}"
        return text

    @property
    def cov(self) -> str | None:
        return self.covariates[0] if self.covariates else None

    @property
    def n_models(self) -> int:
        return int(len(self.frame))

    def pairs(self, outcomes: Sequence[str]) -> pd.DataFrame:
        """The analysis rows of these outcomes (every alignment), in alignment x outcome order."""
        if self.analysis is None:
            return pd.DataFrame()
        sub = self.analysis[self.analysis["outcome"].isin(list(outcomes))]
        order = {o: i for i, o in enumerate(outcomes)}
        rank = {a: i for i, a in enumerate(self.align)}
        return sub.assign(_a=sub["alignment"].map(rank), _o=sub["outcome"].map(order)).sort_values(["_a", "_o"]).drop(
            columns=["_a", "_o"]
        )

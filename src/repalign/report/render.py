"""The report's items (tables, static and interactive figures) and their Markdown and LaTeX forms.

A :class:`Table` holds the cells as display strings (with an optional "emphasised" mask
for significant results) and, separately, the tidy numeric data written to CSV. A
:class:`Figure` is a static PNG; a :class:`Plot` an interactive Plotly figure (a JSON spec
drawn by the inlined Plotly bundle) with, optionally, the PNG twin used by the Markdown.
The HTML of every item comes from the Jinja2 templates in ``templates/`` (:mod:`.page`).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

__all__ = ["Table", "Figure", "Plot", "table_html", "table_markdown", "table_latex"]


@dataclass
class Table:
    """One report table."""

    key: str
    number: str
    title: str
    caption: str
    cells: pd.DataFrame
    data: pd.DataFrame
    emphasis: pd.DataFrame | None = None
    row_groups: list[str] | None = None  # a label per row; a change starts a new block
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[TableRow]:
        """Rows for the template: a group heading where the group changes, the label, the cells."""
        out, prev = [], None
        for i, (label, row) in enumerate(self.cells.iterrows()):
            group = None
            if self.row_groups and self.row_groups[i] != prev:
                group = prev = self.row_groups[i]
            cells = [
                (str(row[c]), self.emphasis is not None and bool(self.emphasis.iloc[i][c])) for c in self.cells.columns
            ]
            out.append(TableRow(group, str(label), cells))
        return out


class TableRow(NamedTuple):
    group: str | None
    label: str
    cells: list[tuple[str, bool]]


@dataclass
class Figure:
    """One report figure (PNG bytes)."""

    key: str
    number: str
    title: str
    caption: str
    png: bytes
    alt: str

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @property
    def png_name(self) -> str:
        return f"{self.key}.png"


def _plain(obj: Any) -> Any:
    """NaN and infinities to None (JSON has no NaN), numpy scalars and arrays to Python."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, str):
        return _plain(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


@dataclass
class Plot:
    """One interactive figure: a Plotly spec (``data``, ``layout``) and, optionally, its PNG twin."""

    key: str
    number: str
    title: str
    caption: str
    data: list[dict[str, Any]]
    layout: dict[str, Any]
    alt: str
    height: int = 420
    png: bytes | None = None
    png_note: str = ""  # what the static twin shows, when it is one view of an interactive choice

    @property
    def png_name(self) -> str | None:
        return f"{self.key}.png" if self.png is not None else None

    def spec_json(self) -> str:
        """The spec as JSON safe inside ``<script type="application/json">``."""
        config = {"responsive": True, "displaylogo": False, "scrollZoom": False}
        text = json.dumps(_plain({"data": self.data, "layout": self.layout, "config": config}), allow_nan=False)
        return text.replace("</", "<\\/")


def table_html(t: Table) -> str:
    """A ``<figure>`` with a captioned table; row groups become spanning sub-heading rows."""
    from .page import render_macro

    return render_macro("table", t)


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table_markdown(t: Table) -> str:
    """A Markdown pipe table with its caption above and notes below."""
    cols = list(t.cells.columns)
    lead = ["", ""] if t.row_groups else [""]
    head = f"{t.number}. {t.title}" if t.number else t.title
    lines = [f"**{head}** {t.caption}".rstrip(), ""]
    lines.append("| " + " | ".join([*lead, *cols]) + " |")
    lines.append("|" + "|".join([":--"] * len(lead) + ["--:"] * len(cols)) + "|")
    prev = None
    for i, (label, row) in enumerate(t.cells.iterrows()):
        values = []
        for c in cols:
            v = _md_cell(row[c])
            if t.emphasis is not None and bool(t.emphasis.iloc[i][c]):
                v = f"**{v}**"
            values.append(v)
        group = []
        if t.row_groups:
            group = [t.row_groups[i] if t.row_groups[i] != prev else ""]
            prev = t.row_groups[i]
        lines.append("| " + " | ".join([*map(_md_cell, group), _md_cell(label), *values]) + " |")
    lines += [""] + [f"*{n}*" for n in t.notes]
    return "\n".join(lines).rstrip() + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "−": "$-$",
    "ρ": r"$\rho$",
    "τ": r"$\tau$",
    "²": r"$^2$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "–": "--",
}


def _tex(text: object) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def table_latex(t: Table) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    cols = list(t.cells.columns)
    lead = 2 if t.row_groups else 1
    spec = "l" * lead + "r" * len(cols)
    lines = [
        "% generated by repalign; needs \\usepackage{booktabs}",
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{_tex(t.title)} {_tex(t.caption)}}}",
        f"\\label{{tab:{t.key}}}",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join([""] * lead + [_tex(c) for c in cols]) + " \\\\",
        "\\midrule",
    ]
    prev = None
    for i, (label, row) in enumerate(t.cells.iterrows()):
        cells = []
        if t.row_groups:
            if prev is not None and t.row_groups[i] != prev:
                lines.append("\\midrule")
            cells.append(_tex(t.row_groups[i]) if t.row_groups[i] != prev else "")
            prev = t.row_groups[i]
        cells.append(_tex(label))
        for c in cols:
            v = _tex(row[c])
            if t.emphasis is not None and bool(t.emphasis.iloc[i][c]):
                v = f"\\textbf{{{v}}}"
            cells.append(v)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    for n in t.notes:
        lines.append(f"\\par\\smallskip{{\\footnotesize {_tex(n)}}}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"

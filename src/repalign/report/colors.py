"""The report's colours and line styles: one table for the interactive figures and their PNG
twins, so a metric, a group, a family or a head looks the same on the page and in report.md.

Okabe-Ito colours first (distinguishable with colour-vision deficiencies), then Paul Tol's.

Examples
--------
>>> metric_color("pearson"), metric_color("cka", 0)
('#0072B2', '#56B4E9')
>>> category_colors(["b", "a", "b"])
{'b': '#0072B2', 'a': '#E69F00'}
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["GROUP_COLORS", "HEAD_DASHES", "METRIC_COLORS", "PALETTE", "category_colors", "head_dash", "metric_color"]

METRIC_COLORS = {"pearson": "#0072B2", "spearman": "#E69F00", "kendall": "#CC79A7", "triplet": "#009E73"}
GROUP_COLORS = {"high": "#0072B2", "mid": "#999999", "low": "#D55E00"}
PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#882255", "#44AA99", "#117733", "#999933", "#AA4499", "#6699CC", "#888888",
)

#: Line style of each few-shot head (Plotly's names): ``(plotly, matplotlib, caption word)``.
HEAD_DASHES = {"linear": ("solid", "-", "solid"), "mlp1": ("dash", "--", "dashed"), "mlp2": ("dot", ":", "dotted")}
_OTHER_HEAD = ("dashdot", "-.", "dash-dotted")


def head_dash(head: str) -> tuple[str, str, str]:
    """``(plotly dash, matplotlib linestyle, caption word)`` of a head's lines.

    Examples
    --------
    >>> head_dash("mlp1")
    ('dash', '--', 'dashed')
    """
    return HEAD_DASHES.get(head, _OTHER_HEAD)


def metric_color(metric: str, i: int = 0) -> str:
    """The colour of an alignment metric; the ``i``-th other metric gets a palette colour
    not used by the paper's four."""
    return METRIC_COLORS.get(metric, PALETTE[(i + 4) % len(PALETTE)])


def category_colors(values: Sequence[str]) -> dict[str, str]:
    """A stable colour per category (first seen, first colour)."""
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(dict.fromkeys(values))}

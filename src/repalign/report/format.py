"""Number formatting shared by the report, its tables and the ``analyze`` command."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_p", "format_r", "format_ci", "format_number", "pretty_column", "slug"]

_OUTCOME_NAMES = {
    "imagenet_top1": "ImageNet top-1",
    "imagenet_top5": "ImageNet top-5",
    "imagenet_a_top1": "ImageNet-A top-1",
    "imagenet_a_top5": "ImageNet-A top-5",
    "imagenet_r_top1": "ImageNet-R top-1",
    "imagenet_r_top5": "ImageNet-R top-5",
    "sketch_top1": "ImageNet-Sketch top-1",
    "sketch_top5": "ImageNet-Sketch top-5",
    "real_top1": "ImageNet-ReaL top-1",
    "real_top5": "ImageNet-ReaL top-5",
    "v2_top1": "ImageNetV2 top-1",
    "v2_top5": "ImageNetV2 top-5",
}
_METRIC_NAMES = {
    "pearson": "Pearson ρ",
    "spearman": "Spearman ρ",
    "kendall": "Kendall τ",
    "triplet": "Triplet",
}
_HEAD_NAMES = {"linear": "linear probe", "mlp1": "1-layer head", "mlp2": "2-layer head"}


def format_p(p: float) -> str:
    """``<0.001`` below 0.001, else three decimals.

    Examples
    --------
    >>> format_p(0.00002), format_p(0.0456)
    ('<0.001', '0.046')
    """
    if p is None or not math.isfinite(p):
        raise ValueError(f"p-value {p!r} is not a number")
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_r(r: float) -> str:
    """A correlation with three decimals and a real minus sign.

    Examples
    --------
    >>> format_r(-0.12345)
    '−0.123'
    """
    return f"{r:.3f}".replace("-", "−")


def format_ci(low: float, high: float) -> str:
    """``[low, high]`` with three decimals."""
    return f"[{format_r(low)}, {format_r(high)}]"


def format_number(value: Any, digits: int = 2) -> str:
    """A float with ``digits`` decimals (minus sign typeset); other values as ``str``."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int,)):
        return str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.{digits}f}".replace("-", "−")


def pretty_column(name: str) -> str:
    """Human name of a results-table column.

    Examples
    --------
    >>> pretty_column("imagenet_a_top1"), pretty_column("fewshot_mlp2_5"), pretty_column("triplet")
    ('ImageNet-A top-1', '5-shot, 2-layer head', 'Triplet')
    >>> pretty_column("cifar10_fewshot_linear_1")
    'cifar10: 1-shot, linear probe'
    """
    if name in _OUTCOME_NAMES:
        return _OUTCOME_NAMES[name]
    if name in _METRIC_NAMES:
        return _METRIC_NAMES[name]
    if "fewshot_" in name:
        from ..results import parse_column  # here, so importing this module stays free of numpy / pandas

        info = parse_column(name)
        if info.kind == "fewshot":
            text = f"{info.shots}-shot, {_HEAD_NAMES.get(str(info.head), info.head)}"
            return f"{info.task}: {text}" if info.task else text
    return name


def head_name(head: str) -> str:
    """Human name of a few-shot head (``mlp1`` -> ``1-layer head``)."""
    return _HEAD_NAMES.get(head, head)


def slug(text: str) -> str:
    """``text`` as a figure or table key: every character that is not a letter or digit becomes ``_``.

    Examples
    --------
    >>> slug("peterson2018:animals")
    'peterson2018_animals'
    """
    return "".join(ch if ch.isalnum() else "_" for ch in text)

"""Helpers shared by the sub-command modules: output formatting and shared options."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

__all__ = ["print_json", "format_table", "add_json_flag", "json_default"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's default-showing help, without "(default: None)" or a second default.

    An option whose default is ``None`` (computed later, or simply absent) or whose help
    already says its default gets no "(default: ...)" appended.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.default is argparse.SUPPRESS or "default" in text:
            return text
        return super()._get_help_string(action)


def json_default(obj: Any) -> Any:
    """Make numpy scalars/arrays and paths JSON-serialisable."""
    # numpy is looked up, not imported: this module builds parsers, which must stay light,
    # and a numpy value can only reach here once numpy is loaded.
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.generic):
        return obj.item()
    if np is not None and isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _check_finite(obj: Any, path: str = "$") -> None:
    """Refuse to print NaN/inf: JSON has no such values and a silent NaN is a lost result."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, (np.ndarray, np.generic)):
        obj = obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        from .._errors import RepalignError

        raise RepalignError(
            f"refusing to write JSON: {path} is {obj}, which JSON cannot hold and which means the result "
            "is undefined; nothing was printed (run without --json to see the other values)."
        )
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_finite(v, f"{path}[{i}]")


def print_json(obj: Any) -> None:
    """Print one JSON document on stdout (strict: no NaN)."""
    _check_finite(obj)
    json.dump(obj, sys.stdout, indent=2, default=json_default, allow_nan=False)
    sys.stdout.write("\n")


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned plain-text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def add_ceiling(out: dict[str, Any], ceiling: Any, note: str | None) -> None:
    """Put a noise ceiling (or why it was omitted) into an ``align --json`` object."""
    if ceiling is not None:
        out["noise_ceiling"] = ceiling.to_dict()
    elif note:
        out["noise_ceiling_omitted"] = note

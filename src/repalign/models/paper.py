"""Pinning the paper's model names to today's timm weights.

The paper (Sucholutsky & Griffiths 2023, Appendix B) names 489 timm models as timm
called them in mid-2022 (``tf_efficientnet_b0_ns``, ``xcit_tiny_12_p16_224.dist``,
``ig_resnext101_32x16d``). timm has since renamed many of them to ``arch.tag`` names and
changed the default weights of some architectures, so a 2022 name must be *pinned* to
the exact weights it meant, or results drift silently as timm changes.

Evidence used, in order (see :data:`METHODS`):

1. timm's own map of deprecated names (``timm.models.get_deprecated_models()``), checked
   against the parameter count, because the map has errors: it sends
   ``ig_resnext101_32x16d`` to ``resnext101_32x8d.fb_wsl_ig1b_ft_in1k``, a model with
   less than half the parameters.
2. The architecture's pretrained tags in the installed timm.
3. timm's published ImageNet results, 2022-07 and 2025-10 editions: the same weights
   evaluated at the same image size have the same parameter count and nearly the same
   top-1 accuracy (within :data:`TOP1_TOLERANCE` points), which identifies the tag.

:func:`derive_paper_pins` implements this; ``tools/make_paper_pins.py`` runs it on the
real tables and writes ``paper_pins.csv`` next to this module, which is what repalign
reads at run time (:func:`repalign.models.paper_pins`).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .._errors import DataNotFoundError, InputError

__all__ = [
    "Pin",
    "PIN_COLUMNS",
    "METHODS",
    "TOP1_TOLERANCE",
    "PARAM_TOLERANCE",
    "ResultRow",
    "read_results_table",
    "read_paper_names",
    "paper_to_results_name",
    "derive_paper_pins",
    "write_pins",
    "read_pins",
]

#: Largest top-1 difference (percentage points) between two evaluations of the same
#: weights at the same image size in timm's 2022-07 and 2025-10 results tables.
TOP1_TOLERANCE = 0.06
#: Largest parameter-count difference (millions) still counted as the same architecture.
PARAM_TOLERANCE = 0.015
_EPS = 1e-9

#: How a paper name was pinned, strongest evidence first.
METHODS: dict[str, str] = {
    "deprecation-map": "timm's map of deprecated names gives this arch.tag (same parameter count)",
    "single-tag": "the architecture has exactly one pretrained tag",
    "top1-match": "the only tag with the same parameter count and image size whose 2025-10 top-1 "
    f"is within {TOP1_TOLERANCE} of the 2022-07 top-1",
    "top1-eval-match": f"several tags within {TOP1_TOLERANCE}; the only one evaluated with the same crop and interpolation",
    "nearest-top1": f"no tag within {TOP1_TOLERANCE}; the tag with the nearest top-1 at the same image size "
    "and parameter count (the difference is in the note)",
    "renamed-top1-match": "the name is unknown to timm or wrongly mapped; the only 2025-10 model with the same "
    f"parameter count and image size and a top-1 within {TOP1_TOLERANCE}",
    "unresolved": "no weights in the installed timm match; the note says why",
}

#: Columns of the pins table.
PIN_COLUMNS: tuple[str, ...] = (
    "paper_name", "timm_name", "results_2022_name", "method", "top1_2022", "top1_2025", "img_size", "note",
)


@dataclass(frozen=True)
class ResultRow:
    """One row of a timm results table (only the columns used here)."""

    model: str
    img_size: int
    top1: float
    param_count: float
    crop_pct: float
    interpolation: str


@dataclass(frozen=True)
class Pin:
    """A paper name pinned to a timm ``arch.tag`` (``timm_name`` is empty when unresolved)."""

    paper_name: str
    timm_name: str
    results_2022_name: str
    method: str
    top1_2022: float | None
    top1_2025: float | None
    img_size: int | None
    note: str = ""

    @property
    def resolved(self) -> bool:
        return bool(self.timm_name)

    def as_row(self) -> dict[str, str]:
        d = asdict(self)
        out = {}
        for k in PIN_COLUMNS:
            v = d[k]
            out[k] = "" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
        return out


def _number(text: str, *, what: str, source: str) -> float:
    try:
        return float(str(text).replace(",", "").strip().strip('"'))
    except ValueError as exc:
        raise InputError(f"{source}: {what} {text!r} is not a number.") from exc


def read_results_table(path: str | os.PathLike[str]) -> list[ResultRow]:
    """Read a timm ``results-imagenet.csv`` (either edition; quoted ``"1,014.45"`` counts are fine)."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: no such timm results table.")
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        need = {"model", "img_size", "top1", "param_count", "crop_pct", "interpolation"}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{p}: not a timm results table; missing columns {sorted(missing)}.")
        return [
            ResultRow(
                model=r["model"].strip(),
                img_size=int(_number(r["img_size"], what="img_size", source=str(p))),
                top1=_number(r["top1"], what="top1", source=str(p)),
                param_count=_number(r["param_count"], what="param_count", source=str(p)),
                crop_pct=_number(r["crop_pct"], what="crop_pct", source=str(p)),
                interpolation=r["interpolation"].strip(),
            )
            for r in reader
        ]


def read_paper_names(path: str | os.PathLike[str]) -> list[str]:
    """The paper's model names, one a line (blank lines and ``#`` comments skipped)."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: no such list of model names.")
    names = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines()]
    return [n for n in names if n and not n.startswith("#")]


def paper_to_results_name(name: str) -> str:
    """The paper prints ``xcit_..._224.dist`` where timm's 2022 tables say ``xcit_..._224_dist``.

    Examples
    --------
    >>> paper_to_results_name("xcit_tiny_12_p16_224.dist")
    'xcit_tiny_12_p16_224_dist'
    """
    return re.sub(r"\.dist$", "_dist", name.strip())


def _same_params(a: float, b: float) -> bool:
    return abs(a - b) <= PARAM_TOLERANCE + _EPS


def _eval_matches(a: ResultRow, b: ResultRow) -> bool:
    return abs(a.crop_pct - b.crop_pct) < 1e-6 and a.interpolation == b.interpolation


def derive_paper_pins(
    paper_names: Sequence[str],
    results_2022: Iterable[ResultRow],
    results_2025: Iterable[ResultRow],
    *,
    deprecated: Mapping[str, str] | None = None,
    pretrained_tags: Callable[[str], list[str]] | None = None,
    is_architecture: Callable[[str], bool] | None = None,
) -> list[Pin]:
    """Pin every paper name to a timm ``arch.tag``, with the evidence used (see the module doc).

    Parameters
    ----------
    paper_names : sequence of str
        Names as printed in the paper.
    results_2022, results_2025 : iterable of ResultRow
        timm's ImageNet results, 2022-07 and 2025-10 editions (:func:`read_results_table`).
    deprecated, pretrained_tags, is_architecture : optional
        timm's deprecated-name map, ``arch -> [arch.tag, ...]`` and ``name -> bool``;
        default: the installed timm's registry.

    Returns
    -------
    list of Pin
        One per paper name, in the given order.
    """
    if deprecated is None or pretrained_tags is None or is_architecture is None:
        from .._validation import optional_import

        tm = optional_import("timm.models", extra="torch", purpose="Resolving timm model names")
        deprecated = tm.get_deprecated_models() if deprecated is None else deprecated
        pretrained_tags = pretrained_tags or (lambda arch: list(tm.list_pretrained(f"{arch}.*")))
        is_architecture = is_architecture or tm.is_model
    by22 = {r.model: r for r in results_2022}
    by25: dict[str, list[ResultRow]] = {}
    all25 = list(results_2025)
    for r in all25:
        by25.setdefault(r.model, []).append(r)

    def row25(model: str, img_size: int) -> ResultRow | None:
        return next((r for r in by25.get(model, []) if r.img_size == img_size), None)

    pins = []
    for paper in paper_names:
        name = paper_to_results_name(paper)
        old = by22.get(name)
        if old is None:
            pins.append(Pin(paper, "", "", "unresolved", None, None, None, "not in timm's 2022-07 results table"))
            continue

        def pin(timm_name: str, method: str, note: str = "") -> Pin:
            new = row25(timm_name, old.img_size) if timm_name else None
            if new is not None and not note and abs(new.top1 - old.top1) > TOP1_TOLERANCE + _EPS:
                note = f"top-1 differs by {new.top1 - old.top1:+.3f}"
            return Pin(paper, timm_name, name, method, old.top1, new.top1 if new else None, old.img_size, note)

        mapped = deprecated.get(name)
        arch = None
        if mapped is not None:
            arch = mapped.split(".")[0]
            if "." in mapped:
                rows = by25.get(mapped, [])
                if not rows or _same_params(rows[0].param_count, old.param_count):
                    pins.append(pin(mapped, "deprecation-map", "" if rows else "no 2025-10 results row"))
                    continue
                arch = None  # the map points at a different architecture: search by the numbers
                map_note = (
                    f"timm maps it to {mapped} ({rows[0].param_count:g}M parameters, not {old.param_count:g}M)"
                )
            else:
                map_note = ""
        elif is_architecture(name):
            arch, map_note = name, ""
        else:
            map_note = "not a timm architecture today"
        tags = pretrained_tags(arch) if arch else []
        if arch and len(tags) == 1:
            pins.append(pin(tags[0], "single-tag"))
            continue
        if arch and tags:
            scored = []
            for tag in tags:
                r = row25(tag, old.img_size)
                if r is not None and _same_params(r.param_count, old.param_count):
                    scored.append((abs(r.top1 - old.top1), tag, r))
            scored.sort()
            close = [s for s in scored if s[0] <= TOP1_TOLERANCE + _EPS]
            if len(close) == 1:
                pins.append(pin(close[0][1], "top1-match"))
                continue
            if len(close) > 1:
                same_eval = [s for s in close if _eval_matches(s[2], old)]
                if len(same_eval) == 1:
                    others = ", ".join(s[1] for s in close if s is not same_eval[0])
                    pins.append(pin(same_eval[0][1], "top1-eval-match", f"also within tolerance: {others}"))
                    continue
                pins.append(Pin(paper, "", name, "unresolved", old.top1, None, old.img_size,
                                "ambiguous: " + ", ".join(s[1] for s in close)))
                continue
            if scored:
                d, tag, r = scored[0]
                runner = f"; next {scored[1][1]} ({scored[1][0]:.3f})" if len(scored) > 1 else ""
                pins.append(pin(tag, "nearest-top1", f"top-1 differs by {r.top1 - old.top1:+.3f}{runner}"))
                continue
        # No usable architecture: look for the same numbers anywhere in the 2025-10 table.
        matches = sorted(
            (abs(r.top1 - old.top1), r.model)
            for r in all25
            if r.img_size == old.img_size and _same_params(r.param_count, old.param_count)
        )
        close_models = sorted({m for d, m in matches if d <= TOP1_TOLERANCE + _EPS})
        if len(close_models) == 1:
            pins.append(pin(close_models[0], "renamed-top1-match", map_note))
            continue
        nearest = f"; nearest: {matches[0][1]} (top-1 {matches[0][0]:+.3f} away)" if matches else ""
        why = "ambiguous: " + ", ".join(close_models) if close_models else (map_note or "no matching weights")
        pins.append(Pin(paper, "", name, "unresolved", old.top1, None, old.img_size, why + nearest))
    return pins


def write_pins(pins: Sequence[Pin], path: str | os.PathLike[str], *, header: Sequence[str] = ()) -> None:
    """Write the pins table as CSV, after ``# `` comment lines ``header``."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        for line in header:
            fh.write(f"# {line}\n")
        writer = csv.DictWriter(fh, fieldnames=list(PIN_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for p in pins:
            writer.writerow(p.as_row())


def read_pins(text: str) -> tuple[list[Pin], dict[str, str]]:
    """Parse a pins table; returns the pins and the ``key: value`` pairs of its comment header."""
    lines = text.splitlines()
    header: dict[str, str] = {}
    body = []
    for ln in lines:
        if ln.startswith("#"):
            key, _, value = ln[1:].strip().partition(":")
            if value:
                header[key.strip()] = value.strip()
        else:
            body.append(ln)
    pins = []
    for r in csv.DictReader(body):
        pins.append(
            Pin(
                paper_name=r["paper_name"],
                timm_name=r["timm_name"],
                results_2022_name=r["results_2022_name"],
                method=r["method"],
                top1_2022=float(r["top1_2022"]) if r["top1_2022"] else None,
                top1_2025=float(r["top1_2025"]) if r["top1_2025"] else None,
                img_size=int(r["img_size"]) if r["img_size"] else None,
                note=r["note"],
            )
        )
    return pins, header


def pins_by_name(pins: Iterable[Pin]) -> dict[str, Pin]:
    out: dict[str, Pin] = {}
    for p in pins:
        out[p.paper_name] = p
        out.setdefault(p.results_2022_name, p)
    return out

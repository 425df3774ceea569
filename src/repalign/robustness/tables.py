"""timm's published ImageNet evaluation tables, read into the shared results schema.

timm publishes one CSV per evaluation set (``results-imagenet.csv``, ``results-imagenet-a.csv``,
...). :func:`load_timm_results` reads a folder of them into one wide table, one row per model,
with the columns of ``docs/architecture.md`` (``imagenet_top1``, ``imagenet_a_top5``,
``sketch_top1``, ``param_count``, ``img_size``, ...; accuracies in percent), and
:func:`join_timm_results` joins it to a table of models through a name mapping.

Editions differ: the 2022-07 tables use legacy names (the names of the paper), one row per
model; the 2025-10 tables use ``arch.tag`` names, column order differs, ``param_count`` can
be a quoted number with a thousands separator (``"1,014.45"``), and some models appear twice,
evaluated at their train and at their test resolution (``img_size``). ``img_size="min"``
(the default) keeps the smaller, which is timm's default input size for the weights.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._validation import check_option, preview

log = logging.getLogger(__name__)

__all__ = [
    "TIMM_TABLES",
    "IMG_SIZE_POLICIES",
    "read_timm_table",
    "load_timm_results",
    "legacy_timm_name",
    "TimmJoin",
    "join_timm_results",
]

#: Column prefix of each evaluation set -> file name in timm's ``results/`` folder.
TIMM_TABLES: dict[str, str] = {
    "imagenet": "results-imagenet.csv",
    "imagenet_a": "results-imagenet-a.csv",
    "imagenet_r": "results-imagenet-r.csv",
    "sketch": "results-sketch.csv",
    "real": "results-imagenet-real.csv",
    "v2": "results-imagenetv2-matched-frequency.csv",
}

#: Which evaluation to keep when a model was evaluated at several image sizes.
IMG_SIZE_POLICIES: tuple[str, ...] = ("min", "max")

_REQUIRED = ("model", "top1", "top5")
#: Numeric columns that must parse; a bad value raises.
_STRICT = ("top1", "top5", "param_count", "img_size", "crop_pct")
#: Derived columns (errors, differences, rank change) that may hold typos in published
#: tables (the 2022-07 ReaL table has a rank_diff of "-1g"): a bad value is logged and left missing.
_LENIENT = ("top1_err", "top5_err", "top1_diff", "top5_diff", "rank_diff")
#: Per-model columns taken from the ImageNet-1k table (else the first table that has the model).
_MODEL_COLUMNS = ("param_count", "img_size", "crop_pct", "interpolation")


def _to_number(series: pd.Series, column: str, source: str, *, strict: bool = True) -> pd.Series:
    text = series.astype("string").str.strip().str.replace(",", "", regex=False)
    text = text.mask(text.isin(["", "nan", "NaN", "None"]))
    numbers = pd.to_numeric(text, errors="coerce")
    bad = series[numbers.isna() & text.notna()]
    if len(bad):
        message = f"{source}: column {column!r} holds non-numbers: {preview(bad.astype(str).unique())}"
        if strict:
            raise InputError(message + ".")
        log.warning("%s; left missing.", message)
    return numbers.astype(float)


def read_timm_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read one timm results CSV; numeric columns parsed (thousands separators removed).

    Returns the table with columns in a fixed order (``model``, ``img_size``, ``top1``,
    ``top5``, ``param_count``, ...; others kept after them). Raises :class:`InputError` when
    a required column is missing, a number cannot be parsed, an accuracy is outside
    0-100, or the same (model, img_size) appears twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "results-imagenet.csv"
    >>> _ = p.write_text('model,img_size,top1,top5,param_count\\nbig,224,80.1,95.2,"1,014.45"\\n')
    >>> read_timm_table(p).loc[0, "param_count"]
    np.float64(1014.45)
    """
    p = Path(path)
    source = str(p)
    if not p.is_file():
        raise DataNotFoundError(f"{source}: no such file.")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{source}: not a readable CSV table ({exc}).") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {preview(missing)}; found {preview(list(raw.columns), 12)}.")
    table = raw.copy()
    table["model"] = table["model"].str.strip()
    if (table["model"] == "").any():
        raise InputError(f"{source}: {int((table['model'] == '').sum())} row(s) have an empty model name.")
    for col in (*_STRICT, *_LENIENT):
        if col in table.columns:
            table[col] = _to_number(table[col], col, source, strict=col in _STRICT)
    for col in ("top1", "top5"):
        values = table[col]
        if values.isna().any():
            rows = table.loc[values.isna(), "model"].tolist()
            raise InputError(f"{source}: column {col!r} is empty for {preview(rows)}.")
        if ((values < 0) | (values > 100)).any():
            raise InputError(f"{source}: column {col!r} must be a percentage in [0, 100].")
    key = ["model", "img_size"] if "img_size" in table.columns else ["model"]
    dup = table.duplicated(key, keep=False)
    if dup.any():
        raise InputError(
            f"{source}: {preview(sorted(set(table.loc[dup, 'model'])))} appear twice with the same {key[-1]}."
        )
    front = [
        c
        for c in ("model", "img_size", "top1", "top5", "param_count", "crop_pct", "interpolation")
        if c in table.columns
    ]
    return table[front + [c for c in table.columns if c not in front]].reset_index(drop=True)


def _one_per_model(table: pd.DataFrame, img_size: str) -> pd.DataFrame:
    if "img_size" not in table.columns or not table["model"].duplicated().any():
        return table.drop_duplicates("model")
    ascending = img_size == "min"
    ordered = table.sort_values(["model", "img_size"], ascending=[True, ascending], kind="stable")
    return ordered.drop_duplicates("model", keep="first")


def load_timm_results(
    folder: str | os.PathLike[str],
    *,
    datasets: Iterable[str] | None = None,
    img_size: str = "min",
) -> pd.DataFrame:
    """One wide table, one row per model, from a folder of timm ``results-*.csv`` files.

    Parameters
    ----------
    folder : path
        Holds some of the files named in :data:`TIMM_TABLES`.
    datasets : iterable of str, optional
        Prefixes to load (default: every file present); a requested one that is absent
        raises :class:`DataNotFoundError`.
    img_size : {"min", "max"}
        For a model evaluated at several image sizes, keep the smallest (timm's default
        input size) or the largest. The same size is used for every evaluation set when
        that set has it.

    Returns
    -------
    DataFrame
        ``model``, ``<prefix>_top1``, ``<prefix>_top5`` per set, and ``param_count``,
        ``img_size``, ``crop_pct``, ``interpolation``. A model absent from one set has
        missing values there (never zeros).
    """
    img_size = check_option("img_size", img_size, IMG_SIZE_POLICIES)
    root = Path(folder)
    if not root.is_dir():
        raise DataNotFoundError(f"{root}: no such folder (expected timm's results-*.csv files).")
    if datasets is None:
        wanted = [k for k, name in TIMM_TABLES.items() if (root / name).is_file()]
        if not wanted:
            raise DataNotFoundError(f"{root}: none of timm's results files ({', '.join(TIMM_TABLES.values())}).")
    else:
        wanted = [check_option("dataset", d, list(TIMM_TABLES)) for d in datasets]
        for d in wanted:
            if not (root / TIMM_TABLES[d]).is_file():
                raise DataNotFoundError(f"{root / TIMM_TABLES[d]}: no such file.")
    tables = {d: read_timm_table(root / TIMM_TABLES[d]) for d in wanted}
    base_name = "imagenet" if "imagenet" in tables else wanted[0]
    base = _one_per_model(tables[base_name], img_size)
    chosen = dict(zip(base["model"], base["img_size"])) if "img_size" in base.columns else {}
    parts = []
    info_parts = []
    for d in wanted:
        t = tables[d]
        if chosen and "img_size" in t.columns:
            # prefer, per model, the image size chosen in the base table; else the policy
            other = t["img_size"] != t["model"].map(chosen)
            t = (
                t.assign(_other=other)
                .sort_values(["model", "_other", "img_size"], ascending=[True, True, img_size == "min"], kind="stable")
                .drop_duplicates("model")
                .drop(columns="_other")
            )
        else:
            t = _one_per_model(t, img_size)
        parts.append(t[["model", "top1", "top5"]].rename(columns={"top1": f"{d}_top1", "top5": f"{d}_top5"}))
        info_parts.append(t[["model", *[c for c in _MODEL_COLUMNS if c in t.columns]]])
    wide = parts[0]
    for part in parts[1:]:
        wide = wide.merge(part, on="model", how="outer")
    info = pd.concat([info_parts[wanted.index(base_name)], *info_parts], ignore_index=True).drop_duplicates("model")
    out = wide.merge(info, on="model", how="left")
    order = ["model"] + [f"{d}_{m}" for d in TIMM_TABLES if d in wanted for m in ("top1", "top5")]
    order += [c for c in _MODEL_COLUMNS if c in out.columns]
    out = out[order].sort_values("model", kind="stable").reset_index(drop=True)
    if "img_size" in out.columns:
        out["img_size"] = out["img_size"].round().astype("Int64")
    log.info("timm results: %d models from %d table(s) in %s", len(out), len(wanted), root)
    return out


def legacy_timm_name(name: str) -> str:
    """The name timm's 2022-07 tables use for a model name as printed in the paper.

    The paper writes ``xcit_..._224.dist`` where the tables have ``xcit_..._224_dist``;
    every other name is unchanged.

    Examples
    --------
    >>> legacy_timm_name("xcit_tiny_12_p16_224.dist")
    'xcit_tiny_12_p16_224_dist'
    >>> legacy_timm_name("resnet50")
    'resnet50'
    """
    name = str(name).strip()
    return name[: -len(".dist")] + "_dist" if name.endswith(".dist") else name


@dataclass
class TimmJoin:
    """Result of :func:`join_timm_results`: the joined table and the models left unmatched."""

    table: pd.DataFrame
    unmatched: list[str] = field(default_factory=list)

    @property
    def n_matched(self) -> int:
        return int(self.table["timm_model"].notna().sum())


NameMapping = Mapping[str, str] | Callable[[str], "str | None"]


def _mapper(names: NameMapping | None) -> Callable[[str], str | None]:
    if names is None:
        return legacy_timm_name
    if isinstance(names, Mapping):
        return lambda n: names.get(n)
    if callable(names):
        return names
    raise InputError(f"names must be a mapping, a callable or None; got {type(names).__name__}.")


def join_timm_results(
    models: Any,
    timm: pd.DataFrame,
    *,
    names: NameMapping | None = None,
    model_column: str = "model",
    overwrite: bool = False,
) -> TimmJoin:
    """Left-join timm's results (from :func:`load_timm_results`) onto a table of models.

    Parameters
    ----------
    models : DataFrame or iterable of str
        The models (a results table with ``model_column``, or just names).
    timm : DataFrame
        The wide timm table; its ``model`` column holds the table's own names.
    names : mapping or callable, optional
        Maps a model id of ``models`` to its name in ``timm`` (``None`` when unknown). The
        default is :func:`legacy_timm_name`, right for paper names against the 2022-07
        tables. For current ``arch.tag`` tables, pass the resolver of
        :mod:`repalign.models` (a callable) or an explicit dict.
    overwrite : bool, default False
        Replace columns ``models`` already has; otherwise such a clash raises.

    Returns
    -------
    TimmJoin
        ``table``: ``models`` with the timm columns and ``timm_model`` (the matched name,
        missing when unmatched); ``unmatched``: model ids with no row in ``timm``.

    Examples
    --------
    >>> import pandas as pd
    >>> timm = pd.DataFrame({"model": ["xcit_tiny_12_p16_224_dist"], "imagenet_top1": [78.6]})
    >>> res = join_timm_results(["xcit_tiny_12_p16_224.dist", "nope"], timm)
    >>> res.table["imagenet_top1"].tolist()[0], res.unmatched
    (78.6, ['nope'])
    """
    if isinstance(models, pd.DataFrame):
        frame = models.copy()
        if model_column not in frame.columns:
            raise InputError(f"models: no {model_column!r} column; columns are {preview(list(frame.columns), 12)}.")
    else:
        frame = pd.DataFrame({model_column: [str(m) for m in models]})
    if "model" not in timm.columns:
        raise InputError("timm: expected a 'model' column (the table from load_timm_results).")
    mapper = _mapper(names)
    ids = frame[model_column].astype(str)
    mapped = []
    for m in ids:
        target = mapper(m)
        mapped.append(None if target is None or (isinstance(target, float) and np.isnan(target)) else str(target))
    available = set(timm["model"])
    matched = [t if t in available else None for t in mapped]
    frame["timm_model"] = pd.array(matched, dtype="string")
    extra = [c for c in timm.columns if c != "model"]
    clash = [c for c in extra if c in frame.columns and c != model_column]
    if clash and not overwrite:
        raise InputError(f"models already has column(s) {preview(clash)}; pass overwrite=True to replace them.")
    frame = frame.drop(columns=clash)
    right = timm.rename(columns={"model": "timm_model"}).astype({"timm_model": "string"})
    joined = frame.merge(right, on="timm_model", how="left", validate="many_to_one")
    unmatched = [m for m, t in zip(ids, matched) if t is None]
    if unmatched:
        log.warning("%d of %d models have no timm results: %s", len(unmatched), len(ids), preview(unmatched))
    return TimmJoin(table=joined, unmatched=unmatched)

"""The results schema: the one place that names the columns of a study's tables.

A study (and ``repalign demo``) writes, and ``repalign analyze`` / ``repalign report`` read:

**The wide table** (``results.parquet`` / ``.csv``), one row per model; accuracies in percent.

==============================  =============================================================
column                          meaning
==============================  =============================================================
``model``                       model id (``timm:resnet50.a1_in1k``, ``zoo:aligned_03``, ...)
``source``, ``family``          optional: where the model comes from, its architecture family
``<metric>``                    alignment aggregate: the mean over the human domains listed in
                                ``human_domains`` (``pearson``, ``spearman``, ``kendall``,
                                ``triplet``, ``cka``, ``cka_debiased``, ``odd_one_out``)
``<metric>_<domain>``           alignment on one human domain, e.g. ``pearson_animals``
``<metric>_ci_low/_ci_high``    optional interval of an aggregate (or of a per-domain column)
``human_domains``               the ``dataset:domain`` parts an aggregate averages, joined by
                                ``;`` (``peterson2018:animals;peterson2018:fruits``)
``n_domains``                   how many domains the aggregates average
``n_domains_available``         how many domains the human dataset(s) have (6 for Peterson et
                                al. 2018); ``n_domains < n_domains_available`` marks an
                                aggregate over part of the data
``fewshot_<head>_<n>``          few-shot accuracy, mean over seeds (first transfer task)
``<task>_fewshot_<head>_<n>``   the same for a further transfer task
``imagenet_top1``, ``..._top5`` ImageNet-1k validation (the paper's covariate)
robustness                      ``imagenet_a_top1/5``, ``imagenet_r_top1/5``, ``sketch_top1/5``
other timm columns              ``real_top1/5``, ``v2_top1/5``, ``param_count``, ``img_size``
==============================  =============================================================

**The long tables**: ``alignment`` (``model, dataset, metric, value``; one row per model x
human dataset or domain x metric; ``dataset`` is ``name:domain`` or a bare name) and
``fewshot`` (``model, dataset, head, shots, seed, accuracy``; one row per fit).

Everything that writes or reads these names goes through this module: the column helpers
(:func:`alignment_column`, :func:`fewshot_column`, :func:`domain_columns`), the parser
(:func:`parse_column`, :func:`classify_columns`) and the conversions between the long and
the wide form (:func:`alignment_wide`, :func:`alignment_long`, :func:`fewshot_wide`,
:func:`fewshot_long`, :func:`fill_from_long`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._errors import InputError
from ._validation import preview

log = logging.getLogger(__name__)

__all__ = [
    "ALIGNMENT_METRICS",
    "ALIGNMENT_LONG_COLUMNS",
    "COVARIATES",
    "DOMAIN_COLUMNS",
    "FEWSHOT_LONG_COLUMNS",
    "HEAD_ORDER",
    "ROBUSTNESS_OUTCOMES",
    "ColumnInfo",
    "ResultColumns",
    "alignment_column",
    "alignment_long",
    "alignment_wide",
    "classify_columns",
    "domain_columns",
    "fewshot_column",
    "fewshot_long",
    "fewshot_wide",
    "fill_from_long",
    "metric_column",
    "model_family",
    "model_source",
    "parse_column",
    "partial_aggregates",
    "split_domains",
]

#: Alignment metrics as column names (``cka-debiased`` is written ``cka_debiased``), in report order.
ALIGNMENT_METRICS: tuple[str, ...] = (
    "pearson",
    "spearman",
    "kendall",
    "triplet",
    "cka",
    "cka_debiased",
    "odd_one_out",
)
#: Robustness outcomes of the paper (Tables 1-4), in its order.
ROBUSTNESS_OUTCOMES: tuple[str, ...] = (
    "imagenet_a_top1",
    "imagenet_a_top5",
    "imagenet_r_top1",
    "imagenet_r_top5",
    "sketch_top1",
    "sketch_top5",
)
#: Columns used as covariates or context, never as alignment or robustness outcomes.
COVARIATES: tuple[str, ...] = (
    "imagenet_top1",
    "imagenet_top5",
    "real_top1",
    "real_top5",
    "v2_top1",
    "v2_top5",
    "param_count",
    "img_size",
)
#: The columns that say which human domains the aggregates average.
DOMAIN_COLUMNS: tuple[str, ...] = ("human_domains", "n_domains", "n_domains_available")
#: Columns of the long alignment table.
ALIGNMENT_LONG_COLUMNS: tuple[str, ...] = ("model", "dataset", "metric", "value")
#: Columns of the long few-shot table.
FEWSHOT_LONG_COLUMNS: tuple[str, ...] = ("model", "dataset", "head", "shots", "seed", "accuracy")
#: Few-shot heads in report order (others follow alphabetically).
HEAD_ORDER: tuple[str, ...] = ("linear", "mlp1", "mlp2")
_DOMAIN_SEP = ";"
_FEWSHOT = re.compile(r"^(?:(?P<task>[A-Za-z0-9][A-Za-z0-9_.-]*?)_)?fewshot_(?P<head>[A-Za-z0-9]+)_(?P<shots>\d+)$")
_CI_SUFFIXES = ("_ci_low", "_ci_high")


def metric_column(metric: str) -> str:
    """The column name of an alignment metric (``cka-debiased`` -> ``cka_debiased``).

    Examples
    --------
    >>> metric_column("odd-one-out")
    'odd_one_out'
    """
    return str(metric).strip().replace("-", "_")


def alignment_column(metric: str, domain: str | None = None) -> str:
    """The wide column of an alignment aggregate, or of one human domain.

    ``domain`` may be ``dataset:domain``; the column keeps the domain part.

    Examples
    --------
    >>> alignment_column("pearson"), alignment_column("triplet", "peterson2018:animals")
    ('pearson', 'triplet_animals')
    """
    name = metric_column(metric)
    if domain is None:
        return name
    part = str(domain).rpartition(":")[2]
    if not part or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", part):
        raise InputError(f"human domain {domain!r} cannot be a column suffix (letters, digits, '_', '.', '-').")
    return f"{name}_{part}"


def fewshot_column(head: str, shots: int, task: str | None = None) -> str:
    """The wide column of mean few-shot accuracy; ``task`` prefixes a further transfer task.

    Examples
    --------
    >>> fewshot_column("linear", 5), fewshot_column("mlp2", 1, task="cifar10")
    ('fewshot_linear_5', 'cifar10_fewshot_mlp2_1')
    """
    if not re.fullmatch(r"[A-Za-z0-9]+", str(head)):
        raise InputError(f"few-shot head {head!r} must be letters and digits.")
    column = f"fewshot_{head}_{int(shots)}"
    return f"{task}_{column}" if task else column


def domain_columns(domains: Sequence[str], n_available: int | None = None) -> dict[str, Any]:
    """The ``human_domains`` / ``n_domains`` / ``n_domains_available`` cells of one row.

    Examples
    --------
    >>> domain_columns(["peterson2018:animals", "peterson2018:fruits"], 6)
    {'human_domains': 'peterson2018:animals;peterson2018:fruits', 'n_domains': 2, 'n_domains_available': 6}
    """
    names = [str(d) for d in domains]
    bad = [d for d in names if _DOMAIN_SEP in d]
    if bad:
        raise InputError(f"human domain names may not contain {_DOMAIN_SEP!r}: {preview(bad)}.")
    available = len(names) if n_available is None else int(n_available)
    if available < len(names):
        raise InputError(f"n_available={available} is below the {len(names)} domains given.")
    return {"human_domains": _DOMAIN_SEP.join(names), "n_domains": len(names), "n_domains_available": available}


def split_domains(cell: Any) -> list[str]:
    """The domain list of a ``human_domains`` cell.

    Examples
    --------
    >>> split_domains("peterson2018:animals;peterson2018:fruits")
    ['peterson2018:animals', 'peterson2018:fruits']
    """
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return []
    return [d for d in str(cell).split(_DOMAIN_SEP) if d]


@dataclass(frozen=True)
class ColumnInfo:
    """What a wide column holds (see :func:`parse_column`)."""

    kind: str  # model, alignment, domain_alignment, interval, fewshot, robustness, covariate, domains, other
    metric: str | None = None
    domain: str | None = None
    head: str | None = None
    shots: int | None = None
    task: str | None = None
    of: str | None = None  # the column an interval belongs to


def parse_column(name: str, metrics: Sequence[str] = ALIGNMENT_METRICS) -> ColumnInfo:
    """Classify one wide column name.

    Examples
    --------
    >>> parse_column("pearson_animals")
    ColumnInfo(kind='domain_alignment', metric='pearson', domain='animals', head=None, shots=None, task=None, of=None)
    >>> parse_column("cifar10_fewshot_linear_5").task, parse_column("triplet_ci_low").of
    ('cifar10', 'triplet')
    """
    name = str(name)
    if name == "model":
        return ColumnInfo("model")
    if name in DOMAIN_COLUMNS:
        return ColumnInfo("domains")
    if name in ROBUSTNESS_OUTCOMES:
        return ColumnInfo("robustness")
    if name in COVARIATES:
        return ColumnInfo("covariate")
    for suffix in _CI_SUFFIXES:
        if name.endswith(suffix):
            base = parse_column(name[: -len(suffix)], metrics)
            if base.kind in ("alignment", "domain_alignment"):
                return ColumnInfo("interval", base.metric, base.domain, of=name[: -len(suffix)])
    m = _FEWSHOT.match(name)
    if m:
        return ColumnInfo("fewshot", head=m["head"], shots=int(m["shots"]), task=m["task"])
    if name in metrics:
        return ColumnInfo("alignment", metric=name)
    # the longest metric that prefixes the name ("cka_debiased_x" is cka_debiased on x)
    for metric in sorted(metrics, key=len, reverse=True):
        if name.startswith(metric + "_") and len(name) > len(metric) + 1:
            return ColumnInfo("domain_alignment", metric=metric, domain=name[len(metric) + 1 :])
    return ColumnInfo("other")


@dataclass
class ResultColumns:
    """The wide columns of a results table, by role, in table order."""

    alignment: list[str] = field(default_factory=list)
    per_domain: dict[str, list[str]] = field(default_factory=dict)  # metric -> its per-domain columns
    intervals: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (low, high)
    fewshot: dict[str | None, dict[str, list[tuple[int, str]]]] = field(default_factory=dict)  # task -> head -> (n, col)
    robustness: list[str] = field(default_factory=list)
    covariates: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def fewshot_columns(self, task: str | None = None) -> list[str]:
        """The ``fewshot_<head>_<n>`` columns of one task, by head then shots."""
        return [col for pairs in self.fewshot.get(task, {}).values() for _, col in pairs]


def classify_columns(frame: pd.DataFrame | Iterable[str], metrics: Sequence[str] = ALIGNMENT_METRICS) -> ResultColumns:
    """Sort the columns of a results table by role (:func:`parse_column` on each).

    Examples
    --------
    >>> cols = classify_columns(["model", "pearson", "pearson_animals", "fewshot_mlp1_5", "fewshot_linear_1"])
    >>> cols.alignment, cols.per_domain, cols.fewshot
    (['pearson'], {'pearson': ['pearson_animals']}, {None: {'linear': [(1, 'fewshot_linear_1')], 'mlp1': [(5, 'fewshot_mlp1_5')]}})
    """
    names = [str(c) for c in (frame.columns if isinstance(frame, pd.DataFrame) else frame)]
    out = ResultColumns()
    present = set(names)
    for name in names:
        info = parse_column(name, metrics)
        if info.kind == "alignment":
            out.alignment.append(name)
        elif info.kind == "domain_alignment":
            out.per_domain.setdefault(str(info.metric), []).append(name)
        elif info.kind == "interval":
            low, high = f"{info.of}_ci_low", f"{info.of}_ci_high"
            if low in present and high in present:
                out.intervals[str(info.of)] = (low, high)
        elif info.kind == "fewshot":
            out.fewshot.setdefault(info.task, {}).setdefault(str(info.head), []).append((int(info.shots or 0), name))
        elif info.kind == "robustness":
            out.robustness.append(name)
        elif info.kind == "covariate":
            out.covariates.append(name)
        elif info.kind not in ("model", "domains"):
            out.other.append(name)
    order = {h: i for i, h in enumerate(HEAD_ORDER)}
    for task, heads in out.fewshot.items():
        out.fewshot[task] = {
            h: sorted(v) for h, v in sorted(heads.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        }
    rank = {m: i for i, m in enumerate(metrics)}
    out.alignment.sort(key=lambda m: rank.get(m, len(rank)))
    out.per_domain = dict(sorted(out.per_domain.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    out.robustness.sort(key=ROBUSTNESS_OUTCOMES.index)
    return out


def _check_long(frame: pd.DataFrame, needed: Sequence[str], what: str) -> pd.DataFrame:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {preview(missing)}; found {preview(list(frame.columns), 12)}.")
    return frame.copy()


def _numeric(frame: pd.DataFrame, column: str, what: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame.loc[values.isna() & frame[column].notna(), column]
    if len(bad):
        raise InputError(f"{what}: column {column!r} holds non-numbers: {preview(bad.astype(str).unique())}.")
    return values


def alignment_wide(
    long: pd.DataFrame,
    *,
    n_available: Mapping[str, int] | None = None,
    what: str = "alignment table",
) -> pd.DataFrame:
    """Wide alignment columns from the long table ``model, dataset, metric, value``.

    Each metric's aggregate is the mean over the model's datasets (domains); every dataset
    also gets its ``<metric>_<domain>`` column; ``human_domains`` / ``n_domains`` list what
    was averaged. ``n_available`` maps a dataset name (the part before ``:``) to the number
    of domains it has; without it, ``n_domains_available`` is the number of distinct domains
    of that dataset in the table.

    Examples
    --------
    >>> long = pd.DataFrame({"model": ["a", "a"], "dataset": ["p:animals", "p:fruits"],
    ...                      "metric": ["pearson", "pearson"], "value": [0.5, 0.7]})
    >>> alignment_wide(long, n_available={"p": 6}).iloc[0].to_dict()
    {'model': 'a', 'pearson': 0.6, 'pearson_animals': 0.5, 'pearson_fruits': 0.7, 'human_domains': 'p:animals;p:fruits', 'n_domains': 2, 'n_domains_available': 6}
    """
    long = _check_long(long, ("model", "metric", "value"), what)
    long["value"] = _numeric(long, "value", what)
    long = long.dropna(subset=["value"])
    long["metric"] = long["metric"].map(metric_column)
    wide = long.groupby(["model", "metric"], sort=False)["value"].mean().unstack("metric")
    wide = wide[[m for m in dict.fromkeys(long["metric"])]]
    if "dataset" not in long.columns:
        wide = wide.reset_index()
        wide.columns.name = None
        return wide
    long["dataset"] = long["dataset"].astype(str)
    per = long.groupby(["model", "metric", "dataset"], sort=False)["value"].mean().unstack(["metric", "dataset"])
    per.columns = [alignment_column(m, d) for m, d in per.columns]
    if per.columns.duplicated().any():
        dup = sorted(set(per.columns[per.columns.duplicated()]))
        raise InputError(f"{what}: two human datasets share a domain name, so the columns {preview(dup)} would clash.")
    per = per[sorted(per.columns, key=list(per.columns).index)]
    wide = wide.join(per)
    names = {d.partition(":")[0] for d in long["dataset"]}
    seen = {n: long.loc[long["dataset"].str.partition(":")[0] == n, "dataset"].nunique() for n in names}
    rows = []
    for model, block in long.groupby("model", sort=False):
        domains = list(dict.fromkeys(block["dataset"]))
        total = sum((n_available or {}).get(n, seen[n]) for n in dict.fromkeys(d.partition(":")[0] for d in domains))
        rows.append({"model": model, **domain_columns(domains, max(total, len(domains)))})
    wide = wide.reset_index().merge(pd.DataFrame(rows), on="model", how="left")
    wide.columns.name = None
    return wide


def alignment_long(wide: pd.DataFrame, metrics: Sequence[str] = ALIGNMENT_METRICS) -> pd.DataFrame:
    """The long alignment table of the per-domain columns of a wide table.

    The dataset of a column is its ``dataset:domain`` entry in ``human_domains`` when the
    row has one, else the bare domain (the inverse of :func:`alignment_wide` up to the
    aggregates, which the long table does not hold).

    Examples
    --------
    >>> wide = pd.DataFrame({"model": ["a"], "pearson": [0.6], "pearson_animals": [0.5],
    ...                      "human_domains": ["p:animals"], "n_domains": [1], "n_domains_available": [6]})
    >>> alignment_long(wide).values.tolist()
    [['a', 'p:animals', 'pearson', 0.5]]
    """
    cols = classify_columns(wide, metrics)
    rows = []
    for _, row in wide.iterrows():
        full = {d.rpartition(":")[2]: d for d in split_domains(row.get("human_domains"))}
        for metric, columns in cols.per_domain.items():
            for col in columns:
                value = row[col]
                if pd.isna(value):
                    continue
                domain = col[len(metric) + 1 :]
                rows.append((row["model"], full.get(domain, domain), metric, float(value)))
    return pd.DataFrame(rows, columns=list(ALIGNMENT_LONG_COLUMNS))


def fewshot_wide(
    long: pd.DataFrame, *, dataset: str | None = None, task: str | None = None, what: str = "few-shot table"
) -> tuple[pd.DataFrame, str | None, int | None]:
    """Mean accuracy over seeds per ``fewshot_<head>_<n>`` column, from the long table.

    Returns the wide table (``model`` + the columns, heads in :data:`HEAD_ORDER`, shots
    ascending), the few-shot dataset used and the largest number of seeds per cell. With
    several datasets in the table, ``dataset`` must pick one.

    Examples
    --------
    >>> long = pd.DataFrame({"model": ["a"] * 4, "dataset": ["c"] * 4, "head": ["linear"] * 4,
    ...                      "shots": [1, 1, 5, 5], "seed": [0, 1, 0, 1], "accuracy": [10.0, 20.0, 30.0, 50.0]})
    >>> wide, name, seeds = fewshot_wide(long)
    >>> wide.values.tolist(), name, seeds
    ([['a', 15.0, 40.0]], 'c', 2)
    """
    long = _check_long(long, ("model", "head", "shots", "accuracy"), what)
    long["accuracy"] = _numeric(long, "accuracy", what)
    long["shots"] = _numeric(long, "shots", what)
    chosen = dataset
    if "dataset" in long.columns:
        names = sorted(long["dataset"].dropna().astype(str).unique())
        if dataset is None:
            if len(names) > 1:
                raise InputError(
                    f"{what}: few-shot results for several datasets {preview(names)}; choose one (fewshot_dataset=...)."
                )
            chosen = names[0] if names else None
        elif dataset not in names:
            raise InputError(f"{what}: no few-shot results for dataset {dataset!r}; it has {preview(names)}.")
        if chosen is not None:
            long = long[long["dataset"].astype(str) == chosen]
    long = long.dropna(subset=["accuracy", "shots"])
    if long.empty:
        return pd.DataFrame(columns=["model"]), chosen, None
    seeds = int(long.groupby(["model", "head", "shots"]).size().max())
    means = long.groupby(["model", "head", "shots"], sort=False)["accuracy"].mean().reset_index()
    means["column"] = [fewshot_column(h, s, task) for h, s in zip(means["head"].astype(str), means["shots"].astype(int))]
    wide = means.pivot(index="model", columns="column", values="accuracy")
    order = classify_columns(wide.columns).fewshot_columns(task)
    wide = wide[order].reindex(list(dict.fromkeys(long["model"]))).reset_index()
    wide.columns.name = None
    return wide, chosen, seeds


def fewshot_long(wide: pd.DataFrame, *, task: str | None = None) -> pd.DataFrame:
    """Per-model mean accuracies of one task's ``fewshot_<head>_<n>`` columns, long:
    ``model, head, shots, accuracy`` (no seeds: the wide table holds means).

    Examples
    --------
    >>> fewshot_long(pd.DataFrame({"model": ["a"], "fewshot_linear_1": [15.0]})).values.tolist()
    [['a', 'linear', 1, 15.0]]
    """
    cols = classify_columns(wide)
    rows = []
    for _, row in wide.iterrows():
        for head, pairs in cols.fewshot.get(task, {}).items():
            for shots, col in pairs:
                if pd.notna(row[col]):
                    rows.append((row["model"], head, shots, float(row[col])))
    return pd.DataFrame(rows, columns=["model", "head", "shots", "accuracy"])


def fill_from_long(results: pd.DataFrame, derived: pd.DataFrame, *, what: str) -> tuple[pd.DataFrame, list[str]]:
    """Add the columns of ``derived`` (a wide table made from a long one) that ``results`` lacks.

    Columns the results table already has win (it is what the study wrote); the added ones
    are returned so the caller can say where they came from.
    """
    new = [c for c in derived.columns if c != "model" and c not in results.columns]
    if not new:
        return results, []
    if "model" not in results.columns:
        raise InputError(f"the results table has no 'model' column to join the {what} on.")
    return results.merge(derived[["model", *new]], on="model", how="left"), new


def partial_aggregates(frame: pd.DataFrame) -> pd.Series:
    """Per row: True where the alignment aggregates average fewer domains than the data has.

    Rows without the domain columns count as complete (nothing says otherwise).

    Examples
    --------
    >>> partial_aggregates(pd.DataFrame({"n_domains": [2, 6], "n_domains_available": [6, 6]})).tolist()
    [True, False]
    """
    if "n_domains" not in frame.columns or "n_domains_available" not in frame.columns:
        return pd.Series(False, index=frame.index)
    n = pd.to_numeric(frame["n_domains"], errors="coerce")
    total = pd.to_numeric(frame["n_domains_available"], errors="coerce")
    return (n < total).fillna(False).astype(bool)


_FAMILY_PREFIXES = ("tf_", "gluon_", "ig_", "ssl_", "swsl_", "legacy_", "hf_")
#: Sources whose models are all one family (their names are only sizes: ``lite0`` ... ``lite4``).
_ONE_FAMILY_SOURCES = {"efficientnet-lite": "efficientnet-lite"}


def model_source(model_id: str) -> str:
    """The source prefix of a model id (``timm:resnet50`` -> ``timm``); ``""`` for a bare name,
    which says nothing about where the model comes from.

    Examples
    --------
    >>> model_source("zoo:aligned_03"), model_source("resnet50")
    ('zoo', '')
    """
    source, sep, _ = str(model_id).partition(":")
    return source if sep else ""


def model_family(model_id: str) -> str:
    """An architecture family from a model id: the leading letters of the architecture name,
    after framework prefixes (``tf_efficientnet_b0.ns_jft_in1k`` -> ``efficientnet``).

    Examples
    --------
    >>> model_family("timm:convnext_tiny.fb_in1k"), model_family("tf_efficientnet_b0_ns"), model_family("zoo:anti_2")
    ('convnext', 'efficientnet', 'anti')
    >>> model_family("timm:mobilenetv3_small_050"), model_family("efficientnet-lite:lite0")
    ('mobilenetv3', 'efficientnet-lite')
    """
    source, _, rest = str(model_id).partition(":")
    if source in _ONE_FAMILY_SOURCES and rest:
        return _ONE_FAMILY_SOURCES[source]
    name = rest or str(model_id)
    name = name.rpartition(":")[2].split(".")[0].lower()
    for prefix in _FAMILY_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    # a version after a 'v' is part of the name: mobilenetv3, resnetv2 (not mobilenetv)
    match = re.match(r"[a-z]+(?:(?<=v)\d+)?", name)
    return match.group(0) if match else name or "other"

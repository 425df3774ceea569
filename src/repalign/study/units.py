"""The unit of work of a study: one model, end to end.

``run_model_unit(model_id, context)`` extracts the model's features (through the feature
cache), aligns them with every applicable human dataset, runs every transfer task's
few-shot grid and joins the robustness tables, returning three tables:

``results``    one row: ``model``, alignment aggregates and per-domain columns,
               ``fewshot_<head>_<n>`` means (first transfer task; further tasks are
               prefixed ``<task>_``), robustness columns (see docs/architecture.md);
``alignment``  long: ``model, dataset, metric, value``;
``fewshot``    long: ``model, dataset, head, shots, seed, accuracy``.

Models named ``zoo:<name>`` come from the synthetic zoo of :func:`repalign.theory.make_zoo`
(rebuilt deterministically from the study's ``zoo`` settings in each worker); their human
dataset is the zoo's teacher (``zoo``) and their transfer task the zoo's classes (``zoo``).
Image models use real human datasets and image transfer sets. A dataset that does not
apply to a model (the zoo teacher for an image model, say) is listed in the unit's record
as not applicable, never silently dropped.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .store import UnitResult

__all__ = ["run_model_unit", "ZOO_PREFIX", "zoo_model_ids", "robustness_name"]

log = logging.getLogger(__name__)

ZOO_PREFIX = "zoo:"


@functools.lru_cache(maxsize=4)
def _zoo(settings: tuple[tuple[str, Any], ...]) -> Any:
    from ..theory import make_zoo

    return make_zoo(**dict(settings))


def _zoo_key(settings: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(settings.items()))


def zoo_model_ids(settings: dict[str, Any]) -> list[str]:
    """``zoo:<name>`` ids of the zoo that ``settings`` describe."""
    return [ZOO_PREFIX + name for name in _zoo(_zoo_key(settings)).models]


@functools.lru_cache(maxsize=4)
def _timm_table(folder: str) -> pd.DataFrame:
    from ..robustness import load_timm_results

    return load_timm_results(folder)


def robustness_name(model_id: str, table_names: set[str]) -> str | None:
    """The row name of ``model_id`` in a timm results table, or None.

    ``paper:<name>`` uses the pinned 2022-07 name, then the pinned ``arch.tag``;
    ``timm:<arch>.<tag>`` needs the exact ``arch.tag`` (a 2022 table's bare ``arch`` may
    be other weights), and a bare ``timm:<arch>`` matches ``arch``.
    """
    source, _, name = model_id.partition(":")
    if not name:
        source, name = "timm", model_id
    if source == "paper":
        from ..models.resolve import paper_pins

        pin = next((p for p in paper_pins() if p.paper_name == name), None)
        if pin is not None:
            for candidate in (pin.results_2022_name, pin.timm_name):
                if candidate and candidate in table_names:
                    return candidate
        return None
    if source == "timm":
        return name if name in table_names else None
    return None


def _align_zoo(model_id: str, zoo: Any, human: dict[str, Any]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    from ..metrics import compare

    rep = zoo.models[model_id[len(ZOO_PREFIX):]]
    res = compare(rep, zoo.teacher, metrics=human["metrics"], similarity=human["similarity"], ties=human["ties"])
    rows = [{"model": model_id, "dataset": "zoo", "metric": m, "value": v} for m, v in res.scores.items()]
    return dict(res.scores), rows


def _align_images(model_id: str, dataset: str, human: dict[str, Any], extraction: dict[str, Any], record: dict[str, Any]) -> tuple[dict[str, float], dict[str, float], list[dict[str, Any]]]:
    from ..evaluation import align_dataset
    from ..models import extract_features

    name, _, part = dataset.partition(":")
    hashes: dict[str, str] = {}

    def represent(stimuli: Any) -> Any:
        if stimuli.image_paths is None:
            return None
        feats = extract_features(model_id, list(zip(stimuli.ids, stimuli.image_paths)), **extraction)
        hashes[stimuli.domain] = feats.metadata.get("stimuli", {}).get("fingerprint", "")
        record.setdefault("model_config", feats.metadata.get("model"))
        return feats.to_representation()

    res = align_dataset(
        represent, name, root=human["roots"].get(dataset), domains=[part] if part else None,
        metrics=human["metrics"], similarity=human["similarity"], ties=human["ties"],
    )
    record.setdefault("human", {})[dataset] = {
        "domains": res.domains, "not_entered": res.not_entered, "stimulus_fingerprints": hashes,
    }
    per_domain = {}
    rows = []
    for r in res.per_domain.itertuples(index=False):
        for m in human["metrics"]:
            value = float(getattr(r, m))
            per_domain[f"{m}_{r.domain}"] = value
            rows.append({"model": model_id, "dataset": f"{name}:{r.domain}", "metric": m, "value": value})
    return dict(res.aggregate), per_domain, rows


def run_model_unit(model_id: str, context: dict[str, Any]) -> UnitResult:
    """One model through the whole study (see the module docstring)."""
    from ..transfer import run_fewshot

    human = context["human"]
    extraction = dict(context.get("extraction", {}))
    extraction.update(context.get("model_options", {}).get(model_id, {}))
    record: dict[str, Any] = {"model": model_id, "not_applicable": [], "seconds_by_step": {}}
    wide: dict[str, Any] = {"model": model_id}
    align_rows: list[dict[str, Any]] = []
    fewshot_frames: list[pd.DataFrame] = []
    is_zoo = model_id.startswith(ZOO_PREFIX)
    zoo = _zoo(_zoo_key(context["zoo"])) if is_zoo else None
    if is_zoo and model_id[len(ZOO_PREFIX):] not in zoo.models:
        raise InputError(f"{model_id}: not a model of the study's zoo (it has {len(zoo.models)} models).")

    # -- alignment ---------------------------------------------------------------
    t0 = time.perf_counter()
    aggregates: list[dict[str, float]] = []
    for dataset in human["datasets"]:
        if (dataset == "zoo") != is_zoo:
            record["not_applicable"].append(f"human dataset {dataset}")
            continue
        if is_zoo:
            agg, rows = _align_zoo(model_id, zoo, human)
        else:
            agg, per_domain, rows = _align_images(model_id, dataset, human, extraction, record)
            wide.update(per_domain)
        aggregates.append(agg)
        align_rows += rows
    if not aggregates:
        raise InputError(f"{model_id}: none of the human datasets ({', '.join(human['datasets'])}) applies to this model.")
    for m in human["metrics"]:
        wide[m] = float(np.mean([a[m] for a in aggregates]))
    record["seconds_by_step"]["alignment"] = round(time.perf_counter() - t0, 3)

    # -- few-shot transfer ----------------------------------------------------------------
    first = True
    for task in context["transfer"]:
        t0 = time.perf_counter()
        if (task["dataset"] == "zoo") != is_zoo:
            record["not_applicable"].append(f"transfer task {task['name']}")
            continue
        if is_zoo:
            rep = zoo.models[model_id[len(ZOO_PREFIX):]]
            feats, labels, ids = rep.values, zoo.labels, list(rep.ids)
        else:
            from ..transfer.extract import image_set_features

            feats, labels, ids, _, meta = image_set_features(
                model_id, task["root"] or task["dataset"], max_per_class=task.get("max_per_class"), **extraction
            )
            record.setdefault("model_config", meta.get("model"))
            record.setdefault("transfer", {})[task["name"]] = {
                "n_images": len(ids), "stimulus_fingerprint": meta.get("stimuli", {}).get("fingerprint", ""),
            }
        result = run_fewshot(
            feats, labels, shots=task["shots"], heads=task["heads"], seeds=task["seeds"], ids=ids,
            model=model_id, dataset=task["name"], device=context.get("fewshot_device", "cpu"),
        )
        fewshot_frames.append(result.table)
        prefix = "" if first else f"{task['name']}_"
        for row in result.summary().itertuples(index=False):
            wide[f"{prefix}fewshot_{row.head}_{row.shots}"] = float(row.mean)
        first = False
        record["seconds_by_step"][f"fewshot:{task['name']}"] = round(time.perf_counter() - t0, 3)

    # -- robustness join --------------------------------------------------------------
    tables = context.get("robustness", {}).get("tables")
    if tables:
        timm = _timm_table(str(tables))
        name = robustness_name(model_id, set(timm["model"]))
        record["robustness_name"] = name
        if name is not None:
            row = timm[timm["model"] == name].iloc[0]
            for col in timm.columns:
                if col != "model":
                    wide[col] = row[col]

    results = pd.DataFrame([wide])
    alignment = pd.DataFrame(align_rows, columns=["model", "dataset", "metric", "value"])
    fewshot = pd.concat(fewshot_frames, ignore_index=True) if fewshot_frames else pd.DataFrame(
        columns=["model", "dataset", "head", "shots", "seed", "accuracy"]
    )
    return UnitResult(model_id, {"results": results, "alignment": alignment, "fewshot": fewshot}, record)


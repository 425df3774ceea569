"""Sections made from other files of a run folder, so that the report is a function of the
folder alone (``repalign report RUN_DIR`` writes what ``repalign demo`` writes):

``theory_game.csv``, ``theory_geometry.csv``, ``theory_bounds.csv`` (and optionally
``theory_geometry_eps.csv``)
    the simulated Alice/Bob game (:func:`repalign.theory.run_simulations`): figures and the
    simulated-vs-predicted table;
``results`` with ``family`` and ``level`` columns of a zoo run
    the synthetic zoo by family (``zoo.json`` may add ``n_stimuli`` and ``n_classes``);
``real_alignment.csv``
    real models against real human judgments, per domain, with noise ceilings.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..stats import correlation, z_squared
from .data import read_table
from .format import format_number
from .model import ReportSection

log = logging.getLogger(__name__)

__all__ = ["folder_sections", "real_section", "theory_section", "zoo_section"]

_METRICS = ("pearson", "spearman", "kendall", "triplet")


def folder_sections(folder: Path | None, results: pd.DataFrame, fewshot_dataset: str | None) -> list[ReportSection]:
    """Every section the run folder's files allow, real data first."""
    if folder is None:
        return []
    out = []
    if (folder / "real_alignment.csv").is_file():
        out.append(real_section(read_table(folder / "real_alignment.csv", what="real alignment table")))
    if all((folder / f"theory_{n}.csv").is_file() for n in ("game", "geometry", "bounds")):
        out.append(theory_section(folder))
    zoo = zoo_section(folder, results, fewshot_dataset)
    if zoo is not None:
        out.append(zoo)
    return out


_THEORY_CAPTIONS = {
    "capacity": (
        "Channel capacity and the query bound.",
        "C(ε) = 1 − H(ε) in bits (left) and the Proposition 3.8 lower bound ∝ log₂ n / C(ε) on the number of triplet "
        "queries (right): symmetric about ε = ½, infinite at ½, minimal at ε = 0 and 1.",
    ),
    "game": ("The Alice/Bob game: queries needed against the flip probability ε.", ""),
    "geometry": (
        "Misalignment from geometry.",
        "Bob's space is a distortion of Alice's (noise, a rotated subspace, or a reversed distance ranking); ε is measured on "
        "the shared objects. Geometric errors are fixed per query, so they do not average out the way channel noise does.",
    ),
    "variants": (
        "Variants of the game.",
        "Bob estimating ε from calibration triplets, random instead of adaptive queries, and a Bob who never inverts.",
    ),
}


def theory_section(folder: Path) -> ReportSection:
    """The theory, simulated, from the run folder's ``theory_*.csv`` tables."""
    from ..theory import MAIN_VARIANT, SimulationResults, fit_query_constant

    game = read_table(folder / "theory_game.csv", what="theory game table")
    geometry = read_table(folder / "theory_geometry.csv", what="theory geometry table")
    theory = read_table(folder / "theory_bounds.csv", what="theory bounds table")
    eps_path = folder / "theory_geometry_eps.csv"
    geometry_eps = read_table(eps_path, what="geometric eps table") if eps_path.is_file() else None
    main = game[game["variant"] == MAIN_VARIANT]
    fit = fit_query_constant(main)
    others = game[game["variant"] != MAIN_VARIANT]
    settings = {"variants_at": int(others["n"].iloc[0]) if len(others) else None}
    sim = SimulationResults(game, geometry, geometry_eps, fit, theory, settings)
    captions = dict(_THEORY_CAPTIONS)
    captions["game"] = (
        captions["game"][0],
        "Dots: median triplet queries Bob needs to locate the new object with the target accuracy, over simulated games through "
        "a binary symmetric channel (Bob knows ε and inverts every bit when ε > ½); line: the prediction c · log₂ n / C(ε) with "
        f"the fitted c = {fit.constant:.3f}.",
    )
    figures = [(captions[k][0], captions[k][1], fig, captions[k][0]) for k, fig in sim.figures().items() if k in captions]
    n_show = int(main["n"].max())
    rows = main[main["n"] == n_show].sort_values("eps")
    cap = rows["capacity"].to_numpy()
    # C(1/2) = 0: the prediction is infinite there (no finite number of queries suffices).
    predicted = np.where(cap > 0, fit.constant * np.log2(n_show) / np.where(cap > 0, cap, 1.0), np.inf)
    table = pd.DataFrame({
        "eps": rows["eps"].to_numpy(), "capacity": cap, "queries_measured": rows["queries"].to_numpy(),
        "ci_low": rows["ci_low"].to_numpy(), "ci_high": rows["ci_high"].to_numpy(), "queries_predicted": predicted,
        "reached": rows["reached"].to_numpy(),
    })
    cells = pd.DataFrame({
        "C(ε) (bits)": [f"{v:.3f}" for v in table["capacity"]],
        "queries, simulated [95% CI]": [
            f"{q:.0f} [{lo:.0f}, {hi:.0f}]" if ok else "not reached"
            for q, lo, hi, ok in zip(table["queries_measured"], table["ci_low"], table["ci_high"], table["reached"])
        ],
        "queries, c·log₂n / C(ε)": [f"{v:.0f}" if np.isfinite(v) else "∞" for v in table["queries_predicted"]],
    }, index=[f"ε = {e:g}" for e in table["eps"]])
    return ReportSection(
        key="theory", title="The theory, simulated",
        intro=("Triplets are bits and misalignment is the flip probability ε of a binary symmetric channel (Sucholutsky & "
               "Griffiths 2023, section 3): learning where a new object lies takes Ω(log n / C(ε)) queries, U-shaped in alignment. "
               f"{len(game)} simulated game settings and {len(geometry)} geometric ones; the formulas and the protocol are in "
               "docs/theory.md."),
        figures=figures,
        tables=[(f"Simulated against predicted queries (n = {n_show}).",
                 f"Median queries Bob needs to reach {game['target'].iloc[0]:.0%} accuracy over {int(game['n_trials'].iloc[0])} "
                 "games per ε (bootstrap 95% interval), against the fitted prediction; closed forms on a fine grid are in "
                 "theory_bounds.csv.", cells, table)],
        findings=[f"Theory: the simulated Alice/Bob game needs {fit.constant:.2f} · log₂ n / C(ε) queries (95% CI "
                  f"{fit.constant_low:.2f}–{fit.constant_high:.2f}, log-log slope {fit.slope:.2f}, R² {fit.r_squared:.3f}): "
                  "U-shaped and symmetric about ε = ½, as Proposition 3.8 predicts."],
        kind="simulation", position="start",
    )


def _r2(r: float) -> str:
    """A correlation at two decimals with a true minus sign, as in the tables."""
    return format_number(float(r), 2)


def zoo_section(folder: Path, results: pd.DataFrame, fewshot_dataset: str | None) -> ReportSection | None:
    """The synthetic zoo by family, when the results are a zoo's (``family`` and ``level`` columns)."""
    if not {"family", "level", "triplet"} <= set(results.columns) or fewshot_dataset != "zoo":
        return None
    shots = sorted(int(c.rsplit("_", 1)[1]) for c in results.columns if c.startswith("fewshot_linear_"))
    if not shots or len(results) < 5:
        return None
    info: dict[str, Any] = {}
    if (folder / "zoo.json").is_file():
        info = json.loads((folder / "zoo.json").read_text(encoding="utf-8"))
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
    shape = "rises with alignment" if lin["r"] > 0 and lin["p_val"] < 0.05 else "shows no clear linear trend"
    u = z2["r"] > 0 and z2["p_val"] < 0.05
    size = f" of {info['n_stimuli']} stimuli ({info['n_classes']} classes defined in the teacher's space)" if {"n_stimuli", "n_classes"} <= set(info) else ""
    text = (
        f"{len(results)} synthetic models{size}: noisy and partly rotated copies of the teacher, and anti-aligned ones whose "
        "similarity ranking is reversed, each calibrated to a target triplet alignment without seeing the labels. The generator "
        f"controls alignment only; whatever shape few-shot accuracy takes is measured, not built in. Here {shots[0]}-shot probe "
        f"accuracy {shape} (r = {_r2(lin['r'])}, p = {lin['p_val']:.2g}, n = {int(lin['n'])}) and the paper's z² test "
        f"{'supports' if u else 'does not support'} a U-shape (r = {_r2(z2['r'])}, p = {z2['p_val']:.2g}): a label-trained head "
        "cannot invert an anti-aligned space the way Bob inverts a channel he knows is flipped (docs/theory.md)."
    )
    return ReportSection(
        key="zoo", title="The synthetic zoo", intro=text,
        tables=[("The zoo by family.", "Alignment range and mean few-shot accuracy of each family.", cells, by_family.reset_index())],
        findings=[f"Zoo: {shots[0]}-shot accuracy against triplet alignment r = {_r2(lin['r'])}; against z² r = {_r2(z2['r'])} "
                  f"({'a U-shape' if u else 'no U-shape'} with label-trained heads)."],
        kind="simulation", position="start",
    )


def real_section(real: pd.DataFrame) -> ReportSection:
    """Real models against real human judgments (``real_alignment.csv``: one row per model and domain)."""
    metrics = [c for c in _METRICS if c in real.columns]
    cells = pd.DataFrame({"stimuli": real["n_stimuli"].astype(int).astype(str) if "n_stimuli" in real.columns else "",
                          **{m: real[m].map(lambda v: f"{v:.3f}") for m in metrics}})
    cells.index = [f"{m} · {d}" for m, d in zip(real["model"], real["domain"])]
    ceiling = [c for c in real.columns if c.startswith("ceiling_")]
    caption = ("Alignment of real ImageNet models with the human similarity judgments of Peterson et al. (2018), on the domains "
               "whose images are present; cosine similarity of penultimate features, upper triangle; triplet ties count one half.")
    for m in metrics:
        lo, hi = f"ceiling_lower_{m}", f"ceiling_upper_{m}"
        if lo in real.columns and hi in real.columns:
            cells[f"{m} ceiling"] = [f"{a:.3f}–{b:.3f}" if pd.notna(a) else "–" for a, b in zip(real[lo], real[hi])]
    if ceiling:
        caption += " Noise ceilings (lower–upper) from split halves of the participants."
        without = [str(d) for d, v in zip(real["domain"], real[ceiling[0]]) if pd.isna(v)]
        if without:
            caption += (f" – : no ceiling for {', '.join(dict.fromkeys(without))} (this copy of the dataset has no "
                        "split-half matrices for that domain).")
    models = list(dict.fromkeys(real["model"].astype(str)))
    domains = list(dict.fromkeys(real["domain"].astype(str)))
    return ReportSection(
        key="real", title="Real models, real human judgments",
        intro=f"Models: {', '.join(models)}. Human domains with images here: {', '.join(domains)}.",
        tables=[("Real alignment.", caption, cells, real)],
        findings=[f"Real data: {r.model} on {r.domain}: " + ", ".join(f"{m} {getattr(r, m):.3f}" for m in metrics)
                  for r in real.itertuples()][:4],
        kind="real data", position="start",
    )

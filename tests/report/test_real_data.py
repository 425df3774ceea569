"""End to end on real data: timm's 2022-07 tables for the paper's 489 models, a seeded
synthetic alignment column, through ``repalign analyze`` and ``repalign report``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats as sps

from repalign.cli import main
from repalign.robustness import join_timm_results, load_timm_results

pytest.importorskip("matplotlib")


@pytest.mark.slow
def test_paper_models_through_analyze_and_report(shared_data, tmp_path, capsys):
    names = (shared_data / "paper_models.txt").read_text().split()
    joined = join_timm_results(names, load_timm_results(shared_data / "timm_results" / "2022-07"))
    assert len(names) == 489 and joined.unmatched == []
    table = joined.table.drop(columns="timm_model")
    rng = np.random.default_rng(2023)
    a_z = (table["imagenet_a_top1"] - table["imagenet_a_top1"].mean()) / table["imagenet_a_top1"].std()
    table["pearson"] = 0.3 + 0.05 * (0.3 * a_z + rng.normal(size=len(table)))  # a planted, weak link
    table["triplet"] = 0.55 + 0.02 * rng.normal(size=len(table))  # no link
    path = tmp_path / "paper_models.csv"
    table.to_csv(path, index=False)

    outcomes = "imagenet_a_top1,imagenet_a_top5,imagenet_r_top1,sketch_top1"
    assert (
        main(
            [
                "analyze",
                str(path),
                "--alignment",
                "pearson,triplet",
                "--outcome",
                outcomes,
                "--covariate",
                "imagenet_top1",
                "--json",
            ]
        )
        == 0
    )
    records = {(r["alignment"], r["outcome"]): r for r in json.loads(capsys.readouterr().out)}
    assert len(records) == 8 and all(r["n"] == 489 and r["n_missing"] == 0 for r in records.values())
    rec = records[("pearson", "imagenet_a_top1")]
    assert rec["pearson"]["r"] == pytest.approx(sps.pearsonr(table["pearson"], table["imagenet_a_top1"])[0], abs=1e-12)
    assert rec["pearson"]["r"] > 0.1 and rec["pearson"]["p_val"] < 1e-3
    assert abs(records[("triplet", "imagenet_a_top1")]["pearson"]["r"]) < 0.15
    assert rec["groups"]["high"]["mean"] > rec["groups"]["low"]["mean"]
    assert all(m in names for m in rec["groups"]["high"]["models"])

    out = tmp_path / "report"
    assert main(["report", str(path), "--out", str(out)]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "489 models" in html and "ImageNet-A top-1" in html and sorted(f.name for f in (out / "figures").glob("*.png")) == [
        "figure_explorer.png", "figure_robustness_forest.png", "figure_scatter.png"]  # every interactive figure's twin
    assert all(name in html for name in names)  # every model is named on the page
    assert (out / "tables" / "table_partial.csv").is_file() and (out / "tables" / "table_groups_1.tex").is_file()

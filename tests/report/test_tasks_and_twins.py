"""Several transfer tasks in one study, and a PNG twin for every interactive figure."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from repalign import InputError
from repalign.report import build_report
from repalign.report.data import load_run

from .conftest import make_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_twins(out) -> None:
    """Every interactive figure of the page has a PNG that exists, decodes and is linked from report.md."""
    import matplotlib.image

    html = out.html.read_text(encoding="utf-8")
    md = out.markdown.read_text(encoding="utf-8")
    plots = re.findall(r'data-target="([^"]+)-plot"', html)
    assert plots, "the page has no interactive figure"
    for key in plots:
        path = out.figures[key]
        assert path.is_file() and path.parent == out.folder / "figures"
        assert path.read_bytes().startswith(PNG_MAGIC)
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100 and np.ptp(image) > 0
        assert f"](figures/{key}.png)" in md


@pytest.fixture(scope="module")
def two_task_study(tmp_path_factory):
    pytest.importorskip("matplotlib")
    from repalign.study.config import config_from_dict
    from repalign.study.plan import run_study

    out = tmp_path_factory.mktemp("study") / "zoo"
    cfg = config_from_dict({
        "name": "zoo-two-tasks", "output": str(out), "models": ["zoo"],
        "zoo": {"n_classes": 3, "n_per_class": 8, "models_per_family": 2, "seed": 0},
        "human": {"datasets": ["zoo"]},
        "transfer": [{"name": "a", "dataset": "zoo", "shots": [1, 2], "heads": ["linear"], "seeds": 2},
                     {"name": "b", "dataset": "zoo", "shots": [1, 4], "heads": ["linear", "mlp1"], "seeds": 2}],
        "analysis": {"covariate": None, "k": 1},
    })
    run, outputs = run_study(cfg)
    assert not run.failed and "report" in outputs, outputs.get("notes")
    return out, outputs


def test_each_transfer_task_has_its_section(two_task_study):
    out, outputs = two_task_study
    html = outputs["report"].read_text(encoding="utf-8")
    md = (outputs["report"].parent / "report.md").read_text(encoding="utf-8")
    for text in (html, md):
        assert "Few-shot transfer: a (zoo)" in text and "Few-shot transfer: b (zoo)" in text
        assert "Few-shot accuracy of every model on b (zoo)." in text
    # each task's correlations, from its own columns (repalign.results names a further task's <task>_fewshot_<head>_<n>)
    results = pd.read_parquet(out / "results.parquet")
    report = outputs["report"].parent
    for task, prefix, columns in (("a", "", ["fewshot_linear_1", "fewshot_linear_2"]),
                                  ("b", "b_", ["b_fewshot_linear_1", "b_fewshot_linear_4", "b_fewshot_mlp1_1", "b_fewshot_mlp1_4"])):
        suffix = "" if task == "a" else "_b"
        table = pd.read_csv(report / "tables" / f"fewshot_correlations{suffix}.csv")
        assert sorted(set(table["outcome"])) == sorted(columns)
        for row in table.itertuples():
            sub = results[[row.alignment, row.outcome]].dropna()
            assert row.r == pytest.approx(stats.pearsonr(sub[row.alignment], sub[row.outcome])[0], abs=1e-12)
        assert f'id="figure_fewshot_partial{suffix}"' in html
    # the model table names each task in its few-shot headings
    assert ">a linear 1<" in html and ">b mlp1 4<" in html
    assert " a linear 1 |" in md and " b mlp1 4 |" in md


def test_every_interactive_figure_has_a_png_twin(two_task_study, tmp_path):
    _, outputs = two_task_study
    from repalign.report import write_report

    study_report = write_report(outputs["report"].parent.parent)
    _assert_twins(study_report)
    # zoo models are synthetic: provenance says so instead of calling them randomly initialised
    units = pd.read_csv(study_report.tables["table_units"]["csv"], dtype=str)
    assert set(units["weights"]) == {"synthetic (zoo settings)"}
    # the run records the machine it ran on, and the page shows it
    import json
    import platform

    manifest = json.loads((outputs["report"].parent.parent / "manifest.json").read_text())
    assert manifest["machine"]["host"] == (platform.node() or "unknown") and manifest["machine"]["cores"] >= 1
    html = study_report.html.read_text(encoding="utf-8")
    assert "not recorded by this run" not in html and f"cores: {manifest['machine']['cores']}" in html
    # the per-model curves' caption names only the line styles of heads the task ran (task a: the probe only)
    first = html.split('id="figure_model_fewshot"')[1].split('id="figure_model_fewshot_b"')[0]
    assert "solid: linear probe" in first and "dotted" not in first and "dashed" not in first
    second = html.split('id="figure_model_fewshot_b"')[1][:6000]
    assert "solid: linear probe, dashed: 1-layer head)" in second
    # a small run with per-domain alignment: explorer, per-domain bars, per-model curves, analysis figures
    out = build_report(make_run(tmp_path / "run", n_models=12), title="twelve")
    assert {"figure_explorer", "figure_domains", "figure_model_fewshot", "figure_scatter"} <= set(out.figures)
    _assert_twins(out)


def test_first_task_without_a_manifest(two_task_study, tmp_path):
    out, _ = two_task_study
    copy = shutil.copytree(out, tmp_path / "copy")
    (copy / "manifest.json").unlink()
    run = load_run(copy)  # the one task whose name prefixes no column is the first
    assert run.fewshot_dataset == "a" and sorted(run.fewshot_tasks, key=str) == [None, "b"]
    results = pd.read_parquet(copy / "results.parquet")
    results.drop(columns=[c for c in results.columns if "fewshot_" in c]).to_parquet(copy / "results.parquet", index=False)
    with pytest.raises(InputError, match="several datasets 'a', 'b' and no manifest.json"):
        load_run(copy)
    assert load_run(copy, fewshot_dataset="b").fewshot_dataset == "b"


def test_one_task_chosen(two_task_study):
    """fewshot_dataset= reports that task alone: its numbers, not the study's first task's under its name."""
    out, _ = two_task_study
    run = load_run(out, fewshot_dataset="b")
    long = pd.read_parquet(out / "fewshot.parquet")
    b = long[(long["dataset"] == "b") & (long["head"] == "mlp1") & (long["shots"] == 4)].groupby("model")["accuracy"].mean()
    got = run.results.set_index("model")["fewshot_mlp1_4"]
    pd.testing.assert_series_equal(got.loc[b.index], b, check_names=False)
    assert not [c for c in run.results.columns if c.startswith(("a_fewshot", "b_fewshot"))]
    assert "fewshot_linear_2" not in run.results.columns  # task a's n = 2 is gone
    assert any("task 'b' only" in n for n in run.notes)

"""A synthetic study run folder in the shared results schema, for the report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HEADS = ("linear", "mlp1", "mlp2")
SHOTS = (1, 5, 10, 20, 40, 80)


def make_run(folder: Path, *, n_models: int = 60, seeds: int = 2, seed: int = 0, fmt: str = "parquet") -> Path:
    """Write results + fewshot (long) + alignment (long) tables with a planted U in few-shot accuracy."""
    rng = np.random.default_rng(seed)
    models = [f"model_{i:03d}" for i in range(n_models)]
    top1 = rng.uniform(60, 88, n_models)
    pearson = rng.uniform(0.1, 0.5, n_models)
    spearman = 0.6 * pearson + rng.normal(0, 0.03, n_models)
    triplet = 0.5 + 0.4 * spearman + rng.normal(0, 0.005, n_models)
    z = (pearson - pearson.mean()) / pearson.std()
    results = pd.DataFrame(
        {
            "model": models,
            "imagenet_top1": top1,
            "imagenet_top5": 90 + top1 / 10,
            "imagenet_a_top1": np.clip(0.9 * (top1 - 55) + 20 * z + rng.normal(0, 4, n_models), 0, 100),
            "imagenet_a_top5": np.clip(1.1 * (top1 - 45) + 15 * z + rng.normal(0, 5, n_models), 0, 100),
            "imagenet_r_top1": 0.8 * top1 - 20 + 3 * z**2 + rng.normal(0, 3, n_models),
            "imagenet_r_top5": 0.8 * top1 - 5 + 3 * z**2 + rng.normal(0, 3, n_models),
            "sketch_top1": 0.7 * top1 - 25 + rng.normal(0, 3, n_models),
            "sketch_top5": 0.8 * top1 - 10 + rng.normal(0, 3, n_models),
        }
    )
    results.loc[3, "imagenet_a_top1"] = np.nan  # a missing outcome, dropped per test
    rows = []
    for m_i, m in enumerate(models):
        for h_i, head in enumerate(HEADS):
            for shots in SHOTS:
                base = 10 + 12 * np.log2(shots) + 0.4 * (top1[m_i] - 70) + 4 * z[m_i] ** 2 - 2 * h_i
                for s in range(seeds):
                    rows.append((m, "cifar100", head, shots, s, float(np.clip(base + rng.normal(0, 1.5), 1, 99))))
    fewshot = pd.DataFrame(rows, columns=["model", "dataset", "head", "shots", "seed", "accuracy"])
    align = []
    for m_i, m in enumerate(models):
        for d_i, dataset in enumerate(("animals", "fruits")):
            for metric, values in (("pearson", pearson), ("spearman", spearman), ("triplet", triplet)):
                align.append((m, dataset, metric, float(values[m_i] + (0.01 if d_i else -0.01))))
    alignment = pd.DataFrame(align, columns=["model", "dataset", "metric", "value"])
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in (("results", results), ("fewshot", fewshot), ("alignment", alignment)):
        if fmt == "parquet":
            table.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            table.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


@pytest.fixture(scope="session")
def built_report(tmp_path_factory):
    """One report of a 60-model synthetic run, shared by the tests that only read it."""
    pytest.importorskip("matplotlib")
    from repalign.report import build_report

    folder = make_run(tmp_path_factory.mktemp("run") / "run", n_models=60)
    return folder, build_report(folder, title="Test report")

"""The provenance lines read as a person would write them: a study's machine record says
``threads: 2 intra-op, ...`` once (not ``threads: threads: ...``), no GPU is ``none`` (not
``[]``), and the manifest's ``updated`` is when the run was last started."""

from __future__ import annotations

import json
from html import unescape

import pandas as pd

from repalign.report import build_report


def test_machine_line_and_run_times(tmp_path):
    pd.DataFrame({"model": ["a", "b"], "pearson": [0.1, 0.2]}).to_csv(tmp_path / "results.csv", index=False)
    manifest = {"name": "s", "created": 1.7e9, "updated": 1.7e9 + 60,
                "machine": {"host": "node", "cores": 2, "gpus": [],
                            "threads": "threads: 2 intra-op, 2 BLAS, 0 loader worker(s) of 2 (cores; 2 cores available)"}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    text = unescape(build_report(tmp_path, tmp_path / "report").html.read_text(encoding="utf-8"))
    assert "threads: threads:" not in text
    assert "threads: 2 intra-op, 2 BLAS" in text and "gpus: none" in text and "gpus: []" not in text
    assert "run last started" in text and "run last updated" not in text


def test_random_init_weights_name_their_seed(tmp_path):
    pd.DataFrame({"model": ["timm:resnet18", "b"], "pearson": [0.1, 0.2]}).to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"name": "s"}))
    unit = tmp_path / "units" / "timm_resnet18-0"
    unit.mkdir(parents=True)
    (unit / "record.json").write_text(json.dumps({"unit_id": "timm:resnet18", "model": "timm:resnet18", "seconds": 1.0,
                                                  "model_config": {"weights": "random-init", "seed": 3}}))
    text = unescape(build_report(tmp_path, tmp_path / "report").html.read_text(encoding="utf-8"))
    assert "random-init (seed 3)" in text

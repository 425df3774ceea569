"""A random-init model is not the published model: it never gets the published robustness row.

timm's results tables describe the pretrained weights of an architecture. A study entry
``{id: timm:resnet18, pretrained: false}`` is a random initialisation of the same
architecture; joining the table would give it an ImageNet top-1 of 69.7 %.
"""

from __future__ import annotations

import pandas as pd
import pytest

from repalign.models import ModelOptions
from repalign.study.context import UnitContext
from repalign.study.units import _join_robustness


def _tables(shared_data):
    return str(shared_data / "timm_results" / "2022-07")


def test_a_random_init_model_gets_no_published_robustness_row(shared_data):
    tables = _tables(shared_data)
    ctx = UnitContext(robustness_tables=tables, model_options={"timm:resnet18": ModelOptions(pretrained=False, seed=0)})
    wide, record = pd.DataFrame({"model": ["timm:resnet18"]}), {}
    _join_robustness(wide, "timm:resnet18", ctx, record)
    assert "imagenet_top1" not in wide.columns
    assert record["robustness_name"] is None and "random-init" in record["robustness_note"]
    # the same id with its pretrained weights keeps its row
    wide, record = pd.DataFrame({"model": ["timm:resnet18"]}), {}
    _join_robustness(wide, "timm:resnet18", UnitContext(robustness_tables=tables), record)
    assert wide["imagenet_top1"].iloc[0] == pytest.approx(69.748) and record["robustness_name"] == "resnet18"


def test_the_plan_says_random_init_models_have_no_robustness_row(shared_data, tmp_path):
    pytest.importorskip("timm")
    from repalign.study.config import config_from_dict
    from repalign.study.plan import make_plan

    plan = make_plan(config_from_dict({
        "name": "r", "output": str(tmp_path / "r"),
        "models": [{"id": "timm:resnet18", "pretrained": False, "seed": 0}, "timm:mobilenetv3_small_050"],
        "human": {"datasets": ["peterson2018:animals"], "data_root": str(shared_data)},
        "robustness": {"tables": _tables(shared_data)}, "analysis": {"report": False},
    }))
    assert plan.robustness["unmatched"] == ["timm:resnet18"]
    notes = " | ".join(plan.notes)
    assert "1 model has no row in the robustness tables" in notes  # singular, not "1 models have"
    assert "random-init" in notes


def test_missing_robustness_tables_name_the_config_key(tmp_path):
    from repalign._errors import RepalignError
    from repalign.study.config import config_from_dict
    from repalign.study.plan import make_plan

    config = config_from_dict({
        "name": "r", "output": str(tmp_path / "r"), "models": ["zoo"], "human": {"datasets": ["zoo"]},
        "robustness": {"tables": str(tmp_path / "no-such-tables")}, "analysis": {"report": False},
    })
    with pytest.raises(RepalignError, match=r"robustness\.tables: .*no-such-tables.*no such folder.*directory you run"):
        make_plan(config)


def test_the_dry_run_says_random_init_models_load_no_weights(shared_data, tmp_path, monkeypatch, capsys):
    pytest.importorskip("timm")
    import yaml

    from repalign.cli import main
    from repalign.study import estimate

    monkeypatch.setattr(estimate, "calibrate", lambda *a, **k: {"seconds_per_image": 0.01, "grids": {}})
    cfg = tmp_path / "s.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "r", "output": str(tmp_path / "r"), "models": [{"id": "timm:resnet18", "pretrained": False, "seed": 0}],
        "human": {"datasets": ["peterson2018:animals"], "data_root": str(shared_data)}, "analysis": {"report": False},
    }))
    assert main(["study", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 present in the local cache, 1 random-init (no weights to load), 0 missing" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("timm:resnet18"))
    assert row.split()[1] == "random-init", row

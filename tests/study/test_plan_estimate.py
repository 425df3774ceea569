"""Honest plans: weights present or missing per model, and an estimated time with its basis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repalign.cli import main
from repalign.study.config import config_from_dict
from repalign.study.estimate import estimate_time, weights_report
from repalign.study.plan import make_plan, run_study

REPO = Path(__file__).resolve().parents[2]
FAKE_CALIBRATION = {"seconds_per_image": 0.01, "grids": {}}


def _zoo_config(tmp_path):
    return config_from_dict({
        "name": "z", "output": str(tmp_path / "z"), "models": ["zoo"],
        "zoo": {"n_classes": 3, "n_per_class": 6, "models_per_family": 1, "seed": 0},
        "human": {"datasets": ["zoo"]},
        "transfer": [{"dataset": "zoo", "shots": [1], "heads": ["linear"], "seeds": 1}],
        "analysis": {"report": False},
    })


def test_zoo_plan_weights_present_and_time_from_finished_units(tmp_path):
    plan = make_plan(_zoo_config(tmp_path))
    weights = weights_report(plan.units, plan.model_options)
    assert set(weights) == set(plan.units) and all(w["present"] and w["download_bytes"] == 0 for w in weights.values())
    before = estimate_time(plan, calibration=FAKE_CALIBRATION)
    assert before["remaining_units"] == 3 and "calibrated on this machine" in before["basis"]["zoo"]
    # once units have finished, the estimate is their measured median
    run_study(_zoo_config(tmp_path))
    after = estimate_time(make_plan(_zoo_config(tmp_path)), calibration=FAKE_CALIBRATION)
    assert after["remaining_units"] == 0 and after["finished_units"] == 3 and after["seconds"] == 0


def test_the_calibration_is_measured_once_and_cached(tmp_path, monkeypatch):
    pytest.importorskip("timm")
    from repalign.study import estimate

    grid = (5, (1, 2), ("linear", "mlp2"), 2)
    first = estimate.calibrate("cpu", 4, grids=[grid])
    timed = first["grids"][estimate._grid_key(*grid)]
    assert first["seconds_per_image"] > 0 and set(timed["seconds"]) == {"linear", "mlp2"}
    assert all(timed["seconds"][h] > 0 for h in ("linear", "mlp2")) and timed["dim"] == estimate.CALIBRATION_DIM
    monkeypatch.setattr(estimate, "_time_embedding", lambda *a: pytest.fail("measured twice"))
    monkeypatch.setattr(estimate, "_time_grid", lambda *a: pytest.fail("measured twice"))
    assert estimate.calibrate("cpu", 4, grids=[grid]) == first


def test_a_stale_calibration_format_is_measured_again(monkeypatch):
    from repalign.study import estimate

    path = estimate._calibration_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    old_key = estimate._machine_key("cpu", 4)  # what the first format used as its key
    path.write_text(json.dumps({old_key: {"seconds_per_image": 99.0, "fit": {"mlp1": 24.0}}}))
    monkeypatch.setattr(estimate, "_time_embedding", lambda *a: 0.5)
    assert estimate.calibrate("cpu", 4)["seconds_per_image"] == 0.5


def _checkout_layout(tmp_path, shared_data):
    """A folder like a checkout (configs/ inside, ../shared/data beside it), as paper.yaml expects."""
    repo = tmp_path / "repalign"
    repo.mkdir()
    (repo / "configs").symlink_to(REPO / "configs", target_is_directory=True)
    (tmp_path / "shared").symlink_to(shared_data.parent, target_is_directory=True)
    return repo


def test_paper_dry_run_shows_weights_and_an_estimated_time(shared_data, tmp_path, monkeypatch, capsys):
    from repalign.study import estimate

    monkeypatch.chdir(_checkout_layout(tmp_path, shared_data))
    monkeypatch.setattr(estimate, "calibrate", lambda *a, **k: FAKE_CALIBRATION)
    assert main(["study", "configs/paper.yaml", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert len(plan["weights"]) == 488
    assert all(set(w) >= {"present", "download_bytes", "where"} for w in plan["weights"].values())
    assert plan["estimate"]["seconds"] > 0 and "image" in plan["estimate"]["basis"]
    assert any("cifar100" in n and "published size" in n for n in plan["notes"])
    assert main(["study", "configs/paper.yaml", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "weights:" in text and "present in the local cache" in text and "missing" in text
    assert "time:       about" in text


def test_data_root_replaces_the_configs_human_data_root(shared_data, tmp_path, monkeypatch, capsys):
    from repalign.study import estimate

    monkeypatch.setattr(estimate, "calibrate", lambda *a, **k: FAKE_CALIBRATION)
    config = tmp_path / "s.yaml"
    config.write_text(f"name: s\noutput: {tmp_path / 'out'}\nmodels: [efficientnet-lite:lite0]\n"
                      "human: {datasets: [peterson2018], data_root: /nonexistent/data}\nanalysis: {report: false}\n")
    assert main(["study", str(config), "--dry-run", "--json"]) == 0
    assert "peterson2018" in json.loads(capsys.readouterr().out)["missing"][0]
    assert main(["study", str(config), "--dry-run", "--json", "--data-root", str(shared_data)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["missing"] == [] and plan["human"][0]["root"] == str(shared_data / "peterson2018")
    assert main(["study", str(config), "--dry-run", "--data-root", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("repalign study: error: --data-root") and "no such folder" in err[0]


def test_the_estimate_uses_the_configured_image_size(shared_data, tmp_path):
    """A model run at image_size 96 embeds (96/224)^2 of the pixels the table's 224 would cost."""
    pytest.importorskip("timm")
    plan = make_plan(config_from_dict({
        "name": "s", "output": str(tmp_path / "s"),
        "models": ["timm:resnet18", {"id": "timm:resnet34", "pretrained": False, "seed": 0, "image_size": 96}],
        "human": {"datasets": ["peterson2018:animals"], "data_root": str(shared_data)},
        "robustness": {"tables": str(shared_data / "timm_results" / "2022-07")}, "analysis": {"report": False},
    }))
    timing = estimate_time(plan, calibration=FAKE_CALIBRATION)
    images = plan.estimate()["images_to_embed_per_model"]
    assert timing["per_model"]["timm:resnet18"] == pytest.approx(images * 0.01 * 1.0)  # the reference model
    rows = __import__("repalign.study.units", fromlist=["_timm_table"])._timm_table(str(shared_data / "timm_results" / "2022-07"))
    params34 = float(rows.set_index("model").loc["resnet34", "param_count"])
    assert timing["per_model"]["timm:resnet34"] == pytest.approx(images * 0.01 * params34 / 11.69 * (96 / 224) ** 2)

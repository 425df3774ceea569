"""Studies end to end: config validation, dry runs, resume after kill -9, failures, executors.

The small study uses random-weight timm models (and a ``python:`` model that can crash its
process) on a dozen real Peterson images and a few real CIFAR-10 images from ../shared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from repalign import InputError
from repalign.cli import main
from repalign.study.config import config_from_dict, load_config
from repalign.study.plan import make_plan, run_study
from repalign.study.store import RunStore

REPO = Path(__file__).resolve().parents[2]
CRASHING = REPO / "tests" / "study" / "crashing_model.py"


# -- configuration -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "data, message",
    [
        ({"models": ["zoo"], "humna": {}}, "humna: unknown key. Did you mean 'human'"),
        ({"models": []}, "models must be a non-empty list"),
        ({}, "models: is required"),
        ({"models": ["zoo"], "human": {"metrics": ["pearsn"]}}, r"human.metrics\[0\]: 'pearsn' is not one of .* Did you mean 'pearson'"),
        ({"models": ["zoo"], "transfer": [{"dataset": "zoo", "shots": [1, 0]}]}, r"transfer\[0\].shots\[1\]: must be >= 1"),
        ({"models": ["zoo"], "transfer": [{"dataset": "zoo", "seeds": "five"}]}, r"transfer\[0\].seeds: must be an integer"),
        ({"models": ["zoo"], "transfer": [{"shots": [1]}]}, r"transfer\[0\].dataset: is required"),
        ({"models": [{"id": "timm:resnet18", "pattern": "timm:res*"}]}, r"models\[0\]: give exactly one of 'id' or 'pattern'"),
        ({"models": [{"id": "timm:resnet18", "pretrained": "no"}]}, r"models\[0\].pretrained: must be true or false"),
        ({"models": ["zoo"], "execution": {"executor": "dask"}}, r"execution.executor: 'dask' is not one of local, ray"),
        ({"models": ["zoo"], "zoo": {"n_clases": 3}}, r"zoo.n_clases: unknown key. Did you mean 'n_classes'"),
        ({"models": ["zoo"], "human": {"ties": "sometimes"}}, "human.ties: 'sometimes' is not one of half, exclude"),
    ],
)
def test_config_errors_name_the_place(data, message):
    with pytest.raises(InputError, match=message):
        config_from_dict(data, source="study.yaml")


def test_config_file_errors(tmp_path):
    with pytest.raises(InputError, match="no such study config"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("models: [zoo\nhuman: {")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "evil.yaml").write_text("models: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(InputError, match="not valid YAML"):  # safe_load refuses Python tags
        load_config(tmp_path / "evil.yaml")


def test_fingerprint_ignores_execution_settings():
    a = config_from_dict({"models": ["zoo"], "execution": {"workers": 1}})
    b = config_from_dict({"models": ["zoo"], "execution": {"workers": 4, "executor": "ray"}, "output": "elsewhere"})
    c = config_from_dict({"models": ["zoo"], "human": {"ties": "exclude"}})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_paper_config_dry_run(shared_data, tmp_path, monkeypatch, capsys):
    from repalign.study import estimate
    from tests.study.test_plan_estimate import FAKE_CALIBRATION, _checkout_layout

    # the config's relative paths are relative to the working directory: a checkout's layout
    monkeypatch.chdir(_checkout_layout(tmp_path, shared_data))
    monkeypatch.setattr(estimate, "calibrate", lambda *a, **k: FAKE_CALIBRATION)  # timed in test_plan_estimate
    assert main(["study", "configs/paper.yaml", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert len(plan["units"]) == 488 and plan["units"][0].startswith("paper:")
    assert [u.split(" ")[0] for u in plan["unresolved"]] == ["paper:gluon_xception65"]
    human = plan["human"][0]
    assert human["name"] == "peterson2018" and len(human["parts"]) == 6
    assert plan["robustness"]["unmatched"] == []
    assert plan["estimate"]["fewshot_fits_per_model"] == 6 * 3 * 5
    # CIFAR-100 is not on this machine: the plan says so instead of failing
    assert any("cifar100" in m for m in plan["missing"])
    assert main(["study", "configs/paper.yaml", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "488 models" in text and "MISSING" in text


# -- a small real study -----------------------------------------------------------------

@pytest.fixture
def mini_data(shared_data, tmp_path):
    """A dozen real Peterson animals (matrix and images) and 3 CIFAR-10 classes x 6 images."""
    from repalign import load_representation

    src = shared_data / "peterson2018"
    human = load_representation(src / "similarity" / "animals.csv")
    ids = list(human.ids[:12])
    sub = human.select(ids)
    root = tmp_path / "data" / "mini"
    (root / "similarity").mkdir(parents=True)
    (root / "images" / "animals").mkdir(parents=True)
    pd.DataFrame(sub.values, index=ids, columns=ids).rename_axis("stimulus").to_csv(root / "similarity" / "animals.csv")
    for i in ids:
        shutil.copy(src / "images" / "animals" / i, root / "images" / "animals" / i)
    cifar = tmp_path / "data" / "cifar3"
    for cls in ("airplane", "cat", "ship"):
        (cifar / cls).mkdir(parents=True)
        for f in sorted((shared_data / "cifar10" / "test" / cls).iterdir())[:6]:
            shutil.copy(f, cifar / cls / f.name)
    return tmp_path / "data"


def write_config(path: Path, data_root: Path, out: Path, models: list, **extra) -> Path:
    cfg = {
        "name": "mini",
        "output": str(out),
        "models": models,
        "human": {"datasets": ["mini"], "data_root": str(data_root), "metrics": ["pearson", "spearman", "triplet"]},
        "transfer": [{"name": "cifar3", "dataset": "imagefolder", "root": str(data_root / "cifar3"),
                      "shots": [1, 2], "heads": ["linear", "mlp1"], "seeds": 2}],
        "analysis": {"covariate": None, "report": False},
        "extraction": {"batch_size": 12, "device": "cpu"},
        **extra,
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


TINY = [
    {"id": "timm:test_resnet", "pretrained": False, "seed": 0, "image_size": 32},
    {"id": f"python:{CRASHING}:build"},
    {"id": "timm:test_vit", "pretrained": False, "seed": 1},
]


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.mark.slow
def test_resume_after_kill_9_and_failure_isolation(mini_data, tmp_path, capsys):
    out = tmp_path / "run"
    models = [*TINY, {"id": "timm:test_efficientnet", "weights": str(tmp_path / "no-such-weights.safetensors")}]
    cfg = write_config(tmp_path / "study.yaml", mini_data, out, models)
    env = dict(os.environ, REPALIGN_TEST_CRASH_FLAG=str(tmp_path / "crashed"))
    cmd = [sys.executable, "-m", "repalign", "study", str(cfg)]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == -9, first.stderr[-2000:]  # SIGKILL inside the python: model's unit
    store = RunStore(out)
    assert list(store.done_units()) == ["timm:test_resnet"]
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 1, second.stderr[-2000:]  # one unit failed (its weights are missing)
    assert "no-such-weights.safetensors" in second.stdout
    status = store.status().set_index("unit_id")["status"].to_dict()
    assert status == {"timm:test_resnet": "done", f"python:{CRASHING}:build": "done",
                      "timm:test_vit": "done", "timm:test_efficientnet": "failed"}
    results = pd.read_parquet(out / "results.parquet")
    fewshot = pd.read_parquet(out / "fewshot.parquet")
    alignment = pd.read_parquet(out / "alignment.parquet")
    assert sorted(results["model"]) == sorted(u for u, s in status.items() if s == "done")
    assert len(alignment) == 3 * 3 and not alignment.duplicated(["model", "dataset", "metric"]).any()
    assert len(fewshot) == 3 * 2 * 2 * 2 and not fewshot.duplicated(["model", "head", "shots", "seed"]).any()
    assert results["pearson_animals"].notna().all() and results["fewshot_linear_1"].between(0, 100).all()
    # the status command
    assert main(["status", str(out), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert counts == {"done": 3, "failed": 1, "pending": 0}
    # a third run changes nothing: finished units are skipped
    third = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert third.returncode == 1
    pd.testing.assert_frame_equal(pd.read_parquet(out / "fewshot.parquet"), fewshot)


@pytest.mark.slow
def test_local_and_ray_executors_agree(mini_data, tmp_path):
    pytest.importorskip("ray")
    models = [TINY[0], TINY[2]]
    local = load_config(write_config(tmp_path / "a.yaml", mini_data, tmp_path / "local", models))
    ray_cfg = load_config(write_config(tmp_path / "b.yaml", mini_data, tmp_path / "ray", models,
                                       execution={"executor": "ray"}))
    run_a, _ = run_study(local)
    run_b, _ = run_study(ray_cfg)
    assert sorted(run_a.finished) == sorted(run_b.finished) == sorted(m["id"] for m in models)
    for table, keys in (("results", ["model"]), ("alignment", ["model", "dataset", "metric"]),
                        ("fewshot", ["model", "head", "shots", "seed"])):
        a = _sorted(pd.read_parquet(tmp_path / "local" / f"{table}.parquet"), keys)
        b = _sorted(pd.read_parquet(tmp_path / "ray" / f"{table}.parquet"), keys)
        pd.testing.assert_frame_equal(a, b)


def test_zoo_study_with_report(tmp_path):
    cfg = config_from_dict({
        "name": "zoo-mini", "output": str(tmp_path / "zoo"), "models": ["zoo"],
        "zoo": {"n_classes": 3, "n_per_class": 8, "models_per_family": 2, "seed": 0},
        "human": {"datasets": ["zoo"]},
        "transfer": [{"dataset": "zoo", "shots": [1, 2], "heads": ["linear"], "seeds": 2}],
        "analysis": {"covariate": None, "k": 1},
    })
    plan = make_plan(cfg)
    assert len(plan.units) == 6 and all(u.startswith("zoo:") for u in plan.units)
    run, outputs = run_study(cfg)
    assert len(run.finished) == 6 and not run.failed
    results = pd.read_csv(tmp_path / "zoo" / "results.csv")
    assert {"pearson", "spearman", "triplet", "fewshot_linear_1", "fewshot_linear_2"} <= set(results.columns)
    assert outputs["report"].is_file()
    # the zoo's triplet alignment is the exact metric against the teacher
    from repalign import compare
    from repalign.models.sources._zoo import synthetic_zoo

    zoo = synthetic_zoo(cfg.zoo)
    name = results["model"].iloc[0][len("zoo:"):]
    assert results["triplet"].iloc[0] == pytest.approx(compare(zoo.models[name], zoo.teacher)["triplet"], abs=1e-12)


def test_changed_config_refuses_to_mix_runs(tmp_path):
    base = {"name": "z", "output": str(tmp_path / "z"), "models": ["zoo:noise-00"],
            "zoo": {"n_classes": 3, "n_per_class": 6, "models_per_family": 1},
            "human": {"datasets": ["zoo"]}, "transfer": [{"dataset": "zoo", "shots": [1], "heads": ["linear"], "seeds": 1}],
            "analysis": {"report": False}}
    run_study(config_from_dict(base))
    changed = dict(base, human={"datasets": ["zoo"], "ties": "exclude"})
    with pytest.raises(InputError, match="different settings"):
        run_study(config_from_dict(changed))


def test_data_missing_stops_before_running(tmp_path):
    cfg = config_from_dict({"models": ["zoo:noise-00"], "output": str(tmp_path / "o"),
                            "zoo": {"n_classes": 3, "n_per_class": 6, "models_per_family": 1},
                            "transfer": [{"dataset": "cifar100"}], "human": {"datasets": ["zoo"]}})
    with pytest.raises(InputError, match="every unit would fail"):
        run_study(cfg)
    assert not (tmp_path / "o").exists()

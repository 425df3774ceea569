"""``repalign extract MODEL STIMULI --out FILE``, and its output read by ``repalign align``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from repalign import load_representation
from repalign.cli import main

pytest.importorskip("timm")


@pytest.fixture
def folder(shared_data, tmp_path):
    src = sorted((shared_data / "peterson2018" / "images" / "animals").glob("*.png"))[:6]
    d = tmp_path / "stim"
    d.mkdir()
    for p in src:
        shutil.copyfile(p, d / p.name)
    return d


def test_extract_then_align(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REPALIGN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "feats.npz"
    args = ["extract", "timm:test_resnet", str(folder), "--out", str(out), "--random-init", "--batch-size", "4"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "timm:test_resnet: 6 stimuli x 96 features" in text and "penultimate" in text
    rep = load_representation(out)
    assert rep.kind == "features" and rep.values.shape == (6, 96) and rep.ids[0] == sorted(p.name for p in folder.iterdir())[0]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["model_id"] == "timm:test_resnet" and meta["model"]["weights"] == "random-init"
    assert meta["stimuli"]["n_stimuli"] == 6
    assert main(args + ["--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["cache_hit"] is True
    other = tmp_path / "layer3.npz"
    assert main(["extract", "timm:test_resnet", str(folder), "--out", str(other), "--random-init",
                 "--layer", "layer3", "--pool", "max", "--no-cache"]) == 0
    capsys.readouterr()
    assert main(["align", str(out), str(other), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["n_stimuli"] == 6 and -1 <= scores["pearson"] <= 1
    assert np.isfinite(load_representation(other).values).all()


@pytest.mark.parametrize(
    "args, message",
    [
        (["extract", "foo:bar", "x", "--out", "y.npz"], "Unknown model source 'foo'"),
        (["extract", "timm:test_resnet", "{folder}", "--out", "y.csv"], "give a path ending in .npz"),
        (["extract", "timm:test_resnet", "{folder}", "--out", "y.npz", "--random-init", "--weights", "w.pth"],
         "not both"),
        (["extract", "timm:test_resnet", "{folder}", "--out", "{tmp}/y.npz", "--random-init", "--device", "cuda:7"],
         "not available"),
    ],
)
def test_extract_errors_exit_2(args, message, folder, tmp_path, capsys):
    if "cuda:7" in args:
        import torch

        if torch.cuda.device_count() > 7:
            pytest.skip("this machine has a GPU 7")
    args = [a.format(folder=folder, tmp=tmp_path) for a in args]
    assert main(args) == 2
    assert message in capsys.readouterr().err

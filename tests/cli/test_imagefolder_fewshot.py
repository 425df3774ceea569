"""extract on an ImageFolder stores the labels, so `repalign fewshot F.npz` runs from the CLI alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from repalign.cli import main

pytest.importorskip("torch")
pytest.importorskip("timm")


@pytest.fixture
def image_folder(tmp_path):
    """3 classes x 8 images, each class a different base colour (so a random network separates them)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "folder"
    for c, (name, colour) in enumerate({"cat": (200, 40, 40), "dog": (40, 200, 40), "owl": (40, 40, 200)}.items()):
        (root / name).mkdir(parents=True)
        for i in range(8):
            pixels = np.clip(np.array(colour) + rng.normal(0, 25, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{name}{i}.png")
    return root


def test_imagefolder_extract_then_fewshot(image_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REPALIGN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "feats.npz"
    assert main(["extract", "timm:test_resnet", str(image_folder), "--random-init", "--image-size", "32",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ImageFolder (3 class sub-folders)" in err and "labels" in err
    with np.load(out) as npz:
        assert npz["ids"][0] == "cat/cat0.png" and sorted(set(npz["labels"].tolist())) == ["cat", "dog", "owl"]
        assert [i.split("/")[0] for i in npz["ids"].tolist()] == npz["labels"].tolist()
    assert main(["fewshot", str(out), "--shots", "1,3", "--heads", "linear", "--seeds", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    text = json.dumps(result)
    assert "linear" in text
    # a cache hit keeps the labels too
    out2 = tmp_path / "again.npz"
    assert main(["extract", "timm:test_resnet", str(image_folder), "--random-init", "--image-size", "32",
                 "--out", str(out2)]) == 0
    with np.load(out2) as npz:
        assert "labels" in npz.files
    # the multi-layer file carries them as well
    out3 = tmp_path / "layers.npz"
    assert main(["extract", "timm:test_resnet", str(image_folder), "--random-init", "--image-size", "32",
                 "--layers", "layer4", "--out", str(out3)]) == 0
    with np.load(out3) as npz:
        assert npz["labels"].tolist()[0] == "cat"


def test_a_python_model_returning_one_row_per_batch_is_one_error_line(image_folder, tmp_path, capsys):
    code = tmp_path / "mymodel.py"
    code.write_text(
        "import torch\n"
        "import torchvision.transforms as T\n"
        "class M(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return x.flatten(1).mean(0, keepdim=True)\n"
        "def build():\n"
        "    return M(), T.Compose([T.Resize((16, 16)), T.ToTensor()])\n"
    )
    rc = main(["extract", f"python:{code}:build", str(image_folder / "cat"), "--out", str(tmp_path / "x.npz"),
               "--batch-size", "4"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("error:") == 1 and "Traceback" not in err
    assert "returned 1 rows for 4 stimuli on batch 1 of 2" in err and "python:" in err
    rc = main(["extract", f"python:{tmp_path / 'missing.py'}:build", str(image_folder / "cat"),
               "--out", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err
    assert rc == 2 and "no such file" in err and "Traceback" not in err
    rc = main(["extract", "timm:test_resnet", str(image_folder / "cat"), "--random-init", "--device", "gpu",
               "--out", str(tmp_path / "x.npz")])
    assert rc == 2 and "--device 'gpu'" in capsys.readouterr().err


def test_max_per_class_keeps_the_first_images_of_each_class(image_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REPALIGN_CACHE", str(tmp_path / "cache"))
    common = ["timm:test_resnet", str(image_folder), "--random-init", "--image-size", "32"]
    full, some = tmp_path / "full.npz", tmp_path / "some.npz"
    assert main(["extract", *common, "--out", str(full)]) == 0
    assert main(["extract", *common, "--max-per-class", "3", "--out", str(some)]) == 0
    with np.load(full) as a, np.load(some) as b:
        expected = [f"{c}/{c}{i}.png" for c in ("cat", "dog", "owl") for i in range(3)]
        assert b["ids"].tolist() == expected
        assert b["labels"].tolist() == [i.split("/")[0] for i in expected]
        rows = [a["ids"].tolist().index(i) for i in expected]
        np.testing.assert_allclose(b["features"], a["features"][rows], rtol=1e-5, atol=1e-6)  # same images, same rows
    assert main(["extract", *common, "--max-per-class", "2", "--layers", "layer4", "--out", str(tmp_path / "l.npz")]) == 0
    with np.load(tmp_path / "l.npz") as npz:
        assert npz["labels"].tolist() == ["cat", "cat", "dog", "dog", "owl", "owl"]
    capsys.readouterr()
    # a plain folder of images has no classes: refused with the flag to drop
    rc = main(["extract", "timm:test_resnet", str(image_folder / "cat"), "--random-init", "--max-per-class", "2",
               "--out", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("error:") == 1 and "--max-per-class applies to an ImageFolder root" in err
    rc = main(["extract", *common, "--max-per-class", "0", "--out", str(tmp_path / "x.npz")])
    assert rc == 2 and "--max-per-class 0: must be at least 1" in capsys.readouterr().err

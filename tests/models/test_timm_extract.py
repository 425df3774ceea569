"""timm extraction against a hand-written timm loop, on random-initialised models of three
families (a CNN, a ViT, an MLP-mixer) at small input sizes and a dozen real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import timm
import torch

from repalign import InputError
from repalign.data.images import load_image
from repalign.models import extract_features, load_model, model_config

#: (model id, build kwargs, image size): tiny members of three families.
FAMILIES = {
    "cnn": ("timm:test_resnet", {}, None),
    "vit": ("timm:test_vit", {}, None),
    "mixer": ("timm:mixer_s32_224", {"img_size": 64}, 64),
}


def reference_features(arch: str, kwargs: dict, image_size: int | None, paths: list[Path], seed: int = 0) -> np.ndarray:
    """What a user would write by hand with timm: seeded random init, the model's data config,
    timm's eval transform, forward_features -> forward_head(pre_logits=True)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = timm.create_model(arch, pretrained=False, **kwargs).eval()
    cfg = timm.data.resolve_data_config(model=model)
    if image_size is not None:
        cfg["input_size"] = (3, image_size, image_size)
    tf = timm.data.create_transform(**cfg)
    x = torch.stack([tf(load_image(p)) for p in paths])
    with torch.inference_mode():
        return model.forward_head(model.forward_features(x), pre_logits=True).numpy()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_penultimate_matches_a_hand_written_timm_loop(family, animal_pairs):
    model_id, kwargs, size = FAMILIES[family]
    feats = extract_features(model_id, animal_pairs, pretrained=False, model_kwargs=kwargs, image_size=size,
                             batch_size=5, cache=False)
    arch = model_id.split(":")[1]
    built = timm.create_model(arch, pretrained=False, **kwargs)
    width = getattr(built, "head_hidden_size", None) or built.num_features
    assert feats.shape == (12, width) == (12, built.num_features)
    assert feats.ids == tuple(n for n, _ in animal_pairs)
    ref = reference_features(arch, kwargs, size, [p for _, p in animal_pairs])
    np.testing.assert_allclose(feats.features, ref, rtol=1e-5, atol=1e-5)
    assert feats.metadata["layer"] == "penultimate" and feats.metadata["pool"] == "none"


@pytest.mark.parametrize("family", ["cnn", "vit"])
def test_extraction_is_deterministic_and_batch_size_invariant(family, animal_pairs):
    model_id, kwargs, size = FAMILIES[family]
    a = extract_features(model_id, animal_pairs, pretrained=False, batch_size=12, cache=False)
    b = extract_features(model_id, animal_pairs, pretrained=False, batch_size=12, cache=False)
    c = extract_features(model_id, animal_pairs, pretrained=False, batch_size=5, cache=False)
    assert np.array_equal(a.features, b.features)  # bit for bit
    np.testing.assert_allclose(a.features, c.features, rtol=1e-5, atol=1e-6)
    other_seed = extract_features(model_id, animal_pairs, pretrained=False, seed=1, cache=False)
    assert not np.allclose(a.features, other_seed.features)


@pytest.mark.parametrize("fmt", ["safetensors", "pth"])
def test_saved_then_loaded_weights_give_identical_features(fmt, tmp_path, animal_pairs):
    """A user without hub access downloads weights elsewhere and passes them with --weights."""
    random = load_model("timm:test_resnet", pretrained=False, seed=3)
    state = random.module.state_dict()
    path = tmp_path / f"weights.{fmt}"
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save({"state_dict": state}, path)  # wrapped, as training scripts save them
    direct = extract_features(random, animal_pairs, cache=False)
    loaded = extract_features("timm:test_resnet", animal_pairs, weights=path, cache=False)
    assert np.array_equal(direct.features, loaded.features)
    assert loaded.metadata["model"]["weights"] == "file"
    assert loaded.metadata["model"]["weights_sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()


def test_intermediate_hook_and_penultimate_agree_for_a_resnet(animal_pairs):
    """For a ResNet, pre-logits = global average pool of the last stage: three read-outs, one answer."""
    loaded = load_model("timm:test_resnet", pretrained=False)
    pen = extract_features(loaded, animal_pairs, cache=False).features
    inter = extract_features(loaded, animal_pairs, layer="intermediate:-1", cache=False)
    hooked = extract_features(loaded, animal_pairs, layer="layer4", cache=False)
    assert inter.metadata["pool"] == "avg" and hooked.metadata["layer"] == "layer4"
    np.testing.assert_allclose(inter.features, pen, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hooked.features, pen, rtol=1e-5, atol=1e-6)
    mx = extract_features(loaded, animal_pairs, layer="layer4", pool="max", cache=False).features
    assert (mx >= hooked.features - 1e-6).all()


def test_vit_token_pooling_is_explicit(animal_pairs):
    loaded = load_model("timm:test_vit", pretrained=False)
    x = torch.stack([loaded.transform(load_image(p)) for _, p in animal_pairs])
    captured = []
    handle = loaded.module.blocks[1].register_forward_hook(lambda m, i, o: captured.append(o))
    with torch.inference_mode():
        loaded.module(x)
    handle.remove()
    tokens = captured[0].numpy()  # (N, 1 + patches, C)
    cls = extract_features(loaded, animal_pairs, layer="blocks.1", pool="cls", cache=False).features
    avg = extract_features(loaded, animal_pairs, layer="blocks.1", pool="avg", cache=False).features
    np.testing.assert_allclose(cls, tokens[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(avg, tokens.mean(axis=1), rtol=1e-5, atol=1e-6)
    inter = extract_features(loaded, animal_pairs, layer="intermediate:1", cache=False).features
    np.testing.assert_allclose(inter, tokens[:, 1:].mean(axis=1), rtol=1e-4, atol=1e-5)  # NCHW, prefix dropped


def test_bad_layers_and_pools_are_explained(animal_pairs):
    loaded = load_model("timm:test_resnet", pretrained=False)
    with pytest.raises(InputError, match=r"no layer 'layr4'.*Did you mean layer4"):
        extract_features(loaded, animal_pairs, layer="layr4", cache=False)
    with pytest.raises(InputError, match="choose a pool"):
        extract_features(loaded, animal_pairs, layer="layer4", pool="none", cache=False)
    with pytest.raises(InputError, match="needs token outputs"):
        extract_features(loaded, animal_pairs, layer="layer4", pool="cls", cache=False)
    with pytest.raises(InputError, match="Unknown pool"):
        extract_features(loaded, animal_pairs, pool="mean", cache=False)
    with pytest.raises(InputError, match="no intermediate layer 9"):
        extract_features(loaded, animal_pairs, layer="intermediate:9", cache=False)
    with pytest.raises(InputError, match="batch_size"):
        extract_features(loaded, animal_pairs, batch_size=0)


def test_config_pins_tag_and_records_preprocessing_without_building():
    cfg = model_config("timm:test_resnet", pretrained=False)
    assert cfg.model_id == "timm:test_resnet" and cfg.weights == "random-init"  # random weights have no tag
    assert cfg.provenance["preprocessing_from"] == "test_resnet.r160_in1k"
    assert model_config("timm:test_resnet.r160_in1k", pretrained=False).model_id == "timm:test_resnet.r160_in1k"
    assert cfg.preprocessing["input_size"] == (3, 160, 160)
    assert cfg.preprocessing["interpolation"] == "bilinear"
    small = model_config("timm:test_resnet", pretrained=False, image_size=96, preprocessing={"mean": [0, 0, 0]})
    assert small.preprocessing["input_size"] == (3, 96, 96) and small.preprocessing["mean"] == (0, 0, 0)
    with pytest.raises(InputError, match="unknown preprocessing key"):
        model_config("timm:test_resnet", pretrained=False, preprocessing={"size": 3})
    with pytest.raises(InputError, match="not a timm architecture.*resnet50"):
        model_config("timm:resnet5O")
    with pytest.raises(InputError, match="either weights=FILE or pretrained=False"):
        model_config("timm:test_resnet", pretrained=False, weights="x.pth")


def test_streams_in_batches_with_workers(animal_pairs, monkeypatch):
    """With DataLoader workers the result is the same; no batch ever exceeds batch_size images."""
    import repalign.models.extract as ex

    sizes = []
    real = ex._run_images

    def spy(loaded, read, *args, **kwargs):
        return real(loaded, lambda x: (sizes.append(x.shape[0]), read(x))[1], *args, **kwargs)

    monkeypatch.setattr(ex, "_run_images", spy)
    a = extract_features("timm:test_resnet", animal_pairs, pretrained=False, batch_size=5, num_workers=2, cache=False)
    b = extract_features("timm:test_resnet", animal_pairs, pretrained=False, batch_size=12, num_workers=0, cache=False)
    assert sizes == [5, 5, 2, 12]
    np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)
    assert a.metadata["num_workers"] == 2


@pytest.mark.parametrize("workers", [0, 1])
def test_a_corrupt_stimulus_is_named_cleanly(workers, image_folder):
    bad = image_folder / "zz-broken.png"
    bad.write_bytes(sorted(image_folder.iterdir())[0].read_bytes()[:300])
    with pytest.raises(InputError) as err:
        extract_features("timm:test_resnet", image_folder, pretrained=False, image_size=32, batch_size=4,
                         num_workers=workers, cache=False)
    msg = str(err.value)
    assert "zz-broken.png: corrupt or truncated image" in msg and "Traceback" not in msg

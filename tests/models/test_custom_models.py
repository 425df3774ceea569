"""Your own torch module or callable, any list of stimuli: results equal a hand-written forward pass."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from repalign import InputError
from repalign.models import extract_features

torch = pytest.importorskip("torch")
tv = pytest.importorskip("torchvision")


@pytest.fixture
def pngs(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "pngs"
    d.mkdir()
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (40 + i, 36, 3), dtype=np.uint8)).save(d / f"img{i}.png")
    return sorted(d.glob("*.png"))


def _resnet():
    torch.manual_seed(0)
    return tv.models.resnet18(weights=None, num_classes=7).eval()


def _transform():
    import torchvision.transforms as T

    return T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor(), T.Normalize((0.5,) * 3, (0.25,) * 3)])


def _by_hand(model, tf, paths, layer=None):
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in paths])
    with torch.inference_mode():
        if layer is None:
            return model(x).numpy()
        out = []
        h = dict(model.named_modules())[layer].register_forward_hook(lambda m, i, o: out.append(o))
        model(x)
        h.remove()
        return out[0].mean(dim=(2, 3)).numpy()


def test_a_torch_module_with_a_transform_equals_a_hand_written_forward(pngs):
    model, tf = _resnet(), _transform()
    feats = extract_features(model, pngs, transform=tf, batch_size=2, cache=False)
    assert feats.ids == tuple(p.name for p in pngs)  # a list of paths: ids are the file names
    np.testing.assert_allclose(feats.features, _by_hand(model, tf, pngs), rtol=1e-5, atol=1e-5)
    layer3 = extract_features(model, pngs, transform=tf, layer="layer3", cache=False)
    np.testing.assert_allclose(layer3.features, _by_hand(model, tf, pngs, "layer3"), rtol=1e-5, atol=1e-5)
    pen = extract_features(model, pngs, transform=tf, layer="penultimate", cache=False)
    assert pen.shape == (5, 512)
    # a folder, pairs: the same rows
    folder = extract_features(model, pngs[0].parent, transform=tf, batch_size=2, cache=False)
    np.testing.assert_array_equal(folder.features, feats.features)
    pairs = extract_features(model, [(f"s{i}", p) for i, p in enumerate(pngs)], transform=tf, batch_size=2, cache=False)
    assert pairs.ids[0] == "s0"
    np.testing.assert_array_equal(pairs.features, feats.features)


def test_a_preprocessing_config_is_a_transform(pngs):
    model = _resnet()
    cfg = {"resize_size": 36, "crop_size": 32, "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}
    feats = extract_features(model, pngs, transform=cfg, cache=False)
    import torchvision.transforms as T

    tf = T.Compose([T.Resize(36, antialias=True), T.CenterCrop(32), T.PILToTensor(), T.ConvertImageDtype(torch.float),
                    T.Normalize((0.5,) * 3, (0.25,) * 3)])
    np.testing.assert_allclose(feats.features, _by_hand(model, tf, pngs), rtol=1e-5, atol=1e-5)
    timm_style = extract_features(model, pngs, transform={"input_size": (3, 32, 32), "crop_pct": 0.875,
                                                          "interpolation": "bilinear"}, cache=False)
    assert timm_style.shape == (5, 7)
    with pytest.raises(InputError, match="unknown key"):
        extract_features(model, pngs, transform={"size": 3}, cache=False)
    with pytest.raises(InputError, match="give transform="):
        extract_features(model, pngs, cache=False)


def test_a_timm_module_brings_its_own_preprocessing(pngs):
    timm = pytest.importorskip("timm")
    model = timm.create_model("test_resnet", pretrained=False).eval()
    feats = extract_features(model, pngs, layer="penultimate", cache=False)
    tf = timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in pngs])
    with torch.inference_mode():
        ref = model.forward_head(model.forward_features(x), pre_logits=True).numpy()
    np.testing.assert_allclose(feats.features, ref, rtol=1e-5, atol=1e-5)


def test_the_cache_keys_a_module_on_its_weights_and_transform(pngs):
    model, tf = _resnet(), _transform()
    first = extract_features(model, pngs, transform=tf)
    again = extract_features(model, pngs, transform=tf)
    assert not first.cache_hit and again.cache_hit
    np.testing.assert_array_equal(first.features, again.features)
    with torch.no_grad():
        model.fc.bias.add_(1.0)  # new weights: a new key, never a stale hit
    changed = extract_features(model, pngs, transform=tf)
    assert not changed.cache_hit and not np.allclose(changed.features, first.features)
    other_tf = extract_features(model, pngs, transform={"resize_size": 40, "crop_size": 32})
    assert not other_tf.cache_hit
    lam = extract_features(model, pngs, transform=lambda im: tf(im))  # unstable repr: not cached
    lam2 = extract_features(model, pngs, transform=lambda im: tf(im))
    assert not lam.cache_hit and not lam2.cache_hit


def test_a_plain_callable_gets_pil_images_or_tensors_and_is_never_cached(pngs):
    def mean_colour(images):
        return np.stack([np.asarray(im, dtype=np.float32).mean(axis=(0, 1)) for im in images])

    feats = extract_features(mean_colour, pngs, batch_size=2)
    ref = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.float32).mean(axis=(0, 1)) for p in pngs])
    np.testing.assert_allclose(feats.features, ref, rtol=1e-6)
    assert not extract_features(mean_colour, pngs).cache_hit
    tf = _transform()
    on_tensors = extract_features(lambda x: x.flatten(1)[:, :10], pngs, transform=tf)
    assert on_tensors.shape == (5, 10)


def test_what_user_code_returns_is_checked(pngs):
    tf = _transform()
    with pytest.raises(InputError, match=r"returned 1 rows for 2 stimuli on batch 1 of 3"):
        extract_features(lambda x: x.flatten(1).mean(0, keepdim=True), pngs, transform=tf, batch_size=2)
    with pytest.raises(InputError, match=r"returned 4 rows for 2 stimuli"):
        extract_features(lambda x: torch.cat([x, x]).flatten(1), pngs, transform=tf, batch_size=2)
    with pytest.raises(InputError, match=r"NaN or infinite features on batch 1 .*first: stimulus 'img0.png'"):
        extract_features(lambda x: x.flatten(1) / 0.0, pngs, transform=tf, batch_size=2)
    with pytest.raises(InputError, match="complex features"):
        extract_features(lambda x: torch.complex(x.flatten(1), x.flatten(1)), pngs, transform=tf)
    with pytest.raises(InputError, match=r"callable:.*gives shape \(3, 32, 32\) per stimulus.*choose a pool.*batch 1 of 1"):
        extract_features(lambda x: x.numpy(), pngs, transform=tf, batch_size=8)

    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("boom inside the model")

    with pytest.raises(InputError, match=r"module:.*Broken: the model raised RuntimeError: boom inside the model \(on batch 1"):
        extract_features(Broken(), pngs, transform=tf, cache=False)

    def bad_tf(im):
        raise ValueError("bad transform")

    with pytest.raises(InputError, match=r"the preprocessing \(transform\) raised ValueError: bad transform"):
        extract_features(_resnet(), pngs, transform=bad_tf, cache=False)
    with pytest.raises(InputError, match="none of the 2 entries is an existing image file"):
        extract_features(_resnet(), ["x.png", "y.png"], transform=tf)
    with pytest.raises(InputError, match="brings its own preprocessing"):
        extract_features("timm:test_resnet", pngs, transform=tf, pretrained=False)


def test_complex_features_are_refused_on_save_and_load(tmp_path):
    from repalign.models import ExtractedFeatures

    with pytest.raises(InputError, match="complex features"):
        ExtractedFeatures(("a", "b"), np.ones((2, 2), dtype=complex))
    p = tmp_path / "c.npz"
    np.savez(p, ids=np.array(["a", "b"]), features=np.ones((2, 2), dtype=complex))
    from repalign.models import load_features

    with pytest.raises(InputError, match="complex features"):
        load_features(p)


def test_python_source_errors_are_one_line(tmp_path, pngs):
    from repalign.models import load_model

    with pytest.raises(InputError, match=r"python:.*nope\.py: no such file"):
        load_model(f"python:{tmp_path / 'nope.py'}:build")
    bad = tmp_path / "bad_import.py"
    bad.write_text("raise RuntimeError('broken at import')\n")
    with pytest.raises(InputError, match="importing the file raised RuntimeError: broken at import"):
        load_model(f"python:{bad}:build")
    builder = tmp_path / "bad_build.py"
    builder.write_text("def build():\n    raise KeyError('no such layer')\n")
    with pytest.raises(InputError, match="building the model raised KeyError"):
        load_model(f"python:{builder}:build")

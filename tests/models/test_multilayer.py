"""Layers in forward order; many layers in one pass, each equal to a single-layer extraction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from repalign import InputError
from repalign.cli import main
from repalign.models import (
    align_layers,
    extract_features,
    extract_layers,
    list_layers,
    load_layered_features,
    select_layers,
)

torch = pytest.importorskip("torch")
MODEL = "timm:test_resnet"


def test_layers_come_in_forward_order_with_shapes():
    rows = list_layers(MODEL, pretrained=False, image_size=64)
    names = [r["name"] for r in rows]
    assert names.index("conv1") < names.index("layer1") < names.index("layer1.0") < names.index("layer4") < names.index("fc")
    shapes = {r["name"]: r["shape"] for r in rows}
    net = __import__("timm").create_model("test_resnet", pretrained=False)
    with torch.inference_mode():
        x = torch.zeros(1, 3, 64, 64)
        assert shapes["layer2"] == list(net.layer2(net.layer1(net.maxpool(net.act1(net.bn1(net.conv1(x)))))).shape[1:])
    assert shapes["fc"] == [1000]


def test_select_layers_by_name_pattern_and_all():
    avail = ["conv1", "layer1", "layer1.0", "layer2", "fc"]
    assert select_layers("fc,conv1", avail) == ["conv1", "fc"]  # depth order, not the order given
    assert select_layers("layer?", avail) == ["layer1", "layer2"]
    assert select_layers("all", avail) == avail
    with pytest.raises(InputError, match="did you mean layer1"):
        select_layers("layer1x", avail)
    with pytest.raises(InputError, match="matches no layer"):
        select_layers("block*", avail)
    with pytest.raises(InputError, match="with --layer, one at a time"):
        select_layers("penultimate", avail)


def test_each_layer_equals_a_single_layer_extraction(animal_pairs, tmp_path):
    out = tmp_path / "sweep.npz"
    result = extract_layers(MODEL, animal_pairs, "layer1,layer3,fc,act1", out=out, pretrained=False,
                            image_size=64, batch_size=5, cache=False)
    assert result.layers == ("act1", "layer1", "layer3", "fc")  # depth order
    back = load_layered_features(out)
    assert back.ids == tuple(i for i, _ in animal_pairs) and back.layers == result.layers
    for name in back.layers:
        single = extract_features(MODEL, animal_pairs, layer=name, pretrained=False, image_size=64, batch_size=5,
                                  cache=False)
        np.testing.assert_array_equal(back.features(name), single.features)
    maxed = extract_layers(MODEL, animal_pairs, "layer2", out=tmp_path / "max.npz", pool="max", pretrained=False,
                           image_size=64, cache=False)
    single = extract_features(MODEL, animal_pairs, layer="layer2", pool="max", pretrained=False, image_size=64,
                              cache=False)
    np.testing.assert_allclose(load_layered_features(maxed.path).features("layer2"), single.features, rtol=1e-6)


def test_the_sweep_fills_the_single_layer_cache_and_a_rerun_builds_nothing(animal_pairs, tmp_path, monkeypatch):
    extract_layers(MODEL, animal_pairs, "layer?", out=tmp_path / "a.npz", pretrained=False, image_size=64)
    hit = extract_features(MODEL, animal_pairs, layer="layer2", pretrained=False, image_size=64)
    assert hit.cache_hit
    import repalign.models.multilayer as ml

    monkeypatch.setattr(ml, "_run_layers", lambda *a, **k: pytest.fail("ran the model on a full cache hit"))
    again = extract_layers(MODEL, animal_pairs, "layer?", out=tmp_path / "b.npz", pretrained=False, image_size=64)
    assert again.metadata["cache_hit"] is True
    np.testing.assert_array_equal(load_layered_features(again.path).features("layer4"),
                                  load_layered_features(tmp_path / "a.npz").features("layer4"))


def test_a_corrupt_multilayer_file_is_refused(animal_pairs, tmp_path):
    out = tmp_path / "s.npz"
    extract_layers(MODEL, animal_pairs[:4], "fc", out=out, pretrained=False, image_size=32, cache=False)
    with np.load(out) as npz:
        data = {k: npz[k] for k in npz.files}
    data["features/fc"] = data["features/fc"] + 1
    np.savez(tmp_path / "edited.npz", **data)
    with pytest.raises(InputError, match="checksum mismatch"):
        load_layered_features(tmp_path / "edited.npz")


def test_align_layers_gives_the_depth_curve(animal_pairs, tmp_path):
    from repalign import compare
    from repalign.representations import Representation

    ids = [i for i, _ in animal_pairs]
    rng = np.random.default_rng(1)
    human = Representation.from_features(ids, rng.normal(size=(len(ids), 4)))
    f = extract_layers(MODEL, animal_pairs, "layer1,layer4", out=tmp_path / "s.npz", pretrained=False, image_size=64,
                       cache=False)
    table = align_layers(human, f, metrics="pearson,spearman")
    assert table.columns.tolist() == ["layer", "depth", "metric", "value"]
    assert table.layer.tolist() == ["layer1", "layer1", "layer4", "layer4"] and table.depth.tolist() == [0, 0, 1, 1]
    single = extract_features(MODEL, animal_pairs, layer="layer4", pretrained=False, image_size=64, cache=False)
    ref = compare(human, single.to_representation(), metrics="pearson,spearman")
    got = table[table.layer == "layer4"].set_index("metric").value
    assert got["pearson"] == pytest.approx(ref["pearson"], abs=1e-12)
    assert got["spearman"] == pytest.approx(ref["spearman"], abs=1e-12)


def test_cli_layers_and_multilayer_extract_and_align(animal_pairs, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name, p in animal_pairs[:6]:
        (folder / name).write_bytes(p.read_bytes())
    assert main(["models", "layers", MODEL, "--random-init", "--image-size", "32", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(set(r) == {"name", "shape"} for r in rows) and rows[0]["name"] == "conv1"
    out = tmp_path / "s.npz"
    assert main(["extract", MODEL, str(folder), "--random-init", "--image-size", "32", "--layers", "layer?",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    single = tmp_path / "one.npz"
    assert main(["extract", MODEL, str(folder), "--random-init", "--image-size", "32", "--layer", "layer3",
                 "--pool", "avg", "--out", str(single)]) == 0
    capsys.readouterr()
    human = tmp_path / "human.npz"
    rng = np.random.default_rng(0)
    np.savez(human, ids=np.array([n for n, _ in animal_pairs[:6]]), features=rng.normal(size=(6, 3)))
    assert main(["align", str(human), str(out), "--metric", "pearson,spearman", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert list(got["layers"]) == ["layer1", "layer2", "layer3", "layer4"]
    assert main(["align", str(human), str(single), "--metric", "pearson,spearman", "--json"]) == 0
    ref = json.loads(capsys.readouterr().out)
    assert got["layers"]["layer3"]["pearson"] == pytest.approx(ref["pearson"], abs=1e-12)
    assert main(["align", str(human), str(out), "--metric", "pearson"]) == 0
    table = capsys.readouterr().out
    assert sum(line.startswith("layer") for line in table.splitlines()) == 5  # header + 4 layers
    assert main(["extract", MODEL, str(folder), "--random-init", "--layers", "nosuch", "--out", str(out)]) == 2
    assert "error:" in capsys.readouterr().err

"""The feature cache: a hit builds no model; any change of content misses; corrupt entries
are detected and recomputed; writes are atomic."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from repalign._paths import feature_cache_dir
from repalign.models import FeatureCache, extract_features, model_config
from repalign.models.sources._timm import TimmSource

MODEL = "timm:test_resnet"


@pytest.fixture
def load_counter(monkeypatch):
    """Counts how often a timm model is built."""
    calls = []
    real = TimmSource.load

    def counting(self, config):
        calls.append(config.model_id)
        return real(self, config)

    monkeypatch.setattr(TimmSource, "load", counting)
    return calls


def entries() -> list[Path]:
    return sorted(feature_cache_dir().glob("??/*.npz"))


def test_cache_hit_builds_no_model(load_counter, image_folder):
    first = extract_features(MODEL, image_folder, pretrained=False)
    assert load_counter == [MODEL] and not first.cache_hit
    again = extract_features(MODEL, image_folder, pretrained=False)
    assert load_counter == [MODEL], "a cache hit must not build the model"
    assert again.cache_hit and again.ids == first.ids
    assert np.array_equal(again.features, first.features)
    assert again.metadata["cache_key"] == first.metadata["cache_key"]
    assert entries() == [FeatureCache().path(first.metadata["cache_key"])]


def test_every_input_of_the_key_invalidates(load_counter, image_folder, tmp_path):
    small = {"image_size": 48}
    base = extract_features(MODEL, image_folder, pretrained=False, **small)
    keys = {base.metadata["cache_key"]}

    def miss(**kwargs):
        n = len(load_counter)
        f = extract_features(MODEL, image_folder, pretrained=False, **{**small, **kwargs})
        assert not f.cache_hit and len(load_counter) == n + 1, kwargs
        keys.add(f.metadata["cache_key"])
        return f

    miss(seed=1)                                   # other weights
    miss(layer="layer3")                           # other layer
    miss(layer="layer3", pool="max")               # other pool
    miss(image_size=64)                            # other preprocessing
    miss(preprocessing={"interpolation": "bicubic"})
    miss(precision="bf16")                         # other precision
    assert len(keys) == 7

    # A library upgrade invalidates: the versions are part of the configuration.
    cfg = model_config(MODEL, pretrained=False, **small)
    bumped = cfg.replace(provenance={**cfg.provenance, "versions": {**cfg.provenance["versions"], "timm": "99.0"}})
    assert not extract_features(bumped, image_folder).cache_hit

    # Same name, other content: replacing one image misses; restoring it hits again.
    victim = sorted(image_folder.iterdir())[0]
    original = victim.read_bytes()
    shutil.copyfile(sorted(image_folder.iterdir())[1], victim)
    changed = extract_features(MODEL, image_folder, pretrained=False, **small)
    assert not changed.cache_hit and changed.ids == base.ids
    victim.write_bytes(original)
    assert extract_features(MODEL, image_folder, pretrained=False, **small).cache_hit

    # Reordered stimuli are another stimulus set (rows follow the given order).
    pairs = [(p.name, p) for p in sorted(image_folder.iterdir())]
    assert not extract_features(MODEL, pairs[::-1], pretrained=False, **small).cache_hit


def test_weight_file_content_is_in_the_key(tmp_path, image_folder):
    import torch

    from repalign.models import load_model

    loaded = load_model(MODEL, pretrained=False)
    path = tmp_path / "w.pth"
    torch.save(loaded.module.state_dict(), path)
    a = extract_features(MODEL, image_folder, weights=path)
    assert extract_features(MODEL, image_folder, weights=path).cache_hit
    state = loaded.module.state_dict()
    state["fc.bias"] = state["fc.bias"] + 1  # the classifier bias: features unchanged, weights not
    torch.save(state, path)
    b = extract_features(MODEL, image_folder, weights=path)
    assert not b.cache_hit and b.metadata["cache_key"] != a.metadata["cache_key"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "tampered"])
def test_corrupt_entry_is_detected_and_recomputed(damage, load_counter, image_folder, caplog):
    first = extract_features(MODEL, image_folder, pretrained=False)
    path = FeatureCache().path(first.metadata["cache_key"])
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:  # a valid npz whose features were edited: only the checksum can tell
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        data["features"] = data["features"] + 1
        np.savez(path, **data)
    with caplog.at_level(logging.WARNING, logger="repalign.models.cache"):
        again = extract_features(MODEL, image_folder, pretrained=False)
    assert not again.cache_hit and len(load_counter) == 2
    assert "unusable" in caplog.text
    assert np.array_equal(again.features, first.features)
    assert extract_features(MODEL, image_folder, pretrained=False).cache_hit  # rewritten, valid


def test_writes_are_atomic(monkeypatch, image_folder):
    import repalign.io.features as feat_mod

    def exploding_savez(fh, **arrays):
        fh.write(b"half an entry")
        raise OSError("disk full")

    monkeypatch.setattr(feat_mod.np, "savez", exploding_savez)
    f = extract_features(MODEL, image_folder, pretrained=False)  # a failed cache write is not fatal
    assert not f.cache_hit
    leftovers = [p for p in feature_cache_dir().rglob("*") if p.is_file() and p.name != "file-hashes.json"]
    assert leftovers == [], "neither a partial entry nor a temporary file may remain"


def test_no_cache_neither_reads_nor_writes(load_counter, image_folder):
    extract_features(MODEL, image_folder, pretrained=False, cache=False)
    assert entries() == []
    custom = FeatureCache(image_folder.parent / "elsewhere")
    extract_features(MODEL, image_folder, pretrained=False, cache=custom)
    assert extract_features(MODEL, image_folder, pretrained=False, cache=custom).cache_hit
    assert entries() == [] and len(list(custom.root.glob("??/*.npz"))) == 1
    assert custom.clear() == 1

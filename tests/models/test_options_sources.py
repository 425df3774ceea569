"""One options object for every source; paper: and zoo: as registered sources; one device resolver."""

from __future__ import annotations

import numpy as np
import pytest

from repalign import InputError
from repalign.models import ModelOptions, extract_features, list_models, list_sources, load_model, model_config
from repalign.models.runtime import default_num_workers, resolve_device
from repalign.models.sources import SOURCES, get_source, parse_model_id


def test_options_object_and_keywords_give_the_same_config():
    by_kw = model_config("timm:test_resnet", pretrained=False, seed=3, image_size=96)
    by_obj = model_config("timm:test_resnet", options=ModelOptions(pretrained=False, seed=3, image_size=96))
    assert by_kw == by_obj and by_kw.seed == 3 and by_kw.preprocessing["input_size"] == (3, 96, 96)
    # keywords override the options one by one; None leaves them
    mixed = model_config("timm:test_resnet", options=ModelOptions(pretrained=False, seed=3), seed=None, image_size=64)
    assert mixed.seed == 3 and mixed.preprocessing["input_size"] == (3, 64, 64)
    with pytest.raises(InputError, match="unknown model option"):
        model_config("timm:test_resnet", options={"pretraind": False})
    with pytest.raises(InputError, match="seed"):
        ModelOptions(seed="1")


def test_every_source_takes_the_options_object():
    import inspect

    for prefix in SOURCES:
        params = list(inspect.signature(type(get_source(prefix)).config).parameters)
        assert params == ["self", "name", "options"], prefix


def test_paper_is_a_registered_source_sharing_the_timm_config():
    assert "paper" in SOURCES and parse_model_id("paper:resnet18") == ("paper", "resnet18")
    paper = model_config("paper:resnet18", pretrained=False)
    timm = model_config("timm:resnet18.tv_in1k", pretrained=False)
    assert paper.model_id == timm.model_id and paper.fingerprint() == timm.fingerprint()  # same cache entries
    assert paper.provenance["paper_name"] == "resnet18"
    assert list_models("tf_efficientnet_b0_n*", source="paper") == ["paper:tf_efficientnet_b0_ns"]
    assert any(r["prefix"] == "paper" for r in list_sources())


def test_zoo_is_a_registered_source_built_from_the_options():
    from repalign.models.sources._zoo import synthetic_zoo, zoo_model_ids
    from repalign.theory import make_zoo

    settings = {"n_classes": 3, "n_per_class": 6, "models_per_family": 2, "seed": 1}
    ids = zoo_model_ids(settings)
    assert ids[0].startswith("zoo:") and len(ids) == len(make_zoo(**settings).models)
    opts = ModelOptions(zoo=settings)
    feats = extract_features(ids[0], None, options=opts)
    ref = make_zoo(**settings).models[ids[0][4:]]
    assert feats.ids == ref.ids and np.array_equal(feats.features, ref.values.astype(np.float32))
    some = extract_features(ids[0], [ref.ids[3], ref.ids[0]], options=opts)
    assert some.ids == (ref.ids[3], ref.ids[0]) and np.array_equal(some.features[1], feats.features[0])
    assert load_model(ids[0], options=opts).representation is synthetic_zoo(settings).models[ids[0][4:]]
    assert model_config(ids[0], options=opts).modality == "synthetic"
    with pytest.raises(InputError, match="not a model of this zoo"):
        model_config("zoo:noise-99", options=opts)
    with pytest.raises(InputError, match="not the zoo's"):
        extract_features(ids[0], ["nope"], options=opts)


def test_one_device_resolver_refuses_what_this_machine_lacks(monkeypatch):
    torch = pytest.importorskip("torch")
    assert resolve_device("cpu") == "cpu" and resolve_device(None) in ("cpu", "cuda", "mps")
    for bad in ("gpu", "cuda:x", "tpu"):
        with pytest.raises(InputError, match="--device"):
            resolve_device(bad)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="CUDA is not available"):
        resolve_device("cuda:0")
    assert resolve_device("auto", allow_mps=False) == "cpu"
    assert default_num_workers("cpu", 3, 32) == 0  # one batch: nothing to overlap


def test_an_invalid_device_is_refused_even_on_a_cache_hit(animal_pairs):
    extract_features("timm:test_resnet", animal_pairs[:2], pretrained=False, image_size=32)
    again = extract_features("timm:test_resnet", animal_pairs[:2], pretrained=False, image_size=32)
    assert again.cache_hit
    with pytest.raises(InputError, match="--device 'gpu'"):
        extract_features("timm:test_resnet", animal_pairs[:2], pretrained=False, image_size=32, device="gpu")

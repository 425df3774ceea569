"""Offline weights: the Hugging Face cache is used without a network, a missing weight file
says how to get it onto the machine, and weight files are read safely."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from repalign import DataNotFoundError, InputError
from repalign.models import extract_features, load_model, model_config

REPO = "timm/test_resnet.r160_in1k"


def fake_hub_cache(root: Path, repo: str, files: dict[str, bytes]) -> Path:
    """The layout huggingface_hub writes: models--org--name/{refs/main, snapshots/<commit>/...}."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = root / ("models--" + repo.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    snap = repo_dir / "snapshots" / commit
    snap.mkdir(parents=True)
    for name, data in files.items():
        (snap / name).parent.mkdir(parents=True, exist_ok=True)
        (snap / name).write_bytes(data)
    return snap


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    hub = tmp_path / "hf-hub"
    hub.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    return hub


def safetensors_bytes(module: torch.nn.Module, tmp_path: Path) -> bytes:
    from safetensors.torch import save_file

    path = tmp_path / "tmp.safetensors"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))
    return path.read_bytes()


def test_pretrained_weights_come_from_the_offline_hub_cache(offline_hub, tmp_path, animal_pairs):
    stand_in = load_model("timm:test_resnet", pretrained=False, seed=7)  # plays the published weights
    snap = fake_hub_cache(offline_hub, REPO, {"model.safetensors": safetensors_bytes(stand_in.module, tmp_path)})
    cfg = model_config("timm:test_resnet")  # default tag, pinned
    assert cfg.model_id == "timm:test_resnet.r160_in1k" and cfg.weights == "pretrained"
    assert Path(cfg.weights_file) == snap / "model.safetensors"
    assert cfg.weights_sha256 == hashlib.sha256((snap / "model.safetensors").read_bytes()).hexdigest()
    assert cfg.provenance["hf_hub_id"] == REPO
    feats = extract_features("timm:test_resnet.r160_in1k", animal_pairs)
    expected = extract_features(stand_in, animal_pairs, cache=False)
    assert np.array_equal(feats.features, expected.features)
    assert feats.metadata["model"]["weights_sha256"] == cfg.weights_sha256


def test_missing_weights_say_how_to_get_them(offline_hub, animal_pairs):
    with pytest.raises(DataNotFoundError) as err:
        extract_features("timm:test_resnet.r160_in1k", animal_pairs)
    msg = str(err.value)
    assert "not on this machine" in msg and "HF_HUB_OFFLINE" in msg
    assert f"huggingface-cli download {REPO}" in msg
    assert "models--timm--test_resnet.r160_in1k" in msg and "--weights FILE" in msg


def test_unsafe_or_unfit_weight_files_are_refused(tmp_path, animal_pairs):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"weight": Payload()}, protocol=2))
    with pytest.raises(InputError, match="weights_only=True"):
        extract_features("timm:test_resnet", animal_pairs, weights=evil, cache=False)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="cannot read it as a weight file"):
        extract_features("efficientnet-lite:lite0", animal_pairs, weights=junk, cache=False)
    other = tmp_path / "vit.pth"
    torch.save(load_model("timm:test_vit", pretrained=False).module.state_dict(), other)
    with pytest.raises(InputError, match="do not fit"):
        extract_features("timm:test_resnet", animal_pairs, weights=other, cache=False)
    with pytest.raises(DataNotFoundError, match="no such file"):
        model_config("timm:test_resnet", weights=tmp_path / "absent.pth")

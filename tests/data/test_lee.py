"""Lee's similarity-matrix collection: fetch (hash-checked, from a local server), references, names, info.

The archive is generated with scipy.io.savemat in the layout of the real all.zip: one
``<name>.mat`` per matrix with ``s`` and/or ``d``, ``n`` and ``labs``. No network is used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from scipy.io import savemat

from repalign import DataNotFoundError, InputError, Representation
from repalign._paths import data_dir
from repalign.cli import main
from repalign.data import load_reference, registry, stimulus_images, stimulus_names
from repalign.data.datasets import lee
from repalign.data.fetch import RemoteFile

from .conftest import random_similarity

COLOURS = ["434", "445", "465", "472", "490"]
MORSE = ["A", "B", "C", "D"]


def _mat(variables: dict) -> bytes:
    buf = io.BytesIO()
    savemat(buf, variables)
    return buf.getvalue()


def make_lee_archive(rng: np.random.Generator) -> tuple[bytes, dict[str, np.ndarray]]:
    """all.zip with colour (s and d, labels as a cell array), morsenumbers (d only, a char matrix)
    and faces5 (s with repeated labels)."""
    s_colour = random_similarity(5, rng)
    d_morse = 1 - random_similarity(4, rng)
    np.fill_diagonal(d_morse, 0.0)
    s_faces = random_similarity(3, rng)
    cells = np.empty((5, 1), dtype=object)
    for i, label in enumerate(COLOURS):
        cells[i, 0] = label
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("colour.mat", _mat({"s": s_colour, "d": 1 - s_colour, "n": np.array([[5]]), "labs": cells}))
        zf.writestr("morsenumbers.mat", _mat({"d": d_morse, "n": np.array([[4]]), "labs": np.array(MORSE)}))
        zf.writestr("faces5.mat", _mat({"s": s_faces, "n": np.array([[3]]), "labs": np.array(["face", "face", "face"])}))
    return buf.getvalue(), {"colour": s_colour, "morsenumbers": d_morse, "faces5": s_faces}


@pytest.fixture
def served_lee(http_server, rng, monkeypatch):
    """The lee card pointed at a local server serving a generated all.zip with its true SHA-256."""
    url, state = http_server
    payload, mats = make_lee_archive(rng)
    state.files["/all.zip"] = payload
    remote = RemoteFile("all.zip", url + "/all.zip", "sha256:" + hashlib.sha256(payload).hexdigest(), "test")
    card = dataclasses.replace(lee.CARD, remote=(remote,))
    monkeypatch.setattr(lee.ADAPTER, "dataset", card)
    monkeypatch.setitem(registry.DATASETS, "lee", card)
    return state, mats


def test_the_card_is_the_published_archive():
    (remote,) = lee.CARD.remote
    assert remote.filename == "all.zip" and "files.osf.io/v1/resources/ey9vp" in remote.url
    assert remote.known_hash == "sha256:8c799cdebb00192ecb63f3e28c6eeee0e2f64fcb8dad3bc68982e551f2ae5b1c"
    assert len(lee.NAMES) == 52 == len(set(lee.NAMES)) and lee.CARD.parts == lee.NAMES


def test_fetch_lee_downloads_verifies_and_references_work(served_lee, capsys, tmp_path, rng):
    state, mats = served_lee
    assert main(["data", "fetch", "lee"]) == 0
    assert f"lee: available at {data_dir() / 'lee'}" in capsys.readouterr().out
    assert (data_dir() / "lee" / "colour.mat").is_file()
    n = len(state.requests)
    assert main(["data", "fetch", "lee"]) == 0 and len(state.requests) == n  # verified copy: nothing fetched
    capsys.readouterr()

    colour = load_reference("lee:colour")
    assert colour.kind == "similarity" and colour.ids == tuple(COLOURS) and np.allclose(colour.values, mats["colour"])
    morse = load_reference("lee:morsenumbers")
    assert morse.kind == "dissimilarity" and morse.ids == tuple(MORSE) and np.allclose(morse.values, mats["morsenumbers"])
    faces = load_reference("lee:faces5")
    assert faces.ids == ("faces5-001", "faces5-002", "faces5-003")
    assert stimulus_names("lee:colour").names == tuple(COLOURS)
    assert stimulus_names("lee:faces5").names == ("face", "face", "face")
    with pytest.raises(DataNotFoundError, match="no images"):
        stimulus_images("lee:colour")

    features = tmp_path / "f.npz"
    Representation.from_features(COLOURS, rng.normal(size=(5, 3))).to_npz(features)
    assert main(["align", "lee:colour", str(features), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_stimuli"] == 5

    assert main(["data", "info", "lee"]) == 0
    out = capsys.readouterr().out
    assert "similarity from variable 's' ('d' is also present and not used)" in out
    assert "morsenumbers: no similarity 's' in the file: dissimilarity (proximity) from variable 'd'" in out
    assert main(["data", "list", "--json"]) == 0
    row = next(d for d in json.loads(capsys.readouterr().out)["datasets"] if d["name"] == "lee")
    assert row["local"] == str(data_dir() / "lee") and row["kind"] == "matrices" and row["role"] == "human"


def test_lee_labels_feed_text_models(served_lee):
    from repalign.models.stimuli import as_stimuli

    assert main(["data", "fetch", "lee"]) == 0
    stim = as_stimuli("lee:morsenumbers", modality="text")
    assert tuple(stim.ids) == tuple(MORSE)


def test_fetch_lee_with_a_wrong_hash_installs_nothing(http_server, rng, monkeypatch, capsys):
    url, state = http_server
    payload, _ = make_lee_archive(rng)
    state.files["/all.zip"] = payload
    wrong = RemoteFile("all.zip", url + "/all.zip", "sha256:" + "0" * 64, "test")
    card = dataclasses.replace(lee.CARD, remote=(wrong,))
    monkeypatch.setattr(lee.ADAPTER, "dataset", card)
    monkeypatch.setitem(registry.DATASETS, "lee", card)
    assert main(["data", "fetch", "lee"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "expected 0000" in err and "Traceback" not in err
    assert not (data_dir() / "lee").exists() and not (data_dir() / "downloads" / "all.zip").exists()


def test_a_lee_file_without_a_matrix_is_one_clear_error(tmp_path):
    folder = tmp_path / "lee"
    folder.mkdir()
    (folder / "colour.mat").write_bytes(_mat({"n": np.array([[3]]), "labs": np.array(["a", "b", "c"])}))
    with pytest.raises(InputError, match=r"neither 's' \(similarity\) nor 'd' \(proximity\)"):
        load_reference("lee:colour", data_root=tmp_path)
    (folder / "colour.mat").write_bytes(_mat({"s": np.eye(3), "n": np.array([[4]]), "labs": np.array(["a", "b", "c"])}))
    with pytest.raises(InputError, match=r"n = 4 but 's' is 3 x 3"):
        load_reference("lee:colour", data_root=folder)
    with pytest.raises(InputError, match="Unknown lee matrix 'colours'.*Did you mean 'colour'"):
        load_reference("lee:colours", data_root=folder)

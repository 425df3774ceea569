"""The dataset registry, user registration, where copies are looked for, and fetching."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from repalign import DataNotFoundError, InputError
from repalign._paths import data_dir
from repalign.data import registry
from repalign.data.fetch import RemoteFile
from repalign.data.registry import (
    DATASETS,
    Dataset,
    dataset_root,
    fetch_dataset,
    get_dataset,
    register_dataset,
    registered_datasets,
    verify_registered,
)

from .conftest import make_folders_copy, random_similarity, write_labeled


def test_builtin_entries_are_complete_and_claim_no_unverified_downloads():
    # The paper's two datasets first; lee (issue 11) and cifar100 (issue 14) came with verified downloads.
    assert list(DATASETS) == ["peterson2018", "things", "lee", "cifar100"]
    for ds in DATASETS.values():
        for field in (ds.title, ds.citation, ds.licence, ds.stimuli, ds.layout, ds.obtain):
            assert len(field) > 20
        assert all(r.known_hash and r.hash_source != "unverified" for r in ds.remote)
    for name in ("peterson2018", "things"):
        ds = DATASETS[name]
        assert not ds.remote and "No download URL and hash have been verified" in ds.obtain
    assert [r.known_hash for r in DATASETS["lee"].remote] == [
        "sha256:8c799cdebb00192ecb63f3e28c6eeee0e2f64fcb8dad3bc68982e551f2ae5b1c"]
    assert [r.known_hash for r in DATASETS["cifar100"].remote] == ["md5:eb9058c3a382ffc7106e4002c42a8d85"]
    assert {ds.role for ds in DATASETS.values()} == {"human", "transfer"} and DATASETS["cifar100"].role == "transfer"
    assert get_dataset("peterson2018").parts == ("animals", "automobiles", "fruits", "furniture", "various", "vegetables")
    with pytest.raises(InputError, match=r"Unknown dataset 'peterson'.*Did you mean 'peterson2018'"):
        get_dataset("peterson")


def test_missing_dataset_says_where_to_put_the_files():
    with pytest.raises(DataNotFoundError) as info:
        dataset_root("peterson2018")
    message = str(info.value)
    assert str(data_dir() / "peterson2018") in message
    assert "repalign data add peterson2018 PATH" in message and "similarity/<domain>.csv" in message
    with pytest.raises(DataNotFoundError, match="does not exist"):
        dataset_root("peterson2018", "/nonexistent/folder")


def test_add_registers_a_verified_copy_with_hashes(tmp_path, rng):
    root = tmp_path / "copy"
    make_folders_copy(root, rng, n=4, images=("animals",), halves=())
    entry = register_dataset("peterson2018", root)
    assert entry["parts"] == list(DATASETS["peterson2018"].parts) and entry["problems"] == {}
    some = root / "similarity" / "animals.csv"
    assert entry["files"]["similarity/animals.csv"] == "sha256:" + hashlib.sha256(some.read_bytes()).hexdigest()
    assert len(entry["files"]) == 6 + 4
    saved = json.loads((data_dir() / "registry.json").read_text())
    assert saved["datasets"]["peterson2018"]["path"] == str(root.resolve())
    assert dataset_root("peterson2018") == (root.resolve(), "registered")
    assert verify_registered("peterson2018") == {"changed": [], "missing": [], "added": []}
    some.write_text(some.read_text().replace("1.0", "0.9", 1))
    (root / "images" / "animals" / "new.png").write_bytes(b"x")
    (root / "similarity" / "fruits.csv").unlink()
    assert verify_registered("peterson2018") == {
        "changed": ["similarity/animals.csv"], "missing": ["similarity/fruits.csv"], "added": ["images/animals/new.png"],
    }


def test_add_refuses_a_folder_without_the_structure(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no readable peterson2018 matrix .*animals: not found"):
        register_dataset("peterson2018", tmp_path / "empty")
    with pytest.raises(DataNotFoundError, match="not a folder"):
        register_dataset("peterson2018", tmp_path / "missing")
    with pytest.raises(InputError, match="must start with a letter"):
        register_dataset("1bad name", tmp_path / "empty")
    (tmp_path / "things").mkdir()
    with pytest.raises(DataNotFoundError, match="no concept list"):
        register_dataset("things", tmp_path / "things")
    assert registered_datasets() == {}


def test_add_refuses_symlinks(tmp_path, rng):
    root = tmp_path / "copy"
    make_folders_copy(root, rng, n=4, images=(), halves=(), domains=("animals",))
    (root / "link.csv").symlink_to(root / "similarity" / "animals.csv")
    with pytest.raises(InputError, match="symbolic links are not registered"):
        register_dataset("peterson2018", root)


def test_user_dataset_in_the_folders_layout(tmp_path, rng):
    root = tmp_path / "mine"
    ids = ["dog1.jpg", "dog2.jpg", "cat1.jpg", "car1.jpg"]
    write_labeled(root / "similarity" / "cond1.csv", ids, random_similarity(4, rng))
    (root / "dissimilarity").mkdir()
    np.save(root / "dissimilarity" / "cond2.npy", 1 - random_similarity(4, rng))
    (root / "dissimilarity" / "cond2.ids.txt").write_text("\n".join(ids))
    entry = register_dataset("mydata", root)
    assert entry["parts"] == ["cond1", "cond2"]
    assert get_dataset("mydata").kind == "matrices" and "mydata" in registry.dataset_names()
    from repalign.data import load_reference

    rep = load_reference("mydata:cond2")
    assert rep.kind == "dissimilarity" and rep.ids == tuple(ids)


def test_data_dir_copy_is_found_without_registration(rng):
    root = data_dir() / "peterson2018"
    make_folders_copy(root, rng, n=4, images=(), halves=(), domains=("animals",))
    assert dataset_root("peterson2018") == (root, "data dir")


def test_broken_registry_file_is_reported():
    data_dir().mkdir(parents=True, exist_ok=True)
    (data_dir() / "registry.json").write_text("{not json")
    with pytest.raises(InputError, match="registry is not valid JSON"):
        registered_datasets()


def test_fetch_dataset_without_verified_files_explains(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"not available locally.*No download URL and hash have been verified"):
        fetch_dataset("things")


def test_fetch_dataset_downloads_and_extracts_an_archive(http_server, tmp_path, rng, monkeypatch):
    url, state = http_server
    ids = ["a.png", "b.png", "c.png", "d.png"]
    csv = pd.DataFrame(random_similarity(4, rng), index=ids, columns=ids).rename_axis("stimulus").to_csv()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("similarity/part1.csv", csv)
    payload = buf.getvalue()
    state.files["/toy.zip"] = payload
    toy = Dataset("toy", "toy data", "c", "l", "s", "folders layout", "o", ("part1",), "matrices",
                  (RemoteFile("toy.zip", url + "/toy.zip", "sha256:" + hashlib.sha256(payload).hexdigest(), "test"),))
    monkeypatch.setitem(registry.DATASETS, "toy", toy)
    path = fetch_dataset("toy")
    assert path == data_dir() / "toy" and (path / "similarity" / "part1.csv").is_file()
    assert dataset_root("toy") == (path, "data dir")
    from repalign.data import load_reference

    assert load_reference("toy:part1").ids == tuple(ids)
    n = len(state.requests)
    assert fetch_dataset("toy") == path and len(state.requests) == n  # already extracted: nothing fetched


def test_registered_folder_that_disappeared(tmp_path, rng, capsys):
    import shutil

    root = tmp_path / "copy"
    make_folders_copy(root, rng, n=4, images=(), halves=(), domains=("animals",))
    register_dataset("peterson2018", root)
    shutil.rmtree(root)
    with pytest.raises(DataNotFoundError, match=r"was registered at .*copy, which no longer exists. Register it again"):
        dataset_root("peterson2018")
    with pytest.raises(DataNotFoundError, match="no longer exists"):
        verify_registered("peterson2018")
    with pytest.raises(InputError, match="'things' is not registered"):
        verify_registered("things")
    from repalign.cli import main

    assert main(["data", "list"]) == 0  # a broken copy does not hide the other datasets
    assert "error: dataset 'peterson2018' was registered at" in capsys.readouterr().out

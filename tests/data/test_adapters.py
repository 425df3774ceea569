"""Datasets as plugins: discovery, one memoised index per (dataset, root), ONE part read per reference,
and --data-root as the folder holding datasets or the dataset's own folder."""

from __future__ import annotations

import json
import sys
from collections import Counter

import numpy as np
import pytest

from repalign import Representation
from repalign.cli import main
from repalign.data import adapters, folders, load_reference, matrix_part, resolve_dataset_root, split_halves
from repalign.data.registry import DATASETS, dataset_root, get_adapter, get_dataset, open_dataset_at

from .conftest import make_folders_copy, random_similarity, write_labeled


@pytest.fixture
def counted_reads(monkeypatch):
    """Counts every matrix file the folders layout reads, by file name."""
    reads: Counter[str] = Counter()
    original = folders.load_matrix_file

    def counting(path, **kwargs):
        reads[path.name] += 1
        return original(path, **kwargs)

    monkeypatch.setattr(folders, "load_matrix_file", counting)
    adapters.clear_cache()
    return reads


def test_every_builtin_is_one_module_with_an_adapter():
    found = adapters.builtin_adapters()
    assert list(found) == ["peterson2018", "things", "lee", "cifar100"]
    for name, adapter in found.items():
        module = sys.modules[f"repalign.data.datasets.{name}"]
        assert module.ADAPTER is adapter and DATASETS[name] is adapter.dataset
        assert adapter.dataset.kind in adapters.KINDS and adapter.dataset.role in adapters.ROLES


def test_adding_a_dataset_is_adding_one_module(tmp_path, monkeypatch, rng):
    plugin = tmp_path / "plugins"
    plugin.mkdir()
    (plugin / "toyplugin.py").write_text(
        "from pathlib import Path\n"
        "from repalign.data.adapters import Dataset, FoldersAdapter\n"
        "ADAPTER = FoldersAdapter(Dataset('toyplugin', 'a toy dataset added as one module', 'c' * 21, 'l' * 21,\n"
        "                                 's' * 21, 'folders layout', 'o' * 21, ('p1',), 'matrices'))\n"
    )
    import repalign.data.datasets as package

    monkeypatch.setattr(package, "__path__", [*package.__path__, str(plugin)])
    monkeypatch.setattr(adapters, "_builtin", None)
    ids = ["a", "b", "c", "d"]
    write_labeled(tmp_path / "toyplugin" / "similarity" / "p1.csv", ids, random_similarity(4, rng))
    assert get_dataset("toyplugin").title == "a toy dataset added as one module"
    assert load_reference("toyplugin:p1", data_root=tmp_path).ids == tuple(ids)  # tmp_path holds toyplugin/
    monkeypatch.setattr(adapters, "_builtin", None)  # the next test discovers the real package again


def test_one_domain_reads_only_that_domain(folders_copy, counted_reads):
    root, mats = folders_copy
    rep = load_reference("peterson2018:fruits", data_root=root)
    assert np.allclose(rep.values, mats["fruits"])
    assert counted_reads == Counter({"fruits.csv": 1})
    load_reference("peterson2018:fruits", data_root=root)
    matrix_part("peterson2018:fruits", data_root=root).stimulus_images()
    assert counted_reads == Counter({"fruits.csv": 1})  # memoised


def test_align_reads_the_animals_files_once(folders_copy, counted_reads, tmp_path, rng, capsys):
    root, mats = folders_copy
    ids = load_reference("peterson2018:animals", data_root=root).ids
    counted_reads.clear()
    adapters.clear_cache()
    features = tmp_path / "f.npz"
    Representation.from_features(ids, rng.normal(size=(len(ids), 5))).to_npz(features)
    assert main(["align", "peterson2018:animals", str(features), "--data-root", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "noise_ceiling" in out
    assert counted_reads == Counter({"animals.csv": 1, "animals_first_half.csv": 1, "animals_second_half.csv": 1})
    assert open_dataset_at("peterson2018", root).n_index == 1  # one scan of the root


def test_a_changed_file_is_read_again(folders_copy, counted_reads, rng):
    root, _ = folders_copy
    first = load_reference("peterson2018:vegetables", data_root=root)
    ids = list(first.ids)
    m = random_similarity(len(ids), rng)
    import os

    path = write_labeled(root / "similarity" / "vegetables.csv", ids, m)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    again = load_reference("peterson2018:vegetables", data_root=root)
    assert np.allclose(again.values, m) and counted_reads["vegetables.csv"] == 2


def test_data_root_holds_datasets_or_is_the_dataset_folder(tmp_path, rng, capsys):
    holder = tmp_path / "shared"
    make_folders_copy(holder / "peterson2018", rng, n=5, images=(), halves=("animals",), domains=("animals",))
    own = holder / "peterson2018"
    assert resolve_dataset_root("peterson2018", holder) == own == resolve_dataset_root("peterson2018", own)
    assert dataset_root("peterson2018", holder) == (own, "given")
    ids = load_reference("peterson2018:animals", data_root=own).ids
    features = tmp_path / "f.npz"
    Representation.from_features(ids, rng.normal(size=(len(ids), 4))).to_npz(features)
    outputs = []
    for root in (holder, own):
        assert main(["align", "peterson2018:animals", str(features), "--data-root", str(root), "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    for flag in ("--data-root", "--root"):
        assert main(["data", "info", "peterson2018", flag, str(holder), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["local"]["root"] == str(own)


def test_data_ceiling_and_align_share_one_ceiling(folders_copy, tmp_path, rng, capsys):
    from repalign.evaluation import noise_ceiling, part_ceiling

    root, _ = folders_copy
    part = matrix_part("peterson2018:animals", data_root=root)
    direct = noise_ceiling(*split_halves("peterson2018:animals", data_root=root), full=part.representation)
    assert part_ceiling(part).to_dict() == direct.to_dict()
    assert main(["data", "ceiling", "peterson2018:animals", "--data-root", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(direct.to_dict()))


def test_intersect_ceiling_is_on_the_shared_stimuli(folders_copy, tmp_path, rng, capsys):
    from repalign.evaluation import noise_ceiling

    root, _ = folders_copy
    part = matrix_part("peterson2018:animals", data_root=root)
    shared = list(part.ids[:4])
    features = tmp_path / "f.npz"
    Representation.from_features([*shared, "elsewhere-1", "elsewhere-2"], rng.normal(size=(6, 3))).to_npz(features)
    assert main(["align", "peterson2018:animals", str(features), "--intersect", "--data-root", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_stimuli"] == 4 and out["noise_ceiling"]["n_stimuli"] == 4
    h1, h2 = split_halves("peterson2018:animals", data_root=root)
    expected = noise_ceiling(h1.select(shared), h2.select(shared), full=part.representation.select(shared),
                             metrics=("pearson", "spearman", "triplet"))
    for metric in ("pearson", "spearman", "triplet"):
        assert out["noise_ceiling"][metric]["lower"] == pytest.approx(expected[metric].lower, abs=1e-12)
        assert out["noise_ceiling"][metric]["upper"] == pytest.approx(expected[metric].upper, abs=1e-12)
    assert main(["align", "peterson2018:animals", str(features), "--intersect", "--data-root", str(root)]) == 0
    assert "on the 4 compared stimuli" in capsys.readouterr().out


def test_too_few_shared_stimuli_give_no_ceiling_with_the_reason(folders_copy):
    from repalign import InputError
    from repalign.evaluation import part_ceiling

    root, _ = folders_copy
    part = matrix_part("peterson2018:animals", data_root=root)
    with pytest.raises(InputError, match="only 2 of the compared stimuli are in the human data"):
        part_ceiling(part, stimuli=[*part.ids[:2], "other"])


def test_user_dataset_gets_the_folders_adapter(tmp_path, rng):
    ids = ["a", "b", "c"]
    write_labeled(tmp_path / "mine" / "similarity" / "c1.csv", ids, random_similarity(3, rng))
    from repalign.data import register_dataset

    register_dataset("mine", tmp_path / "mine")
    assert isinstance(get_adapter("mine"), adapters.FoldersAdapter) and get_adapter("mine") is get_adapter("mine")
    assert load_reference("mine:c1").ids == tuple(ids)


def test_the_peterson_card_and_reader_list_the_same_domains():
    from repalign.data.datasets.peterson2018 import CARD
    from repalign.data.peterson import DOMAINS, ORIGINAL_RELEASE

    assert CARD.parts == DOMAINS == tuple(ORIGINAL_RELEASE)

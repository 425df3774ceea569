"""The THINGS layout on copies the tests write."""

from __future__ import annotations

import numpy as np
import pytest

from repalign import DataNotFoundError, InputError
from repalign.data.references import stimulus_names
from repalign.data.registry import register_dataset
from repalign.data.things import load_spose, load_things_triplets, read_concepts, scan_things


def make_things(root, rng, n=6):
    root.mkdir(parents=True, exist_ok=True)
    (root / "unique_id.txt").write_text("\n".join(["aardvark", "bat1", "bat2", "air_conditioner", "t-shirt", "zebra"][:n]) + "\n")
    np.savetxt(root / "spose_embedding_49d_sorted.txt", np.abs(rng.normal(size=(n, 5))))
    rows = ["1\t2\t3\t1\t7", "4\t5\t6\t2\t7", "3\t2\t1\t1\t8", "1\t2\t3\t3\t8"]
    (root / "test_triplets.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_things_copy(tmp_path, rng):
    root = make_things(tmp_path / "things", rng)
    assert read_concepts(root)[1] == "bat1"
    spose = load_spose(root)
    assert spose.ids[3] == "air_conditioner" and spose.values.shape == (6, 5)
    assert spose.meta["labels"][1:5] == ("bat", "bat", "air conditioner", "t shirt")
    data = load_things_triplets(root)
    assert data.n_triplets == 4 and data.participant_ids == ("7", "8")
    scan = scan_things(root)
    assert scan.n_concepts == 6 and scan.embedding["n_dimensions"] == 5
    entry = scan.triplets["test"]
    assert entry["n_triplets"] == 4 and entry["noise_ceiling"]["n_repeated"] == 1
    assert stimulus_names("things:test", data_root=root).names[0] == "aardvark"
    assert register_dataset("things", root)["parts"] == ["spose", "test"]


def test_things_problems_are_reported(tmp_path, rng):
    root = make_things(tmp_path / "things", rng)
    np.savetxt(root / "spose_embedding_49d_sorted.txt", np.ones((5, 2)))
    (root / "bad_triplets.tsv").write_text("1\t2\t9\t1\n")
    scan = scan_things(root)
    assert "5 rows, but unique_id.txt lists 6 concepts" in scan.problems["spose"]
    assert "item indices run from 1 to 9, outside the 6 items" in scan.problems["bad"]
    (root / "spose_embedding_49d_sorted.txt").write_text("1 2\nx y\n")
    with pytest.raises(InputError, match="not a whitespace-separated table of numbers"):
        load_spose(root)
    (root / "spose_embedding_49d_sorted.txt").unlink()
    with pytest.raises(DataNotFoundError, match=r"things:spose: no embedding file"):
        load_spose(root)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "unique_id.txt").write_text("a\nb\nc\n")
    with pytest.raises(DataNotFoundError, match=r"no triplet files \(\*_triplets\.tsv\)"):
        load_things_triplets(empty)
    with pytest.raises(InputError, match="no triplet file .* and no SPoSE embedding; nothing to register"):
        register_dataset("things", empty)

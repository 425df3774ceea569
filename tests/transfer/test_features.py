"""Features files and labels files for the protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from repalign import InputError
from repalign.transfer.features import load_labelled_features


@pytest.fixture
def npz(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "f.npz"
    np.savez(path, ids=np.array([f"im{i}" for i in range(6)]), features=rng.normal(size=(6, 3)),
             labels=np.array(["a", "b"] * 3))
    return path


def test_npz_with_labels(npz: Path) -> None:
    data = load_labelled_features(npz)
    assert data.ids[0] == "im0" and data.features.shape == (6, 3) and data.labels.tolist()[:2] == ["a", "b"]


def test_feature_table_with_label_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,label,f1,f2\nx,cat,1,2\ny,dog,3,4\nz,cat,5,6\n")
    data = load_labelled_features(path)
    assert data.labels.tolist() == ["cat", "dog", "cat"]
    np.testing.assert_array_equal(data.features, [[1, 2], [3, 4], [5, 6]])


def test_labels_files(tmp_path: Path, npz: Path) -> None:
    by_id = tmp_path / "labels.csv"
    by_id.write_text("id,label\n" + "".join(f"im{i},{'xy'[i % 2]}\n" for i in reversed(range(6))))
    assert load_labelled_features(npz, labels=by_id).labels.tolist() == list("xyxyxy")
    lines = tmp_path / "labels.txt"
    lines.write_text("\n".join("pqrstu") + "\n")
    assert load_labelled_features(npz, labels=lines).labels.tolist() == list("pqrstu")
    labels_npz = tmp_path / "labels.npz"
    np.savez(labels_npz, ids=np.array([f"im{i}" for i in range(6)]), labels=np.arange(6) % 3)
    assert load_labelled_features(npz, labels=labels_npz).labels.tolist() == [0, 1, 2, 0, 1, 2]


def test_label_errors(tmp_path: Path) -> None:
    path = tmp_path / "nolabels.npz"
    np.savez(path, ids=np.array(["a", "b", "c"]), features=np.eye(3))
    with pytest.raises(InputError, match="--labels"):
        load_labelled_features(path)
    short = tmp_path / "short.txt"
    short.write_text("x\n")
    with pytest.raises(InputError, match="1 labels .* for 3"):
        load_labelled_features(path, labels=short)
    partial = tmp_path / "partial.csv"
    partial.write_text("id,label\na,x\n")
    with pytest.raises(InputError, match="no label for 2"):
        load_labelled_features(path, labels=partial)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,label\na,x\na,y\nb,z\nc,w\n")
    with pytest.raises(InputError, match="repeated ids"):
        load_labelled_features(path, labels=dup)
    nocols = tmp_path / "cols.csv"
    nocols.write_text("foo,bar\na,x\nb,y\n")
    with pytest.raises(InputError, match="id column"):
        load_labelled_features(path, labels=nocols)

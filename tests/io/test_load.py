"""load_representation: every supported file layout and every documented error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from repalign import DataNotFoundError, InputError, Representation, load_representation
from repalign.io import detect_matrix_kind

IDS = ["s1", "s2", "s3", "s4"]


def write_matrix(path, ids, m, corner="stimulus", col_ids=None):
    col_ids = col_ids or ids
    lines = [",".join([corner, *col_ids])]
    for i, r in zip(ids, m):
        lines.append(",".join([i, *[str(v) for v in r]]))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def sim():
    return np.array([[1, .2, .5, .1], [.2, 1, .3, .4], [.5, .3, 1, .6], [.1, .4, .6, 1]])


def test_labeled_similarity_matrix(tmp_path, sim):
    rep = load_representation(write_matrix(tmp_path / "h.csv", IDS, sim))
    assert rep.kind == "similarity" and rep.ids == tuple(IDS)
    assert np.array_equal(rep.values, sim)
    assert rep.meta["kind_source"].startswith("detected")


def test_labeled_matrix_with_columns_in_another_order(tmp_path, sim):
    order = [2, 0, 3, 1]
    cols = [IDS[i] for i in order]
    rep = load_representation(write_matrix(tmp_path / "h.csv", IDS, sim[:, order], col_ids=cols))
    assert np.array_equal(rep.values, sim)


def test_dissimilarity_detected_and_override(tmp_path, sim):
    d = 1 - sim
    rep = load_representation(write_matrix(tmp_path / "d.csv", IDS, d))
    assert rep.kind == "dissimilarity"
    forced = load_representation(tmp_path / "d.csv", kind="similarity")
    assert forced.kind == "similarity" and forced.meta["kind_source"] == "given"


def test_ambiguous_matrix_requires_kind(tmp_path, sim):
    m = sim.copy()
    np.fill_diagonal(m, 0.5)  # neither a max diagonal nor a zero one
    p = write_matrix(tmp_path / "m.csv", IDS, m)
    with pytest.raises(InputError, match="cannot tell.*--kind-a"):
        load_representation(p)
    assert load_representation(p, kind="similarity").kind == "similarity"


@pytest.mark.parametrize(
    "matrix, kind",
    [
        (np.array([[1, .2, .3], [.2, 1, .5], [.3, .5, 1]]), "similarity"),
        (np.array([[0, .2, .3], [.2, 0, .5], [.3, .5, 0]]), "dissimilarity"),
        (np.array([[7, 2, 3], [2, 7, 5], [3, 5, 7]]), "similarity"),
    ],
)
def test_detect_matrix_kind(matrix, kind):
    assert detect_matrix_kind(matrix)[0] == kind


def test_non_numeric_cell_is_located(tmp_path, sim):
    p = write_matrix(tmp_path / "h.csv", IDS, sim)
    p.write_text(p.read_text().replace("0.6", "six", 1))
    with pytest.raises(InputError, match=r"h.csv: 1 cells are not numbers; first at row 's3', column 's4': 'six'"):
        load_representation(p)


def test_empty_cell_and_nan_cell(tmp_path, sim):
    p = write_matrix(tmp_path / "h.csv", IDS, sim)
    p.write_text(p.read_text().replace("0.6", "", 1))
    with pytest.raises(InputError, match="not numbers"):
        load_representation(p)
    p.write_text(write_matrix(tmp_path / "h2.csv", IDS, sim).read_text().replace("0.6", "nan", 1))
    with pytest.raises(InputError, match="NaN or infinite"):
        load_representation(p, kind="similarity")


def test_asymmetric_csv(tmp_path, sim):
    m = sim.copy()
    m[0, 3] = 0.9
    p = write_matrix(tmp_path / "h.csv", IDS, m)
    with pytest.raises(InputError, match="h.csv: the similarity matrix is not symmetric"):
        load_representation(p)
    assert load_representation(p, symmetrize=True).values[0, 3] == pytest.approx(0.5)


def test_feature_table_csv_with_labels(tmp_path, rng):
    x = rng.normal(size=(4, 3))
    df = pd.DataFrame(x, columns=["f0", "f1", "f2"])
    df.insert(0, "stimulus", IDS)
    df["label"] = ["cat", "dog", "cat", "dog"]
    df.to_csv(tmp_path / "f.csv", index=False)
    rep = load_representation(tmp_path / "f.csv")
    assert rep.kind == "features" and rep.ids == tuple(IDS)
    np.testing.assert_allclose(rep.values, x, rtol=1e-15)
    assert list(rep.meta["labels"]) == ["cat", "dog", "cat", "dog"]


def test_feature_table_needs_an_id_column(tmp_path, rng):
    pd.DataFrame(rng.normal(size=(4, 2)), columns=["a", "b"]).to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(InputError, match="cannot find the stimulus id column"):
        load_representation(tmp_path / "f.csv")
    with pytest.raises(InputError, match="no id column 'key'"):
        load_representation(tmp_path / "f.csv", id_column="key")


def test_parquet_feature_table(tmp_path, rng):
    pytest.importorskip("pyarrow")
    x = rng.normal(size=(4, 3))
    df = pd.DataFrame(x, columns=["f0", "f1", "f2"]).assign(id=IDS)
    df.to_parquet(tmp_path / "f.parquet")
    rep = load_representation(tmp_path / "f.parquet")
    assert rep.ids == tuple(IDS)
    np.testing.assert_array_equal(rep.values, x)


def test_npz_round_trip_keeps_kind(tmp_path, sim):
    for kind in ("features", "similarity", "dissimilarity"):
        rep = Representation(IDS, sim, kind=kind)
        rep.to_npz(tmp_path / f"{kind}.npz")
        back = load_representation(tmp_path / f"{kind}.npz")
        assert back.kind == kind and back.ids == rep.ids
        assert np.array_equal(back.values, rep.values)


def test_npz_errors(tmp_path, sim):
    np.savez(tmp_path / "noids.npz", similarity=sim)
    with pytest.raises(InputError, match="no 'ids' array"):
        load_representation(tmp_path / "noids.npz")
    np.savez(tmp_path / "two.npz", ids=np.array(IDS), similarity=sim, features=sim)
    with pytest.raises(InputError, match="exactly one of"):
        load_representation(tmp_path / "two.npz")
    np.savez(tmp_path / "obj.npz", ids=np.array(IDS, dtype=object), features=sim)
    with pytest.raises(InputError, match="pickle"):
        load_representation(tmp_path / "obj.npz")
    np.savez(tmp_path / "s.npz", ids=np.array(IDS), similarity=sim)
    with pytest.raises(InputError, match="stores 'similarity' but kind='dissimilarity'"):
        load_representation(tmp_path / "s.npz", kind="dissimilarity")


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(DataNotFoundError, match="no such file"):
        load_representation(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(InputError, match="unsupported file type '.xlsx'"):
        load_representation(tmp_path / "x.xlsx")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_representation(tmp_path / "empty.csv")


def test_real_peterson_matrices_load(shared_data):
    for domain in ("animals", "automobiles", "fruits", "furniture", "various", "vegetables"):
        rep = load_representation(shared_data / "peterson2018" / "similarity" / f"{domain}.csv")
        assert rep.kind == "similarity" and rep.n_stimuli == 120
        assert np.all(np.diag(rep.values) == 1.0)

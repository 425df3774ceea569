"""NPY + id list and MATLAB matrices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat

from repalign import DataNotFoundError, InputError, load_representation
from repalign.io.matrices import load_matrix, read_id_list, read_mat, select_mat_matrix

SIM = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.1], [0.2, 0.1, 1.0]])


def test_npy_with_sibling_id_list(tmp_path):
    np.save(tmp_path / "sim.npy", SIM)
    (tmp_path / "sim.ids.txt").write_text("a\nb\nc\n\n")
    rep = load_matrix(tmp_path / "sim.npy")
    assert rep.ids == ("a", "b", "c") and rep.kind == "similarity"
    np.testing.assert_array_equal(rep.values, SIM)
    assert rep.meta["kind_source"].startswith("detected")
    # the same through load_representation (and so through repalign align)
    assert load_representation(tmp_path / "sim.npy").ids == ("a", "b", "c")


def test_npy_dissimilarity_detected_and_explicit_ids(tmp_path):
    np.save(tmp_path / "d.npy", 1 - SIM)
    rep = load_matrix(tmp_path / "d.npy", ids=["x", "y", "z"])
    assert rep.kind == "dissimilarity" and rep.meta["ids_source"] == "given"
    (tmp_path / "names.txt").write_text("p\nq\nr\n")
    assert load_matrix(tmp_path / "d.npy", ids=tmp_path / "names.txt").ids == ("p", "q", "r")


def test_npy_errors_name_the_file_and_problem(tmp_path):
    np.save(tmp_path / "sim.npy", SIM)
    with pytest.raises(InputError, match=r"sim\.npy: a 3 x 3 matrix without stimulus ids.*sim\.ids\.txt"):
        load_matrix(tmp_path / "sim.npy")
    (tmp_path / "sim.ids.txt").write_text("a\nb\n")
    with pytest.raises(InputError, match=r"2 stimulus ids .* for a 3 x 3 matrix"):
        load_matrix(tmp_path / "sim.npy")
    (tmp_path / "sim.ids.txt").write_text("a\n\nb\nc\n")
    with pytest.raises(InputError, match=r"empty lines at 2"):
        load_matrix(tmp_path / "sim.npy")
    np.save(tmp_path / "rect.npy", np.ones((3, 4)))
    with pytest.raises(InputError, match=r"expected a square 2-D matrix; got shape \(3, 4\)"):
        load_matrix(tmp_path / "rect.npy", ids=list("abc"))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="object arrays are refused"):
        load_matrix(tmp_path / "obj.npy", ids=list("abc"))
    bad = SIM.copy()
    bad[0, 1] = bad[1, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(InputError, match=r"NaN or infinite.*\['a', 'b'\]"):
        load_matrix(tmp_path / "nan.npy", ids=list("abc"))
    with pytest.raises(DataNotFoundError, match="no such file"):
        load_matrix(tmp_path / "none.npy")
    with pytest.raises(InputError, match=r"reads \.npy and \.mat files"):
        load_matrix(__file__)
    with pytest.raises(InputError, match="Valid options: similarity, dissimilarity"):
        load_matrix(tmp_path / "sim.npy", kind="features")


def test_mat_with_cellstr_ids(tmp_path):
    ids = np.array(["dog", "cat", "cow"], dtype=object)
    savemat(tmp_path / "m.mat", {"simmat": SIM, "stimuli": ids.reshape(-1, 1)})
    rep = load_matrix(tmp_path / "m.mat")
    assert rep.ids == ("dog", "cat", "cow")
    assert rep.meta["variable"] == "simmat" and rep.meta["ids_source"] == "variable 'stimuli'"


def test_mat_variable_choice(tmp_path):
    savemat(tmp_path / "two.mat", {"a": SIM, "b": 2 * SIM, "n": np.array([[3]])})
    (tmp_path / "two.ids.txt").write_text("x\ny\nz\n")
    with pytest.raises(InputError, match=r"2 variables could be the similarity matrix: a \(3x3 float64\), b \(3x3"):
        load_matrix(tmp_path / "two.mat")
    assert load_matrix(tmp_path / "two.mat", variable="b").meta["variable"] == "b"
    with pytest.raises(InputError, match=r"no variable 'c'; the file holds: a \(3x3 float64\), b .*, n \(1x1"):
        load_matrix(tmp_path / "two.mat", variable="c")
    with pytest.raises(InputError, match=r"variable 'n' is not a square numeric matrix"):
        load_matrix(tmp_path / "two.mat", variable="n")
    # the FILE.mat:VARIABLE form (used on the command line)
    assert load_matrix(f"{tmp_path / 'two.mat'}:a").meta["variable"] == "a"
    savemat(tmp_path / "none.mat", {"v": np.arange(4.0)})
    with pytest.raises(InputError, match=r"no square numeric matrix \(at least 3 x 3\) among its variables: v"):
        load_matrix(tmp_path / "none.mat", ids=list("abc"))


def test_select_mat_matrix_prefers_the_listed_name_and_falls_back():
    assert select_mat_matrix({"simmat": SIM, "other": SIM}, preferred="simmat")[0] == "simmat"
    assert select_mat_matrix({"x": SIM}, preferred="simmat")[0] == "x"
    with pytest.raises(InputError, match=r"none is named 'simmat', and 2 variables could be"):
        select_mat_matrix({"x": SIM, "y": SIM}, preferred="simmat")


def test_mat_v73_through_h5py(tmp_path):
    h5py = pytest.importorskip("h5py")
    asym = np.arange(9.0).reshape(3, 3)
    with h5py.File(tmp_path / "v73.mat", "w", userblock_size=512) as fh:
        fh.create_dataset("M", data=asym.T)  # MATLAB stores column-major: the file holds the transpose
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .".ljust(116, b" ")
    with open(tmp_path / "v73.mat", "r+b") as fh:  # the user block MATLAB writes before the HDF5 data
        fh.write(header + b"\x00" * 8 + b"\x00\x02IM")
    variables = read_mat(tmp_path / "v73.mat")
    np.testing.assert_array_equal(variables["M"], asym)
    (tmp_path / "v73.ids.txt").write_text("a\nb\nc\n")
    with pytest.raises(InputError, match="not symmetric"):
        load_matrix(tmp_path / "v73.mat", kind="similarity")


def test_unreadable_mat_is_reported(tmp_path):
    (tmp_path / "bad.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\x00" * 10)
    with pytest.raises(InputError, match=r"bad\.mat: not a readable MATLAB file"):
        read_mat(tmp_path / "bad.mat")
    with pytest.raises(DataNotFoundError):
        read_mat(tmp_path / "missing.mat")
    with pytest.raises(DataNotFoundError, match="id list not found"):
        read_id_list(tmp_path / "missing.txt")

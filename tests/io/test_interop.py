"""Reading what other tools write: thingsvision folders, HDF5, xarray, and dataset references.

The thingsvision layouts are written here by hand, the way thingsvision's
``save_features`` writes them (``np.save``, ``np.savetxt``, ``scipy.io.savemat``,
``h5py``), and the loaded arrays are compared with the arrays written.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.io import savemat

import repalign as ra
from repalign import InputError, MissingDependencyError, Representation
from repalign.cli import main
from repalign.io import load_representation

h5py = pytest.importorskip("h5py")

NAMES = ["cat/cat_01.jpg", "cat/cat_02.jpg", "dog/dog_01.jpg", "dog/dog_02.jpg", "car/car_01.jpg"]
IDS = ("cat_01.jpg", "cat_02.jpg", "dog_01.jpg", "dog_02.jpg", "car_01.jpg")


@pytest.fixture
def features(rng):
    return rng.normal(size=(len(NAMES), 7)).astype(np.float32)


def thingsvision_folder(tmp_path, features, fmt, *, names=NAMES, absolute=False):
    """A thingsvision output folder as ``save_features(features, out, file_format=fmt)`` leaves it."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    lines = [f"/data/images/{n}" if absolute else n for n in names]
    (out / "file_names.txt").write_text("".join(f"{line}\n" for line in lines))
    if fmt == "npy":
        with open(out / "features.npy", "wb") as fh:
            np.save(fh, features)
    elif fmt == "txt":
        np.savetxt(out / "features.txt", features)
    elif fmt == "hdf5":
        with h5py.File(out / "features.hdf5", "w") as fh:
            fh.create_dataset("features", data=features)
    elif fmt == "mat":  # one variable per image, named by its file name without extension
        savemat(out / "features.mat", {line.rsplit(".", 1)[0]: f for line, f in zip(lines, features)})
    elif fmt == "mat-features":
        savemat(out / "features.mat", {"features": features})
    return out


@pytest.mark.parametrize("fmt", ["npy", "txt", "hdf5", "mat", "mat-features"])
def test_thingsvision_folder_equals_the_arrays_written(tmp_path, features, fmt):
    out = thingsvision_folder(tmp_path, features, fmt)
    rep = load_representation(out)
    assert rep.kind == "features" and rep.ids == IDS
    # np.savetxt writes 18 significant digits: float32 values come back exactly
    np.testing.assert_array_equal(rep.values, features.astype(np.float64))
    assert ra.load_representation(out).ids == IDS


def test_thingsvision_absolute_paths_and_split_files(tmp_path, features):
    out = thingsvision_folder(tmp_path, features, "none", absolute=True)
    for i, block in enumerate((features[:2], features[2:4], features[4:]), start=1):
        np.save(out / f"features_{i:02d}.npy", block)
    rep = load_representation(out)
    assert rep.ids == IDS
    np.testing.assert_array_equal(rep.values, features)


def test_thingsvision_ids_match_a_folder_of_images(tmp_path, features, rng):
    """Aligning thingsvision features with a matrix named by image file names matches by id."""
    out = thingsvision_folder(tmp_path, features, "npy")
    order = rng.permutation(len(IDS))
    reordered = Representation.from_features([IDS[i] for i in order], features[order])
    result = ra.compare(load_representation(out), reordered, metrics="pearson")
    assert result.scores["pearson"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda out: (out / "file_names.txt").unlink(), r"without file_names.txt, so the stimulus ids are unknown"),
        (lambda out: (out / "file_names.txt").write_text("a.png\nb.png\n"), r"5 feature rows but 2 file names"),
        (lambda out: np.savetxt(out / "features.txt", np.zeros((5, 2))), r"several feature files \(features.npy, features.txt\)"),
        (lambda out: (out / "file_names.txt").write_text("x/a.png\ny/a.png\nb.png\nc.png\nd.png\n"),
         r"1 file names occur more than once \('a.png'"),
        (lambda out: np.save(out / "features.npy", np.zeros((5, 2, 3))), r"features of shape \(5, 2, 3\).*flatten_acts"),
        (lambda out: np.save(out / "features.npy", np.zeros((5, 2), dtype=complex)), r"complex numbers"),
    ],
)
def test_thingsvision_folder_errors(tmp_path, features, setup, message):
    out = thingsvision_folder(tmp_path, features, "npy")
    setup(out)
    with pytest.raises(InputError, match=message):
        load_representation(out)


def test_thingsvision_pt_and_empty_folders(tmp_path, features):
    out = thingsvision_folder(tmp_path, features, "none")
    (out / "features.pt").write_bytes(b"not read")
    with pytest.raises(InputError, match=r"features.pt: PyTorch tensors are not read.*file_format='npy'"):
        load_representation(out)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"is a folder without thingsvision output"):
        load_representation(tmp_path / "empty")


def test_thingsvision_folder_in_the_cli(tmp_path, features, capsys):
    out = thingsvision_folder(tmp_path, features, "hdf5")
    Representation.from_features(IDS, features).to_npz(tmp_path / "same.npz")
    code = main(["align", str(out), str(tmp_path / "same.npz"), "--json"])
    captured = capsys.readouterr()
    assert code == 0 and '"pearson": 1.0' in captured.out.replace("0.9999999999999999", "1.0")


# -- HDF5 -----------------------------------------------------------------------------


def test_hdf5_with_bytes_ids_and_labels(tmp_path, features):
    with h5py.File(tmp_path / "f.h5", "w") as fh:
        fh.create_dataset("ids", data=np.array([i.encode() for i in IDS]))
        fh.create_dataset("features", data=features)
        fh.create_dataset("labels", data=np.array([b"cat", b"cat", b"dog", b"dog", b"car"]))
    rep = load_representation(tmp_path / "f.h5")
    assert rep.ids == IDS and rep.meta["labels"].tolist() == ["cat", "cat", "dog", "dog", "car"]
    np.testing.assert_array_equal(rep.values, features)


def test_hdf5_string_dtype_ids_and_an_id_list(tmp_path, rng):
    sim = np.corrcoef(rng.normal(size=(5, 9)))
    with h5py.File(tmp_path / "s.hdf5", "w") as fh:
        fh.create_dataset("ids", data=list(IDS), dtype=h5py.string_dtype())
        fh.create_dataset("similarity", data=sim)
    rep = load_representation(tmp_path / "s.hdf5")
    assert rep.kind == "similarity" and rep.ids == IDS
    with h5py.File(tmp_path / "n.h5", "w") as fh:
        fh.create_dataset("dissimilarity", data=1 - sim)
    with pytest.raises(InputError, match=r"no 'ids' dataset and no id list n.ids.txt"):
        load_representation(tmp_path / "n.h5")
    (tmp_path / "n.ids.txt").write_text("\n".join(IDS))
    assert load_representation(tmp_path / "n.h5").kind == "dissimilarity"


def test_hdf5_errors(tmp_path, features, monkeypatch):
    with h5py.File(tmp_path / "x.h5", "w") as fh:
        fh.create_dataset("ids", data=np.array([i.encode() for i in IDS]))
        fh.create_dataset("activations", data=features)
    with pytest.raises(InputError, match=r"needs exactly one dataset named features.*activations \(5, 7\) float32"):
        load_representation(tmp_path / "x.h5")
    (tmp_path / "bad.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(InputError, match=r"bad.h5: not a readable HDF5 file"):
        load_representation(tmp_path / "bad.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)  # as if h5py were not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'repalign\[io\]'"):
        load_representation(tmp_path / "x.h5")


# -- xarray -----------------------------------------------------------------------------


def test_xarray_features_and_matrix(features):
    xr = pytest.importorskip("xarray")
    da = xr.DataArray(features, dims=("stimulus", "unit"), coords={"stimulus": list(IDS)})
    rep = ra.load_representation(da)
    assert rep.kind == "features" and rep.ids == IDS
    np.testing.assert_array_equal(rep.values, features)
    transposed = load_representation(da.T)  # dimension order does not matter
    np.testing.assert_array_equal(transposed.values, features)
    sim = np.corrcoef(features.astype(np.float64))
    order = [4, 2, 0, 1, 3]
    m = xr.DataArray(sim[:, order], dims=("stimulus", "stimulus_b"),
                     coords={"stimulus": list(IDS), "stimulus_b": [IDS[i] for i in order]})
    rep = load_representation(m, stimulus_dim="stimulus")
    assert rep.kind == "similarity"
    np.testing.assert_allclose(rep.values, sim, rtol=0, atol=1e-15)


def test_xarray_brain_score_assembly(features):
    """Brain-Score keeps stimulus_id as a level of the ``presentation`` MultiIndex."""
    xr = pytest.importorskip("xarray")
    da = xr.DataArray(
        features, dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", list(IDS)), "repetition": ("presentation", [0] * 5),
                "neuroid_id": ("neuroid", [f"n{i}" for i in range(7)])},
    ).set_index(presentation=["stimulus_id", "repetition"])
    rep = load_representation(da)
    assert rep.ids == IDS and rep.meta["stimulus_dim"] == "presentation"
    np.testing.assert_array_equal(rep.values, features)


def test_xarray_errors(features):
    xr = pytest.importorskip("xarray")
    with pytest.raises(InputError, match=r"none of its dimensions is the stimulus dimension.*stimulus_dim="):
        load_representation(xr.DataArray(features, dims=("row", "unit")))
    with pytest.raises(InputError, match=r"dimension 'stimulus' has no coordinate"):
        load_representation(xr.DataArray(features, dims=("stimulus", "unit")))
    cube = xr.DataArray(np.zeros((5, 2, 3)), dims=("stimulus", "c", "x"), coords={"stimulus": list(IDS)})
    with pytest.raises(InputError, match=r"a 3-D array.*Select, pool or stack"):
        load_representation(cube)
    with pytest.raises(InputError, match=r"expected an xarray.DataArray; got Dataset"):
        load_representation(xr.Dataset({"f": (("stimulus", "unit"), features)}))
    with pytest.raises(InputError, match=r"reads a path or an xarray.DataArray; got ndarray"):
        load_representation(features)


# -- dataset references -----------------------------------------------------------------


def _write_labelled(path, ids, m):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [",".join(["stimulus", *ids])] + [",".join([i, *map(repr, map(float, r))]) for i, r in zip(ids, m)]
    path.write_text("\n".join(rows) + "\n")


def test_reference_after_data_add(tmp_path, rng, capsys):
    ids = ["dog1.jpg", "dog2.jpg", "cat1.jpg", "car1.jpg"]
    sim = np.corrcoef(rng.normal(size=(4, 6)))
    _write_labelled(tmp_path / "mine" / "similarity" / "cond1.csv", ids, sim)
    assert main(["data", "add", "mydata", str(tmp_path / "mine")]) == 0
    capsys.readouterr()
    rep = ra.load_representation("mydata:cond1")
    direct = load_representation(tmp_path / "mine" / "similarity" / "cond1.csv")
    assert rep.ids == direct.ids and np.array_equal(rep.values, direct.values) and rep.kind == "similarity"
    with pytest.raises(InputError, match=r"fixes its own kind; drop kind="):
        ra.load_representation("mydata:cond1", kind="similarity")
    with pytest.raises(InputError, match=r"data_root= applies to dataset references"):
        ra.load_representation(tmp_path / "mine" / "similarity" / "cond1.csv", data_root=tmp_path)
    with pytest.raises(ra.DataNotFoundError, match=r"no such file. If it is a dataset reference"):
        load_representation("mydata:cond1")  # the input layer alone knows no datasets, and says where to go


def test_peterson_reference_in_python(shared_data):
    rep = ra.load_representation("peterson2018:animals", data_root=shared_data)
    direct = load_representation(shared_data / "peterson2018" / "similarity" / "animals.csv")
    assert rep.n_stimuli == 120 and rep.ids == direct.ids and np.array_equal(rep.values, direct.values)


@pytest.mark.parametrize("fmt", ["npy", "txt", "hdf5", "mat"])
def test_thingsvision_feature_file_by_its_path(tmp_path, features, fmt):
    out = thingsvision_folder(tmp_path, features, fmt)
    rep = load_representation(out / f"features.{fmt}")
    assert rep.ids == IDS
    np.testing.assert_array_equal(rep.values, features)
    np.savetxt(out / "features.txt", features)  # a second format: the folder is ambiguous, the path is not
    if fmt != "txt":
        with pytest.raises(InputError, match="several feature files"):
            load_representation(out)
        np.testing.assert_array_equal(load_representation(out / f"features.{fmt}").values, features)


def test_thingsvision_file_with_a_second_id_list(tmp_path, features):
    out = thingsvision_folder(tmp_path, features, "npy")
    (out / "features.ids.txt").write_text("\n".join(IDS))
    with pytest.raises(InputError, match=r"two id lists, file_names.txt \(thingsvision\) and features.ids.txt"):
        load_representation(out / "features.npy")


def test_thingsvision_mat_per_image_variables_of_a_class_dataset(tmp_path, rng):
    """thingsvision's class dataset writes full paths to file_names.txt and names each MAT
    variable with its storing rm_suffix, whose pattern has no .JPG/.JPEG: such names keep
    their suffix (written here with that very pattern)."""
    import re

    storing_extensions = r"(.eps|.jpg|.jpeg|.png|.PNG|.tif|.tiff)$"  # thingsvision/utils/storing/helpers.py
    lines = ["/data/images/cat/cat_01.jpg", "/data/images/dog/dog_01.JPG", "/data/images/dog/dog_02.png"]
    feats = rng.normal(size=(3, 4))
    out = tmp_path / "tv"
    out.mkdir()
    (out / "file_names.txt").write_text("".join(f"{line}\n" for line in lines))
    savemat(out / "features.mat", {re.sub(storing_extensions, "", line): f for line, f in zip(lines, feats)})
    rep = load_representation(out)
    assert rep.ids == ("cat_01.jpg", "dog_01.JPG", "dog_02.png")
    np.testing.assert_array_equal(rep.values, feats)


def test_thingsvision_split_mat_files(tmp_path, rng):
    """split_features(..., file_format='mat'): features_01.mat, ... each with the per-image
    variables of its rows (named with thingsvision's storing rm_suffix)."""
    import re

    storing_extensions = r"(.eps|.jpg|.jpeg|.png|.PNG|.tif|.tiff)$"
    lines = [f"img_{i}.jpg" for i in range(5)]
    feats = rng.normal(size=(5, 3))
    out = tmp_path / "tv"
    out.mkdir()
    (out / "file_names.txt").write_text("".join(f"{line}\n" for line in lines))
    names = [re.sub(storing_extensions, "", line) for line in lines]
    for i, (lo, hi) in enumerate(((0, 2), (2, 5)), start=1):
        savemat(out / f"features_{i:02d}.mat", {n: f for n, f in zip(names[lo:hi], feats[lo:hi])})
    rep = load_representation(out)
    assert rep.ids == tuple(lines)
    np.testing.assert_array_equal(rep.values, feats)

"""CIFAR-100 python release (restricted unpickler), download through the fetch layer, ImageFolder."""

from __future__ import annotations

import functools
import http.server
import os
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

from repalign import DataNotFoundError, InputError
from repalign.data.fetch import RemoteFile
from repalign.transfer import datasets
from repalign.transfer.datasets import (
    RestrictedUnpickler,
    load_cifar100,
    load_image_folder,
    load_image_set,
    read_cifar_pickle,
)

from .cifar_files import make_archive, py2_pickle, write_cifar100


def test_py2_format_matches_pickle_semantics(tmp_path: Path) -> None:
    # Our own file (trusted): the standard unpickler, as torchvision uses it, must read
    # exactly what the restricted one reads.
    written = write_cifar100(tmp_path, per_class=2)
    path = written["folder"] / "test"
    reference = pickle.loads(path.read_bytes(), encoding="latin1")  # noqa: S301 - a file this test wrote
    ours = read_cifar_pickle(path)
    assert sorted(ours) == sorted(reference)
    np.testing.assert_array_equal(ours["data"], reference["data"])
    assert ours["fine_labels"] == reference["fine_labels"]
    assert ours["filenames"] == reference["filenames"]
    assert ours["data"].dtype == np.uint8 and ours["data"].shape == (200, 3072)


def test_load_cifar100_layouts(tmp_path: Path) -> None:
    written = write_cifar100(tmp_path, per_class=2)
    for root in (tmp_path, written["folder"]):  # torchvision root, or the release folder itself
        ds = load_cifar100(root)
        assert len(ds) == 200 and ds.classes == written["names"] and ds.name == "cifar100"
        np.testing.assert_array_equal(ds.labels, written["labels"])
        # pixel layout of the release: 1024 red, then green, then blue values, row-major
        row = written["data"][7]
        np.testing.assert_array_equal(ds.pixels[7, :, :, 0], row[:1024].reshape(32, 32))
        np.testing.assert_array_equal(ds.pixels[7, :, :, 2], row[2048:].reshape(32, 32))
        assert np.asarray(ds.image(7)).shape == (32, 32, 3)
        assert ds.meta["official_release"] is False  # our small file is not the official one
        assert ds.ids[7] == "cifar100-test/00007"
    assert load_image_set(tmp_path).name == "cifar100"


def test_subset_is_balanced(tmp_path: Path) -> None:
    ds = load_cifar100(write_cifar100(tmp_path, per_class=3)["folder"])
    sub = ds.subset(2, offset=1)
    assert len(sub) == 200 and np.all(np.bincount(sub.labels) == 2)
    with pytest.raises(InputError, match="fewer than"):
        ds.subset(3, offset=1)


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval", "ndarray call", "object dtype", "bad reconstruct"])
def test_malicious_pickles_are_refused(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    if payload == "os.system":
        data = pickle.dumps({"data": _Evil(marker)}, protocol=2)
    elif payload == "builtins.eval":
        data = b"\x80\x02cbuiltins\neval\nU\x0fopen('x', 'w')\x85R."
    elif payload == "ndarray call":  # numpy.ndarray is allowed only as _reconstruct's argument
        data = b"\x80\x02cnumpy\nndarray\nK\x05\x85\x85R."
    elif payload == "object dtype":
        data = b"\x80\x02cnumpy\ndtype\nU\x02O8K\x00K\x01\x87R."
    else:  # _reconstruct with anything but the ndarray stub
        data = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nK\x01K\x00\x85U\x01b\x87R."
    path = tmp_path / "test"
    path.write_bytes(data)
    with pytest.raises(InputError, match="not a readable CIFAR"):
        read_cifar_pickle(path)
    assert not marker.exists()


def test_unpickler_allows_only_the_numpy_names() -> None:
    import io

    up = RestrictedUnpickler(io.BytesIO(b""))
    for module, name in [("os", "system"), ("builtins", "getattr"), ("numpy", "load"), ("subprocess", "Popen"),
                         ("numpy.core.multiarray", "scalar")]:
        with pytest.raises(pickle.UnpicklingError):
            up.find_class(module, name)
    assert callable(up.find_class("numpy", "dtype"))


def test_malformed_release_files(tmp_path: Path) -> None:
    folder = write_cifar100(tmp_path, per_class=1)["folder"]
    (folder / "test").write_bytes(py2_pickle({"data": np.zeros((2, 3072), np.uint8), "fine_labels": [0, 100]}))
    with pytest.raises(InputError, match="labels outside"):
        load_cifar100(folder)
    (folder / "test").write_bytes(py2_pickle({"data": np.zeros((2, 30), np.uint8), "fine_labels": [0, 1]}))
    with pytest.raises(InputError, match=r"\(n, 3072\)"):
        load_cifar100(folder)
    (folder / "test").write_bytes(b"not a pickle")
    with pytest.raises(InputError):
        load_cifar100(folder)
    with pytest.raises(DataNotFoundError):
        load_cifar100(tmp_path / "nowhere")


def test_archive_path_is_extracted_safely(tmp_path: Path) -> None:
    write_cifar100(tmp_path / "src", per_class=1)
    archive = tmp_path / "cifar-100-python.tar.gz"
    make_archive(tmp_path / "src", archive)
    ds = load_cifar100(archive)
    assert len(ds) == 100
    assert Path(ds.meta["source"]).is_relative_to(Path(os.environ["REPALIGN_DATA"]))
    assert len(load_cifar100(archive)) == 100  # second call reuses the extracted copy


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_folder(tmp_path: Path):
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_through_fetch(tmp_path: Path, http_folder, monkeypatch: pytest.MonkeyPatch) -> None:
    served, url = http_folder
    write_cifar100(tmp_path / "src", per_class=1)
    md5 = make_archive(tmp_path / "src", served / "cifar-100-python.tar.gz")
    with pytest.raises(DataNotFoundError, match="download"):
        load_cifar100()  # nothing local, downloading not allowed
    wrong = RemoteFile("cifar-100-python.tar.gz", f"{url}/cifar-100-python.tar.gz", "md5:" + "0" * 32, "test")
    monkeypatch.setattr(datasets, "CIFAR100_ARCHIVE", wrong)
    with pytest.raises(InputError, match="expected"):
        load_cifar100(download=True)
    right = RemoteFile("cifar-100-python.tar.gz", f"{url}/cifar-100-python.tar.gz", "md5:" + md5, "test")
    monkeypatch.setattr(datasets, "CIFAR100_ARCHIVE", right)
    ds = load_image_set("cifar100", download=True)
    assert len(ds) == 100 and ds.classes[0] == "class_00"
    assert len(load_cifar100()) == 100  # now found in the data folder without downloading


def test_official_archive_hash_is_the_publishers_md5() -> None:
    remote = datasets.CIFAR100_ARCHIVE
    assert remote.known_hash == "md5:eb9058c3a382ffc7106e4002c42a8d85"
    assert "torchvision" in remote.hash_source and remote.url.startswith("https://")


def test_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    for cls, color in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (4, 4), color).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "dog" / ".hidden.png").write_bytes(b"")
    ds = load_image_folder(tmp_path)
    assert ds.classes == ["cat", "dog"] and len(ds) == 6
    assert ds.ids[3] == "dog/0.png" and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert ds.image(4).getpixel((0, 0)) == (0, 0, 255)
    assert load_image_set(tmp_path).classes == ["cat", "dog"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="without images"):
        load_image_folder(tmp_path)


def test_shared_cifar10_folder(shared_data: Path) -> None:
    ds = load_image_folder(shared_data / "cifar10" / "test")
    assert len(ds) == 10000 and len(ds.classes) == 10
    assert np.all(np.bincount(ds.labels) == 1000)

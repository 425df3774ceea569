"""The fetch layer: names that cannot leave their folder, truncated archives as one error line,
extractions keyed by content, and `repalign data fetch cifar100` (a transfer dataset)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import zipfile

import pytest

from repalign import InputError
from repalign._paths import data_dir
from repalign.cli import main
from repalign.data import registry
from repalign.data.datasets import cifar100
from repalign.data.fetch import RemoteFile, extract_archive, extract_cached, fetch, merge_into, safe_filename


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", "", "/etc/passwd", "a\\b", "C:x", " x", "x\x00"])
def test_file_names_that_leave_their_folder_are_refused(name, tmp_path):
    with pytest.raises(InputError, match="must not leave its folder"):
        fetch(RemoteFile(name, "https://example.org/x", "sha256:" + "0" * 64, "test"), folder=tmp_path)
    with pytest.raises(InputError, match="must not leave its folder"):
        safe_filename(name)
    assert list(tmp_path.iterdir()) == []


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def _targz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_a_truncated_archive_is_one_input_error(tmp_path, suffix):
    import os

    payload = _targz({"a/b.bin": os.urandom(200_000)}) if suffix == ".tar.gz" else _zip({"a.txt": "x" * 100_000})
    archive = tmp_path / f"data{suffix}"
    archive.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(InputError, match="truncated or corrupt") as info:
        extract_archive(archive, tmp_path / "out")
    assert "\n" not in str(info.value) and "repalign data fetch NAME" in str(info.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.extracting").exists()


def test_extractions_are_keyed_by_content(tmp_path):
    archive = tmp_path / "set.zip"
    archive.write_bytes(_zip({"x.txt": "old"}))
    first = extract_cached(archive, tmp_path / "extracted")
    assert (first / "x.txt").read_text() == "old" and extract_cached(archive, tmp_path / "extracted") == first
    archive.write_bytes(_zip({"x.txt": "new"}))  # replaced, same name
    second = extract_cached(archive, tmp_path / "extracted")
    assert second != first and (second / "x.txt").read_text() == "new"


def test_merge_replaces_only_its_own_files(tmp_path):
    target = tmp_path / "target"
    (tmp_path / "e1").mkdir()
    (tmp_path / "e1" / "x.txt").write_text("old")
    merge_into(tmp_path / "e1", target, source="set.zip")
    (target / "x.txt").write_text("edited")
    merge_into(tmp_path / "e1", target, source="set.zip")  # the same content: nothing copied again
    assert (target / "x.txt").read_text() == "edited"
    (tmp_path / "e2").mkdir()
    (tmp_path / "e2" / "x.txt").write_text("new")
    merge_into(tmp_path / "e2", target, source="set.zip")  # the same archive name, changed content
    assert (target / "x.txt").read_text() == "new"
    (target / "mine.txt").write_text("user file")
    (tmp_path / "e3").mkdir()
    (tmp_path / "e3" / "mine.txt").write_text("clobber")
    with pytest.raises(InputError, match="would overwrite 'mine.txt'"):
        merge_into(tmp_path / "e3", target, source="other.zip")
    assert (target / "mine.txt").read_text() == "user file"


def test_a_replaced_dataset_archive_is_extracted_again(http_server, monkeypatch):
    url, state = http_server
    for text in ("v1", "v2"):
        payload = _zip({"similarity/p.txt": text})
        state.files["/toy.zip"] = payload
        remote = RemoteFile("toy.zip", url + "/toy.zip", "sha256:" + hashlib.sha256(payload).hexdigest(), "test")
        toy = registry.Dataset("toy", "toy", "c", "l", "s", "folders", "o", ("p",), "matrices", (remote,))
        monkeypatch.setitem(registry.DATASETS, "toy", toy)
        (data_dir() / "downloads" / "toy.zip").unlink(missing_ok=True)  # a new version was published
        path = registry.fetch_dataset("toy")
        assert (path / "similarity" / "p.txt").read_text() == text


def test_fetch_cifar100_puts_the_release_where_fewshot_looks(http_server, monkeypatch, capsys):
    from repalign.transfer import datasets as transfer_datasets

    assert transfer_datasets.CIFAR100_ARCHIVE is cifar100.CIFAR100_ARCHIVE  # one definition
    url, state = http_server
    payload = _targz({"cifar-100-python/meta": b"m", "cifar-100-python/test": b"t"})
    state.files["/c.tar.gz"] = payload
    remote = dataclasses.replace(cifar100.CIFAR100_ARCHIVE, url=url + "/c.tar.gz",
                                 known_hash="md5:" + hashlib.md5(payload).hexdigest(), size=None)  # noqa: S324
    card = dataclasses.replace(cifar100.CARD, remote=(remote,))
    monkeypatch.setattr(cifar100.ADAPTER, "dataset", card)
    monkeypatch.setitem(registry.DATASETS, "cifar100", card)
    assert main(["data", "fetch", "cifar100"]) == 0
    release = data_dir() / "cifar-100" / "official" / "cifar-100-python"
    assert (release / "test").read_bytes() == b"t"
    assert transfer_datasets._resolve_cifar100(None, download=False) == release
    assert main(["data", "info", "cifar100"]) == 0
    out = capsys.readouterr().out
    assert "test: " in out and "train: unavailable" in out
    assert main(["align", "cifar100:test", "cifar100:test"]) == 2
    err = capsys.readouterr().err
    assert "not human data to align with" in err and "repalign fewshot FEATURES --images cifar100" in err


def test_fetch_of_cifar100_is_listed_as_a_transfer_dataset(capsys):
    import json

    assert main(["data", "list", "--json"]) == 0
    row = next(d for d in json.loads(capsys.readouterr().out)["datasets"] if d["name"] == "cifar100")
    assert row["role"] == "transfer" and row["kind"] == "images" and row["download"] == "1 verified files"

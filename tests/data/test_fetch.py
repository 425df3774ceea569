"""The download layer against a local HTTP server, and safe archive extraction."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from repalign import DataNotFoundError, InputError
from repalign.data.fetch import RemoteFile, check_hash, extract_archive, fetch, file_hash

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB: several read chunks are not needed, but the size is realistic


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_download_verifies_hash_and_moves_atomically(http_server, tmp_path):
    url, state = http_server
    state.files["/data.bin"] = PAYLOAD
    path = fetch(RemoteFile("data.bin", url + "/data.bin", sha(PAYLOAD), "test"), folder=tmp_path)
    assert path == tmp_path / "data.bin"
    assert path.read_bytes() == PAYLOAD
    assert not (tmp_path / "data.bin.part").exists()
    # A second call uses the verified file without a request.
    n = len(state.requests)
    assert fetch(RemoteFile("data.bin", url + "/data.bin", sha(PAYLOAD)), folder=tmp_path) == path
    assert len(state.requests) == n


def test_wrong_hash_deletes_the_download_and_says_so(http_server, tmp_path):
    url, state = http_server
    state.files["/data.bin"] = PAYLOAD
    wrong = "sha256:" + "0" * 64
    with pytest.raises(InputError, match=r"data\.bin: downloaded file has sha256 [0-9a-f]{64}, expected 0{64}"):
        fetch(RemoteFile("data.bin", url + "/data.bin", wrong, "test"), folder=tmp_path)
    assert not (tmp_path / "data.bin").exists()
    assert not (tmp_path / "data.bin.part").exists()


def test_md5_hash_is_accepted(http_server, tmp_path):
    url, state = http_server
    state.files["/f"] = b"hello"
    md5 = "md5:" + hashlib.md5(b"hello").hexdigest()  # noqa: S324 - publishers' checksums
    assert fetch(RemoteFile("f", url + "/f", md5), folder=tmp_path).read_bytes() == b"hello"


def test_interrupted_download_is_resumed_with_a_range_request(http_server, tmp_path):
    url, state = http_server
    state.files["/big.bin"] = PAYLOAD
    state.cut_first["/big.bin"] = 300_000
    remote = RemoteFile("big.bin", url + "/big.bin", sha(PAYLOAD), "test")
    with pytest.raises(DataNotFoundError, match=r"closed after 300000 of 1048576 bytes.*kept at .*big\.bin\.part"):
        fetch(remote, folder=tmp_path)
    part = tmp_path / "big.bin.part"
    assert part.stat().st_size == 300_000
    path = fetch(remote, folder=tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert state.requests[-1] == ("/big.bin", "bytes=300000-")
    assert not part.exists()


def test_complete_part_file_gets_416_and_is_verified(http_server, tmp_path):
    url, state = http_server
    state.files["/f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD)
    path = fetch(RemoteFile("f.bin", url + "/f.bin", sha(PAYLOAD)), folder=tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert state.requests[-1] == ("/f.bin", f"bytes={len(PAYLOAD)}-")


def test_server_ignoring_range_restarts_from_scratch(http_server, tmp_path):
    url, state = http_server
    state.files["/f.bin"] = PAYLOAD
    state.ignore_range = True
    (tmp_path / "f.bin.part").write_bytes(b"garbage-prefix")
    path = fetch(RemoteFile("f.bin", url + "/f.bin", sha(PAYLOAD)), folder=tmp_path)
    assert path.read_bytes() == PAYLOAD


def test_offline_or_missing_file_says_where_to_put_it(http_server, tmp_path):
    url, _ = http_server
    with pytest.raises(DataNotFoundError) as info:
        fetch(RemoteFile("gone.bin", url + "/gone.bin", sha(b"x")), folder=tmp_path)
    message = str(info.value)
    assert "404" in message and str(tmp_path / "gone.bin") in message and "copy the file to" in message


def test_unverified_download_is_refused_unless_allowed(http_server, tmp_path):
    url, state = http_server
    state.files["/u"] = b"unverified"
    remote = RemoteFile("u", url + "/u", None)
    with pytest.raises(InputError, match="no verified hash is known"):
        fetch(remote, folder=tmp_path)
    assert fetch(remote, folder=tmp_path, allow_unverified=True).read_bytes() == b"unverified"


def test_existing_corrupt_file_is_reported(tmp_path):
    (tmp_path / "f").write_bytes(b"not it")
    with pytest.raises(InputError, match="exists but does not match the expected sha256"):
        fetch(RemoteFile("f", "http://127.0.0.1:9/f", sha(b"it")), folder=tmp_path)


def test_non_http_url_and_bad_hash_syntax_are_refused(tmp_path):
    with pytest.raises(InputError, match="non-HTTP URL"):
        fetch(RemoteFile("f", "file:///etc/passwd", sha(b"x")), folder=tmp_path)
    with pytest.raises(InputError, match="must look like 'sha256:<hex>'"):
        check_hash(__file__, "deadbeef")
    with pytest.raises(InputError, match="Valid options: sha256, md5"):
        check_hash(__file__, "sha1:abc")


def test_file_hash_matches_hashlib(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(PAYLOAD)
    assert file_hash(p) == hashlib.sha256(PAYLOAD).hexdigest()


# -- archives -----------------------------------------------------------------------------


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file_info(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_good_archives_are_extracted(tmp_path):
    tar = _tar(tmp_path / "ok.tar.gz", [_file_info("ds/a.txt", b"a"), _file_info("ds/sub/b.txt", b"b")])
    out = extract_archive(tar, tmp_path / "out_tar")
    assert (out / "ds" / "sub" / "b.txt").read_bytes() == b"b"
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("ds/a.txt", "a")
    out = extract_archive(tmp_path / "ok.zip", tmp_path / "out_zip")
    assert (out / "ds" / "a.txt").read_text() == "a"


@pytest.mark.parametrize("name", ["../evil.txt", "ds/../../evil.txt", "/abs/evil.txt"])
def test_path_traversal_in_tar_is_refused_before_writing(tmp_path, name):
    tar = _tar(tmp_path / "bad.tar.gz", [_file_info("ok.txt", b"ok"), _file_info(name, b"evil")])
    with pytest.raises(InputError, match="unsafe member path"):
        extract_archive(tar, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out.extracting").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "C:/evil.txt"])
def test_path_traversal_in_zip_is_refused(tmp_path, name):
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        zf.writestr("ok.txt", "ok")
        zf.writestr(zipfile.ZipInfo(name), "evil")
    with pytest.raises(InputError, match="unsafe member path"):
        extract_archive(tmp_path / "bad.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_symlinks_and_devices_in_tar_are_refused(tmp_path):
    link = tarfile.TarInfo("ds/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    tar = _tar(tmp_path / "link.tar.gz", [_file_info("ds/a.txt", b"a"), (link, None)])
    with pytest.raises(InputError, match=r"refusing to extract 'ds/link' \(links and devices"):
        extract_archive(tar, tmp_path / "out")
    hard = tarfile.TarInfo("ds/hard")
    hard.type = tarfile.LNKTYPE
    hard.linkname = "ds/a.txt"
    with pytest.raises(InputError, match="links and devices"):
        extract_archive(_tar(tmp_path / "hard.tar.gz", [_file_info("ds/a.txt", b"a"), (hard, None)]), tmp_path / "o2")
    dev = tarfile.TarInfo("ds/dev")
    dev.type = tarfile.CHRTYPE
    with pytest.raises(InputError, match="links and devices"):
        extract_archive(_tar(tmp_path / "dev.tar.gz", [(dev, None)]), tmp_path / "o3")
    assert not any((tmp_path / d).exists() for d in ("out", "o2", "o3"))


def test_symlink_in_zip_is_refused(tmp_path):
    info = zipfile.ZipInfo("ds/link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(InputError, match="symbolic link 'ds/link'"):
        extract_archive(tmp_path / "link.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_extraction_target_must_be_new_or_empty_and_input_an_archive(tmp_path):
    tar = _tar(tmp_path / "ok.tar.gz", [_file_info("a.txt", b"a")])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InputError, match="not an empty folder"):
        extract_archive(tar, tmp_path / "full")
    (tmp_path / "plain.txt").write_text("hi")
    with pytest.raises(InputError, match="not a zip or tar archive"):
        extract_archive(tmp_path / "plain.txt", tmp_path / "o")
    (tmp_path / "empty").mkdir()
    assert (extract_archive(tar, tmp_path / "empty") / "a.txt").read_bytes() == b"a"
    assert os.listdir(tmp_path / "empty") == ["a.txt"]

"""The one atomic-write helper: complete-or-nothing, permissions of a plain open(), clear errors."""

import os
import stat

import pytest

from repalign import InputError
from repalign._files import atomic_path, atomic_write, atomic_write_text


def test_replaces_only_on_success(tmp_path):
    out = tmp_path / "t.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(out) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]  # no temporary left behind
    atomic_write_text(out, "new")
    assert out.read_text() == "new"


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o002)
    try:
        p = atomic_write_text(tmp_path / "shared.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o664


def test_unique_temporaries(tmp_path):
    out = tmp_path / "x.bin"
    with atomic_path(out) as a, atomic_path(out) as b:
        assert a != b and a.parent == b.parent == tmp_path


def test_file_in_the_way_is_one_clear_error(tmp_path):
    (tmp_path / "blocker").write_text("")
    with pytest.raises(InputError, match="file is in the way"):
        atomic_write_text(tmp_path / "blocker" / "out.txt", "x")
    with pytest.raises(InputError, match="is a folder"):
        atomic_write_text(tmp_path, "x")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(InputError, match="cannot write"):
        atomic_write_text(ro / "out.txt", "x")

"""Stimulus names for text models."""

from __future__ import annotations

import pytest

from repalign import DataNotFoundError, InputError
from repalign.data.names import label_from_filename, names_from_ids, read_names_file


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("bar-stool-01.jpg", "bar stool"),
        ("airplane3.jpg", "airplane"),
        ("ackee2.png", "ackee"),
        ("animalbody10.jpg", "animalbody"),
        ("yellowonion1.jpg", "yellowonion"),
        ("ice_cream_2.PNG", "ice cream"),
        ("bat1", "bat"),
        ("air_conditioner", "air conditioner"),
        ("t-shirt", "t shirt"),
        ("0001.jpg", ""),
        ("v1.2.mat", "v1.2.mat"),  # only image suffixes are dropped
    ],
)
def test_label_from_filename(name, label):
    assert label_from_filename(name) == label


def test_uninformative_file_names_are_reported_not_used():
    got = names_from_ids(["stim-0007.png", "stim-0019.png", "stim-0035.png"])
    assert got.names is None and not got.available and "reduce to 'stim'" in got.source
    got = names_from_ids(["001.jpg", "002.jpg", "dog.jpg"])
    assert got.names is None and "2 file names carry no name" in got.source


def test_names_txt_in_matrix_order(tmp_path):
    (tmp_path / "n.txt").write_text("lion\ntiger\nbear\n")
    assert read_names_file(tmp_path / "n.txt", ["a", "b", "c"]).names == ("lion", "tiger", "bear")
    with pytest.raises(InputError, match=r"3 names for 2 stimuli"):
        read_names_file(tmp_path / "n.txt", ["a", "b"])
    (tmp_path / "blank.txt").write_text("lion\n\nbear\n")
    with pytest.raises(InputError, match=r"1 stimuli have an empty name: 'b'"):
        read_names_file(tmp_path / "blank.txt", ["a", "b", "c"])


def test_names_table_by_id(tmp_path):
    (tmp_path / "n.csv").write_text("stimulus,name\nb,tiger\na,lion\n")
    assert read_names_file(tmp_path / "n.csv", ["a", "b"]).names == ("lion", "tiger")
    with pytest.raises(InputError, match=r"1 stimuli have no name: 'c'; 1 rows name unknown stimuli: 'b'"):
        read_names_file(tmp_path / "n.csv", ["a", "c"])
    (tmp_path / "d.tsv").write_text("id\tlabel\na\tx\na\ty\n")
    with pytest.raises(InputError, match=r"named more than once: 'a'"):
        read_names_file(tmp_path / "d.tsv", ["a"])
    (tmp_path / "cols.csv").write_text("foo,bar\na,b\n")
    with pytest.raises(InputError, match=r"needs a stimulus id column .* and a 'name' or 'label' column"):
        read_names_file(tmp_path / "cols.csv", ["a"])
    with pytest.raises(DataNotFoundError):
        read_names_file(tmp_path / "missing.txt", ["a"])

"""Stimulus sets: order, ids, validation, fingerprints, and names as texts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from repalign import DataNotFoundError, InputError
from repalign.models import as_stimuli, image_stimuli, text_stimuli
from repalign.models.stimuli import Stimuli, text_from_id


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "imgs"
    d.mkdir()
    for name in ["b.png", "a.png", "c.jpg"]:
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(d / name)
    (d / "notes.txt").write_text("not an image")
    (d / ".hidden.png").write_bytes(b"")
    return d


def test_folder_is_sorted_by_name_with_file_names_as_ids(folder):
    s = image_stimuli(folder)
    assert s.ids == ("a.png", "b.png", "c.jpg") and s.modality == "image" and len(s) == 3
    pairs = image_stimuli([("x", folder / "c.jpg"), ("y", folder / "a.png")])
    assert pairs.ids == ("x", "y") and pairs.items[0].name == "c.jpg"  # order as given
    assert image_stimuli({"k": folder / "a.png"}).ids == ("k",)


def test_bad_stimuli_are_explained(folder, tmp_path):
    with pytest.raises(InputError, match="occur more than once"):
        image_stimuli([("a", folder / "a.png"), ("a", folder / "b.png")])
    with pytest.raises(DataNotFoundError, match="1 image files do not exist"):
        image_stimuli([("a", folder / "a.png"), ("z", folder / "zzz.png")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="contains no image files"):
        image_stimuli(tmp_path / "empty")
    with pytest.raises(InputError, match=r"\(stimulus id, image path\) pairs"):
        image_stimuli(["a.png", "b.png"])
    with pytest.raises(DataNotFoundError, match="not an existing image folder"):
        as_stimuli(tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError, match="dataset reference such as peterson2018:animals"):
        as_stimuli("nosuchdataset:animals")
    with pytest.raises(InputError, match="an image model cannot take text"):
        as_stimuli(text_stimuli(["cat"]), modality="image")


def test_fingerprint_follows_content_not_names(folder):
    a = image_stimuli(folder).fingerprint()
    assert image_stimuli(folder).fingerprint() == a
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(folder / "b.png")
    assert image_stimuli(folder).fingerprint() != a
    t = text_stimuli([("1", "cat"), ("2", "dog")])
    assert t.fingerprint() != text_stimuli([("1", "cat"), ("2", "dogs")]).fingerprint()
    assert t.describe()["n_stimuli"] == 2


def test_names_become_texts(folder, tmp_path):
    assert text_from_id("ackee2.png") == "ackee"
    assert text_from_id("air_conditioner") == "air conditioner"
    assert text_from_id("sea-lion_03.jpg") == "sea lion"
    assert text_from_id("7up") == "7up"
    names = tmp_path / "unique_id.txt"
    names.write_text("aardvark\nair_conditioner\n\n# comment\n")
    s = as_stimuli(names, modality="text")
    assert s.ids == ("aardvark", "air_conditioner") and s.items == ("aardvark", "air conditioner")
    from_images = as_stimuli(folder, modality="text")
    assert from_images.ids == ("a.png", "b.png", "c.jpg") and from_images.items == ("a", "b", "c")
    assert as_stimuli([("x", "a red apple"), ("y", "a pear")], modality="text").items == ("a red apple", "a pear")
    with pytest.raises(InputError, match="texts are empty"):
        text_stimuli({"a": " "})
    with pytest.raises(InputError, match="Unknown stimulus modality"):
        Stimuli(("a",), ("x",), "audio")


def test_dataset_references_follow_the_human_matrix(shared_data):
    import repalign

    root = shared_data / "peterson2018"
    human = repalign.load_representation(root / "similarity" / "fruits.csv")
    images = as_stimuli("peterson2018:fruits", data_root=root)
    assert images.ids == human.ids and images.source == "peterson2018:fruits"
    assert all(p.name == i for i, p in zip(images.ids, images.items))
    names = as_stimuli("peterson2018:fruits", modality="text", data_root=root)
    assert names.ids == human.ids and names.items[0] == text_from_id(human.ids[0])
    with pytest.raises(InputError, match="carry no object names"):
        as_stimuli("peterson2018:animals", modality="text", data_root=root)  # stim-0007.png ...
    with pytest.raises(InputError, match="carry no object names"):
        as_stimuli(root / "images" / "animals", modality="text")

"""Peterson et al. (2018) in both layouts, on copies the tests write, and on ../shared."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.io import savemat

from repalign import DataNotFoundError, InputError
from repalign.data import load_reference, stimulus_images, stimulus_names
from repalign.data.peterson import DOMAINS, ORIGINAL_RELEASE, scan_peterson

from .conftest import domain_ids, make_folders_copy, make_original_copy, write_image


def test_folders_layout(folders_copy):
    root, mats = folders_copy
    scan = scan_peterson(root)
    assert list(scan.parts) == list(DOMAINS) and not scan.problems
    for d, part in scan.parts.items():
        assert part.layout == "folders" and part.n_stimuli == 6
        assert part.representation.kind == "similarity"
        np.testing.assert_array_equal(part.representation.values, mats[d])
        assert part.has_images == (d in ("animals", "fruits"))
    animals = scan.parts["animals"]
    assert animals.split_halves is not None and scan.parts["fruits"].split_halves is None
    assert animals.names.names[:2] == ("arm chair", "arm chair")
    pairs = animals.stimulus_images()
    assert [x for x, _ in pairs] == list(animals.ids) == domain_ids("animals", 6)
    assert all(p.name == x for x, p in pairs)


def test_domain_without_images_is_matrix_only_and_says_where_images_go(folders_copy):
    root, _ = folders_copy
    part = scan_peterson(root).parts["furniture"]
    assert part.image_status() == "no (matrix only)"
    with pytest.raises(DataNotFoundError, match=r"peterson2018:furniture: this copy has no images .*images/furniture"):
        part.stimulus_images()


def test_missing_and_extra_images_are_reported_precisely(folders_copy, caplog):
    root, _ = folders_copy
    ids = domain_ids("animals", 6)
    (root / "images" / "animals" / ids[2]).unlink()
    write_image(root / "images" / "animals" / "zebra-99.png")
    with caplog.at_level(logging.WARNING):
        part = scan_peterson(root).parts["animals"]
    assert part.images.missing == (ids[2],) and part.images.extra == ("zebra-99.png",)
    assert not part.has_images
    assert part.image_status() == "incomplete (1 missing, 1 extra)"
    with pytest.raises(InputError) as info:
        part.stimulus_images()
    message = str(info.value)
    assert f"1 matrix ids have no image in {root / 'images' / 'animals'}: '{ids[2]}'" in message
    assert "1 images in" in message and "have no matrix id: 'zebra-99.png'" in message
    assert "zebra-99.png" in caplog.text


def test_missing_domain_is_listed_not_dropped(folders_copy):
    root, _ = folders_copy
    (root / "similarity" / "vegetables.csv").unlink()
    scan = scan_peterson(root)
    assert "vegetables" not in scan.parts
    assert "expected similarity/vegetables.csv" in scan.problems["vegetables"]
    with pytest.raises(InputError, match=r"peterson2018:vegetables in .*: not found"):
        scan.part("vegetables")
    with pytest.raises(InputError, match="Valid options: animals, automobiles"):
        scan.part("birds")


def test_original_release_layout_with_listed_file_and_variable_names(tmp_path, rng):
    root = tmp_path / "release"
    written = make_original_copy(root, rng)
    scan = scan_peterson(root)
    assert not scan.problems and list(scan.parts) == list(DOMAINS)
    for d, part in scan.parts.items():
        ids, m = written[d]
        assert part.layout == "original" and part.matrix_path.name == ORIGINAL_RELEASE[d].filename
        np.testing.assert_array_equal(part.representation.values, m)
        if d in ("animals", "fruits"):
            # rows follow the image file names sorted by character code (as MATLAB's dir lists them)
            assert part.ids == tuple(ids) and part.ids[:3] == (f"{d}1.jpg", f"{d}2.jpg", f"{d}3.jpg")
            assert part.has_images
            assert part.names.source == f"the file names carry no object names (all 6 reduce to {d!r}); give a names file"
        else:
            assert part.ids[0] == f"{d}-001" and part.images is None and not part.names.available
    assert scan.parts["animals"].representation.meta["variable"] == "simMatrixturk2016"
    assert scan.parts["fruits"].representation.meta["variable"] == "simmat"
    assert scan.parts["automobiles"].notes == ["matrix from variable 'simMatrix_automobiles'"]


def test_original_layout_sorts_ids_by_character_code(tmp_path, rng):
    root = tmp_path / "release"
    make_original_copy(root, rng, n=12, images=("animals",), domains=("animals",))
    ids = scan_peterson(root).parts["animals"].ids
    assert ids[:4] == ("animals1.jpg", "animals10.jpg", "animals11.jpg", "animals12.jpg")


def test_original_layout_other_variable_name_is_used_and_noted(tmp_path, rng):
    root = tmp_path / "release"
    make_original_copy(root, rng, domains=("fruits",), variables={"fruits": "fruitSim"})
    part = scan_peterson(root).parts["fruits"]
    assert part.representation.meta["variable"] == "fruitSim"
    assert part.notes == ["variable 'simmat' not found; used 'fruitSim', the only square matrix"]


def test_original_layout_ambiguous_variables_is_a_clear_error(tmp_path, rng):
    root = tmp_path / "release"
    (root / "fruits").mkdir(parents=True)
    m = np.eye(6)
    savemat(root / "fruits" / "fruits_mturk_sim.mat", {"simA": m, "simB": m})
    problem = scan_peterson(root).problems["fruits"]
    assert "none is named 'simmat', and 2 variables could be the similarity matrix: simA (6x6 float64), simB" in problem


def test_original_layout_other_file_name_and_nested_folders(tmp_path, rng):
    root = tmp_path / "release"
    folder = root / "animals" / "sim_judgements"
    folder.mkdir(parents=True)
    m = np.eye(3) + 0.5
    savemat(folder / "renamed.mat", {"simMatrixturk2016": m})
    for x in ("c.png", "a.png", "b.png"):
        write_image(root / "animals" / "stimuli" / x)
    part = scan_peterson(root).parts["animals"]
    assert part.ids == ("a.png", "b.png", "c.png") and part.has_images
    assert part.notes == ["turkSimMatrix2016.mat not found; used renamed.mat, the only MATLAB file"]
    (root / "animals" / "sim_judgements" / "other.mat").write_bytes(b"")
    assert "2 other MATLAB files are present" in scan_peterson(root).problems["animals"]


def test_original_layout_image_count_mismatch_and_nan_diagonal(tmp_path, rng):
    root = tmp_path / "release"
    make_original_copy(root, rng, domains=("animals",), images=("animals",))
    write_image(root / "animals" / "images" / "extra.jpg")
    problem = scan_peterson(root).problems["animals"]
    assert "holds a 6 x 6 matrix but" in problem and "has 7 images" in problem
    (root / "animals" / "images" / "extra.jpg").unlink()
    m = np.full((6, 6), 3.0)
    np.fill_diagonal(m, np.nan)
    m[0, 1] = m[1, 0] = 5.0
    savemat(root / "animals" / ORIGINAL_RELEASE["animals"].filename, {"simMatrixturk2016": m})
    part = scan_peterson(root).parts["animals"]
    assert np.all(np.diag(part.representation.values) == 5.0)
    assert any("non-finite diagonal" in n for n in part.notes)


def test_mixed_layouts_and_empty_root(tmp_path, rng):
    root = tmp_path / "mixed"
    make_folders_copy(root, rng, domains=("animals",), images=(), halves=())
    make_original_copy(root, rng, domains=("fruits",), images=())
    scan = scan_peterson(root)
    assert scan.parts["animals"].layout == "folders" and scan.parts["fruits"].layout == "original"
    assert set(scan.problems) == set(DOMAINS) - {"animals", "fruits"}
    with pytest.raises(DataNotFoundError, match="not a folder"):
        scan_peterson(tmp_path / "nothing")


def test_references_and_names_on_a_test_copy(folders_copy):
    root, mats = folders_copy
    rep = load_reference("peterson2018:fruits", data_root=root)
    assert rep.name == "peterson2018:fruits" and rep.n_stimuli == 6
    pairs = stimulus_images("peterson2018:fruits", data_root=root)
    assert [x for x, _ in pairs] == list(rep.ids)
    (root / "names").mkdir()
    (root / "names" / "fruits.txt").write_text("\n".join(f"fruit {i}" for i in range(6)))
    assert stimulus_names("peterson2018:fruits", data_root=root).names[0] == "fruit 0"
    (root / "my.csv").write_text("stimulus,name\n" + "\n".join(f"{x},n{i}" for i, x in enumerate(rep.ids)))
    assert stimulus_names("peterson2018:fruits", data_root=root, names_file=root / "my.csv").names[5] == "n5"
    with pytest.raises(InputError, match=r"Unknown peterson2018 domain 'fruit'.*Did you mean 'fruits'"):
        load_reference("peterson2018:fruit", data_root=root)


# -- the real data -----------------------------------------------------------------------


def test_shared_copy_has_six_domains_of_120_and_images_for_two(shared_data):
    scan = scan_peterson(shared_data / "peterson2018")
    assert list(scan.parts) == list(DOMAINS) and not scan.problems
    assert {d: p.n_stimuli for d, p in scan.parts.items()} == dict.fromkeys(DOMAINS, 120)
    assert [d for d, p in scan.parts.items() if p.has_images] == ["animals", "fruits"]
    assert scan.parts["animals"].split_halves is not None
    assert not scan.parts["animals"].names.available  # stim-0007.png ...: no names in the file names
    assert stimulus_names("peterson2018:furniture", data_root=shared_data / "peterson2018").names[0] == "bar stool"
    pairs = stimulus_images("peterson2018:animals", data_root=shared_data / "peterson2018")
    assert len(pairs) == 120 and pairs[0][0] == "stim-0007.png" and pairs[0][1].name == "stim-0007.png"
    assert [x for x, _ in pairs] == list(scan.parts["animals"].ids)


def test_shared_rgba_stimuli_load_composited_on_white(shared_data):
    """The shared stimuli are RGBA; in this copy nearly all pixels are opaque, a few animals ones are not."""
    from PIL import Image

    from repalign.data.images import load_image

    folder = shared_data / "peterson2018" / "images" / "animals"
    checked = 0
    for path in sorted(folder.iterdir())[:12]:
        raw = np.asarray(Image.open(path)).astype(np.float64)
        assert raw.shape[2] == 4
        rgb = np.asarray(load_image(path)).astype(np.float64)
        alpha = raw[..., 3:] / 255.0
        expected = raw[..., :3] * alpha + 255.0 * (1.0 - alpha)  # "over" a white page
        assert np.abs(rgb - expected).max() <= 1.0
        checked += int((raw[..., 3] < 255).sum())
    assert checked > 0  # at least one partly transparent pixel was composited

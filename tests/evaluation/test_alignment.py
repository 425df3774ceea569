"""One model against every domain of a dataset; dataset references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat

from repalign import InputError, Representation, compare
from repalign.data import (
    is_reference,
    load_reference,
    load_reference_triplets,
    parse_reference,
    resolve_representation,
    resolve_triplets,
)
from repalign.data.peterson import DOMAINS
from repalign.evaluation import align_dataset


def _noisy_model(folders_copy, rng, domains):
    root, mats = folders_copy
    from repalign.data.peterson import scan_peterson

    scan = scan_peterson(root)
    model = {}
    for d in domains:
        noise = rng.normal(scale=0.1, size=mats[d].shape)
        model[d] = Representation.from_similarity(scan.parts[d].ids, mats[d] + noise + noise.T, name=f"model-{d}")
    return root, scan, model


def test_mapping_model_scores_each_domain_and_averages(folders_copy, rng):
    root, scan, model = _noisy_model(folders_copy, rng, DOMAINS)
    result = align_dataset(model, root=root, metrics="pearson,triplet")
    assert result.domains == list(DOMAINS) and result.complete
    for d in DOMAINS:
        expected = compare(scan.parts[d].representation, model[d], metrics="pearson,triplet")
        row = result.per_domain.set_index("domain").loc[d]
        assert row["pearson"] == expected["pearson"] and row["triplet"] == expected["triplet"]
    assert result.aggregate["pearson"] == pytest.approx(result.per_domain["pearson"].mean())
    assert set(result.ceilings) == {"animals"}  # only animals has split halves in the test copy
    frame = result.ceiling_frame()
    assert frame["metric"].tolist() == ["pearson", "triplet"] and (frame["lower"] <= frame["upper"]).all()
    long = result.to_long("m")
    assert long.columns.tolist() == ["model", "dataset", "metric", "value"] and len(long) == 12
    wide = result.to_wide("m")
    assert wide["model"] == "m" and wide["pearson_animals"] == row_of(result, "animals", "pearson")
    assert set(result.to_dict()) >= {"aggregate", "aggregate_domains", "not_entered", "per_domain"}
    assert "noise_ceiling" in result.to_dict()["per_domain"][0]


def row_of(result, domain, metric):
    return float(result.per_domain.set_index("domain").loc[domain, metric])


def test_partial_model_lists_what_entered(folders_copy, rng, caplog):
    root, _, model = _noisy_model(folders_copy, rng, ("animals", "fruits"))
    result = align_dataset(model, root=root, metrics="spearman")
    assert result.domains == ["animals", "fruits"] and not result.complete
    assert result.not_entered == dict.fromkeys(
        ("automobiles", "furniture", "various", "vegetables"), "the model gives no representation for it"
    )
    assert result.aggregate["spearman"] == pytest.approx(np.mean([row_of(result, d, "spearman") for d in ("animals", "fruits")]))
    assert "averages 2 of 6 domains" in caplog.text


def test_callable_model_gets_images_and_names(folders_copy, rng):
    root, _ = folders_copy
    seen = {}

    def image_model(stimuli):
        seen[stimuli.domain] = stimuli
        if stimuli.image_paths is None:
            return None
        feats = np.array([[p.stat().st_size, len(p.name), i % 3] for i, p in enumerate(stimuli.image_paths)], float)
        return Representation.from_features(stimuli.ids, feats)

    result = align_dataset(image_model, root=root, metrics="pearson", ceiling=False)
    assert result.domains == ["animals", "fruits"] and not result.ceilings
    animals = seen["animals"]
    assert animals.reference == "peterson2018:animals"
    assert [p.name for p in animals.image_paths] == list(animals.ids)
    assert animals.names[0] == "arm chair" and seen["furniture"].image_paths is None


def test_alignment_errors(folders_copy, rng):
    root, _, model = _noisy_model(folders_copy, rng, ("animals",))
    with pytest.raises(InputError, match=r"unknown domains 'birds'"):
        align_dataset(model, root=root, domains=["birds"])
    with pytest.raises(InputError, match=r"no domain could be aligned: fruits: the model gives no representation"):
        align_dataset(model, root=root, domains=["fruits"])
    with pytest.raises(InputError, match="is a ndarray, not a Representation"):
        align_dataset({"animals": np.eye(6)}, root=root, domains=["animals"])
    with pytest.raises(InputError, match="model must be a mapping"):
        align_dataset(42, root=root)
    with pytest.raises(InputError, match="Unknown metric"):
        align_dataset(model, root=root, metrics="cosine")


def test_missing_domain_of_the_copy_is_listed(folders_copy, rng):
    root, _, model = _noisy_model(folders_copy, rng, ("animals",))
    (root / "similarity" / "fruits.csv").unlink()
    result = align_dataset(model, root=root, metrics="pearson")
    assert result.not_entered["fruits"].startswith("not in this copy: not found")


# -- references --------------------------------------------------------------------------


def test_reference_parsing(tmp_path, folders_copy):
    assert parse_reference("peterson2018:animals").part == "animals"
    assert is_reference("peterson2018:animals") and is_reference("things:test")
    assert not is_reference("unknown:animals") and not is_reference("animals.csv")
    assert not is_reference(tmp_path / "x")
    weird = tmp_path / "peterson2018:animals"
    weird.write_text("")  # an existing file wins over a reference
    assert not is_reference(str(weird))
    with pytest.raises(InputError, match="not a dataset reference of the form NAME:PART"):
        parse_reference("peterson2018")
    with pytest.raises(InputError, match="Unknown dataset 'peterson'"):
        parse_reference("peterson:animals")


def test_reference_kinds_are_checked(folders_copy, tmp_path):
    root, _ = folders_copy
    with pytest.raises(InputError, match="holds similarity matrices, not triplet judgments"):
        load_reference_triplets("peterson2018:animals", data_root=root)
    (tmp_path / "unique_id.txt").write_text("a\nb\nc\nd\n")
    with pytest.raises(InputError, match=r"a THINGS triplet file, not a representation; use things:spose"):
        load_reference("things:test", data_root=tmp_path)
    with pytest.raises(InputError, match="kind of a dataset reference is fixed"):
        resolve_representation("peterson2018:animals", data_root=root, kind="similarity")


def test_resolve_mat_variable_and_triplets_next_to_an_item_list(tmp_path):
    sim = np.array([[1, 0.5, 0.2], [0.5, 1, 0.1], [0.2, 0.1, 1]])
    savemat(tmp_path / "m.mat", {"a": sim, "b": sim})
    (tmp_path / "m.ids.txt").write_text("x\ny\nz\n")
    assert resolve_representation(f"{tmp_path / 'm.mat'}:b").meta["variable"] == "b"
    (tmp_path / "unique_id.txt").write_text("x\ny\nz\nw\n")
    (tmp_path / "t_triplets.tsv").write_text("1\t2\t4\t3\n")
    data = resolve_triplets(tmp_path / "t_triplets.tsv")
    assert data.used_items() == ["x", "y", "w"]
    assert load_reference_triplets("things:t", data_root=tmp_path).n_triplets == 1
    with pytest.raises(InputError, match="Unknown things triplet file 'test'.*Valid options: t"):
        load_reference_triplets("things:test", data_root=tmp_path)

"""The synthetic zoo: structure, labels from the teacher, and the alignment spread as specified."""

import numpy as np
import pytest

from repalign import InputError, Representation, compare_many
from repalign.theory import make_zoo
from repalign.theory.zoo import DEFAULT_RANGES


@pytest.fixture(scope="module")
def default_zoo():
    return make_zoo(seed=0)


@pytest.fixture(scope="module")
def default_alignment(default_zoo):
    scores = compare_many(default_zoo.models, default_zoo.teacher, metrics="pearson,triplet", backend="numpy")
    return scores.merge(default_zoo.params, on="model")


def test_structure(default_zoo):
    zoo = default_zoo
    assert len(zoo) == 36 and zoo.teacher.kind == "similarity" and zoo.teacher.name == "human"
    assert zoo.labels.shape == (300,) and set(zoo.labels.tolist()) == set(range(10))
    for name, rep in zoo.models.items():
        assert isinstance(rep, Representation) and rep.kind == "features" and rep.ids == zoo.ids and rep.name == name
    assert list(zoo.params.model) == list(zoo.models)
    assert zoo.params.groupby("family").size().to_dict() == {"anti": 12, "noise": 12, "rotation": 12}
    # Enough stimuli per class for the paper's smaller shot counts plus evaluation.
    assert np.bincount(zoo.labels).min() >= 20


def test_labels_are_nearest_teacher_prototypes(default_zoo):
    # Classes live in the teacher's space: a nearest-class-mean rule on the teacher's
    # points recovers the labels almost exactly (the prototypes are the generating centres).
    x, y = default_zoo.teacher_features, default_zoo.labels
    means = np.array([x[y == c].mean(0) for c in range(10)])
    agree = np.mean(((x[:, None, :] - means[None]) ** 2).sum(-1).argmin(1) == y)
    assert agree > 0.95


def test_alignment_spread_as_specified(default_alignment):
    df = default_alignment
    gap = (df.triplet - df.target_triplet).abs()
    tolerance = df.family.map({"noise": 0.02, "anti": 0.02, "rotation": 0.05})
    assert (gap <= tolerance).all(), df.loc[gap > tolerance, ["model", "target_triplet", "triplet"]]
    # Ranges of the targets: anti-aligned below 1/2, the others above; the zoo spans both.
    assert (df[df.family == "anti"].triplet < 0.5).all()
    assert (df[df.family != "anti"].triplet > 0.5).all()
    assert df.triplet.min() < DEFAULT_RANGES["anti"][0] + 0.02
    assert df.triplet.max() > DEFAULT_RANGES["noise"][1] - 0.02
    # Evenly spread, the middle included: no gap between neighbouring alignments (over the
    # whole zoo) wider than 0.06 (targets: 12 per family; anti up to 0.48, noise from 0.52).
    assert np.diff(np.sort(df.triplet.to_numpy())).max() < 0.06
    # Anti-aligned models are anti-correlated in Pearson terms too.
    assert (df[df.family == "anti"].pearson < 0).all() and (df[df.family == "noise"].pearson > 0).all()


def test_zoo_is_reproducible_and_seed_dependent():
    a = make_zoo(n_classes=3, n_per_class=6, models_per_family=1, seed=4)
    b = make_zoo(n_classes=3, n_per_class=6, models_per_family=1, seed=4)
    c = make_zoo(n_classes=3, n_per_class=6, models_per_family=1, seed=5)
    for name in a.models:
        np.testing.assert_array_equal(a.models[name].values, b.models[name].values)
    assert not np.array_equal(a.teacher.values, c.teacher.values)


def test_options_and_bad_input():
    zoo = make_zoo(n_classes=3, n_per_class=10, families=["noise"], models_per_family={"noise": 3}, ranges={"noise": (0.6, 0.9)}, seed=1)
    assert list(zoo.params.family) == ["noise"] * 3
    np.testing.assert_allclose(zoo.params.target_triplet, [0.6, 0.75, 0.9])
    with pytest.raises(InputError, match="Unknown zoo family"):
        make_zoo(families=["shuffle"])
    with pytest.raises(InputError, match="feature_dim"):
        make_zoo(dim=32, feature_dim=16)
    with pytest.raises(InputError, match="alignment range"):
        make_zoo(families=["noise"], ranges={"noise": (0.9, 0.6)})
    with pytest.raises(InputError, match="models_per_family"):
        make_zoo(models_per_family=0)

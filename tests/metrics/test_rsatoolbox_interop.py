"""rsatoolbox interop: RDMs in and out, and repalign's metrics equal rsatoolbox's own ``compare``."""

from __future__ import annotations

import numpy as np
import pytest

from repalign import InputError, Representation
from repalign.metrics import compare

rsatoolbox = pytest.importorskip("rsatoolbox")
from rsatoolbox.rdm import RDMs  # noqa: E402
from rsatoolbox.rdm import compare as rsa_compare  # noqa: E402

TOL = 1e-12


def _rdms(rng, n=9, ids=None, key="stimulus"):
    x = rng.normal(size=(n, 4))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    ids = ids or [f"s{i}" for i in range(n)]
    return RDMs(d[np.triu_indices(n, 1)][None, :], pattern_descriptors={key: ids}), d, ids


def test_round_trip_keeps_dissimilarities_and_ids(rng):
    rdms, d, ids = _rdms(rng)
    rep = Representation.from_rsatoolbox(rdms)
    assert rep.kind == "dissimilarity" and rep.ids == tuple(ids)
    np.testing.assert_array_equal(rep.values, d)
    back = rep.to_rsatoolbox()
    np.testing.assert_array_equal(back.get_vectors(), rdms.get_vectors())
    assert back.pattern_descriptors["ids"] == ids


@pytest.mark.parametrize("method, ours", [("corr", "pearson"), ("spearman", "spearman"), ("tau-a", "kendall")])
def test_metrics_equal_rsatoolbox_compare(rng, method, ours):
    a, _, ids = _rdms(rng)
    b, _, _ = _rdms(rng, ids=ids)
    expected = float(rsa_compare(a, b, method=method)[0, 0])
    assert compare(a, b, metrics=ours)[ours] == pytest.approx(expected, abs=TOL)  # RDMs accepted directly
    mixed = compare(Representation.from_rsatoolbox(a), b, metrics=ours)[ours]
    assert mixed == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("similarity", ["cosine", "correlation", "euclidean", "dot"])
def test_features_to_rsatoolbox_preserve_every_metric(rng, similarity):
    ids = [f"s{i}" for i in range(10)]
    x = Representation.from_features(ids, rng.normal(size=(10, 5)))
    y = Representation.from_features(ids, rng.normal(size=(10, 5)))
    direct = compare(x, y, metrics="pearson,spearman,kendall,triplet", similarity=similarity)
    via = compare(x.to_rsatoolbox(similarity=similarity), y.to_rsatoolbox(similarity=similarity),
                  metrics="pearson,spearman,kendall,triplet")
    for m, v in direct.scores.items():
        assert via[m] == pytest.approx(v, abs=TOL), m


def test_similarity_matrix_becomes_its_negation(rng):
    ids = list("abcde")
    s = np.corrcoef(rng.normal(size=(5, 8)))
    rdms = Representation.from_similarity(ids, s).to_rsatoolbox()
    np.testing.assert_allclose(rdms.get_matrices()[0], -s + np.diag(np.diag(s)), atol=0)  # rsatoolbox zeroes the diagonal


def test_ambiguous_or_missing_descriptors_are_errors(rng):
    n = 5
    vec = rng.random((1, n * (n - 1) // 2))
    two = RDMs(vec, pattern_descriptors={"name": list("abcde"), "file": [f"{c}.png" for c in "abcde"]})
    with pytest.raises(InputError, match="pattern_descriptor="):
        Representation.from_rsatoolbox(two)
    assert Representation.from_rsatoolbox(two, pattern_descriptor="file").ids[0] == "a.png"
    with pytest.raises(InputError, match="only 'index'"):
        Representation.from_rsatoolbox(RDMs(vec))
    many = RDMs(np.vstack([vec, vec]), pattern_descriptors={"ids": list("abcde")})
    with pytest.raises(InputError, match="holds 2 RDMs; choose one with rdm="):
        Representation.from_rsatoolbox(many)
    assert Representation.from_rsatoolbox(many, rdm=1).n_stimuli == 5


def test_compare_refuses_other_objects():
    with pytest.raises(InputError, match="must be a Representation \\(or an rsatoolbox RDMs\\)"):
        compare(np.eye(3), np.eye(3))


def test_load_representation_takes_rdms_as_compare_does(rng):
    import repalign as ra

    rdms, d, ids = _rdms(rng)
    rep = ra.load_representation(rdms)
    assert rep.kind == "dissimilarity" and rep.ids == tuple(ids)
    np.testing.assert_array_equal(rep.values, d)
    with pytest.raises(InputError, match="rsatoolbox RDMs hold dissimilarities"):
        ra.load_representation(rdms, kind="similarity")


def test_compare_with_several_rdms_says_how_to_pick_one(rng):
    from rsatoolbox.rdm import concat

    a, _, ids = _rdms(rng)
    b, _, _ = _rdms(rng, ids=ids)
    with pytest.raises(InputError, match=r"holds 2 RDMs.*rdms\[i\].*Representation.from_rsatoolbox\(rdms, rdm=i\)"):
        compare(concat([a, b]), a, metrics="pearson")
    expected = float(rsa_compare(concat([a, b])[1], a, method="corr")[0, 0])
    assert compare(concat([a, b])[1], a, metrics="pearson")["pearson"] == pytest.approx(expected, abs=TOL)


def test_rdms_are_matched_by_their_ids_not_their_order(rng):
    """rsatoolbox's compare pairs patterns by position; repalign by the id descriptor, so a
    reordered RDMs gives rsatoolbox's value on the aligned pair."""
    a, _, ids = _rdms(rng, key="ids")
    b, _, _ = _rdms(rng, ids=ids, key="ids")
    shuffled = b.copy()
    shuffled.reorder(rng.permutation(len(ids)))
    assert shuffled.pattern_descriptors["ids"] != ids
    expected = float(rsa_compare(a, b, method="spearman")[0, 0])
    assert compare(a, shuffled, metrics="spearman")["spearman"] == pytest.approx(expected, abs=TOL)

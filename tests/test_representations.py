"""Representation: validation, explicit kinds, matching by id, similarity functions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from repalign import InputError, Representation, match_stimuli
from repalign.similarity import SIMILARITY_FUNCTIONS, similarity_matrix

IDS = ["a", "b", "c", "d"]


def sym(rng, n=4):
    m = rng.normal(size=(n, n))
    return m + m.T


def test_kind_is_required_keyword(rng):
    with pytest.raises(TypeError):
        Representation(IDS, sym(rng))  # no kind: refused, never guessed
    with pytest.raises(InputError, match="Valid options: features, similarity, dissimilarity"):
        Representation(IDS, sym(rng), kind="distance")


def test_dissimilarity_is_negated_similarity_is_copied(rng):
    m = sym(rng)
    assert np.array_equal(Representation.from_dissimilarity(IDS, m).similarity(), -m)
    s = Representation.from_similarity(IDS, m)
    out = s.similarity()
    out[0, 0] = 99.0  # a copy: the stored values stay untouched
    assert s.values[0, 0] == m[0, 0]
    with pytest.raises(ValueError):
        s.values[0, 0] = 1.0  # read-only


@pytest.mark.parametrize(
    "ids, values, kind, message",
    [
        (["a", "b", "a", "c"], np.eye(4), "similarity", "occur more than once: 'a'"),
        (["a", "b"], np.eye(2), "similarity", "at least 3"),
        (IDS, np.ones((4, 3)), "similarity", "must be square"),
        (IDS, np.ones((3, 3)), "similarity", "4 stimulus ids but 3 rows"),
        (IDS, np.ones(4), "features", "2-D"),
        (IDS, [["x", 1], [1, 2], [3, 4], [5, 6]], "features", "not all numeric"),
    ],
)
def test_bad_input_is_named(ids, values, kind, message):
    with pytest.raises(InputError, match=message):
        Representation(ids, values, kind=kind, name="my.csv")


def test_nan_and_inf_are_located():
    m = np.eye(4)
    m[1, 2] = m[2, 1] = np.nan
    with pytest.raises(InputError, match=r"my.csv: 2 values are NaN or infinite.*\['b', 'c'\]"):
        Representation.from_similarity(IDS, m, name="my.csv")
    f = np.ones((4, 2))
    f[3, 1] = np.inf
    with pytest.raises(InputError, match="'d'"):
        Representation.from_features(IDS, f)


def test_asymmetric_matrix_is_an_error_unless_symmetrized(rng):
    m = sym(rng)
    m[0, 1] += 0.5
    with pytest.raises(InputError, match=r"not symmetric: \['a', 'b'\].*symmetrize=True"):
        Representation.from_similarity(IDS, m)
    rep = Representation.from_similarity(IDS, m, symmetrize=True)
    assert np.allclose(rep.values, (m + m.T) / 2)
    # round-off-level asymmetry is tolerated
    tiny = sym(rng)
    tiny[0, 1] += 1e-13
    Representation.from_similarity(IDS, tiny)


def test_select_and_match_reorder_by_id(rng):
    m = sym(rng)
    a = Representation.from_similarity(IDS, m)
    b = a.select(["d", "b", "c", "a"])
    assert b.values[0, 1] == m[3, 1]
    a2, b2 = match_stimuli(a, b)
    assert b2.ids == a.ids and np.array_equal(b2.values, m)


def test_mismatched_ids_error_shows_counts_and_examples():
    a = Representation.from_features([f"s{i}" for i in range(10)], np.eye(10), name="human")
    b = Representation.from_features([f"s{i}" for i in range(3, 12)], np.eye(9), name="model")
    with pytest.raises(InputError) as err:
        match_stimuli(a, b)
    msg = str(err.value)
    assert "human (10) and model (9)" in msg
    assert "3 only in human: 's0', 's1', 's2'" in msg
    assert "2 only in model: 's10', 's11'" in msg
    a2, b2 = match_stimuli(a, b, how="intersect")
    assert a2.ids == b2.ids == tuple(f"s{i}" for i in range(3, 10))


def test_too_few_shared_ids():
    a = Representation.from_features(["a", "b", "c"], np.eye(3))
    b = Representation.from_features(["a", "b", "x"], np.eye(3))
    with pytest.raises(InputError, match="share only 2"):
        match_stimuli(a, b, how="intersect")


def test_similarity_functions_match_scipy(rng):
    x = rng.normal(size=(7, 5))
    expected = {
        "cosine": 1 - squareform(pdist(x, "cosine")),
        "correlation": 1 - squareform(pdist(x, "correlation")),
        "euclidean": -squareform(pdist(x, "euclidean")),
        "dot": x @ x.T,
    }
    assert set(expected) == set(SIMILARITY_FUNCTIONS)
    for method, ref in expected.items():
        got = similarity_matrix(x, method)
        off = ~np.eye(7, dtype=bool)
        np.testing.assert_allclose(got[off], ref[off], rtol=1e-12, atol=1e-12, err_msg=method)
        assert np.array_equal(got, got.T)


def test_zero_vector_cosine_names_the_stimulus():
    f = np.ones((4, 3))
    f[2] = 0
    with pytest.raises(InputError, match="'c'"):
        Representation.from_features(IDS, f).similarity("cosine")
    f2 = np.arange(12.0).reshape(4, 3)
    f2[1] = 5.0  # constant row: correlation undefined
    with pytest.raises(InputError, match="constant.*'b'"):
        Representation.from_features(IDS, f2).similarity("correlation")


def test_unknown_similarity_suggests_close_match():
    with pytest.raises(InputError, match="Did you mean 'cosine'"):
        Representation.from_features(IDS, np.eye(4)).similarity("cosin")


@pytest.mark.parametrize("kind", ["features", "similarity", "dissimilarity"])
def test_complex_values_are_refused_not_truncated(kind):
    values = np.eye(3) + 1j * np.ones((3, 3))
    with pytest.raises(InputError, match="complex"):
        Representation(list("abc"), values, kind=kind)
    with pytest.raises(InputError, match="complex"):
        Representation(list("abc"), values.tolist(), kind=kind)


def test_complex_features_are_refused_by_similarity_matrix():
    from repalign.similarity import similarity_matrix

    with pytest.raises(InputError, match="complex"):
        similarity_matrix(np.ones((3, 2)) * 1j)


def test_bytes_ids_are_decoded():
    rep = Representation.from_features(np.array([b"s0", b"s1", b"s2"]), np.eye(3))
    assert rep.ids == ("s0", "s1", "s2")
    with pytest.raises(InputError, match="not UTF-8"):
        Representation.from_features([b"\xff", b"a", b"b"], np.eye(3))


def test_to_npz_is_atomic_and_round_trips(tmp_path):
    rep = Representation.from_features(list("abc"), np.eye(3))
    rep.to_npz(tmp_path / "x.npz")
    with np.load(tmp_path / "x.npz") as data:
        assert data["ids"].tolist() == ["a", "b", "c"] and data["features"].shape == (3, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]  # no temporary file left behind

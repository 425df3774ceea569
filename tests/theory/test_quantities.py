"""D_R, D_P, alignment conversions and domain-shift sensitivity against explicit enumeration."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from repalign import InputError, Representation
from repalign.metrics.triplets import triplet_agreement_bruteforce
from repalign.theory import (
    alignment_from_misalignment,
    channel_capacity_of,
    class_centroids,
    domain_shift_sensitivity,
    misalignment_from_alignment,
    stochastic_misalignment,
    triplet_misalignment,
)


def _pair(rng, n=25, noise=0.7):
    x = rng.normal(size=(n, 5))
    ids = [f"s{i}" for i in range(n)]
    a = Representation.from_features(ids, x, name="A")
    b = Representation.from_features(ids, x + noise * rng.normal(size=x.shape), name="B")
    return a, b


def test_triplet_misalignment_is_one_minus_bruteforce_agreement(rng):
    a, b = _pair(rng)
    expected = 1 - triplet_agreement_bruteforce(a.similarity(), b.similarity())
    assert triplet_misalignment(a, b) == pytest.approx(expected, abs=1e-12)
    reversed_b = Representation.from_similarity(a.ids, -a.similarity())
    assert triplet_misalignment(a, reversed_b) == 1.0
    assert triplet_misalignment(a, a) == 0.0


def test_stochastic_misalignment_estimates_d_r(rng):
    a, b = _pair(rng, n=30)
    d_r = triplet_misalignment(a, b)
    est = stochastic_misalignment(a, b, n_triplets=40_000, seed=1)
    assert est.ci_low <= d_r <= est.ci_high
    se = np.sqrt(d_r * (1 - d_r) / 40_000)
    assert abs(est.estimate - d_r) < 4 * se
    assert est.alignment == pytest.approx(1 - est.estimate)
    assert est.n_used == 40_000 and set(est.to_dict()) >= {"estimate", "ci_low", "ci_high"}


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1), st.lists(st.floats(0, 1), min_size=1, max_size=5))
def test_conversions_round_trip(x, xs):
    assert alignment_from_misalignment(misalignment_from_alignment(x)) == pytest.approx(x, abs=1e-15)
    np.testing.assert_allclose(misalignment_from_alignment(np.array(xs)), 1 - np.array(xs))
    # Capacity depends on alignment only through its distance from 1/2.
    assert channel_capacity_of(x) == pytest.approx(channel_capacity_of(1 - x), abs=1e-12)


def test_conversions_reject_out_of_range():
    with pytest.raises(InputError, match="alignment must lie in"):
        misalignment_from_alignment(1.2)
    with pytest.raises(InputError, match="misalignment must lie in"):
        alignment_from_misalignment(-0.5)


def test_class_centroids_match_pandas(rng):
    x = rng.normal(size=(40, 3))
    y = rng.integers(0, 4, size=40)
    classes, c = class_centroids(x, y)
    expected = pd.DataFrame(x).groupby(y).mean()
    np.testing.assert_array_equal(classes, expected.index.to_numpy())
    np.testing.assert_allclose(c, expected.to_numpy())
    with pytest.raises(InputError, match="one entry per row"):
        class_centroids(x, y[:-1])


def _enumerate_flips(points_before, points_after):
    """Every triplet (anchor, {j, k}) of the union, by explicit loops over Euclidean distances."""
    d0, d1 = cdist(points_before, points_before), cdist(points_after, points_after)
    m = len(points_before)
    flipped, total = 0.0, 0
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for j, k in itertools.combinations(others, 2):
            s0, s1 = np.sign(d0[i, j] - d0[i, k]), np.sign(d1[i, j] - d1[i, k])
            total += 1
            if s0 != s1:
                flipped += 0.5 if (s0 == 0 or s1 == 0) else 1.0
    return flipped, total


@pytest.mark.parametrize("n,k", [(7, 2), (12, 3), (1, 3)])
def test_domain_shift_sensitivity_matches_enumeration(rng, n, k):
    x, c = rng.normal(size=(n, 2)), rng.normal(size=(k, 2))
    c_star = c + 0.8 * rng.normal(size=c.shape)
    flipped, total = _enumerate_flips(np.vstack([x, c]), np.vstack([x, c_star]))
    res = domain_shift_sensitivity(x, c, c_star)
    assert res.n_triplets == total
    assert res.flipped == pytest.approx(flipped)
    assert res.sigma == pytest.approx(flipped / total, abs=1e-12)
    data_only = n * (n - 1) * (n - 2) // 2
    assert res.n_centroid_triplets == total - data_only
    assert res.sigma_centroid_triplets == pytest.approx(flipped / (total - data_only), abs=1e-12)


def test_domain_shift_exclude_policy_matches_bruteforce(rng):
    # Integer grid points make ties; "exclude" counts only triplets strict in both.
    x = rng.integers(0, 4, size=(9, 2)).astype(float)
    c = rng.integers(0, 4, size=(3, 2)).astype(float)
    c_star = c + rng.integers(-1, 2, size=c.shape)
    before, after = np.vstack([x, c]), np.vstack([x, c_star])
    expected = 1 - triplet_agreement_bruteforce(-cdist(before, before), -cdist(after, after), ties="exclude")
    res = domain_shift_sensitivity(x, c, c_star, ties="exclude")
    assert res.sigma == pytest.approx(expected, abs=1e-12)
    assert 0 <= res.sigma_centroid_triplets <= 1


def test_domain_shift_invariances(rng):
    x, c = rng.normal(size=(15, 3)), rng.normal(size=(4, 3))
    assert domain_shift_sensitivity(x, c, c).sigma == 0.0
    # Moving every centroid and every data point by one isometry flips nothing, but the
    # definition moves only the centroids: a rotation of the centroids alone does flip.
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    assert domain_shift_sensitivity(x, c, c @ rot).sigma > 0
    # Permuting the data points does not change sigma.
    perm = rng.permutation(15)
    shifted = c + 1.0
    assert domain_shift_sensitivity(x[perm], c, shifted).sigma == pytest.approx(domain_shift_sensitivity(x, c, shifted).sigma)
    rep = Representation.from_features([f"s{i}" for i in range(15)], x)
    assert domain_shift_sensitivity(rep, c, shifted).sigma == domain_shift_sensitivity(x, c, shifted).sigma


def test_domain_shift_bad_input(rng):
    x, c = rng.normal(size=(5, 2)), rng.normal(size=(2, 2))
    with pytest.raises(InputError, match="same shape"):
        domain_shift_sensitivity(x, c, c[:1])
    with pytest.raises(InputError, match="one space"):
        domain_shift_sensitivity(x, rng.normal(size=(2, 3)), rng.normal(size=(2, 3)))
    with pytest.raises(InputError, match="NaN"):
        domain_shift_sensitivity(np.full((3, 2), np.nan), c, c)
    sim = Representation.from_similarity(list("abc"), np.eye(3))
    with pytest.raises(InputError, match="must hold features"):
        domain_shift_sensitivity(sim, c, c)
    with pytest.raises(InputError, match="Unknown similarity"):
        domain_shift_sensitivity(x, c, c, similarity="manhattan")

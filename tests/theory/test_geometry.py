"""Distortions of an embedding and the game against a distorted Bob."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from repalign import InputError
from repalign.metrics.triplets import triplet_counts
from repalign.similarity import similarity_matrix
from repalign.theory import (
    add_noise,
    codebook,
    distort,
    make_layout,
    play_geometric_game,
    reverse_ranking,
    rotate_subspace,
    simulate_geometric_game,
)


def _euclid(x):
    return -cdist(x, x)


@settings(max_examples=25, deadline=None)
@given(st.integers(4, 30), st.integers(1, 6), st.integers(0, 10_000), st.sampled_from(["euclidean", "cosine"]))
def test_reverse_ranking_reverses_every_triplet(n, d, seed, metric):
    x = np.random.default_rng(seed).normal(size=(n, d)) + (0.3 if metric == "cosine" else 0.0)
    y = reverse_ranking(x, metric=metric)
    sim = _euclid if metric == "euclidean" else (lambda z: similarity_matrix(z, "cosine"))
    c = triplet_counts(sim(x), sim(y), backend="numpy")
    # Every triplet strict in the original is strictly reversed. (Exact ties of the
    # original, e.g. cosines of +-1 in one dimension, come back only up to round-off.)
    assert c.concordant == 0 and c.discordant == c.n_triplets - c.tied_a


def test_reverse_ranking_distances_are_k_minus_d2():
    x = np.random.default_rng(1).normal(size=(9, 3))
    y = reverse_ranking(x, margin=0.1)
    d2a, d2b = cdist(x, x) ** 2, cdist(y, y) ** 2
    off = ~np.eye(9, dtype=bool)
    k = d2a[off] + d2b[off]
    np.testing.assert_allclose(k, k[0], rtol=1e-9)  # one constant K for every pair


def test_rotation_within_the_space_is_an_isometry_but_rotating_out_is_not(rng):
    lay = make_layout(20, 4, seed=0)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    np.testing.assert_array_equal(codebook(lay.shared, lay.candidates), codebook(lay.shared @ q, lay.candidates @ q))
    assert np.allclose(rotate_subspace(lay.shared, 0.0, rng=rng), lay.shared)
    moved = rotate_subspace(lay.shared, 90.0, fraction=0.5, rng=rng)
    assert triplet_counts(_euclid(lay.shared), _euclid(moved), backend="numpy").discordant > 0


def test_anti_is_the_complement_of_noise_at_the_same_draw():
    lay = make_layout(15, 3, seed=3)
    pts = lay.points()
    noisy = distort(pts, "noise", 0.2, rng=np.random.default_rng(8))
    anti = distort(pts, "anti", 0.2, rng=np.random.default_rng(8))
    b_noise = codebook(noisy[:15], noisy[15:])
    b_anti = codebook(anti[:15], anti[15:])
    np.testing.assert_array_equal(b_noise, ~b_anti)


def test_noise_scale_is_relative(rng):
    x = rng.normal(size=(2000, 3)) * 10
    y = add_noise(x, 0.5, rng=rng)
    assert np.std(y - x) == pytest.approx(0.5 * np.sqrt(np.mean(np.var(x, axis=0))), rel=0.05)


@pytest.fixture(scope="module")
def geometric():
    levels = {"noise": (0.0, 0.1, 0.3), "anti": (0.0, 0.1, 0.3), "rotation": (0.0, 45.0, 90.0)}
    return simulate_geometric_game(levels, n=14, n_trials=80, n_bootstrap=50, n_calibration=3000, seed=11)


def test_eps_arises_from_geometry_and_bob_estimates_it(geometric):
    for family, df in geometric.groupby("family"):
        df = df.sort_values("level")
        eps = df.eps_queries.to_numpy()
        if family == "anti":
            assert eps[0] == 1.0 and np.all(np.diff(eps) < 0) and np.all(eps > 0.5)
        else:
            assert eps[0] == 0.0 and np.all(np.diff(eps) > 0) and np.all(eps < 0.5)
        # Bob's estimate from 3000 sampled triplets of the shared objects vs their exact D_R
        # (4.5 binomial standard errors), and D_R vs the rate on the game's own queries.
        se = np.sqrt(df.eps_shared * (1 - df.eps_shared) / (3000 * 4)) + 1e-9
        assert np.all(np.abs(df.eps_estimated - df.eps_shared) < 4.5 * se + 0.005)
        assert np.all(np.abs(df.eps_shared - df.eps_queries) < 0.06)


def test_anti_aligned_bob_inverts_and_learns(geometric):
    row = geometric[(geometric.family == "anti") & (geometric.level == 0.0)].iloc[0]
    aligned = geometric[(geometric.family == "noise") & (geometric.level == 0.0)].iloc[0]
    assert row.reached and row.final_accuracy >= 0.9
    assert row.queries == pytest.approx(aligned.queries, abs=2)


def test_structured_errors_leave_a_plateau(geometric):
    # Unlike a BSC, geometric disagreement is fixed per query: beyond small eps Bob cannot
    # reach the target with every query asked, and his accuracy falls as eps nears 1/2.
    worst = geometric[geometric.level == geometric.groupby("family")["level"].transform("max")]
    assert (~worst.reached).all()
    assert (worst.queries_run == 14 * 13 // 2).all()
    acc = geometric.sort_values("eps_queries")
    near_half = acc.loc[(acc.eps_queries - 0.5).abs().idxmin()]
    assert near_half.final_accuracy < acc.final_accuracy.max()


def test_geometric_bad_input():
    with pytest.raises(InputError, match="Unknown distortion"):
        play_geometric_game("shear", 0.1)
    with pytest.raises(InputError, match="angle"):
        rotate_subspace(np.eye(3), 120.0, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="sigma"):
        add_noise(np.eye(3), -1.0, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="coincide"):
        reverse_ranking(np.ones((4, 2)))
    with pytest.raises(InputError, match="max_queries"):
        play_geometric_game("noise", 0.1, n=6, max_queries=100)

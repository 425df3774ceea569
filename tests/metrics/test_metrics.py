"""Alignment metrics against independent implementations, and their properties.

References: scipy.stats (pearson, spearman, kendall), rsatoolbox (corr, spearman, tau-a on
RDMs), pure-Python loops written from the definitions (triplets, tau-a). Exact metrics are
compared with a tolerance of 1e-12.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import repalign as ra
from repalign import InputError, Representation
from repalign.metrics import METRICS, compare, compare_many
from repalign.metrics.rsa import kendall_tau_a_from_vectors, upper_triangle
from repalign.metrics.triplets import (
    sampled_triplet_agreement_from_similarity,
    triplet_agreement_bruteforce,
    triplet_counts,
    wilson_interval,
)

TOL = 1e-12
BACKENDS = ["numba", "numpy"]


def rep_sim(m, ids=None):
    ids = ids or [f"s{i}" for i in range(len(m))]
    return Representation.from_similarity(ids, m)


def tied_sym(rng, n, levels=4):
    """A symmetric matrix with many exact ties, as in rating data."""
    m = rng.integers(0, levels, size=(n, n)).astype(float)
    m = m + m.T
    np.fill_diagonal(m, 2 * levels)
    return m


def triplet_loop(sa, sb, ties):
    """Definition 3.5 literally: per unique triplet, average over the two orders of (j, k) of
    [1(i closer to j than k in A) == 1(... in B)], with a strict "closer" query."""
    n = len(sa)
    total, count = 0.0, 0
    for i in range(n):
        for j, k in itertools.combinations([x for x in range(n) if x != i], 2):
            if ties == "exclude" and (sa[i, j] == sa[i, k] or sb[i, j] == sb[i, k]):
                continue
            agree = [(sa[i, p] > sa[i, q]) == (sb[i, p] > sb[i, q]) for p, q in ((j, k), (k, j))]
            total += sum(agree) / 2
            count += 1
    return total / count


def tau_a_loop(x, y):
    s = 0
    for p, q in itertools.combinations(range(len(x)), 2):
        s += np.sign(x[p] - x[q]) * np.sign(y[p] - y[q])
    return s / (len(x) * (len(x) - 1) / 2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ties", ["half", "exclude"])
@pytest.mark.parametrize("n", [3, 4, 7, 9])
def test_triplet_matches_definition_loop(n, ties, backend, rng):
    for _ in range(3):
        a, b = tied_sym(rng, n, 3), tied_sym(rng, n, 3)
        got = triplet_counts(a, b, backend=backend)
        if ties == "exclude" and got.concordant + got.discordant == 0:
            continue
        assert got.agreement(ties) == pytest.approx(triplet_loop(a, b, ties), abs=TOL)
        assert got.n_triplets == n * (n - 1) * (n - 2) // 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_triplet_matches_vectorized_bruteforce_larger(backend, rng):
    a, b = tied_sym(rng, 60, 5), tied_sym(rng, 60, 5)
    for ties in ("half", "exclude"):
        assert triplet_counts(a, b, backend=backend).agreement(ties) == pytest.approx(
            triplet_agreement_bruteforce(a, b, ties=ties), abs=TOL
        )
    x = rng.normal(size=(60, 60))
    x = x + x.T
    assert triplet_counts(x, a, backend=backend).agreement() == pytest.approx(
        triplet_agreement_bruteforce(x, a), abs=TOL
    )


def test_backends_give_identical_counts(rng):
    a, b = tied_sym(rng, 80, 6), tied_sym(rng, 80, 6)
    assert triplet_counts(a, b, backend="numba") == triplet_counts(a, b, backend="numpy")


def test_triplet_self_one_and_negation_zero(rng):
    x = rng.normal(size=(30, 8))
    r = Representation.from_features([str(i) for i in range(30)], x)
    neg = Representation.from_similarity(r.ids, -r.similarity())
    for ties in ("half", "exclude"):
        assert ra.triplet_agreement(r, r, ties=ties) == 1.0
        assert ra.triplet_agreement(r, neg, ties=ties) == 0.0
    h = rep_sim(tied_sym(rng, 20))
    assert ra.triplet_agreement(h, h) == 1.0  # ties in both agree under "half"


def test_one_sided_ties_score_half():
    # anchor 0 ties (1, 2) in A but orders them in B; the other anchors agree
    a = np.array([[9, 5, 5], [5, 9, 1], [5, 1, 9]], float)
    b = np.array([[9, 6, 5], [6, 9, 1], [5, 1, 9]], float)
    c = triplet_counts(a, b)
    assert (c.n_triplets, c.tied_a, c.tied_b, c.tied_both) == (3, 1, 0, 0)
    assert c.agreement("half") == pytest.approx(2.5 / 3)
    assert c.agreement("exclude") == 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_kendall_tau_a(backend, rng):
    x = rng.integers(0, 5, size=40).astype(float)
    y = rng.integers(0, 5, size=40).astype(float)
    got = kendall_tau_a_from_vectors(x, y, backend=backend)
    assert got == pytest.approx(tau_a_loop(x, y), abs=TOL)
    # scipy gives tau-b; convert: tau_a = tau_b * sqrt((n0 - n1)(n0 - n2)) / n0
    n0 = 40 * 39 / 2
    n1 = sum(c * (c - 1) / 2 for c in np.unique(x, return_counts=True)[1])
    n2 = sum(c * (c - 1) / 2 for c in np.unique(y, return_counts=True)[1])
    tau_b = stats.kendalltau(x, y).statistic
    assert got == pytest.approx(tau_b * np.sqrt((n0 - n1) * (n0 - n2)) / n0, abs=TOL)


def test_correlations_match_scipy_and_rsatoolbox(rng):
    rsatoolbox = pytest.importorskip("rsatoolbox")
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    feats = rng.normal(size=(15, 6))
    a = Representation.from_features([str(i) for i in range(15)], feats)
    b = rep_sim(tied_sym(rng, 15), list(a.ids))
    va, vb = upper_triangle(a.similarity()), upper_triangle(b.similarity())
    res = compare(a, b, metrics=METRICS)
    assert res["pearson"] == pytest.approx(stats.pearsonr(va, vb).statistic, abs=TOL)
    assert res["spearman"] == pytest.approx(stats.spearmanr(va, vb).statistic, abs=TOL)
    # rsatoolbox compares dissimilarity vectors; correlations are unchanged by negating both
    rdm_a, rdm_b = RDMs(-va[None, :]), RDMs(-vb[None, :])
    assert res["pearson"] == pytest.approx(rsa_compare(rdm_a, rdm_b, method="corr")[0, 0], abs=1e-10)
    assert res["spearman"] == pytest.approx(rsa_compare(rdm_a, rdm_b, method="spearman")[0, 0], abs=1e-10)
    assert res["kendall"] == pytest.approx(rsa_compare(rdm_a, rdm_b, method="tau-a")[0, 0], abs=1e-10)
    assert rsatoolbox is not None


def test_dissimilarity_kind_gives_same_scores_as_similarity(rng):
    s = tied_sym(rng, 12)
    ids = [f"x{i}" for i in range(12)]
    sim = Representation.from_similarity(ids, s)
    dis = Representation.from_dissimilarity(ids, s.max() - s)
    other = Representation.from_features(ids, rng.normal(size=(12, 4)))
    a = compare(sim, other, metrics=METRICS)
    b = compare(dis, other, metrics=METRICS)
    for m in METRICS:
        assert a[m] == pytest.approx(b[m], abs=TOL)


def test_constant_representation_is_refused(rng):
    ids = [str(i) for i in range(5)]
    const = Representation.from_similarity(ids, np.ones((5, 5)))
    other = Representation.from_features(ids, rng.normal(size=(5, 3)))
    for metric in ("pearson", "spearman", "kendall"):
        with pytest.raises(InputError, match="all equal.*undefined"):
            compare(const, other, metrics=[metric])
    # triplets are defined (all ties): half credit everywhere the other is strict
    assert compare(const, other, metrics="triplet")["triplet"] == 0.5
    with pytest.raises(InputError, match="no triplet"):
        compare(const, other, metrics="triplet", ties="exclude")


def test_unknown_metric_lists_options(rng):
    a = rep_sim(tied_sym(rng, 5))
    with pytest.raises(InputError, match="Valid options: pearson, spearman, kendall, triplet, cka, cka-debiased. Did you mean 'spearman'"):
        compare(a, a, metrics="spearmann")
    with pytest.raises(InputError, match="must be a Representation"):
        compare(np.eye(3), a)


# -- properties -------------------------------------------------------------------

@st.composite
def matrix_pairs(draw):
    n = draw(st.integers(3, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    levels = draw(st.sampled_from([3, 6, 1000]))
    rng = np.random.default_rng(seed)
    return tied_sym(rng, n, levels), tied_sym(rng, n, levels), rng


@settings(max_examples=40, deadline=None)
@given(matrix_pairs())
def test_properties(pair):
    a, b, rng = pair
    n = len(a)
    ids = [f"s{i}" for i in range(n)]
    ra_, rb_ = rep_sim(a, ids), rep_sim(b, ids)
    try:
        base = compare(ra_, rb_, metrics=METRICS)
    except InputError:
        return  # a constant draw: refused, as tested above
    # symmetry in A and B
    swapped = compare(rb_, ra_, metrics=METRICS)
    # invariance to permuting stimuli (matched by id)
    perm = rng.permutation(n)
    shuffled = rep_sim(b[np.ix_(perm, perm)], [ids[p] for p in perm])
    permuted = compare(ra_, shuffled, metrics=METRICS)
    # rank metrics are invariant to strictly increasing transforms
    mono = compare(ra_, rep_sim(b**3 + b - 7, ids), metrics=("spearman", "kendall", "triplet"))
    for m in METRICS:
        assert swapped[m] == pytest.approx(base[m], abs=TOL)
        assert permuted[m] == pytest.approx(base[m], abs=TOL)
    for m in ("spearman", "kendall", "triplet"):
        assert mono[m] == pytest.approx(base[m], abs=TOL)
    assert compare(ra_, ra_, metrics="triplet")["triplet"] == 1.0


# -- sampled triplets, bootstrap, batch ---------------------------------------------

def test_wilson_interval_matches_scipy():
    for k, n in [(0, 10), (7, 10), (512, 1000), (1000, 1000)]:
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(k, n, 0.95) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_sampled_triplets_cover_the_exact_value(rng):
    a, b = tied_sym(rng, 40, 5), tied_sym(rng, 40, 5)
    exact = triplet_counts(a, b).agreement("half")
    hits = 0
    for seed in range(20):
        s = sampled_triplet_agreement_from_similarity(a, b, n_triplets=4000, seed=seed)
        hits += s.ci_low <= exact <= s.ci_high
    assert hits >= 17  # nominal 95%, conservative for half-credit ties
    s1 = sampled_triplet_agreement_from_similarity(a, b, n_triplets=1000, seed=3, chunk=300)
    s2 = sampled_triplet_agreement_from_similarity(a, b, n_triplets=1000, seed=3, chunk=300)
    assert s1 == s2


def test_sampled_triplets_are_distinct_and_uniform(rng):
    from repalign.metrics.triplets import sample_triplets

    i, j, k = sample_triplets(5, 60000, rng)
    assert np.all((i != j) & (j != k) & (i != k))
    counts = np.bincount(i * 25 + j * 5 + k, minlength=125)
    observed = counts[counts > 0]
    assert observed.size == 60  # 5 * 4 * 3 ordered triplets
    assert stats.chisquare(observed).pvalue > 1e-3


def _weighted_triplet_reference(a, b, idx, ties):
    """Bootstrap triplet agreement by explicit enumeration: all position triplets of the
    resample whose three stimuli are distinct."""
    sa, sb = a[np.ix_(idx, idx)], b[np.ix_(idx, idx)]
    n = len(idx)
    total = count = 0.0
    for i in range(n):
        for j, k in itertools.combinations(range(n), 2):
            if len({idx[i], idx[j], idx[k]}) < 3:
                continue
            da, db = np.sign(sa[i, j] - sa[i, k]), np.sign(sb[i, j] - sb[i, k])
            if ties == "exclude" and (da == 0 or db == 0):
                continue
            total += 1.0 if da == db else (0.5 if (da == 0 or db == 0) else 0.0)
            count += 1
    return total / count


@pytest.mark.parametrize("backend", BACKENDS)
def test_grouped_counts_leave_out_copies(backend, rng):
    a, b = tied_sym(rng, 8, 4), tied_sym(rng, 8, 4)
    for _ in range(4):
        idx = np.sort(rng.integers(0, 8, size=8))
        sa, sb = a[np.ix_(idx, idx)], b[np.ix_(idx, idx)]
        c = triplet_counts(sa, sb, groups=idx, backend=backend)
        for ties in ("half", "exclude"):
            assert c.agreement(ties) == pytest.approx(_weighted_triplet_reference(a, b, idx, ties), abs=TOL)


def test_bootstrap_intervals(rng):
    ids = [str(i) for i in range(30)]
    x = rng.normal(size=(30, 5))
    a = Representation.from_features(ids, x)
    b = Representation.from_features(ids, x + rng.normal(size=x.shape))
    r1 = compare(a, b, metrics=METRICS, bootstrap=200, seed=1)
    r2 = compare(a, b, metrics=METRICS, bootstrap=200, seed=1)
    assert r1.intervals == r2.intervals
    for m in METRICS:
        lo, hi = r1.intervals[m]
        assert lo < r1[m] < hi
    d = r1.to_dict()
    assert set(d["ci"]) == set(METRICS) and d["n_bootstrap"] == 200


def test_compare_many_equals_compare(rng):
    ids = [f"s{i}" for i in range(12)]
    human = rep_sim(tied_sym(rng, 12), ids)
    zoo = {f"m{k}": Representation.from_features(ids[::-1], rng.normal(size=(12, 5))) for k in range(4)}
    table = compare_many(zoo, human, metrics=METRICS)
    assert list(table.columns) == ["model", "n_stimuli", *METRICS]
    for _, row in table.iterrows():
        single = compare(zoo[row["model"]], human, metrics=METRICS)
        for m in METRICS:
            assert row[m] == pytest.approx(single[m], abs=TOL)


# -- real data ---------------------------------------------------------------------

DOMAINS = ("animals", "automobiles", "fruits", "furniture", "various", "vegetables")


def test_peterson_matrices(shared_data, rng):
    reps = {d: ra.load_representation(shared_data / "peterson2018" / "similarity" / f"{d}.csv") for d in DOMAINS}
    animals = reps["animals"]
    counts = triplet_counts(animals.similarity(), animals.similarity())
    assert counts.n_triplets == 842_520 and counts.tied_both == 28_962  # "29k tied pairs"
    for d, rep in reps.items():
        s = rep.similarity()
        # a strictly increasing transform keeps every tie: rank metrics must be exactly 1
        ranked = Representation.from_similarity(rep.ids, stats.rankdata(s, method="dense").reshape(s.shape))
        res = compare(rep, ranked, metrics=METRICS)
        v = upper_triangle(s)
        n_pairs = v.size * (v.size - 1) / 2
        tied = sum(c * (c - 1) / 2 for c in np.unique(v, return_counts=True)[1])
        assert res["triplet"] == 1.0, d
        assert res["spearman"] == pytest.approx(1.0, abs=TOL), d
        assert res["kendall"] == pytest.approx(1.0 - tied / n_pairs, abs=TOL), d  # tau-a counts ties as 0
        rand = Representation.from_features(rep.ids, rng.normal(size=(120, 64)))
        res_r = compare(rep, rand, metrics=METRICS)
        assert abs(res_r["pearson"]) < 0.1 and abs(res_r["triplet"] - 0.5) < 0.02, d
    rand = Representation.from_features(animals.ids, rng.normal(size=(120, 16)))
    assert ra.triplet_agreement(animals, rand) == pytest.approx(
        triplet_agreement_bruteforce(animals.similarity(), rand.similarity()), abs=TOL
    )
    # different domains hold different stimuli: matching by id must refuse them
    with pytest.raises(InputError, match="do not match"):
        compare(reps["animals"], reps["fruits"])

"""Split-half reliability and noise ceilings, checked against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from repalign import DataNotFoundError, InputError, Representation
from repalign.evaluation.ceilings import (
    noise_ceiling,
    ratings_matrix,
    ratings_noise_ceiling,
    read_ratings,
    spearman_brown,
    split_half_reliability,
)
from repalign.metrics.triplets import triplet_agreement_bruteforce

IDS = [f"s{i:02d}" for i in range(14)]


def upper(m):
    return m[np.triu_indices(m.shape[0], k=1)]


def make_halves(rng, n=14, noise=0.5):
    true = rng.normal(size=(n, n))
    true = true + true.T
    halves = []
    for _ in range(2):
        e = rng.normal(scale=noise, size=(n, n))
        m = true + e + e.T
        np.fill_diagonal(m, 10.0)
        halves.append(m)
    return halves


def test_spearman_brown():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(0.913) == pytest.approx(2 * 0.913 / 1.913)
    assert spearman_brown(0.5, factor=3) == pytest.approx(0.75)
    assert spearman_brown(1.0) == 1.0 and spearman_brown(0.0) == 0.0
    with pytest.raises(InputError, match=r"must lie in \[-1, 1\]"):
        spearman_brown(1.2)
    with pytest.raises(InputError, match="undefined for r = -1"):
        spearman_brown(-1.0)
    with pytest.raises(InputError, match="factor must be positive"):
        spearman_brown(0.3, factor=0)


def test_noise_ceiling_matches_scipy_and_bruteforce(rng):
    h1, h2 = make_halves(rng)
    a, b = (Representation.from_similarity(IDS, h) for h in (h1, h2))
    result = noise_ceiling(a, b)
    full = (h1 + h2) / 2
    ref_lower = {
        "pearson": stats.pearsonr(upper(h1), upper(h2))[0],
        "spearman": stats.spearmanr(upper(h1), upper(h2))[0],
        "kendall": stats.kendalltau(upper(h1), upper(h2))[0],  # continuous: no ties, tau-a == tau-b
        "triplet": triplet_agreement_bruteforce(h1, h2),
    }
    ref_upper = {
        "pearson": np.mean([stats.pearsonr(upper(h), upper(full))[0] for h in (h1, h2)]),
        "spearman": np.mean([stats.spearmanr(upper(h), upper(full))[0] for h in (h1, h2)]),
        "kendall": np.mean([stats.kendalltau(upper(h), upper(full))[0] for h in (h1, h2)]),
        "triplet": np.mean([triplet_agreement_bruteforce(h, full) for h in (h1, h2)]),
    }
    for m in ("pearson", "spearman", "kendall", "triplet"):
        assert result[m].lower == pytest.approx(ref_lower[m], abs=1e-12), m
        assert result[m].upper == pytest.approx(ref_upper[m], abs=1e-12), m
        assert result[m].lower < result[m].upper
    r = ref_lower["pearson"]
    assert result["pearson"].corrected == pytest.approx(math.sqrt(2 * r / (1 + r)))
    assert result["spearman"].corrected is None
    assert result.reliability.r_half == pytest.approx(r) and result.reliability.n_pairs == 91
    frame = result.to_frame()
    assert frame.columns.tolist() == ["metric", "lower", "upper", "corrected", "lower_sd", "upper_sd", "n_splits"]


def test_equal_variance_halves_give_the_analytic_upper_bound(rng):
    h1, h2 = make_halves(rng, noise=0.8)
    v1, v2 = upper(h1), upper(h2)
    h2 = (h2 - v2.mean()) * (v1.std() / v2.std()) + v1.mean()  # same mean and variance as h1
    a, b = Representation.from_similarity(IDS, h1), Representation.from_similarity(IDS, h2)
    c = noise_ceiling(a, b, metrics="pearson")["pearson"]
    assert c.upper == pytest.approx(math.sqrt((1 + c.lower) / 2), abs=1e-12)
    assert c.lower <= c.corrected <= c.upper


def test_pearson_ceiling_matches_rsatoolbox(rng):
    rsatoolbox = pytest.importorskip("rsatoolbox")
    from rsatoolbox.inference import boot_noise_ceiling

    h1, h2 = make_halves(rng, noise=0.7)
    v1, v2 = upper(h1), upper(h2)
    h2 = (h2 - v2.mean()) * (v1.std() / v2.std()) + v1.mean()  # rsatoolbox pools z-scored RDMs
    # rsatoolbox works on dissimilarities: use -similarity (correlations are unchanged).
    rdms = rsatoolbox.rdm.RDMs(np.stack([-upper(h1), -upper(h2)]), dissimilarity_measure="neg-sim")
    low, high = boot_noise_ceiling(rdms, method="corr")
    c = noise_ceiling(Representation.from_similarity(IDS, h1), Representation.from_similarity(IDS, h2),
                      metrics="pearson")["pearson"]
    assert c.lower == pytest.approx(low, abs=1e-10)
    assert c.upper == pytest.approx(high, abs=1e-10)


def test_given_full_matrix_and_weights(rng):
    h1, h2 = make_halves(rng)
    a, b = Representation.from_similarity(IDS, h1), Representation.from_similarity(IDS, h2)
    full = Representation.from_similarity(IDS, (h1 + 3 * h2) / 4)
    c1 = noise_ceiling(a, b, metrics="spearman", full=full)["spearman"]
    c2 = noise_ceiling(a, b, metrics="spearman", weights=(1, 3))["spearman"]
    assert c1.upper == pytest.approx(c2.upper)
    with pytest.raises(InputError, match="weights must be two positive numbers"):
        noise_ceiling(a, b, weights=(1, 0))
    with pytest.raises(InputError, match="holds features; split halves are similarity matrices"):
        noise_ceiling(Representation.from_features(IDS, h1), b)


def test_negative_split_half_correlation_has_no_corrected_ceiling(rng):
    h1, h2 = make_halves(rng)
    a, b = Representation.from_similarity(IDS, h1), Representation.from_similarity(IDS, -h2 + 20 * np.eye(14))
    c = noise_ceiling(a, b, metrics="pearson")["pearson"]
    assert c.corrected is None and "Spearman-Brown ceiling is undefined" in c.note
    assert c.to_dict()["note"] == c.note


def test_shared_animals_split_half_reliability(shared_data):
    from repalign.data.references import load_reference, split_halves

    root = shared_data / "peterson2018"
    h1, h2 = split_halves("peterson2018:animals", data_root=root)
    rel = split_half_reliability(h1, h2)
    assert round(rel.r_half, 3) == 0.913 and rel.n_pairs == 7140
    assert rel.reliability == pytest.approx(2 * rel.r_half / (1 + rel.r_half))
    full = load_reference("peterson2018:animals", data_root=root)
    # the full matrix is the mean of the halves rescaled to [0, 1]
    np.testing.assert_allclose(full.values, (h1.values + h2.values) / 20, atol=1e-12)
    c = noise_ceiling(h1, h2, metrics="pearson,triplet", full=full)
    assert c["pearson"].lower == pytest.approx(rel.r_half)
    assert c["pearson"].lower < c["pearson"].corrected < c["pearson"].upper


# -- per-participant ratings -------------------------------------------------------------


def simulated_ratings(rng, n_stimuli=6, n_participants=8, sparse=False):
    ids = [f"x{i}" for i in range(n_stimuli)]
    latent = rng.normal(size=n_stimuli)
    rows = []
    for p in range(n_participants):
        for i in range(n_stimuli):
            for j in range(i + 1, n_stimuli):
                if sparse and rng.random() < 0.3:
                    continue
                a, b = (ids[i], ids[j]) if rng.random() < 0.5 else (ids[j], ids[i])
                rows.append((f"p{p}", a, b, float(np.round(10 - abs(latent[i] - latent[j]) * 3 + rng.normal(0, 1.5)))))
    return pd.DataFrame(rows, columns=["participant", "stim_a", "stim_b", "rating"])


def test_ratings_matrix_is_the_mean_per_unordered_pair(rng):
    df = simulated_ratings(rng)
    rep = ratings_matrix(df)
    key = df.apply(lambda r: tuple(sorted((r.stim_a, r.stim_b))), axis=1)
    means = df.groupby(key)["rating"].mean()
    for (a, b), v in means.items():
        assert rep.values[rep.index[a], rep.index[b]] == pytest.approx(v)
    subset = ratings_matrix(df, participants=["p0", "p1"])
    sub = df[df.participant.isin(["p0", "p1"])]
    key = sub.apply(lambda r: tuple(sorted((r.stim_a, r.stim_b))), axis=1)
    (a, b), v = next(iter(sub.groupby(key)["rating"].mean().items()))
    assert subset.values[subset.index[a], subset.index[b]] == pytest.approx(v)
    with pytest.raises(InputError, match=r"unknown participants 'nobody'"):
        ratings_matrix(df, participants=["nobody"])


def test_ratings_ceiling_is_the_mean_over_random_splits(rng):
    df = simulated_ratings(rng, n_participants=7)
    res = ratings_noise_ceiling(df, metrics="pearson,kendall", n_splits=5, seed=3)
    # redo the same 5 splits by hand with the same generator
    gen = np.random.default_rng(3)
    participants = sorted(df.participant.unique())
    full = ratings_matrix(df)
    lows, ups = [], []
    for _ in range(5):
        order = gen.permutation(len(participants))
        half_a = [participants[i] for i in order[:3]]
        half_b = [p for p in participants if p not in half_a]
        ha, hb = (upper(ratings_matrix(df, participants=h).values) for h in (half_a, half_b))
        f = upper(full.values)
        lows.append(_tau_a(ha, hb))
        ups.append((_tau_a(ha, f) + _tau_a(hb, f)) / 2)
    assert res["kendall"].lower == pytest.approx(np.mean(lows), abs=1e-12)
    assert res["kendall"].upper == pytest.approx(np.mean(ups), abs=1e-12)
    assert res["kendall"].lower_sd == pytest.approx(np.std(lows, ddof=1), abs=1e-12)
    assert res["pearson"].n_splits == 5 and res.details["n_participants"] == 7


def _tau_a(x, y):
    n = len(x)
    s = 0
    for i in range(n):
        for j in range(i + 1, n):
            s += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return s / (n * (n - 1) / 2)


def test_sparse_ratings_redraw_splits_and_report_uncovered_pairs(rng):
    df = simulated_ratings(rng, n_participants=10, sparse=True)
    res = ratings_noise_ceiling(df, metrics="spearman", n_splits=3, seed=0)
    assert res["spearman"].n_splits == 3
    pair = df.stim_a.isin(["x0", "x1"]) & df.stim_b.isin(["x0", "x1"])
    unrated = df[~pair]
    with pytest.raises(InputError, match=r"1 of the 15 stimulus pairs have no rating: '\(x0, x1\)'"):
        ratings_noise_ceiling(unrated, n_splits=2)
    one_rater = pd.concat([unrated, df[pair].iloc[:1]])
    with pytest.raises(InputError, match=r"1 stimulus pairs were rated by fewer than 2 participants.*'\(x0, x1\)'"):
        ratings_noise_ceiling(one_rater, n_splits=2)
    with pytest.raises(InputError, match=r"1 of the 15 stimulus pairs have no rating"):
        ratings_matrix(unrated)


def test_ratings_input_errors(tmp_path, rng):
    df = simulated_ratings(rng, n_participants=2)
    with pytest.raises(InputError, match="from 1 participant; split halves need at least 2"):
        ratings_noise_ceiling(df[df.participant == "p0"], n_splits=1)
    with pytest.raises(InputError, match="n_splits must be a positive integer"):
        ratings_noise_ceiling(df, n_splits=0)
    with pytest.raises(InputError, match="lack the columns rating"):
        ratings_noise_ceiling(df.drop(columns="rating"))
    df.to_csv(tmp_path / "r.csv", index=False)
    back = read_ratings(tmp_path / "r.csv")
    assert back.columns.tolist() == ["participant", "stim_a", "stim_b", "rating"] and len(back) == len(df)
    (tmp_path / "bad.tsv").write_text("participant\tstim_a\tstim_b\trating\np\ta\tb\tlots\n")
    with pytest.raises(InputError, match=r"not finite numbers; first at line 2: 'lots'"):
        read_ratings(tmp_path / "bad.tsv")
    (tmp_path / "cols.csv").write_text("who,a,b,r\n")
    with pytest.raises(InputError, match="missing participant, stim_a, stim_b, rating"):
        read_ratings(tmp_path / "cols.csv")
    with pytest.raises(DataNotFoundError):
        read_ratings(tmp_path / "none.csv")

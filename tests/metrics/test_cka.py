"""CKA and debiased CKA against independent implementations written here, to 1e-12.

References: the kernel-matrix form ``tr(K H L H)`` with an explicit centring matrix ``H``
(Kornblith et al. 2019, eq. 3), the feature-space form ``||Yᵀ X||²_F`` of the same paper,
and Song et al.'s (2012, eq. 5) unbiased HSIC written term by term.
"""

from __future__ import annotations

import numpy as np
import pytest

from repalign import InputError, Representation
from repalign.metrics import compare
from repalign.metrics.cka import linear_cka, linear_cka_debiased

TOL = 1e-12


def hsic_biased(k: np.ndarray, l_: np.ndarray) -> float:
    n = k.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(k @ h @ l_ @ h)) / (n - 1) ** 2


def cka_kernel_form(x: np.ndarray, y: np.ndarray) -> float:
    k, l_ = x @ x.T, y @ y.T  # uncentred: the centring is H's job here
    return hsic_biased(k, l_) / np.sqrt(hsic_biased(k, k) * hsic_biased(l_, l_))


def cka_feature_form(x: np.ndarray, y: np.ndarray) -> float:
    xc, yc = x - x.mean(0), y - y.mean(0)
    return float(np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)))


def hsic_unbiased(k: np.ndarray, l_: np.ndarray) -> float:
    """Song et al. (2012), eq. 5, term by term."""
    n = k.shape[0]
    kt, lt = k.copy(), l_.copy()
    np.fill_diagonal(kt, 0)
    np.fill_diagonal(lt, 0)
    one = np.ones(n)
    term1 = np.trace(kt @ lt)
    term2 = (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
    term3 = 2.0 / (n - 2) * (one @ kt @ lt @ one)
    return float(term1 + term2 - term3) / (n * (n - 3))


def cka_debiased_reference(x: np.ndarray, y: np.ndarray) -> float:
    # Centred features: the estimator is invariant to a shift of the features (U-centring
    # removes it), and without it eq. 5's terms cancel catastrophically at n = 4 (1e-12).
    x, y = x - x.mean(0), y - y.mean(0)
    k, l_ = x @ x.T, y @ y.T
    return hsic_unbiased(k, l_) / np.sqrt(hsic_unbiased(k, k) * hsic_unbiased(l_, l_))


@pytest.mark.parametrize("n, p, q", [(5, 3, 4), (12, 2, 30), (40, 17, 5)])
def test_cka_matches_kernel_and_feature_forms(n, p, q, rng):
    for _ in range(3):
        x = rng.normal(size=(n, p)) + rng.normal(size=p)  # uncentred features
        y = x @ rng.normal(size=(p, q)) + rng.normal(size=(n, q))
        got = linear_cka(x, y)
        assert got == pytest.approx(cka_kernel_form(x, y), abs=TOL)
        assert got == pytest.approx(cka_feature_form(x, y), abs=TOL)


@pytest.mark.parametrize("n, p, q", [(4, 3, 2), (12, 2, 30), (40, 17, 5)])
def test_debiased_cka_matches_song_et_al(n, p, q, rng):
    for _ in range(3):
        x = rng.normal(size=(n, p)) + 3.0
        y = x @ rng.normal(size=(p, q)) + rng.normal(size=(n, q))
        assert linear_cka_debiased(x, y) == pytest.approx(cka_debiased_reference(x, y), abs=TOL)


def test_debiased_cka_removes_the_bias_towards_one(rng):
    """Independent features: biased CKA grows with the number of features, debiased stays near 0."""
    x = rng.normal(size=(30, 500))
    y = rng.normal(size=(30, 500))
    assert linear_cka(x, y) > 0.8
    assert abs(linear_cka_debiased(x, y)) < 0.1


def test_invariances(rng):
    x = rng.normal(size=(15, 6))
    y = rng.normal(size=(15, 4))
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    transformed = 7.5 * x @ q + rng.normal(size=6)  # orthogonal, isotropic scale, shift
    for f in (linear_cka, linear_cka_debiased):
        assert f(transformed, y) == pytest.approx(f(x, y), abs=TOL)
        assert f(x, y) == pytest.approx(f(y, x), abs=TOL)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_extreme_feature_scales(scale, rng):
    x = rng.normal(size=(10, 3))
    y = x + rng.normal(size=(10, 3))
    for f in (linear_cka, linear_cka_debiased):
        assert f(x * scale, y) == pytest.approx(f(x, y), abs=1e-12)


def test_compare_registers_both_and_bootstraps(rng):
    ids = [f"s{i}" for i in range(20)]
    x = rng.normal(size=(20, 5))
    a = Representation.from_features(ids, x)
    b = Representation.from_features(ids[::-1], (x + 0.5 * rng.normal(size=x.shape))[::-1])
    res = compare(a, b, metrics="cka,cka-debiased,pearson", bootstrap=50, seed=0)
    xb = np.asarray(b.select(ids).values)
    assert res["cka"] == pytest.approx(cka_kernel_form(x, xb), abs=TOL)
    assert res["cka-debiased"] == pytest.approx(cka_debiased_reference(x, xb), abs=TOL)
    for metric, (low, high) in res.intervals.items():
        assert low <= high
    assert 0.0 <= res.intervals["cka"][0] <= res.intervals["cka"][1] <= 1.0


def test_bootstrap_debiased_zeroes_copies(rng):
    """A resample with copies equals the estimator with the copy pairs' kernel entries zeroed."""
    x = rng.normal(size=(8, 3))
    y = x + rng.normal(size=(8, 3))
    idx = np.array([0, 0, 1, 2, 3, 3, 3, 5])
    got = linear_cka_debiased(x[idx], y[idx], groups=idx)

    def u_hsic(k, l_):
        same = idx[:, None] == idx[None, :]
        k, l_ = np.where(same, 0.0, k), np.where(same, 0.0, l_)
        n = len(idx)
        one = np.ones(n)
        return (np.trace(k @ l_) + (one @ k @ one) * (one @ l_ @ one) / ((n - 1) * (n - 2))
                - 2.0 / (n - 2) * (one @ k @ l_ @ one)) / (n * (n - 3))

    xc, yc = x[idx] - x[idx].mean(0), y[idx] - y[idx].mean(0)
    k, l_ = xc @ xc.T, yc @ yc.T
    assert got == pytest.approx(u_hsic(k, l_) / np.sqrt(u_hsic(k, k) * u_hsic(l_, l_)), abs=TOL)


def test_matrices_are_refused_with_what_to_pass(rng):
    ids = list("abcdef")
    x = rng.normal(size=(6, 3))
    sim = Representation.from_similarity(ids, np.corrcoef(x), name="human.csv")
    feats = Representation.from_features(ids, x, name="model.npz")
    for metric in ("cka", "cka-debiased"):
        with pytest.raises(InputError, match=r"human.csv is a similarity matrix, but --metric cka.*needs features"):
            compare(sim, feats, metrics=metric)


def test_degenerate_inputs_raise(rng):
    x = rng.normal(size=(6, 3))
    with pytest.raises(InputError, match="no variance"):
        linear_cka(np.ones((6, 3)), x)
    with pytest.raises(InputError, match="at least 4"):
        linear_cka_debiased(x[:3], x[:3])


def test_bootstrap_cka_leaves_out_products_between_copies(rng):
    x = rng.normal(size=(8, 3))
    y = x + rng.normal(size=(8, 3))
    idx = np.array([0, 0, 1, 2, 3, 3, 3, 5])
    xc, yc = x[idx] - x[idx].mean(0), y[idx] - y[idx].mean(0)
    k, l_ = xc @ xc.T, yc @ yc.T
    keep = ~((idx[:, None] == idx[None, :]) & ~np.eye(8, dtype=bool))
    expected = np.sum(k * l_ * keep) / np.sqrt(np.sum(k * k * keep) * np.sum(l_ * l_ * keep))
    assert linear_cka(x[idx], y[idx], groups=idx) == pytest.approx(expected, abs=TOL)
    assert linear_cka(x, y, groups=np.arange(8)) == pytest.approx(linear_cka(x, y), abs=TOL)


def test_bootstrap_interval_of_cka_covers_its_estimate():
    """Plain resampling put this interval above the estimate (self-similarity counted twice):
    0.765 outside [0.774, 0.850] (docs/metrics.md shows the same example)."""
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(50)]
    x = rng.normal(size=(50, 20))
    a = Representation.from_features(ids, x)
    b = Representation.from_features(ids, x @ rng.normal(size=(20, 30)) + 3 * rng.normal(size=(50, 30)))
    res = compare(a, b, metrics="cka,cka-debiased", bootstrap=200, seed=0)
    for metric in ("cka", "cka-debiased"):
        low, high = res.intervals[metric]
        assert low <= res[metric] <= high, metric

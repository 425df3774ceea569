"""Theorem A.5: expected disagreement on adversarial examples, closed form against Monte Carlo."""

import math
import time

import numpy as np
import pytest
from scipy import stats

from repalign import InputError
from repalign.theory import expected_max_disagreement, expected_min_disagreement, simulate_max_disagreement


def _full_sum(n_trials, p, k, which):
    """The order-statistic sums over every x, straight from the binomial CDF."""
    x = np.arange(n_trials)
    f = stats.binom.cdf(x, n_trials, p)
    return float(np.sum(1 - f**k)) if which == "max" else float(np.sum((1 - f) ** k))


@pytest.mark.parametrize("n", [4, 12, 30])
@pytest.mark.parametrize("eps", [0.001, 0.05, 0.3, 0.5, 0.77, 0.999])
@pytest.mark.parametrize("k", [1, 2, 7, 40])
def test_windowed_sums_equal_full_sums(n, eps, k):
    n_trials = n * (n - 1) // 2
    assert expected_max_disagreement(eps, n, n_candidates=k) == pytest.approx(_full_sum(n_trials, eps, k, "max"), rel=1e-12)
    assert expected_min_disagreement(eps, n, n_candidates=k) == pytest.approx(_full_sum(n_trials, eps, k, "min"), rel=1e-12)


@pytest.mark.parametrize("eps", [0.02, 0.2, 0.5, 0.9])
def test_max_and_min_against_monte_carlo(eps):
    n, k = 15, 15
    rng = np.random.default_rng(7)
    draws = rng.binomial(n * (n - 1) // 2, eps, size=(40_000, k))
    for value, formula in ((draws.max(1), expected_max_disagreement), (draws.min(1), expected_min_disagreement)):
        se = value.std(ddof=1) / math.sqrt(len(value))
        assert abs(value.mean() - formula(eps, n)) < 4.5 * se + 1e-12
    mean, se = simulate_max_disagreement(eps, n, n_trials=20_000, seed=3)
    assert abs(mean - expected_max_disagreement(eps, n)) < 4.5 * se + 1e-12


def test_the_printed_formula_is_the_minimum_not_the_maximum():
    # The proof prints sum (1 - F)^k for the maximum; Monte Carlo shows it is the minimum.
    n, eps = 20, 0.1
    mean_max, se = simulate_max_disagreement(eps, n, n_trials=20_000, seed=0)
    printed = expected_min_disagreement(eps, n)
    assert mean_max - printed > 50 * se
    assert expected_max_disagreement(eps, n) > n * (n - 1) // 2 * eps > printed


def test_small_k_closed_forms():
    n, p = 10, 0.3
    big_n = n * (n - 1) // 2
    assert expected_max_disagreement(p, n, n_candidates=1) == pytest.approx(big_n * p)
    # E[max(X1, X2)] = E[X] + E|X1 - X2| / 2, with E|X1 - X2| from the exact pmf convolution.
    pmf = stats.binom.pmf(np.arange(big_n + 1), big_n, p)
    diff = np.subtract.outer(np.arange(big_n + 1), np.arange(big_n + 1))
    e_abs = float(np.sum(np.outer(pmf, pmf) * np.abs(diff)))
    assert expected_max_disagreement(p, n, n_candidates=2) == pytest.approx(big_n * p + e_abs / 2, rel=1e-12)
    assert expected_min_disagreement(p, n, n_candidates=2) == pytest.approx(big_n * p - e_abs / 2, rel=1e-12)


def test_theorem_a5_monotone_in_eps_and_endpoints():
    eps = np.linspace(0, 1, 41)
    for n in (5, 50):
        vals = expected_max_disagreement(eps, n, normalize=True)
        assert vals[0] == 0.0 and vals[-1] == 1.0
        assert np.all(np.diff(vals) > 0)
        mins = expected_min_disagreement(eps, n, normalize=True)
        assert np.all(np.diff(mins) > 0) and np.all(mins <= vals)


def test_large_n_is_fast_and_stable():
    # n = 3000: 4.5 million triplets per candidate, 3000 candidates.
    n, eps = 3000, 0.2
    start = time.perf_counter()
    value = expected_max_disagreement(eps, n, normalize=True)
    assert time.perf_counter() - start < 2.0
    # Leading-order extreme-value check: mean + sd * E[max of k normals] (Blom approximation).
    big_n = n * (n - 1) // 2
    k = n
    z = stats.norm.ppf((k - 0.375) / (k + 0.25))
    approx = (big_n * eps + z * math.sqrt(big_n * eps * (1 - eps))) / big_n
    assert value == pytest.approx(approx, rel=1e-3)
    assert eps < value < eps + 0.01


def test_bad_input():
    with pytest.raises(InputError, match="n \\(shared objects\\)"):
        expected_max_disagreement(0.1, 2)
    with pytest.raises(InputError, match="n_candidates"):
        expected_max_disagreement(0.1, 10, n_candidates=0)
    with pytest.raises(InputError, match="eps"):
        expected_min_disagreement(1.2, 10)
    with pytest.raises(InputError, match="n_trials"):
        simulate_max_disagreement(0.1, 10, n_trials=1)

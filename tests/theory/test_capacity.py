"""Binary entropy, capacity and the query bounds against independent computations."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from repalign import InputError
from repalign.theory import (
    binary_entropy,
    capacity,
    compare_students,
    effective_flip_probability,
    fano_query_bound,
    query_bound,
)

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _capacity_mp(eps: float) -> float:
    """1 - H(eps) in bits with 50 significant digits (independent of the series used)."""
    mpmath.mp.dps = 50
    e = mpmath.mpf(eps)
    h = mpmath.mpf(0)
    for p in (e, 1 - e):
        if p > 0:
            h -= p * mpmath.log(p, 2)
    return float(1 - h)


def test_binary_entropy_matches_scipy_entropy():
    grid = np.linspace(0, 1, 201)
    expected = [stats.entropy([p, 1 - p], base=2) for p in grid]
    np.testing.assert_allclose(binary_entropy(grid), expected, rtol=1e-13, atol=1e-15)
    assert binary_entropy(0.0) == 0.0 and binary_entropy(1.0) == 0.0 and binary_entropy(0.5) == 1.0


@pytest.mark.parametrize(
    "eps", [0.0, 1e-300, 1e-12, 0.01, 0.11, 0.25, 0.3, 0.49, 0.5 - 1e-4, 0.5 - 1e-7, 0.5, 0.5 + 1e-7, 0.51, 0.75, 0.9, 1.0]
)
def test_capacity_matches_high_precision_reference(eps):
    # Relative precision holds near 1/2 too, where 1 - H(eps) would cancel.
    assert capacity(eps) == pytest.approx(_capacity_mp(eps), rel=1e-12, abs=1e-300)


def test_capacity_stated_properties():
    # The properties the proof of Theorem 3.9 relies on.
    assert capacity(0.0) == 1.0 and capacity(1.0) == 1.0 and capacity(0.5) == 0.0
    grid = np.linspace(0, 1, 1001)
    c = capacity(grid)
    assert np.all((c >= 0) & (c <= 1))
    np.testing.assert_allclose(c, c[::-1], rtol=0, atol=1e-15)  # symmetric about 1/2
    assert np.all(np.diff(c[:501]) < 0) and np.all(np.diff(c[500:]) > 0)  # minimum at 1/2
    second = c[:-2] - 2 * c[1:-1] + c[2:]
    assert np.all(second > 0)  # strictly convex on the grid


@settings(max_examples=200, deadline=None)
@given(probabilities, probabilities)
def test_capacity_convex_and_symmetric(a, b):
    ca, cb, cm = capacity(a), capacity(b), capacity((a + b) / 2)
    assert cm <= (ca + cb) / 2 + 1e-15
    m = 1 - a  # m and 1 - m are exact complements in floating point (Sterbenz), a and 1 - a need not be
    assert capacity(1 - m) == pytest.approx(capacity(m), abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(probabilities, probabilities)
def test_capacity_orders_by_distance_from_half(a, b):
    if abs(0.5 - a) < abs(0.5 - b) - 1e-12:
        assert capacity(a) < capacity(b)


def test_capacity_rejects_bad_input():
    for bad in (-0.1, 1.5, float("nan"), float("inf")):
        with pytest.raises(InputError, match="eps must lie in"):
            capacity(bad)
    with pytest.raises(InputError, match="numeric"):
        capacity("half")


def test_effective_flip_probability():
    np.testing.assert_array_equal(effective_flip_probability([0.0, 0.25, 0.5, 0.75, 1.0]), [0.0, 0.25, 0.5, 0.25, 0.0])
    for eps in (0.1, 0.3, 0.7):
        assert capacity(effective_flip_probability(eps)) == pytest.approx(capacity(eps), abs=1e-15)


def test_query_bound_lemma_and_proposition():
    # Lemma 3.7 (eps = 0): d log2 n; Proposition 3.8: divided by C(eps).
    assert query_bound(1024, d=3) == pytest.approx(30.0)
    for eps in (0.05, 0.2, 0.8):
        assert query_bound(100, d=2, eps=eps, constant=1.5) == pytest.approx(1.5 * 2 * math.log2(100) / _capacity_mp(eps))
    assert query_bound(100, eps=0.5) == math.inf
    out = query_bound(np.array([16, 64]), eps=np.array([[0.1], [0.5]]))
    assert out.shape == (2, 2) and np.all(np.isinf(out[1])) and np.all(np.isfinite(out[0]))
    with pytest.raises(InputError, match="n must be"):
        query_bound(1)
    with pytest.raises(InputError, match="constant"):
        query_bound(10, constant=0)


def test_fano_bound_by_hand():
    # M = 64, P_e = 0.1: log2 64 - h(0.1) - 0.1 log2 63 bits, over C(0.1).
    bits = 6 - stats.entropy([0.1, 0.9], base=2) - 0.1 * math.log2(63)
    assert fano_query_bound(64, 0.1, accuracy=0.9) == pytest.approx(bits / _capacity_mp(0.1), rel=1e-12)
    assert fano_query_bound(64, 0.0, accuracy=1.0) == pytest.approx(6.0)
    assert fano_query_bound(10, 0.2, accuracy=0.1) == 0.0  # guessing already reaches 1/M
    assert fano_query_bound(10, 0.5, accuracy=0.9) == math.inf
    # Never above the zero-error count log2(M) / C, and increasing in the accuracy asked for.
    acc = np.linspace(0.2, 1.0, 9)
    vals = np.array([fano_query_bound(32, 0.2, accuracy=a) for a in acc])
    assert np.all(np.diff(vals) > 0) and vals[-1] == pytest.approx(query_bound(32, eps=0.2))
    with pytest.raises(InputError, match="accuracy"):
        fano_query_bound(10, 0.1, accuracy=1.5)


@settings(max_examples=200, deadline=None)
@given(probabilities, probabilities)
def test_compare_students_follows_theorem_3_9(e1, e2):
    r = compare_students(e1, e2, n=50, d=2)
    d1, d2 = abs(0.5 - e1), abs(0.5 - e2)
    if d1 < d2:
        assert r.fewer == "B2"
        assert r.queries_2 <= r.queries_1
    elif d2 < d1:
        assert r.fewer == "B1"
        assert r.queries_1 <= r.queries_2
    else:
        assert r.fewer == "equal"
    if np.isfinite(r.queries_1) and np.isfinite(r.queries_2):
        assert r.ratio == pytest.approx(r.queries_1 / r.queries_2)


def test_compare_students_anti_aligned_student_learns_faster():
    r = compare_students(0.4, 0.95, n=100)
    assert r.fewer == "B2" and r.ratio > 20
    assert compare_students(0.5, 0.1, n=10).ratio == math.inf
    assert compare_students(0.25, 0.75, n=10).fewer == "equal"
    assert set(r.to_dict()) >= {"eps_1", "eps_2", "ratio", "fewer"}

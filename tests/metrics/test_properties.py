"""Properties every metric of the registry must have (scikit-learn common-test style).

For each metric in :data:`repalign.metrics.REGISTRY` (matrix metrics on similarity
matrices, feature metrics on features):

* scale invariance over 1e-300 .. 1e300 (the computation never overflows or underflows);
* invariance to the affine maps that metric is defined to ignore;
* permutation invariance (stimulus order) and symmetry in its two arguments;
* values inside the metric's stated bounds, and finite;
* a degenerate input raises :class:`InputError` both scaled and unscaled, never a NaN.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from repalign import InputError, Representation
from repalign.metrics import ALL_METRICS, REGISTRY, compare
from repalign.stats import correlation_from_arrays

TOL = 1e-9
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scales = st.floats(min_value=-300.0, max_value=300.0).map(lambda e: 10.0**e)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
sizes = st.integers(min_value=5, max_value=9)


def _ids(n: int) -> list[str]:
    return [f"s{i}" for i in range(n)]


def _similarity(rng: np.random.Generator, n: int) -> np.ndarray:
    """Integer-valued (so exact, with ties) similarity matrix whose diagonal is its maximum."""
    x = rng.integers(-3, 4, size=(n, 3)).astype(float)
    s = x @ x.T
    np.fill_diagonal(s, s.max() + 1.0)
    return s


def _pair(metric: str, seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if REGISTRY[metric].reads == "features":
        x = rng.normal(size=(n, 4)) + rng.normal(size=4)
        return x, x @ rng.normal(size=(4, 3)) + rng.normal(size=(n, 3))
    return _similarity(rng, n), _similarity(rng, n)


def _rep(metric: str, values: np.ndarray, ids: list[str]) -> Representation:
    if REGISTRY[metric].reads == "features":
        return Representation.from_features(ids, values)
    return Representation.from_similarity(ids, values)


def _score(metric: str, a: np.ndarray, b: np.ndarray, ids_b: list[str] | None = None) -> float | None:
    n = a.shape[0]
    try:
        return compare(_rep(metric, a, _ids(n)), _rep(metric, b, ids_b or _ids(n)), metrics=metric)[metric]
    except InputError:
        return None  # degenerate (e.g. constant similarities): the call said why


@pytest.mark.parametrize("metric", ALL_METRICS)
@SETTINGS
@given(seed=seeds, n=sizes, scale_a=scales, scale_b=scales)
def test_scale_invariance_at_the_extremes(metric, seed, n, scale_a, scale_b):
    a, b = _pair(metric, seed, n)
    plain = _score(metric, a, b)
    scaled = _score(metric, a * scale_a, b * scale_b)
    assert (plain is None) == (scaled is None)
    if plain is not None:
        assert np.isfinite(scaled)
        assert scaled == pytest.approx(plain, abs=TOL)


@pytest.mark.parametrize("metric", ALL_METRICS)
@SETTINGS
@given(seed=seeds, n=sizes, power=st.integers(-30, 30), shift=st.integers(-50, 50))
def test_affine_invariance(metric, seed, n, power, shift):
    a, b = _pair(metric, seed, n)
    plain = _score(metric, a, b)
    assume(plain is not None)
    if REGISTRY[metric].reads == "features":
        q, _ = np.linalg.qr(np.random.default_rng(seed + 1).normal(size=(a.shape[1], a.shape[1])))
        moved = 2.0**power * (a @ q + shift)  # rotation, shift, isotropic scale: CKA ignores all three
    else:
        moved = 2.0**power * a + shift  # exact in float64: ties stay ties
    assert _score(metric, moved, b) == pytest.approx(plain, abs=TOL)


@pytest.mark.parametrize("metric", ALL_METRICS)
@SETTINGS
@given(seed=seeds, n=sizes, data=st.data())
def test_permutation_invariance_and_symmetry(metric, seed, n, data):
    a, b = _pair(metric, seed, n)
    plain = _score(metric, a, b)
    assume(plain is not None)
    perm = np.array(data.draw(st.permutations(range(n))))
    ids = _ids(n)
    # b's rows in another order, with their ids: compare matches them back.
    b_perm = b[perm] if REGISTRY[metric].reads == "features" else b[np.ix_(perm, perm)]
    assert _score(metric, a, b_perm, ids_b=[ids[i] for i in perm]) == pytest.approx(plain, abs=TOL)
    assert _score(metric, b, a) == pytest.approx(plain, abs=TOL)
    low, high = REGISTRY[metric].bounds
    assert low <= plain <= high


@pytest.mark.parametrize("metric", ["pearson", "spearman", "kendall"])  # triplet agreement is defined (ties)
@pytest.mark.parametrize("scale", [1e-300, 1e300, 1e308 / 4])
def test_constant_similarities_raise_at_every_scale(metric, scale):
    n = 6
    flat = np.full((n, n), 0.5)
    np.fill_diagonal(flat, 1.0)
    other = _similarity(np.random.default_rng(0), n)
    with pytest.raises(InputError):
        compare(Representation.from_similarity(_ids(n), flat * scale),
                Representation.from_similarity(_ids(n), other), metrics=metric)


@SETTINGS
@given(seed=seeds, scale_x=scales, scale_y=scales, with_covariate=st.booleans())
def test_correlation_statistics_are_scale_invariant(seed, scale_x, scale_y, with_covariate):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=30)
    y = x + rng.normal(size=30)
    z = rng.normal(size=30) if with_covariate else None
    plain = correlation_from_arrays(x, y, z)
    scaled = correlation_from_arrays(x * scale_x, y * scale_y, z)
    for key in ("r", "ci_low", "ci_high", "p_val"):
        assert np.isfinite(scaled[key])
        assert scaled[key] == pytest.approx(plain[key], abs=TOL, rel=1e-9), key
    assert -1.0 <= scaled["ci_low"] <= scaled["r"] <= scaled["ci_high"] <= 1.0


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize("top", [np.finfo(float).max, 1e308, 1e-300])
def test_values_at_the_limits_of_float64(metric, top):
    """The largest magnitude of either input at the float64 maximum (or tiny): the unscaled score."""
    a, b = _pair(metric, 7, 8)
    plain = _score(metric, a, b)
    scaled = _score(metric, a / np.abs(a).max() * top, b)
    assert plain is not None and scaled is not None
    assert scaled == pytest.approx(plain, abs=TOL)

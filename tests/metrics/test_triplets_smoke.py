import pytest

from repalign.metrics.triplets import triplet_agreement_bruteforce, triplet_counts


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("ties", ["half", "exclude"])
def test_exact_matches_bruteforce_with_ties(backend, ties, rng):
    a = rng.integers(0, 4, size=(25, 25)).astype(float)
    b = rng.integers(0, 4, size=(25, 25)).astype(float)
    a, b = a + a.T, b + b.T
    exact = triplet_counts(a, b, backend=backend).agreement(ties)
    assert exact == pytest.approx(triplet_agreement_bruteforce(a, b, ties=ties), abs=1e-12)

"""The fast probe reaches scikit-learn's optimum (same objective, same C)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from repalign import InputError
from repalign.transfer.probe import fit_logistic, fit_logistic_batch, logistic_objective


def _clusters(rng: np.random.Generator, n_classes: int, per_class: int, d: int, sep: float,
              offset: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian classes in an anisotropic space with a large common mean (like pooled CNN features)."""
    y = np.repeat(np.arange(n_classes), per_class)
    means = rng.normal(scale=sep, size=(n_classes, d))
    scale = np.linspace(2.0, 0.05, d)
    X = (means[y] + rng.normal(size=(y.size, d))) * scale + offset
    return X, y


def _sklearn_optimum(X: np.ndarray, y: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning would only mean a looser reference
        return LogisticRegression(C=C, max_iter=20000, tol=1e-10).fit(X, y)


def test_objective_matches_a_brute_force_loop() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(7, 3)), np.array([0, 1, 2, 0, 1, 2, 2])
    W, b, C = rng.normal(size=(3, 3)), rng.normal(size=3), 0.7
    total = 0.0
    for i in range(7):
        logits = [float(X[i] @ W[k] + b[k]) for k in range(3)]
        total += np.log(sum(np.exp(v) for v in logits)) - logits[y[i]]
    expected = total / 7 + sum(W[k, j] ** 2 for k in range(3) for j in range(3)) / (2 * C * 7)
    assert logistic_objective(W, b, X, y, C=C) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("per_class", "d", "C"), [(2, 320, 1.0), (8, 24, 1.0), (5, 30, 0.05)])
def test_matches_sklearn_with_100_classes(rng: np.random.Generator, per_class: int, d: int, C: float) -> None:
    # 100 classes; n = 200 < d = 320 (kernel form) and n > d (primal form); two values of C.
    X, y = _clusters(rng, 100, per_class + 6, d, sep=0.6)
    train = np.concatenate([np.flatnonzero(y == k)[:per_class] for k in range(100)])
    test = np.setdiff1d(np.arange(y.size), train)
    ours = fit_logistic(X[train], y[train], C=C)
    ref = _sklearn_optimum(X[train], y[train], C)
    f_ours = logistic_objective(ours.coef, ours.intercept, X[train], y[train], C=C)
    f_ref = logistic_objective(ref.coef_, ref.intercept_, X[train], y[train], C=C)
    assert ours.converged and ours.grad_max <= 1e-6
    # The same optimum: with gradient entries below 1e-6 the objective is within about
    # |g|^2 / (2 lambda) of the minimum, far below 1e-7 relative here.
    assert f_ours <= f_ref * (1 + 1e-7)
    assert f_ours == pytest.approx(f_ref, rel=1e-7)
    acc_ours = 100 * np.mean(ours.predict(X[test]).astype(int) == y[test])
    acc_ref = 100 * np.mean(ref.predict(X[test]) == y[test])
    assert abs(acc_ours - acc_ref) <= 0.5
    assert acc_ours > 5  # far above chance (1%): the problem is not degenerate
    np.testing.assert_allclose(ours.coef, ref.coef_, atol=2e-3 * np.abs(ref.coef_).max())


def test_batch_equals_single_fits_and_warm_start_same_optimum(rng: np.random.Generator) -> None:
    Xs, ys = [], []
    for _ in range(3):
        X, y = _clusters(rng, 5, 12, 20, sep=1.0)
        Xs.append(X)
        ys.append(y)
    batch = fit_logistic_batch(np.stack(Xs), np.stack(ys), n_classes=5, tol=1e-9)
    for j in range(3):
        single = fit_logistic(Xs[j], ys[j], tol=1e-9)
        np.testing.assert_allclose(batch.coef[j].T, single.coef, atol=1e-6)
        np.testing.assert_allclose(batch.intercept[j], single.intercept, atol=1e-6)
    init = (batch.coef * 0.5 + 0.1, batch.intercept + 1.0)
    warm = fit_logistic_batch(np.stack(Xs), np.stack(ys), n_classes=5, tol=1e-9, init=init)
    np.testing.assert_allclose(warm.objective, batch.objective, rtol=1e-10)
    assert warm.converged.all()


def test_torch_backend_and_float64_products_agree(rng: np.random.Generator) -> None:
    pytest.importorskip("torch")
    for d in (30, 90):  # primal (n = 60 > d) and kernel (n < d) forms
        X, y = _clusters(rng, 4, 15, d, sep=1.0)
        a = fit_logistic(X, y, tol=1e-9)
        b = fit_logistic(X, y, tol=1e-9, backend="torch")
        c = fit_logistic(X, y, tol=1e-9, hvp_precision="float64")
        np.testing.assert_allclose(a.coef, b.coef, atol=1e-7)
        np.testing.assert_allclose(a.coef, c.coef, atol=1e-7)


def test_rank_deficient_and_constant_features(rng: np.random.Generator) -> None:
    X, y = _clusters(rng, 3, 10, 6, sep=1.5)
    X = np.hstack([X, X[:, :2] * 2.0, np.ones((X.shape[0], 2))])  # duplicated and constant columns
    ours = fit_logistic(X, y, tol=1e-8)
    ref = _sklearn_optimum(X, y, 1.0)
    assert ours.converged
    assert ours.objective == pytest.approx(logistic_objective(ref.coef_, ref.intercept_, X, y, C=1.0), rel=1e-7)
    np.testing.assert_allclose(ours.coef[:, -2:], 0.0, atol=1e-8)  # constant columns carry no weight


def test_cpu_path_does_not_import_torch() -> None:
    import os
    import subprocess
    import sys

    code = ("import sys, numpy as np; from repalign.transfer.probe import fit_logistic; "
            "X = np.random.default_rng(0).normal(size=(20, 3)); y = np.arange(20) % 2; fit_logistic(X, y); "
            "print('torch' in sys.modules)")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"


def test_input_errors() -> None:
    X = np.zeros((4, 2))
    with pytest.raises(InputError, match="different numbers of samples"):
        fit_logistic(X, [0, 1, 0])
    with pytest.raises(InputError, match="two classes"):
        fit_logistic(X, [0, 0, 0, 0])
    with pytest.raises(InputError, match="C must be"):
        fit_logistic(X, [0, 1, 0, 1], C=0)
    with pytest.raises(InputError, match="NaN"):
        fit_logistic(np.full((4, 2), np.nan), [0, 1, 0, 1])
    with pytest.raises(InputError, match="backend"):
        fit_logistic(X, [0, 1, 0, 1], backend="jax")

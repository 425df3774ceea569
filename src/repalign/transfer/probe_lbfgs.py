"""L-BFGS for the linear probe on well-conditioned problems, and the rule that chooses it.

Newton-CG with the Kronecker-factored preconditioner (:mod:`repalign.transfer.probe`)
wins where the feature covariance is ill-conditioned (pooled CNN embeddings: a large
common mean and a power-law spectrum), because its preconditioner removes what makes
first-order methods slow. On a well-conditioned problem there is nothing to remove and
its setup (the covariance and its eigendecomposition, ``N d^2 + d^3``) costs more than
the few gradient evaluations L-BFGS needs there. :func:`choose_solver` estimates the
conditioning with a short power iteration; :func:`lbfgs_batch` is scipy's L-BFGS-B, the
algorithm scikit-learn's ``lbfgs`` solver runs (same objective, same ``gtol = tol``, its
``ftol`` and line-search settings), on **centred** features (the free intercept absorbs the
mean, which removes the mean's ill-conditioning exactly) with float32 products; if the
float32 objective stalls the line search above ``tol``, it continues in float64 from there.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

__all__ = ["CONDITION_LIMIT", "SOLVERS", "choose_solver", "lbfgs_batch"]

log = logging.getLogger(__name__)

SOLVERS: tuple[str, ...] = ("auto", "newton", "lbfgs")
#: ``auto`` picks L-BFGS when the estimated ratio of the largest to the mean eigenvalue of the
#: centred feature covariance is below this (isotropic features: about (1 + sqrt(d / N))^2).
CONDITION_LIMIT = 20.0


def condition_estimate(X: np.ndarray, n_iter: int = 8, seed: int = 0, max_rows: int = 2048) -> float:
    """Largest eigenvalue of the centred covariance of ``X`` (N, d) over its mean eigenvalue.

    A power iteration (float32 products with the centred rows), so it costs ``2 n_iter N d``
    flops and no ``d x d`` matrix (on at most ``max_rows`` rows, drawn at random). A lower bound on the true ratio, close after a few steps
    when the top eigenvalue is separated (power-law spectra) and within a small factor when
    it is not (isotropic data, where the decision it feeds is clear anyway).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> condition_estimate(rng.normal(size=(2000, 50))) < 3
    True
    >>> condition_estimate(rng.normal(size=(2000, 50)) * (1.0 + np.arange(50)) ** -1.0) > 5
    True
    """
    X32 = np.asarray(X, dtype=np.float32)
    if X32.shape[0] > max_rows:  # a row sample estimates the covariance well enough for the decision
        X32 = X32[np.random.default_rng(seed).choice(X32.shape[0], max_rows, replace=False)]
    mu = X32.mean(axis=0)
    Xc = X32 - mu
    mean_eig = float(np.sum(np.square(Xc, dtype=np.float64))) / X32.shape[0] / X32.shape[1]
    if mean_eig <= 0:
        return 1.0
    v = np.random.default_rng(seed).standard_normal(X32.shape[1]).astype(np.float32)
    lam = 0.0
    for _ in range(n_iter):
        w = Xc.T @ (Xc @ v) / X32.shape[0]
        lam = float(np.linalg.norm(w))
        if lam == 0:
            return 1.0
        v = w / lam
    return lam / mean_eig


def choose_solver(solver: str, X: np.ndarray, backend: str) -> str:
    """The solver ``auto`` means for a batch ``X`` (B, N, d): Newton-CG in the kernel form
    (``N <= d``), on torch, or when the first problem is ill-conditioned; else L-BFGS."""
    if solver != "auto":
        return solver
    _, N, d = X.shape
    if backend != "numpy" or N <= d:
        return "newton"
    kappa = condition_estimate(X[0])
    chosen = "lbfgs" if kappa < CONDITION_LIMIT else "newton"
    log.debug("probe: estimated covariance condition (largest / mean eigenvalue) %.1f -> %s", kappa, chosen)
    return chosen


def _objective(Xc: Any, Y: np.ndarray, lam: float, d: int, K: int, dtype: Any) -> Any:
    """The probe's objective and gradient in centred coordinates, products in ``dtype``."""
    N = Y.shape[0]

    rows = np.arange(N)
    labels = Y.argmax(axis=1)

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta[:d * K].reshape(d, K)
        c = theta[d * K:]
        L = Xc @ W.astype(dtype)  # the softmax in the products' precision, sums in float64
        L += c.astype(dtype)
        m = L.max(axis=1, keepdims=True)
        L -= m
        E = np.exp(L)
        s = E.sum(axis=1, keepdims=True, dtype=np.float64)
        lse = np.log(s[:, 0])
        f = float(np.mean(lse - L[rows, labels], dtype=np.float64)) + 0.5 * lam * float(np.sum(W * W))
        E /= s.astype(dtype)
        E[rows, labels] -= 1
        E /= N
        gW = (Xc.T @ E).astype(np.float64) + lam * W
        return f, np.concatenate([gW.ravel(), E.sum(axis=0, dtype=np.float64)])

    return fun


def lbfgs_batch(Xn: np.ndarray, yn: np.ndarray, K: int, C: float, tol: float, max_iter: int,
                init: tuple[Any, Any] | None) -> dict[str, Any]:
    """scipy's L-BFGS-B on every problem of ``Xn`` (B, N, d), one after the other.

    Returns coef (B, d, K), intercept (B, K), objective (at the last evaluation: float32
    products when the float32 run reached ``tol``), grad_max (largest gradient entry in the
    solver's centred coordinates), n_iter, converged.
    """
    from scipy.optimize import minimize

    B, N, d = Xn.shape
    lam = 1.0 / (C * N)
    out: dict[str, list[Any]] = {k: [] for k in ("coef", "intercept", "objective", "grad_max", "n_iter", "converged")}
    for j in range(B):
        X = Xn[j]
        mu = X.mean(axis=0, dtype=np.float64)
        Y = np.zeros((N, K))
        Y[np.arange(N), yn[j]] = 1.0
        if init is not None:
            W0 = np.asarray(init[0][j], dtype=np.float64)
            theta = np.concatenate([W0.ravel(), np.asarray(init[1][j], dtype=np.float64) + mu @ W0])
        else:
            theta = np.zeros(d * K + K)
        n_iter = 0
        res = None
        for dtype in (np.float32, np.float64):
            Xc = np.empty(X.shape, dtype=dtype)
            np.subtract(X, mu, out=Xc, casting="same_kind")
            res = minimize(_objective(Xc, Y, lam, d, K, dtype), theta, jac=True, method="L-BFGS-B",
                           options={"maxiter": max_iter, "gtol": tol, "ftol": 64 * np.finfo(float).eps, "maxls": 50})
            theta, n_iter = res.x, n_iter + int(res.nit)
            gmax = float(np.max(np.abs(res.jac)))
            if gmax <= tol or n_iter >= max_iter:
                break
            log.debug("probe (lbfgs): float32 run stopped at max|g| %.2e (%s); continuing in float64", gmax, res.message)
        W = theta[:d * K].reshape(d, K)
        b = theta[d * K:] - mu @ W
        out["coef"].append(W)
        out["intercept"].append(b - b.mean())
        out["objective"].append(float(res.fun))  # with float32 products when the float32 run reached tol
        out["grad_max"].append(gmax)
        out["n_iter"].append(n_iter)
        out["converged"].append(gmax <= tol)
    return {k: np.asarray(v) for k, v in out.items()}

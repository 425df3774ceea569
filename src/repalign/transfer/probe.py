"""The linear probe: multinomial logistic regression at scikit-learn's optimum, fast.

Objective
---------
scikit-learn 1.9 (``LogisticRegression(C=C)``, l2 penalty, ``lbfgs``, multinomial) minimises,
over the coefficients ``W`` (``n_features x n_classes``) and the intercept ``b``,

.. math::

    f(W, b) = \\frac{1}{N} \\sum_{i=1}^{N} \\Big[\\log \\sum_k e^{x_i w_k + b_k} - (x_i w_{y_i} + b_{y_i})\\Big]
              + \\frac{1}{2 C N} \\lVert W \\rVert_F^2,

the mean cross-entropy plus ``1 / (2 C N)`` times the squared Frobenius norm of ``W`` (the
intercept is not penalised). This is ``C * sum(losses) + ||W||^2 / 2`` divided by ``C N``,
the form the scikit-learn documentation gives; the scaling by ``1 / (C N)`` is in
``sklearn/linear_model/_logistic.py`` (``l2_reg_strength = 1.0 / (C * sw_sum)``). Same
objective, same optimum: this module finds that optimum, it does not imitate the path
of lbfgs to it.

How it is fast (and still exact)
--------------------------------
1. **Exact reparametrisation.** The intercept is free, so features can be centred on the
   training mean without changing the optimum. For few shots (``N <= d``), by the
   representer theorem the optimal ``W`` lies in the span of the centred training
   features: with the thin eigendecomposition ``Xc = F V^T`` (``V`` orthonormal, rank
   ``r <= N``) the problem is the same logistic regression in ``r`` dimensions with
   ``W = V Z`` and ``||W|| = ||Z||`` (the kernel form: every product costs ``N * N * K``
   instead of ``N * d * K``). For ``N > d`` the solver works on ``W`` itself; the
   eigendecomposition of the feature covariance (float32, LAPACK ``syevd``) then only
   shapes the preconditioner, and no centred float64 copy of the features is made
   (products with the raw features are corrected by the mean).
2. **Newton's method with conjugate gradients**, converging quadratically. The
   Hessian is never formed: CG needs only Hessian-vector products (two float32 matrix
   products each). CG is inexact with the Eisenstat-Walker forcing term (choice 2, kept in
   ``[0.05, 0.5]``), and never solves more accurately than ``tol`` needs (the gradient after
   a step is about the CG residual).
3. **A Kronecker-factored preconditioner.** In the feature eigenbasis the covariance is
   diagonal (``sigma_j``), and the mean softmax curvature
   ``M = mean_i(diag p_i - p_i p_i^T)`` is a small ``K x K`` matrix with eigenvalues
   ``m_l``. Preconditioning with ``1 / (sigma_j m_l + lambda)`` in that basis removes most
   of the ill-conditioning that makes lbfgs slow on raw embeddings (large mean, power-law
   spectrum).
4. **Cheap line search, mixed precision.** CG's products give the logits' change along
   the step (``X s``) for free, so the line search (convex along the line: secant on the
   slope) costs a softmax per trial and no product with the features. Far from the optimum
   the logits are advanced with those float32 products and the gradient is float32; once
   the largest gradient entry is below ``30 * tol`` the logits are recomputed in float64 and
   every later step and gradient is float64, so the stopping test sees the exact gradient.
5. **Batches and warm starts.** Problems of the same shape (the seeds of one shot count)
   are solved as one batch (one stack of matrix products, on GPU with torch); shot counts
   are solved in increasing order, each warm-started from the previous solution (nested
   splits make that solution lie in the new span exactly).

The stopping rule is the largest absolute entry of the gradient of ``f`` with respect to
``(W, b)`` in the original coordinates (the quantity lbfgs's ``gtol`` bounds: scikit-learn
passes ``tol`` as ``gtol`` on this same mean objective), default ``1e-6`` where
scikit-learn's default ``tol`` is ``1e-4``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option, optional_import
from .splits import encode_labels

__all__ = [
    "LogisticProbe",
    "BatchLogisticFit",
    "fit_logistic",
    "fit_logistic_batch",
    "logistic_objective",
    "HVP_PRECISIONS",
    "BACKENDS",
]

log = logging.getLogger(__name__)

HVP_PRECISIONS: tuple[str, ...] = ("float32", "float64")
_RANK_RTOL = 1e-11
_PRECISE_BELOW = 30.0  # float64 logits once the largest gradient entry is below this times tol
_ETA_MAX = 0.5  # loosest CG forcing term
_CG_TOL_SAFETY = 1.0  # CG residual (relative) no smaller than this times tol / max|g| needs
_LS_MAX = 30  # line-search trials per Newton step at most
_LS_C2 = 0.25  # accept a step once |slope| has dropped to this fraction (and Armijo holds)
_ETA_MIN = 0.05  # tightest forcing term Eisenstat-Walker may choose (tighter gained nothing)
_ETA_NEED_MAX = 0.25  # cap on the tolerance-derived forcing term, so every step still makes progress


# --------------------------------------------------------------------------------------
# array backends: the algorithm is written once against this small interface


class _NumpyOps:
    name = "numpy"

    def __init__(self) -> None:
        self.f64 = np.float64
        self.f32 = np.float32

    def asarray(self, a: Any, dtype: Any = None) -> np.ndarray:
        return np.asarray(a, dtype=dtype if dtype is not None else self.f64)

    def to_numpy(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    def mask(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=bool)

    def cast(self, a: np.ndarray, dtype: Any) -> np.ndarray:
        return a.astype(dtype, copy=False)

    def centred(self, a: np.ndarray, mu: np.ndarray, dtype: Any) -> np.ndarray:
        """``a - mu[:, None, :]`` in ``dtype``, without a temporary in ``a``'s precision."""
        out = np.empty(a.shape, dtype=dtype)
        np.subtract(a, mu[:, None, :], out=out, casting="same_kind")
        return out

    def zeros(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return np.zeros(shape, dtype=dtype if dtype is not None else self.f64)

    def one_hot(self, y: np.ndarray, k: int) -> np.ndarray:
        out = np.zeros((*y.shape, k), dtype=self.f64)
        np.put_along_axis(out, y[..., None], 1.0, axis=-1)
        return out

    def labels(self, y: Any) -> np.ndarray:
        return np.asarray(y, dtype=np.int64)

    def sum(self, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        return a.sum(axis=axis, keepdims=keepdims)

    def amax(self, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        return a.max(axis=axis, keepdims=keepdims)

    def mean(self, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        return a.mean(axis=axis, keepdims=keepdims)

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)

    def t(self, a: np.ndarray) -> np.ndarray:
        return np.swapaxes(a, -1, -2)

    def eigh(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.linalg.eigh(a)

    def eigh_sym(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Batched eigh through LAPACK's divide and conquer (``?syevd``), in ``a``'s precision."""
        import scipy.linalg

        pairs = [scipy.linalg.eigh(m, driver="evd", check_finite=False) for m in a]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def diag_embed(self, a: np.ndarray) -> np.ndarray:
        out = np.zeros((*a.shape, a.shape[-1]), dtype=a.dtype)
        idx = np.arange(a.shape[-1])
        out[..., idx, idx] = a
        return out

    def take_label(self, logits: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.take_along_axis(logits, y[..., None], axis=-1)[..., 0]

    def item_all(self, a: np.ndarray) -> bool:
        return bool(np.all(a))

    def synchronize(self) -> None:
        return None


class _TorchOps:
    name = "torch"

    def __init__(self, device: str) -> None:
        self.torch = optional_import("torch", extra="torch", purpose="The linear probe on a GPU")
        self.device = self.torch.device(device)
        self.f64 = self.torch.float64
        self.f32 = self.torch.float32

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        return self.torch.as_tensor(np.asarray(a), dtype=dtype if dtype is not None else self.f64, device=self.device)

    def to_numpy(self, a: Any) -> np.ndarray:
        return a.detach().to("cpu").numpy()

    def mask(self, a: np.ndarray) -> Any:
        return self.torch.as_tensor(np.asarray(a, dtype=bool), device=self.device)

    def cast(self, a: Any, dtype: Any) -> Any:
        return a.to(dtype)

    def centred(self, a: Any, mu: Any, dtype: Any) -> Any:
        return (a - mu[:, None, :]).to(dtype)

    def zeros(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        return self.torch.zeros(shape, dtype=dtype if dtype is not None else self.f64, device=self.device)

    def one_hot(self, y: Any, k: int) -> Any:
        return self.torch.nn.functional.one_hot(y, k).to(self.f64)

    def labels(self, y: Any) -> Any:
        return self.torch.as_tensor(np.asarray(y, dtype=np.int64), device=self.device)

    def sum(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return a.sum() if axis is None else a.sum(dim=axis, keepdim=keepdims)

    def amax(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return a.max() if axis is None else a.amax(dim=axis, keepdim=keepdims)

    def mean(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return a.mean() if axis is None else a.mean(dim=axis, keepdim=keepdims)

    def exp(self, a: Any) -> Any:
        return self.torch.exp(a)

    def log(self, a: Any) -> Any:
        return self.torch.log(a)

    def sqrt(self, a: Any) -> Any:
        return self.torch.sqrt(a)

    def abs(self, a: Any) -> Any:
        return self.torch.abs(a)

    def where(self, c: Any, a: Any, b: Any) -> Any:
        return self.torch.where(c, a, b)

    def maximum(self, a: Any, b: Any) -> Any:
        return self.torch.clamp(a, min=b) if not hasattr(b, "shape") else self.torch.maximum(a, b)

    def t(self, a: Any) -> Any:
        return a.transpose(-1, -2)

    def eigh(self, a: Any) -> tuple[Any, Any]:
        return self.torch.linalg.eigh(a)

    def eigh_sym(self, a: Any) -> tuple[Any, Any]:
        return self.torch.linalg.eigh(a)

    def diag_embed(self, a: Any) -> Any:
        return self.torch.diag_embed(a)

    def take_label(self, logits: Any, y: Any) -> Any:
        return logits.gather(-1, y[..., None])[..., 0]

    def item_all(self, a: Any) -> bool:
        return bool(a.all().item())

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)


BACKENDS: tuple[str, ...] = ("numpy", "torch")


def _ops_for(device: str, backend: str | None = None) -> Any:
    """numpy on ``"cpu"`` unless ``backend="torch"``; torch on every other device."""
    if backend is not None:
        check_option("backend", backend, BACKENDS)
        if backend == "numpy" and device != "cpu":
            raise InputError(f"backend 'numpy' runs on the CPU only, not on device {device!r}.")
    if device == "cpu" and backend != "torch":
        return _NumpyOps()
    return _TorchOps(device)


# --------------------------------------------------------------------------------------
# results


@dataclass
class LogisticProbe:
    """A fitted multinomial logistic regression (scikit-learn's layout).

    Attributes
    ----------
    coef : ndarray, shape (n_classes, n_features)
    intercept : ndarray, shape (n_classes,)
    classes : list of str
        Class label of each row of ``coef``.
    C : float
    objective : float
        Value of the scikit-learn objective at the solution (see the module docstring).
    grad_max : float
        Largest absolute gradient entry at the solution.
    n_iter : int
        Newton iterations.
    n_hvp : int
        Hessian-vector products (the unit of work besides one gradient per iteration).
    converged : bool
    """

    coef: np.ndarray
    intercept: np.ndarray
    classes: list[str]
    C: float
    objective: float
    grad_max: float
    n_iter: int
    n_hvp: int
    converged: bool

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Logits ``X @ coef.T + intercept``, shape (n_samples, n_classes)."""
        return np.asarray(X, dtype=np.float64) @ self.coef.T + self.intercept

    def predict_codes(self, X: np.ndarray) -> np.ndarray:
        """Index (into ``classes``) of the predicted class of every row."""
        return np.argmax(self.decision_function(X), axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class label of every row."""
        return np.asarray(self.classes)[self.predict_codes(X)]


@dataclass
class BatchLogisticFit:
    """Solutions of a batch of problems, as arrays with a leading batch axis.

    ``coef`` has shape (batch, n_features, n_classes) (transposed with respect to
    scikit-learn, for batched products), ``intercept`` (batch, n_classes); the rest has
    one entry per problem.
    """

    coef: np.ndarray
    intercept: np.ndarray
    objective: np.ndarray
    grad_max: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    n_hvp: int
    info: dict[str, Any] = field(default_factory=dict)


def logistic_objective(coef: np.ndarray, intercept: np.ndarray, X: np.ndarray, y: np.ndarray, *, C: float) -> float:
    """scikit-learn's objective (mean cross-entropy + ``||W||^2 / (2 C N)``), in float64.

    ``coef`` in scikit-learn's layout (n_classes, n_features); ``y`` integer codes.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0]]); y = np.array([0, 1])
    >>> round(logistic_objective(np.zeros((2, 1)), np.zeros(2), X, y, C=1.0), 6)  # log(2)
    0.693147
    """
    X = np.asarray(X, dtype=np.float64)
    L = X @ np.asarray(coef, dtype=np.float64).T + np.asarray(intercept, dtype=np.float64)
    m = L.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(L - m).sum(axis=1))
    n = X.shape[0]
    return float((lse - L[np.arange(n), np.asarray(y)]).mean() + 0.5 / (C * n) * float(np.sum(np.square(coef))))


# --------------------------------------------------------------------------------------
# the solver


def _check_inputs(X: Any, C: float, tol: float, max_iter: int) -> None:
    if not (isinstance(C, (int, float)) and math.isfinite(C) and C > 0):
        raise InputError(f"C must be a positive finite number, got {C!r}.")
    if not (tol > 0):
        raise InputError(f"tol must be positive, got {tol!r}.")
    if int(max_iter) < 1:
        raise InputError(f"max_iter must be at least 1, got {max_iter!r}.")


def _centre_and_basis(ops: Any, X: Any, low: Any) -> dict[str, Any]:
    """Centre ``X`` (B, N, d) and choose the coordinates the solver works in.

    Kernel form (``N <= d``): ``Xc = F V^T`` with the thin eigendecomposition of ``Xc Xc^T``;
    the solver works on ``Z`` (``W = V Z``) with design ``F`` (B, N, r), whose feature
    covariance is diagonal (``sigma``). Primal form (``N > d``): the solver works on ``W``
    itself with design ``Xc``; the eigendecomposition of the covariance (in the precision
    of the Hessian-vector products) only shapes the preconditioner, so it need not be exact.
    There ``D`` is the uncentred ``X`` (products with it are corrected by the mean), so no
    centred float64 copy is made; ``D_low`` is centred.
    """
    B, N, d = X.shape
    mu = ops.mean(X, axis=1)
    if N <= d:
        Xc = X - mu[:, None, :]
        ev, U = ops.eigh(Xc @ ops.t(Xc))  # (B, N), (B, N, N)
        keep = ev > _RANK_RTOL * ops.amax(ev, axis=-1, keepdims=True)
        s = ops.sqrt(ops.where(keep, ev, 1.0))
        inv = ops.where(keep, 1.0 / s, 0.0)
        F = U * ops.where(keep, s, 0.0)[:, None, :]
        V = (ops.t(Xc) @ U) * inv[:, None, :]
        sigma = ops.where(keep, ev, 0.0) / N
        return {"kernel": True, "D": F, "D_low": ops.cast(F, low), "V": V, "basis": None, "sigma": sigma, "mu": mu}
    X_low = ops.centred(X, mu, low)
    ev, basis = ops.eigh_sym(ops.t(X_low) @ X_low)  # (B, d), (B, d, d), precision `low`
    sigma = ops.maximum(ops.cast(ev, ops.f64), 0.0) / N
    return {"kernel": False, "D": X, "D_low": X_low, "V": None, "basis": basis, "sigma": sigma, "mu": mu}


def _logits_stats(ops: Any, L: Any, y: Any) -> tuple[Any, Any]:
    """Mean cross-entropy (B,) and softmax probabilities (B, N, K) of logits ``L``."""
    m = ops.amax(L, axis=-1, keepdims=True)
    E = ops.exp(ops.maximum(L - m, -200.0))  # below exp(-708) numpy's exp takes a slow path
    s = ops.sum(E, axis=-1, keepdims=True)
    lse = m[..., 0] + ops.log(s[..., 0])
    return ops.mean(lse - ops.take_label(L, y), axis=-1), E / s


def fit_logistic_batch(
    X: Any,
    y: Any,
    *,
    n_classes: int,
    C: float = 1.0,
    tol: float = 1e-6,
    max_iter: int = 100,
    init: tuple[Any, Any] | None = None,
    device: str = "cpu",
    hvp_precision: str = "float32",
    backend: str | None = None,
    max_cg: int = 200,
) -> BatchLogisticFit:
    """Solve a batch of multinomial logistic regressions of the same shape.

    Parameters
    ----------
    X : array, shape (batch, n_samples, n_features)
        Training features of every problem.
    y : array of int, shape (batch, n_samples)
        Class codes in ``0..n_classes-1``; every class should occur in every problem
        (as in the few-shot splits).
    n_classes : int
    C : float
        Inverse regularisation strength, as in scikit-learn.
    tol : float
        Stop when the largest absolute gradient entry is below ``tol``.
    max_iter : int
        Newton iterations at most.
    init : (coef, intercept), optional
        Warm start: ``coef`` (batch, n_features, n_classes), ``intercept`` (batch, n_classes).
    device : str
        ``"cpu"`` (numpy and scipy's LAPACK, no torch) or a torch device such as ``"cuda"``.
    hvp_precision : {"float32", "float64"}
        Precision of the Hessian-vector products inside CG and of the logit updates far
        from the optimum (near it, and for the stopping test, everything is float64).
    backend : {"numpy", "torch"}, optional
        Default numpy on ``"cpu"`` (torch is then not imported), torch elsewhere.
    max_cg : int
        Conjugate-gradient iterations per Newton step at most.

    Returns
    -------
    BatchLogisticFit
    """
    _check_inputs(X, C, tol, max_iter)
    check_option("hvp_precision", hvp_precision, HVP_PRECISIONS)
    ops = _ops_for(device, backend)
    Xn = np.asarray(X)
    if Xn.ndim != 3:
        raise InputError(f"X: expected shape (batch, n_samples, n_features), got {Xn.shape}.")
    yn = np.asarray(y)
    if yn.shape != Xn.shape[:2]:
        raise InputError(f"y: expected shape {Xn.shape[:2]}, got {yn.shape}.")
    if not np.isfinite(Xn.sum()) and not np.all(np.isfinite(Xn)):  # the sum: no temporary
        raise InputError("X: features contain NaN or infinite values.")
    if yn.size and (yn.min() < 0 or yn.max() >= n_classes):
        raise InputError(f"y: class codes must lie in 0..{n_classes - 1}.")
    B, N, d = Xn.shape
    K = int(n_classes)
    lam = 1.0 / (C * N)
    low = ops.f32 if hvp_precision == "float32" else ops.f64

    yt = ops.labels(yn)
    Y = ops.one_hot(yt, K)
    geo = _centre_and_basis(ops, ops.asarray(Xn), low)
    D, D_low, V, basis, sigma, mu, kernel = (geo["D"], geo["D_low"], geo["V"], geo["basis"], geo["sigma"],
                                             geo["mu"], geo["kernel"])
    r = D.shape[-1]

    def exact_logits(x: Any, b: Any) -> Any:
        if kernel:
            return D @ x + b[:, None, :]
        return D @ x + (b - (mu[:, None, :] @ x)[:, 0, :])[:, None, :]  # Xc x + b, Xc = X - mu

    def gradient(R: Any, x: Any, exact: bool) -> tuple[Any, Any, Any, np.ndarray]:
        gb = ops.sum(R, axis=1)
        if not exact:
            gx = ops.cast(ops.t(D_low) @ ops.cast(R, low), ops.f64) + lam * x
        elif kernel:
            gx = ops.t(D) @ R + lam * x
        else:
            gx = ops.t(D) @ R - mu[:, :, None] * gb[:, None, :] + lam * x
        gW = V @ gx if kernel else gx
        gmax = ops.to_numpy(ops.maximum(ops.amax(ops.abs(gW), axis=(-2, -1)), ops.amax(ops.abs(gb), axis=-1)))
        return gx, gb, gW, gmax

    if init is not None:
        W0 = ops.asarray(init[0])
        b0 = ops.asarray(init[1])
        if tuple(W0.shape) != (B, d, K) or tuple(b0.shape) != (B, K):
            raise InputError(f"init: expected coef {(B, d, K)} and intercept {(B, K)}, got "
                             f"{tuple(W0.shape)} and {tuple(b0.shape)}.")
        x = ops.t(V) @ W0 if kernel else W0
        b = b0 + (mu[:, None, :] @ W0)[:, 0, :]
    else:
        x = ops.zeros((B, r, K))
        b = ops.zeros((B, K))

    def vdot(a: Any, c: Any) -> Any:
        return ops.sum(a * c, axis=(-2, -1))

    def dot(a: Any, c: Any, a2: Any, c2: Any) -> Any:
        return vdot(a, c) + ops.sum(a2 * c2, axis=-1)

    L = exact_logits(x, b) if init is not None else ops.zeros((B, N, K)) + b[:, None, :]
    ce, P = _logits_stats(ops, L, yt)
    xx = vdot(x, x)
    f = ce + 0.5 * lam * xx
    # Far from the optimum the logits are updated with the float32 products CG computed
    # anyway; once the gradient is small they are recomputed in float64 and every later
    # step is applied in float64, so the stopping test always sees exact logits.
    precise = hvp_precision == "float64"
    active = np.ones(B, dtype=bool)
    n_iter = np.zeros(B, dtype=np.int64)
    grad_max = np.full(B, np.inf)
    n_hvp = 0
    gnorm_prev = None
    eta_prev = None

    for it in range(int(max_iter) + 1):
        R = (P - Y) / N
        gx, gb, gW, gmax = gradient(R, x, precise)
        if not precise and bool(np.any(active & (gmax <= _PRECISE_BELOW * tol))):
            precise = True
            L = exact_logits(x, b)
            ce, P = _logits_stats(ops, L, yt)
            f = ce + 0.5 * lam * xx
            R = (P - Y) / N
            gx, gb, gW, gmax = gradient(R, x, True)
        grad_max = np.where(active, gmax, grad_max)
        active &= ~(gmax <= tol)
        if not active.any() or it == max_iter:
            break
        n_iter += active
        act = ops.asarray(active.astype(np.float64))

        # Kronecker-factored preconditioner: (feature eigenbasis) x (class eigenbasis)
        Pm = ops.sum(P, axis=1)
        M = (ops.diag_embed(Pm) - ops.t(P) @ P) / N
        m, Q = ops.eigh(M)
        m = ops.maximum(m, 0.0)
        Dz = ops.cast(1.0 / (sigma[:, :, None] * m[:, None, :] + lam), low)
        mmax = ops.amax(m, axis=-1, keepdims=True)
        Db = ops.where(m > 1e-10 * mmax, 1.0 / ops.where(m > 1e-10 * mmax, m, 1.0), 0.0)
        Q_low = ops.cast(Q, low)

        def precondition(rz: Any, rb: Any) -> tuple[Any, Any]:
            v = ops.cast(rz, low)
            if basis is not None:
                pz = basis @ ((((ops.t(basis) @ v) @ Q_low) * Dz) @ ops.t(Q_low))
            else:
                pz = ((v @ Q_low) * Dz) @ ops.t(Q_low)
            pb = (((rb[:, None, :] @ Q) * Db[:, None, :]) @ ops.t(Q))[:, 0, :]
            return ops.cast(pz, ops.f64), pb

        P_low = ops.cast(P, low)

        def hvp(vz: Any, vb: Any) -> tuple[Any, Any, Any]:
            E = D_low @ ops.cast(vz, low) + ops.cast(vb, low)[:, None, :]
            H = P_low * E
            H = H - P_low * ops.sum(H, axis=-1, keepdims=True)
            hz = ops.cast(ops.t(D_low) @ H, ops.f64) / N + lam * vz
            hb = ops.cast(ops.sum(H, axis=1), ops.f64) / N
            return hz, hb, E

        # Preconditioned CG on H s = -g, inexact: forcing term of Eisenstat and Walker
        # (choice 2), and no tighter than the tolerance needs (the gradient after the
        # step is about the CG residual).
        gnorm = ops.to_numpy(ops.sqrt(dot(gx, gx, gb, gb)))
        if gnorm_prev is None:
            eta = np.full(B, _ETA_MAX)
        else:
            eta = 0.9 * (gnorm / np.where(gnorm_prev > 0, gnorm_prev, 1.0)) ** 2
            eta = np.where(0.9 * eta_prev ** 2 > 0.1, np.maximum(eta, 0.9 * eta_prev ** 2), eta)
            eta = np.clip(eta, _ETA_MIN, _ETA_MAX)
        eta_need = _CG_TOL_SAFETY * tol / np.where(gmax > 0, gmax, 1.0)
        eta_eff = np.maximum(eta, np.minimum(eta_need, _ETA_NEED_MAX))
        gnorm_prev, eta_prev = gnorm, eta
        rtarget = ops.asarray(eta_eff * gnorm)
        sz, sb = ops.zeros(tuple(x.shape)), ops.zeros(tuple(b.shape))
        Es = ops.zeros((B, N, K), dtype=low)
        rz, rb = -gx * act[:, None, None], -gb * act[:, None]
        zz, zb = precondition(rz, rb)
        pz, pb = zz, zb
        rho = dot(rz, zz, rb, zb)
        cg_active = active.copy()
        n_cg = 0
        for _ in range(max_cg):
            hz, hb, E = hvp(pz, pb)
            n_hvp += 1
            n_cg += 1
            curv = dot(pz, hz, pb, hb)
            cg_active &= ops.to_numpy(curv) > 0
            if not cg_active.any():
                break
            cg_mask = ops.mask(cg_active)
            alpha = ops.where(cg_mask, rho / ops.where(cg_mask, curv, 1.0), 0.0)
            sz = sz + alpha[:, None, None] * pz
            sb = sb + alpha[:, None] * pb
            if not precise:
                Es = Es + ops.cast(alpha, low)[:, None, None] * E
            rz = rz - alpha[:, None, None] * hz
            rb = rb - alpha[:, None] * hb
            rnorm = ops.sqrt(dot(rz, rz, rb, rb))
            cg_active &= ~(ops.to_numpy(rnorm <= rtarget))
            if not cg_active.any():
                break
            zz, zb = precondition(rz, rb)
            rho_new = dot(rz, zz, rb, zb)
            beta = rho_new / ops.where(rho != 0, rho, 1.0)
            rho = rho_new
            pz = zz + beta[:, None, None] * pz
            pb = zb + beta[:, None] * pb
        Es = exact_logits(sz, sb) if precise else ops.cast(Es, ops.f64)

        # Line search along s: the objective is convex along the line and the logits are
        # L + t Es, so each trial costs one softmax and no product with the features.
        xs, ss = vdot(x, sz), vdot(sz, sz)
        d0 = ops.to_numpy(vdot(R, Es) + lam * xs)
        f0 = ops.to_numpy(f)

        def trial(tv: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, Any, Any]:
            t = ops.asarray(tv)
            Lt = L + t[:, None, None] * Es
            cet, Pt = _logits_stats(ops, Lt, yt)
            ft = cet + 0.5 * lam * (xx + 2.0 * t * xs + t * t * ss)
            dt = vdot(Pt - Y, Es) / N + lam * (xs + t * ss)
            return ops.to_numpy(ft), ops.to_numpy(dt), ft, Lt, Pt

        tv = np.where(active, 1.0, 0.0)
        lo, hi = np.zeros(B), np.full(B, np.inf)
        dlo, dhi = d0.copy(), np.full(B, np.nan)
        pending = active & (d0 < 0)
        best_t = np.zeros(B)
        best_f = f0.copy()
        f_new, L_new, P_new = f, L, P
        n_ls = 0
        for _ in range(_LS_MAX):
            fn, dn, ft, Lt, Pt = trial(tv)
            n_ls += 1
            better = pending & (fn < best_f)
            take = ops.mask(better)
            f_new = ops.where(take, ft, f_new)
            L_new = ops.where(take[:, None, None], Lt, L_new)
            P_new = ops.where(take[:, None, None], Pt, P_new)
            best_t = np.where(better, tv, best_t)
            best_f = np.where(better, fn, best_f)
            good = better & (fn <= f0 + 1e-4 * tv * d0) & (np.abs(dn) <= _LS_C2 * np.abs(d0))
            pending &= ~good
            if not pending.any():
                break
            below = dn < 0
            lo, dlo = np.where(pending & below, tv, lo), np.where(pending & below, dn, dlo)
            hi, dhi = np.where(pending & ~below, tv, hi), np.where(pending & ~below, dn, dhi)
            # secant on the (increasing) slope inside the bracket [lo, hi], kept off its ends;
            # doubling while no point with a positive slope is known
            bracketed = np.isfinite(hi)
            hi_f = np.where(bracketed, hi, lo + 1.0)
            dhi_f = np.where(bracketed, dhi, dlo + 1.0)
            sec = lo - dlo * (hi_f - lo) / np.where(dhi_f - dlo > 0, dhi_f - dlo, 1.0)
            sec = np.clip(sec, lo + 0.05 * (hi_f - lo), hi_f - 0.05 * (hi_f - lo))
            tv = np.where(pending, np.where(bracketed, sec, 2.0 * tv), tv)
        stuck = active & (best_t == 0)
        if stuck.any():
            log.warning("probe: line search made no progress for %d problem(s); stopping them", int(stuck.sum()))
            active &= ~stuck
        t = ops.asarray(best_t)
        x = x + t[:, None, None] * sz
        b = b + t[:, None] * sb
        xx = vdot(x, x)
        f, L, P = f_new, L_new, P_new
        log.debug("probe it %d: max|g| %.3e eta %.2e, %d CG, %d line-search trials, step %.3g, f %.12f%s",
                  it, float(gmax[active | ~active].max()), float(eta_eff.max()), n_cg, n_ls, float(best_t.max()),
                  float(ops.to_numpy(f).max()), " (float64 logits)" if precise else "")

    converged = grad_max <= tol
    if not converged.all():
        log.warning("probe: %d of %d problems did not reach tol=%g in %d Newton iterations (largest gradient %.3g)",
                    int((~converged).sum()), B, tol, max_iter, float(grad_max.max()))
    W = V @ x if kernel else x
    b_orig = b - (mu[:, None, :] @ W)[:, 0, :]
    b_orig = b_orig - ops.mean(b_orig, axis=-1, keepdims=True)  # the intercept's free direction
    ops.synchronize()
    return BatchLogisticFit(
        coef=ops.to_numpy(W), intercept=ops.to_numpy(b_orig), objective=ops.to_numpy(f).astype(np.float64),
        grad_max=grad_max, n_iter=n_iter, converged=converged, n_hvp=n_hvp,
        info={"rank": r, "lambda": lam, "backend": ops.name, "hvp_precision": hvp_precision,
              "form": "kernel" if kernel else "primal", "float64_logits": precise},
    )


def fit_logistic(
    X: Any,
    y: Any,
    *,
    C: float = 1.0,
    tol: float = 1e-6,
    max_iter: int = 100,
    device: str = "cpu",
    hvp_precision: str = "float32",
    backend: str | None = None,
) -> LogisticProbe:
    """Fit one multinomial logistic regression at scikit-learn's optimum.

    Parameters
    ----------
    X : array, shape (n_samples, n_features)
    y : array, shape (n_samples,)
        Class labels (any values; classes are the sorted unique labels, as in scikit-learn).
    C, tol, max_iter, device, hvp_precision, backend
        See :func:`fit_logistic_batch`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-2, 1, (20, 3)), rng.normal(2, 1, (20, 3)), rng.normal(0, 1, (20, 3)) + [0, 6, 0]]
    >>> y = np.repeat(["a", "b", "c"], 20)
    >>> probe = fit_logistic(X, y, C=1.0)
    >>> probe.converged, bool((probe.predict(X) == y).mean() > 0.9)
    (True, True)
    """
    Xn = np.asarray(X, dtype=np.float64)
    if Xn.ndim != 2:
        raise InputError(f"X: expected a 2-d array (n_samples, n_features), got shape {Xn.shape}.")
    codes, classes = encode_labels(y, name="y")
    if codes.shape[0] != Xn.shape[0]:
        raise InputError(f"X and y have different numbers of samples: [{Xn.shape[0]}, {codes.shape[0]}].")
    if len(classes) < 2:
        raise InputError(f"y: need at least two classes, got {len(classes)}.")
    fit = fit_logistic_batch(Xn[None], codes[None], n_classes=len(classes), C=C, tol=tol, max_iter=max_iter,
                             device=device, hvp_precision=hvp_precision, backend=backend)
    coef = fit.coef[0].T.copy()
    intercept = fit.intercept[0].copy()
    # with float64 logits the solver's objective is that of (coef, intercept) already
    objective = (float(fit.objective[0]) if fit.info["float64_logits"]
                 else logistic_objective(coef, intercept, Xn, codes, C=C))
    return LogisticProbe(
        coef=coef, intercept=intercept, classes=classes, C=float(C),
        objective=objective,
        grad_max=float(fit.grad_max[0]), n_iter=int(fit.n_iter[0]), n_hvp=fit.n_hvp, converged=bool(fit.converged[0]),
    )

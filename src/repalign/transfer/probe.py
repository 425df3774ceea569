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
   training mean without changing the optimum. By the representer theorem the optimal
   ``W`` lies in the span of the centred training features, so with the thin
   eigendecomposition ``Xc = F V^T`` (``V`` orthonormal, ``F = Xc V``, rank
   ``r <= min(N, d)``) the problem is the same logistic regression in ``r`` dimensions
   with ``W = V Z`` and ``||W|| = ||Z||``. For few shots (``N << d``) this is the kernel
   (dual) form: every iteration costs ``N * N * K`` instead of ``N * d * K``.
2. **Newton's method with conjugate gradients**, converging quadratically. The
   Hessian is never formed: CG needs only Hessian-vector products (two matrix
   products each, in float32 by default while gradients and the objective stay in
   float64).
3. **A Kronecker-factored preconditioner.** In the coordinates of (1) the feature
   covariance is diagonal (``sigma_j``), and the mean softmax curvature
   ``M = mean_i(diag p_i - p_i p_i^T)`` is a small ``K x K`` matrix with eigenvalues
   ``m_l``. Preconditioning with ``1 / (sigma_j m_l + lambda)`` in that basis costs
   ``r K^2`` per application and removes most of the ill-conditioning that makes lbfgs slow
   on raw embeddings (large mean, power-law spectrum).
4. **Batches and warm starts.** Problems of the same shape (the seeds of one shot count)
   are solved as one batch (one stack of matrix products, on GPU with torch); shot counts
   are solved in increasing order, each warm-started from the previous solution (nested
   splits make that solution lie in the new span exactly).

The stopping rule is the largest absolute entry of the gradient of ``f`` with respect to
``(W, b)`` in the original coordinates (the quantity lbfgs's ``gtol`` bounds), default
``1e-6`` where scikit-learn's default ``tol`` is ``1e-4``.
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


def _basis(ops: Any, X: Any) -> tuple[Any, Any, Any, Any]:
    """Centre ``X`` (B, N, d) and return ``F`` (B, N, r), ``V`` (B, d, r), ``sigma`` (B, r), mean (B, d).

    ``Xc = F V^T`` exactly (up to rounding), ``V^T V = I`` on the kept directions; directions
    with eigenvalue below ``_RANK_RTOL`` times the largest carry zero columns in F and V.
    """
    B, N, d = X.shape
    mu = ops.mean(X, axis=1)
    Xc = X - mu[:, None, :]
    if N <= d:
        ev, U = ops.eigh(Xc @ ops.t(Xc))  # (B, N), (B, N, N)
        keep = ev > _RANK_RTOL * ops.amax(ev, axis=-1, keepdims=True)
        s = ops.sqrt(ops.where(keep, ev, 1.0))
        inv = ops.where(keep, 1.0 / s, 0.0)
        F = U * ops.where(keep, s, 0.0)[:, None, :]
        V = (ops.t(Xc) @ U) * inv[:, None, :]
    else:
        ev, V = ops.eigh(ops.t(Xc) @ Xc)  # (B, d), (B, d, d)
        keep = ev > _RANK_RTOL * ops.amax(ev, axis=-1, keepdims=True)
        V = V * ops.where(keep, 1.0, 0.0)[:, None, :]
        F = Xc @ V
    sigma = ops.where(keep, ev, 0.0) / N
    return F, V, sigma, mu


def _loss_and_prob(ops: Any, F: Any, Z: Any, b: Any, y: Any, lam: float) -> tuple[Any, Any]:
    L = F @ Z + b[:, None, :]
    m = ops.amax(L, axis=-1, keepdims=True)
    E = ops.exp(L - m)
    s = ops.sum(E, axis=-1, keepdims=True)
    lse = m[..., 0] + ops.log(s[..., 0])
    f = ops.mean(lse - ops.take_label(L, y), axis=-1) + 0.5 * lam * ops.sum(Z * Z, axis=(-2, -1))
    return f, E / s


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
        Precision of the Hessian-vector products inside CG (objective, gradient and the
        stopping test are always float64).
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
    if not np.all(np.isfinite(Xn)):
        raise InputError("X: features contain NaN or infinite values.")
    if yn.size and (yn.min() < 0 or yn.max() >= n_classes):
        raise InputError(f"y: class codes must lie in 0..{n_classes - 1}.")
    B, N, d = Xn.shape
    K = int(n_classes)
    lam = 1.0 / (C * N)

    Xt = ops.asarray(Xn)
    yt = ops.labels(yn)
    Y = ops.one_hot(yt, K)
    F, V, sigma, mu = _basis(ops, Xt)
    del Xt
    r = F.shape[-1]
    low = ops.f32 if hvp_precision == "float32" else ops.f64
    F_low = ops.cast(F, low) if hvp_precision == "float32" else F

    if init is not None:
        W0 = ops.asarray(init[0])
        b0 = ops.asarray(init[1])
        if tuple(W0.shape) != (B, d, K) or tuple(b0.shape) != (B, K):
            raise InputError(f"init: expected coef {(B, d, K)} and intercept {(B, K)}, got "
                             f"{tuple(W0.shape)} and {tuple(b0.shape)}.")
        Z = ops.t(V) @ W0
        b = b0 + (mu[:, None, :] @ W0)[:, 0, :]
    else:
        Z = ops.zeros((B, r, K))
        b = ops.zeros((B, K))

    f, P = _loss_and_prob(ops, F, Z, b, yt, lam)
    active = np.ones(B, dtype=bool)
    n_iter = np.zeros(B, dtype=np.int64)
    grad_max = np.full(B, np.inf)
    n_hvp = 0

    def dot(a: Any, c: Any, a2: Any, c2: Any) -> Any:
        return ops.sum(a * c, axis=(-2, -1)) + ops.sum(a2 * c2, axis=-1)

    for it in range(int(max_iter) + 1):
        R = (P - Y) / N
        gZ = ops.t(F) @ R + lam * Z
        gb = ops.sum(R, axis=1)
        gW = V @ gZ
        gmax = ops.to_numpy(ops.maximum(ops.amax(ops.abs(gW), axis=(-2, -1)), ops.amax(ops.abs(gb), axis=-1)))
        grad_max = np.where(active, gmax, grad_max)
        active &= ~(gmax <= tol)
        if not active.any() or it == max_iter:
            break
        n_iter += active
        act = ops.asarray(active.astype(np.float64))

        # Kronecker-factored preconditioner in the (feature eigenbasis) x (class eigenbasis)
        Pm = ops.sum(P, axis=1)
        M = (ops.diag_embed(Pm) - ops.t(P) @ P) / N
        m, Q = ops.eigh(M)
        m = ops.maximum(m, 0.0)
        Dz = 1.0 / (sigma[:, :, None] * m[:, None, :] + lam)
        mmax = ops.amax(m, axis=-1, keepdims=True)
        Db = ops.where(m > 1e-10 * mmax, 1.0 / ops.where(m > 1e-10 * mmax, m, 1.0), 0.0)

        def precondition(rz: Any, rb: Any) -> tuple[Any, Any]:
            pz = ((rz @ Q) * Dz) @ ops.t(Q)
            pb = (((rb[:, None, :] @ Q) * Db[:, None, :]) @ ops.t(Q))[:, 0, :]
            return pz, pb

        P_low = ops.cast(P, low)

        def hvp(vz: Any, vb: Any) -> tuple[Any, Any]:
            E = F_low @ ops.cast(vz, low) + ops.cast(vb, low)[:, None, :]
            H = P_low * E
            H = H - P_low * ops.sum(H, axis=-1, keepdims=True)
            hz = ops.cast(ops.t(F_low) @ H, ops.f64) / N + lam * vz
            hb = ops.cast(ops.sum(H, axis=1), ops.f64) / N
            return hz, hb

        # preconditioned CG on H s = -g, inexact (Eisenstat-Walker forcing term)
        gnorm = ops.sqrt(dot(gZ, gZ, gb, gb))
        # CG stops at relative residual min(0.5, sqrt(|g|)) (Eisenstat-Walker choice 2 in
        # spirit): rough steps far away, superlinear convergence near the optimum.
        eta = ops.where(ops.sqrt(gnorm) < 0.5, ops.sqrt(gnorm), 0.5 + 0.0 * gnorm)
        sz, sb = ops.zeros(tuple(Z.shape)), ops.zeros(tuple(b.shape))
        rz, rb = -gZ * act[:, None, None], -gb * act[:, None]
        zz, zb = precondition(rz, rb)
        pz, pb = zz, zb
        rho = dot(rz, zz, rb, zb)
        cg_active = active.copy()
        for _ in range(max_cg):
            hz, hb = hvp(pz, pb)
            n_hvp += 1
            curv = dot(pz, hz, pb, hb)
            ok = ops.to_numpy(curv) > 0
            cg_active &= ok
            if not cg_active.any():
                break
            cg_mask = ops.mask(cg_active)
            alpha = ops.where(cg_mask, rho / ops.where(cg_mask, curv, 1.0), 0.0)
            sz = sz + alpha[:, None, None] * pz
            sb = sb + alpha[:, None] * pb
            rz = rz - alpha[:, None, None] * hz
            rb = rb - alpha[:, None] * hb
            rnorm = ops.sqrt(dot(rz, rz, rb, rb))
            cg_active &= ~(ops.to_numpy(rnorm <= eta * gnorm))
            if not cg_active.any():
                break
            zz, zb = precondition(rz, rb)
            rho_new = dot(rz, zz, rb, zb)
            beta = rho_new / ops.where(rho != 0, rho, 1.0)
            rho = rho_new
            pz = zz + beta[:, None, None] * pz
            pb = zb + beta[:, None] * pb

        # backtracking line search (Armijo), per problem
        slope = dot(gZ, sz, gb, sb)
        step = np.where(active, 1.0, 0.0)
        pending = active.copy()
        f_new, P_new = f, P
        Z_new, b_new = Z, b
        for _ in range(60):
            st = ops.asarray(step)
            Zt = Z + st[:, None, None] * sz
            bt = b + st[:, None] * sb
            ft, Pt = _loss_and_prob(ops, F, Zt, bt, yt, lam)
            ok = ops.to_numpy(ft <= f + 1e-4 * st * slope) | ~pending
            pend_now = pending & ~ok
            take = ops.mask(pending & ok)
            f_new = ops.where(take, ft, f_new)
            P_new = ops.where(take[:, None, None], Pt, P_new)
            Z_new = ops.where(take[:, None, None], Zt, Z_new)
            b_new = ops.where(take[:, None], bt, b_new)
            pending = pend_now
            if not pending.any():
                break
            step = np.where(pending, step * 0.5, step)
        if pending.any():
            log.warning("probe: line search failed for %d problem(s); stopping them", int(pending.sum()))
            active &= ~pending
        f, P, Z, b = f_new, P_new, Z_new, b_new

    converged = grad_max <= tol
    if not converged.all():
        log.warning("probe: %d of %d problems did not reach tol=%g in %d Newton iterations (largest gradient %.3g)",
                    int((~converged).sum()), B, tol, max_iter, float(grad_max.max()))
    W = V @ Z
    b_orig = b - (mu[:, None, :] @ W)[:, 0, :]
    b_orig = b_orig - ops.mean(b_orig, axis=-1, keepdims=True)  # the intercept's free direction
    ops.synchronize()
    return BatchLogisticFit(
        coef=ops.to_numpy(W), intercept=ops.to_numpy(b_orig), objective=ops.to_numpy(f).astype(np.float64),
        grad_max=grad_max, n_iter=n_iter, converged=converged, n_hvp=n_hvp,
        info={"rank": r, "lambda": lam, "backend": ops.name, "hvp_precision": hvp_precision},
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
    return LogisticProbe(
        coef=coef, intercept=intercept, classes=classes, C=float(C),
        objective=logistic_objective(coef, intercept, Xn, codes, C=C),
        grad_max=float(fit.grad_max[0]), n_iter=int(fit.n_iter[0]), n_hvp=fit.n_hvp, converged=bool(fit.converged[0]),
    )

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
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option
from .probe_backends import BACKENDS, BatchLogisticFit
from .probe_backends import ops_for as _ops_for
from .probe_lbfgs import SOLVERS, choose_solver, lbfgs_batch
from .probe_newton import newton_cg as _newton_cg
from .splits import encode_labels

__all__ = [
    "BACKENDS",
    "HVP_PRECISIONS",
    "BatchLogisticFit",
    "LogisticProbe",
    "fit_logistic",
    "fit_logistic_batch",
    "logistic_objective",
]

log = logging.getLogger(__name__)

HVP_PRECISIONS: tuple[str, ...] = ("float32", "float64")


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
        Value of the scikit-learn objective at the solution (see the module docstring); from
        float32 logits summed in float64 when L-BFGS solved the problem (relative error ~1e-7).
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
    solver: str = "auto",
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
    solver : {"auto", "newton", "lbfgs"}
        ``newton``: Newton-CG with the Kronecker-factored preconditioner; ``lbfgs``: scipy's
        L-BFGS-B on centred features (numpy only); ``auto``: L-BFGS for well-conditioned
        problems with more samples than features, Newton-CG otherwise
        (:func:`repalign.transfer.probe_lbfgs.choose_solver`; ``docs/fewshot.md``).

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
    check_option("solver", solver, SOLVERS)
    chosen = choose_solver(solver, Xn, ops.name)
    if chosen == "lbfgs":
        if ops.name != "numpy":
            raise InputError("solver 'lbfgs' runs with the numpy backend (device 'cpu') only.")
        res = lbfgs_batch(Xn, yn, int(n_classes), C, tol, int(max_iter), init)
        if not res["converged"].all():
            # L-BFGS stalls short of very tight tolerances: polish its point with Newton-CG
            log.debug("probe: L-BFGS stopped above tol=%g for %d problem(s); polishing with Newton-CG",
                      tol, int((~res["converged"]).sum()))
            fit = _newton_cg(ops, Xn, yn, int(n_classes), C, tol, int(max_iter), (res["coef"], res["intercept"]),
                             hvp_precision, max_cg)
            fit.n_iter = fit.n_iter + res["n_iter"]
            fit.info["solver"] = "lbfgs+newton"
            return fit
        return BatchLogisticFit(coef=res["coef"], intercept=res["intercept"], objective=res["objective"],
                                grad_max=res["grad_max"], n_iter=res["n_iter"], converged=res["converged"], n_hvp=0,
                                info={"solver": "lbfgs", "lambda": 1.0 / (C * Xn.shape[1]), "backend": "numpy",
                                      "float64_logits": False, "form": "primal"})
    return _newton_cg(ops, Xn, yn, int(n_classes), C, tol, int(max_iter), init, hvp_precision, max_cg)


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
    solver: str = "auto",
) -> LogisticProbe:
    """Fit one multinomial logistic regression at scikit-learn's optimum.

    Parameters
    ----------
    X : array, shape (n_samples, n_features)
    y : array, shape (n_samples,)
        Class labels (any values; classes are the sorted unique labels, as in scikit-learn).
    C, tol, max_iter, device, hvp_precision, backend, solver
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
                             device=device, hvp_precision=hvp_precision, backend=backend, solver=solver)
    coef = fit.coef[0].T.copy()
    intercept = fit.intercept[0].copy()
    # with float64 logits (Newton) the solver's objective is that of (coef, intercept) already;
    # L-BFGS sums float32 logits in float64 (relative error about 1e-7), good enough to report
    exact = fit.info["float64_logits"] or fit.info["solver"] == "lbfgs"
    objective = float(fit.objective[0]) if exact else logistic_objective(coef, intercept, Xn, codes, C=C)
    return LogisticProbe(
        coef=coef, intercept=intercept, classes=classes, C=float(C),
        objective=objective,
        grad_max=float(fit.grad_max[0]), n_iter=int(fit.n_iter[0]), n_hvp=fit.n_hvp, converged=bool(fit.converged[0]),
    )

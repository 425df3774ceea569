"""Ordinary least squares with classical and heteroskedasticity-robust standard errors.

A small, exact implementation (QR-based) used by the U-shape tests; it is checked against
statsmodels in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .._errors import InputError

__all__ = ["OLSFit", "ols"]


@dataclass(frozen=True)
class OLSFit:
    """Coefficients of ``y ~ X`` with what their standard errors need."""

    coef: np.ndarray
    resid: np.ndarray
    xtx_inv: np.ndarray
    design: np.ndarray

    @property
    def n(self) -> int:
        return int(self.design.shape[0])

    @property
    def p(self) -> int:
        return int(self.design.shape[1])

    @property
    def dof(self) -> int:
        return self.n - self.p

    def leverage(self) -> np.ndarray:
        """Diagonal of the hat matrix ``X (X'X)^-1 X'``."""
        return np.einsum("ij,jk,ik->i", self.design, self.xtx_inv, self.design)

    def cov(self, kind: str = "classical") -> np.ndarray:
        """Covariance of the coefficients: ``classical``, ``HC1`` or ``HC3``."""
        if kind == "classical":
            sigma2 = float(self.resid @ self.resid) / self.dof
            return sigma2 * self.xtx_inv
        if kind == "HC1":
            weights = self.resid**2 * (self.n / self.dof)
        elif kind == "HC3":
            h = self.leverage()
            with np.errstate(divide="ignore", invalid="ignore"):
                weights = self.resid**2 / (1.0 - h) ** 2
        else:  # pragma: no cover - internal use only
            raise ValueError(kind)
        meat = (self.design * weights[:, None]).T @ self.design
        return self.xtx_inv @ meat @ self.xtx_inv

    def se(self, kind: str = "classical") -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self.cov(kind)))

    def r2(self, y: np.ndarray) -> float:
        tss = float(((y - y.mean()) ** 2).sum())
        return 1.0 - float(self.resid @ self.resid) / tss + 0.0 if tss > 0 else float("nan")


def _powers_of_two(columns: np.ndarray) -> np.ndarray:
    """Per column, the power of two just above its largest magnitude (1 for an all-zero column)."""
    peak = np.max(np.abs(columns), axis=0)
    scale = np.ldexp(1.0, np.minimum(np.frexp(peak)[1], 1023))
    return np.where(peak > 0, scale, 1.0)


def ols(design: np.ndarray, y: np.ndarray, *, what: str = "regression") -> OLSFit:
    """Least-squares fit; raises :class:`InputError` when the design is rank deficient.

    The columns of the design and ``y`` are divided by powers of two (exact) before the QR
    factorisation, so the rank test is scale-free (a predictor of size 1e-300 beside the
    intercept is not "collinear") and nothing overflows inside; a result that cannot be
    represented in float64 raises instead of coming back as inf or NaN.
    """
    design = np.asarray(design, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = design.shape
    if n <= p:
        raise InputError(f"{what}: needs more rows than its {p} coefficients; got {n}.")
    if not (np.all(np.isfinite(design)) and np.all(np.isfinite(y))):
        raise InputError(
            f"{what}: a predictor or the outcome overflows float64 (e.g. the square of a value near 1e300); "
            "rescale the variables (e.g. percent to fraction) and run it again."
        )
    col = _powers_of_two(design)
    y_scale = float(_powers_of_two(y[:, None])[0])
    q, r = linalg.qr(design / col, mode="economic")
    diag = np.abs(np.diag(r))
    if diag.min() <= 1e-10 * max(diag.max(), 1e-300):
        raise InputError(f"{what}: the predictors are collinear (too few distinct values?); it cannot be fitted.")
    with np.errstate(over="ignore", invalid="ignore"):
        coef = linalg.solve_triangular(r, q.T @ (y / y_scale)) / col * y_scale
        r_inv = linalg.solve_triangular(r, np.eye(p))
        xtx_inv = (r_inv @ r_inv.T) / col[:, None] / col[None, :]
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(xtx_inv))):
        raise InputError(
            f"{what}: the coefficients at this scale of the variables do not fit in float64; rescale the "
            "predictors or the outcome and run it again."
        )
    return OLSFit(coef=coef, resid=y - design @ coef, xtx_inv=xtx_inv, design=design)

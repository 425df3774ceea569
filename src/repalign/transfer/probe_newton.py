"""Newton-CG for the linear probe: the solver described in :mod:`repalign.transfer.probe`
(exact reparametrisation, Kronecker-factored preconditioner, inexact CG with the
Eisenstat-Walker forcing term, a product-free line search, mixed precision)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .._errors import InputError
from .probe_backends import BatchLogisticFit

__all__ = ["newton_cg"]

log = logging.getLogger(__name__)

_RANK_RTOL = 1e-11
_PRECISE_BELOW = 30.0  # float64 logits once the largest gradient entry is below this times tol
_ETA_MAX = 0.5  # loosest CG forcing term
_CG_TOL_SAFETY = 1.0  # CG residual (relative) no smaller than this times tol / max|g| needs
_LS_MAX = 30  # line-search trials per Newton step at most
_LS_C2 = 0.25  # accept a step once |slope| has dropped to this fraction (and Armijo holds)
_ETA_MIN = 0.05  # tightest forcing term Eisenstat-Walker may choose (tighter gained nothing)
_ETA_NEED_MAX = 0.25  # cap on the tolerance-derived forcing term, so every step still makes progress


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


def newton_cg(ops: Any, Xn: np.ndarray, yn: np.ndarray, K: int, C: float, tol: float, max_iter: int,
               init: tuple[Any, Any] | None, hvp_precision: str, max_cg: int) -> BatchLogisticFit:
    """Newton-CG on a batch (see the module docstring)."""
    B, N, d = Xn.shape
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

        precondition = _preconditioner(ops, P, N, sigma, lam, low, basis)
        hvp = _hvp(ops, P, D_low, N, lam, low)

        # Preconditioned CG on H s = -g, inexact (see _newton_direction)
        sz, sb, Es, n_cg, gnorm_prev, eta_prev, eta_eff = _newton_direction(
            ops, hvp, precondition, gx, gb, gmax, active, act, tol, max_cg, low, precise, gnorm_prev, eta_prev,
            (B, N, K), dot)
        n_hvp += n_cg
        Es = exact_logits(sz, sb) if precise else ops.cast(Es, ops.f64)

        # Line search along s (see _line_search): one softmax per trial, no product with the features
        best_t, f_new, L_new, P_new, n_ls = _line_search(ops, L, P, f, R, Es, x, sz, xx, Y, yt, lam, N, active, vdot)
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
        info={"solver": "newton", "rank": r, "lambda": lam, "backend": ops.name, "hvp_precision": hvp_precision,
              "form": "kernel" if kernel else "primal", "float64_logits": precise},
    )


def _preconditioner(ops: Any, P: Any, N: int, sigma: Any, lam: float, low: Any, basis: Any) -> Any:
    """Kronecker-factored preconditioner: (feature eigenbasis) x (class eigenbasis); see the module docstring."""
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

    return precondition


def _hvp(ops: Any, P: Any, D_low: Any, N: int, lam: float, low: Any) -> Any:
    """Hessian-vector products at softmax probabilities ``P`` (two products with the design each)."""
    P_low = ops.cast(P, low)

    def hvp(vz: Any, vb: Any) -> tuple[Any, Any, Any]:
        E = D_low @ ops.cast(vz, low) + ops.cast(vb, low)[:, None, :]
        H = P_low * E
        H = H - P_low * ops.sum(H, axis=-1, keepdims=True)
        hz = ops.cast(ops.t(D_low) @ H, ops.f64) / N + lam * vz
        hb = ops.cast(ops.sum(H, axis=1), ops.f64) / N
        return hz, hb, E

    return hvp


def _newton_direction(ops: Any, hvp: Any, precondition: Any, gx: Any, gb: Any, gmax: np.ndarray, active: np.ndarray,
                      act: Any, tol: float, max_cg: int, low: Any, precise: bool, gnorm_prev: Any, eta_prev: Any,
                      shape: tuple[int, int, int], dot: Any) -> tuple[Any, ...]:
    """Preconditioned CG on H s = -g, inexact: forcing term of Eisenstat and Walker (choice 2),
    and no tighter than the tolerance needs (the gradient after the step is about the CG
    residual). Returns the step, the change of the logits along it (float32 products, when not
    yet ``precise``), the CG iterations and the forcing-term state."""
    B, N, K = shape
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
    sz, sb = ops.zeros(tuple(gx.shape)), ops.zeros(tuple(gb.shape))
    Es = ops.zeros((B, N, K), dtype=low)
    rz, rb = -gx * act[:, None, None], -gb * act[:, None]
    zz, zb = precondition(rz, rb)
    pz, pb = zz, zb
    rho = dot(rz, zz, rb, zb)
    cg_active = active.copy()
    n_cg = 0
    for _ in range(max_cg):
        hz, hb, E = hvp(pz, pb)
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
    return sz, sb, Es, n_cg, gnorm_prev, eta_prev, eta_eff


def _line_search(ops: Any, L: Any, P: Any, f: Any, R: Any, Es: Any, x: Any, sz: Any, xx: Any, Y: Any, yt: Any,
                 lam: float, N: int, active: np.ndarray, vdot: Any) -> tuple[Any, ...]:
    """Line search along the Newton step: the objective is convex along the line and the logits
    are ``L + t Es``, so each trial costs one softmax and no product with the features (secant
    on the slope inside a bracket; doubling until one is known)."""
    B = active.shape[0]
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
    return best_t, f_new, L_new, P_new, n_ls

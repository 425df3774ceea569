"""The fits of the few-shot protocol: the probe and the neural heads over a grid of splits.

Each function runs one head over every (model, shots, seed) of a grid and calls
``record(...)`` once per fit with its accuracy, diagnostics, ``status`` (``"ok"`` or
``"failed"``) and ``error`` (why it failed). A fit fails when its training diverged:
non-finite loss, parameters or logits.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .grid import HeadProblem, train_head_problems
from .heads import HeadConfig, Standardizer
from .probe import fit_logistic_batch
from .splits import FewShotSplit

__all__ = ["MAX_PROBLEMS", "PROBES", "linear_fits", "neural_fits"]

log = logging.getLogger(__name__)

#: Implementations of the linear head: repalign's solver, or scikit-learn's own ``LogisticRegression``.
PROBES: tuple[str, ...] = ("repalign", "sklearn")
_EVAL_CHUNK = 4096


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    return 100.0 * float(np.mean(pred == truth))


def linear_fits(X: np.ndarray, codes: np.ndarray, K: int, shot_list: list[int], seed_list: list[int],
                by_key: dict[tuple[int, int], FewShotSplit], *, C: float, tol: float, standardize: str, dev: str,
                seed_batch: int | None, record: Callable[..., None], probe: str = "repalign",
                advance: Callable[[float], None] | None = None) -> None:
    """The probe for every (seed, shots) of one model; shot counts warm-start each other.

    ``probe="sklearn"`` fits scikit-learn's ``LogisticRegression(C=C)`` (l2, lbfgs, its default
    ``tol``, ``max_iter=1000``) on the same preprocessed rows instead, for reviewers who want
    the reference implementation.
    """
    size = seed_batch or (1 if dev == "cpu" or probe == "sklearn" else len(seed_list))
    for group in _chunks(seed_list, size):
        init = None
        for n_shots in shot_list:
            sp = [by_key[(s, n_shots)] for s in group]
            Xtr = np.stack([X[s.train] for s in sp])
            ytr = np.stack([codes[s.train] for s in sp])
            prep = Standardizer(Xtr, standardize)
            if standardize != "none":
                Xtr = prep.apply(Xtr)
                init = None  # a different preprocessing per shot count: no exact warm start
            t0 = time.perf_counter()
            stalled = np.zeros(len(sp), dtype=bool)
            if probe == "sklearn":
                coef, intercept, converged, objective = _sklearn_fits(Xtr, ytr, K, C)
            else:
                fit = fit_logistic_batch(Xtr, ytr, n_classes=K, C=C, tol=tol, init=init, device=dev)
                coef, intercept, converged, objective = fit.coef, fit.intercept, fit.converged, fit.objective
                stalled = _stalled(fit.coef, fit.intercept, init, fit.converged)
                init = (fit.coef, fit.intercept)
            del Xtr
            seconds = (time.perf_counter() - t0) / len(sp)
            preds, finite = _predict_linear(X, [s.test for s in sp], prep, coef, intercept)
            for j, s in enumerate(sp):
                finite_fit = bool(finite[j]) and bool(np.isfinite(objective[j])) and bool(np.all(np.isfinite(coef[j])))
                ok = finite_fit and not stalled[j]
                error = "" if ok else ("non-finite objective, coefficients or logits" if not finite_fit
                                       else _STALLED.format(C=C, peak=float(np.max(np.abs(X)))))
                record("linear", n_shots, s.seed, _accuracy(preds[j], codes[s.test]) if ok else float("nan"), s,
                       seconds, converged=bool(converged[j]), final_loss=float(objective[j]),
                       status="ok" if ok else "failed", error=error)
                if advance is not None:
                    advance(1)
            log.debug("linear (%s), %d shots, seeds %s: %.2fs per seed", probe, n_shots, group, seconds)


#: Why a probe that never left its starting point is a failure: its "accuracy" is that of the starting
#: model (zero coefficients: one class for every example, exact chance), not of a fitted probe.
_STALLED = ("the probe made no progress from its starting point (its line search failed at once, so the 'fit' "
            "would be its starting model, e.g. one class for every example); C={C:g} is extreme for features of "
            "magnitude up to {peak:.3g}: rescale them (--probe-standardize standardize), change --C, or use "
            "--probe sklearn")


def _stalled(coef: np.ndarray, intercept: np.ndarray, init: tuple[np.ndarray, np.ndarray] | None,
             converged: np.ndarray) -> np.ndarray:
    """Per problem: not converged and the parameters are still the starting ones."""
    if init is None:
        same = ~np.any(coef.reshape(coef.shape[0], -1), axis=1) & ~np.any(intercept.reshape(intercept.shape[0], -1), axis=1)
    else:
        same = np.array([np.array_equal(c, c0) and np.array_equal(b, b0)
                         for c, b, c0, b0 in zip(coef, intercept, init[0], init[1])])
    return ~np.asarray(converged, dtype=bool) & same


def _sklearn_fits(Xtr: np.ndarray, ytr: np.ndarray, K: int, C: float) -> tuple[np.ndarray, ...]:
    """scikit-learn's ``LogisticRegression`` per problem, in the batch layout of the probe."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from .probe import logistic_objective

    coefs, intercepts, converged, objective = [], [], [], []
    for Xp, yp in zip(Xtr, ytr):
        clf = LogisticRegression(C=C, max_iter=1000)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(Xp, yp)
        W, b = clf.coef_, clf.intercept_
        if W.shape[0] == 1:  # two classes: scikit-learn keeps one row; the same decisions with two
            W, b = np.vstack([-W / 2, W / 2]), np.array([-b[0] / 2, b[0] / 2])
        coefs.append(W.T)
        intercepts.append(b)
        converged.append(not any(issubclass(w.category, ConvergenceWarning) for w in caught))
        objective.append(logistic_objective(W, b, Xp, yp, C=C))
    return np.stack(coefs), np.stack(intercepts), np.array(converged), np.array(objective)


#: Problems trained as one program at most (bounds the stacked parameters and batches).
MAX_PROBLEMS = 96


def neural_fits(head: str, cfg: HeadConfig, Xs32: list[np.ndarray], codes: np.ndarray, K: int,
                 shot_list: list[int], seed_list: list[int], by_key: dict[tuple[int, int], FewShotSplit], *,
                dev: str, seed_batch: int | None, record: Any, precision: str = "auto",
                advance: Callable[[float], None] | None = None) -> None:
    """One neural head for every (model, shots, seed): all models (same feature dimension),
    shot counts and seeds train as one batched program (:func:`repalign.transfer.grid.train_head_problems`);
    each problem keeps its own random generators, so the results equal separate runs."""
    keys = [(m, n_shots, seed) for m in range(len(Xs32)) for n_shots in shot_list for seed in seed_list]
    size = min(MAX_PROBLEMS, seed_batch * len(shot_list) if seed_batch else MAX_PROBLEMS)
    rowwise = cfg.standardize in ("none", "l2")
    # row-wise preprocessing does not depend on the training rows: once per model, shared by all problems
    # (from the rows that train some problem only: evaluation-only rows never enter training)
    train_rows = np.unique(np.concatenate([s.train for s in by_key.values()]))
    position = np.full(codes.shape[0], -1, dtype=np.int64)
    position[train_rows] = np.arange(train_rows.size)
    shared = [Standardizer(X[:1], cfg.standardize).apply(X[train_rows]) for X in Xs32] if rowwise else None
    for chunk in _chunks(keys, size):
        t0 = time.perf_counter()
        parts, problems, preps = [], [], []
        offset = 0
        for m, n_shots, seed in chunk:
            sp = by_key[(seed, n_shots)]
            if rowwise:
                prep = Standardizer(Xs32[m][:1], cfg.standardize)
                rows = m * train_rows.size + position[sp.train]
            else:
                prep = Standardizer(Xs32[m][sp.train], cfg.standardize)
                parts.append(prep.apply(Xs32[m][sp.train]))
                rows = offset + np.arange(sp.train.size)
                offset += sp.train.size
            preps.append(prep)
            problems.append(HeadProblem(rows=rows, labels=codes[sp.train], seed=seed))
        design = np.concatenate(shared if rowwise else parts)
        n_problems = len(problems)

        def on_step(done: int, total: int, n_problems: int = n_problems) -> None:
            if advance is not None:  # a program's problems count as done at the pace of its steps
                advance(n_problems / total)

        fits = train_head_problems(head, design, problems, n_classes=K, config=cfg, device=dev, precision=precision,
                                   on_step=on_step)
        del design, parts
        seconds = (time.perf_counter() - t0) / len(chunk)
        for (m, n_shots, seed), fit, prep in zip(chunk, fits, preps):
            sp = by_key[(seed, n_shots)]
            logits_ok, pred = _predict_problem(fit.layers, Xs32[m], sp.test, prep, dev)
            status, error = "ok", ""
            if not fit.finite:
                status, error = "failed", f"training diverged: non-finite loss or parameters (last loss {fit.final_loss:g})"
            elif not logits_ok:
                status, error = "failed", "non-finite logits on the evaluation rows"
            acc = _accuracy(pred, codes[sp.test]) if status == "ok" else float("nan")
            record(m, head, n_shots, seed, acc, sp, seconds, converged=None, final_loss=fit.final_loss,
                   status=status, error=error)
        log.debug("%s: %d problems in one program, %.2fs per fit", head, len(chunk), seconds)


def _predict_problem(layers: list[tuple[Any, Any]], X: np.ndarray, rows: np.ndarray, prep: Standardizer,
                     device: str) -> tuple[bool, np.ndarray]:
    """Evaluation pass (float32, no dropout) of one problem: (all logits finite, predicted codes)."""
    import torch

    out, finite = [], True
    with torch.no_grad():
        for start in range(0, rows.size, _EVAL_CHUNK):
            xb = torch.as_tensor(np.ascontiguousarray(prep.apply(X[rows[start:start + _EVAL_CHUNK]]), dtype=np.float32),
                                 device=device)
            for i, (w, b) in enumerate(layers):
                xb = torch.addmm(b.float(), xb, w.float())
                if i < len(layers) - 1:
                    xb = torch.relu(xb)
            finite = finite and bool(torch.isfinite(xb).all())
            out.append(xb.argmax(-1).cpu().numpy())
    return finite, np.concatenate(out)


def _predict_linear(X: np.ndarray, tests: list[np.ndarray], prep: Standardizer, coef: np.ndarray,
                    intercept: np.ndarray) -> tuple[list[np.ndarray], list[bool]]:
    """Predicted class codes of the evaluation rows of every seed (in chunks of rows), and
    whether all their logits were finite."""
    out, finite = [], []
    for j, rows in enumerate(tests):
        parts, ok = [], True
        for start in range(0, rows.size, _EVAL_CHUNK):
            xb = prep.apply(X[rows[start:start + _EVAL_CHUNK]], index=j)
            logits = xb @ coef[j] + intercept[j]
            ok = ok and bool(np.all(np.isfinite(logits)))
            parts.append(np.argmax(logits, axis=1))
        out.append(np.concatenate(parts))
        finite.append(ok)
    return out, finite

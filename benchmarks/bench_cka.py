"""Linear CKA: repalign's Gram-matrix computation against the obvious baselines.

Measures, in one run and on the same features:

* ``kernel-HKH``: the textbook form ``tr(K H L H)`` with explicit ``n x n`` centring
  matrices (O(n^3));
* ``feature-form``: ``||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F)`` on centred features
  (O(n p q + n p² + n q²), the fast choice when features are few);
* ``repalign cka`` and ``repalign cka-debiased``: :func:`repalign.metrics.cka.linear_cka`
  and :func:`~repalign.metrics.cka.linear_cka_debiased` (centred Gram matrices, O(n² (p + q))),

and prints the time of each and repalign's speed-up over each baseline. The shapes are
those of the paper's data: n stimuli (120 Peterson, 1854 THINGS) by p = 1280 model features
and q = 49 (SPoSE) or 1280.

Usage::

    python benchmarks/bench_cka.py            # n = 120, 500, 1854
    python benchmarks/bench_cka.py --quick    # n = 120, 300
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from repalign.metrics.cka import linear_cka, linear_cka_debiased


def kernel_hkh(x: np.ndarray, y: np.ndarray) -> float:
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T
    kh, lh = h @ k @ h, h @ l_ @ h
    return float(np.sum(kh * lh) / np.sqrt(np.sum(kh * kh) * np.sum(lh * lh)))


def feature_form(x: np.ndarray, y: np.ndarray) -> float:
    xc, yc = x - x.mean(0), y - y.mean(0)
    return float(np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)))


def best_of(f, *args, repeat: int = 3) -> tuple[float, float]:
    times, value = [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        value = f(*args)
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    sizes = [120, 300] if args.quick else [120, 500, 1854]
    rng = np.random.default_rng(0)
    print(f"{'n':>5} {'p':>5} {'q':>5}  {'kernel-HKH':>11} {'feature-form':>12} {'cka':>9} {'debiased':>9}  "
          f"{'vs HKH':>7} {'vs feat':>7}")
    for n in sizes:
        for q in (49, 1280):
            x = rng.normal(size=(n, 1280))
            y = x[:, :q] + rng.normal(size=(n, q))
            t_hkh, v_hkh = best_of(kernel_hkh, x, y)
            t_feat, v_feat = best_of(feature_form, x, y)
            t_cka, v_cka = best_of(linear_cka, x, y)
            t_deb, _ = best_of(linear_cka_debiased, x, y)
            if not (abs(v_cka - v_hkh) < 1e-10 and abs(v_cka - v_feat) < 1e-10):
                raise SystemExit(f"mismatch at n={n}, q={q}: {v_cka} {v_hkh} {v_feat}")
            print(f"{n:>5} {1280:>5} {q:>5}  {t_hkh:>10.4f}s {t_feat:>11.4f}s {t_cka:>8.4f}s {t_deb:>8.4f}s  "
                  f"{t_hkh / t_cka:>6.1f}x {t_feat / t_cka:>6.2f}x")


if __name__ == "__main__":
    main()

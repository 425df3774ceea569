"""The linear probe against scikit-learn's ``LogisticRegression`` at equal accuracy, one thread each.

Two problems, 100 classes x 80 shots (8,000 x 1,280 training features), C = 1:

* **isotropic**: Gaussian classes in white noise (a well-conditioned covariance);
* **power-law**: the generator of ``bench_fewshot.py`` (a power-law covariance spectrum in a
  random basis plus a positive mean offset, like pooled CNN embeddings; ill-conditioned).

For each side and each tolerance ``tol`` in 1e-4 (scikit-learn's default), 1e-5, 1e-6 (the
probe's default), the time and accuracy; **time to equal accuracy** is the time of the first
tolerance whose accuracy is within 0.5 pp of the optimum's (the probe at 1e-6, which equals
scikit-learn run to convergence, see ``tests/transfer/test_probe.py``). The ratio printed is
scikit-learn's time to equal accuracy over the probe's. Times are CPU seconds of one-thread
runs (stable on a machine shared with other jobs); wall seconds are printed beside them.

Run::

    python benchmarks/bench_probe.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fewshot import make_features

TOLS = (1e-4, 1e-5, 1e-6)


def isotropic(n_classes: int = 100, per_class: int = 100, d: int = 1280, sep: float = 0.15,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    return rng.standard_normal((n_classes, d))[y] * sep + rng.standard_normal((y.size, d)), y


def _timed(fn):  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - t0


def compare(name: str, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    from repalign.transfer.probe import fit_logistic
    from repalign.transfer.probe_lbfgs import choose_solver
    from repalign.transfer.splits import make_splits

    split = make_splits(y, shots=[80], seeds=[0])[0]
    Xtr, ytr, Xte, yte = X[split.train], y[split.train], X[split.test], y[split.test]
    print(f"\n{name}: {Xtr.shape[0]} x {Xtr.shape[1]} training features, {len(np.unique(y))} classes, "
          f"{Xte.shape[0]} evaluation rows; probe solver 'auto' -> {choose_solver('auto', Xtr[None], 'numpy')}")
    runs: dict[tuple[str, float], tuple[float, float, float]] = {}
    for tol in TOLS:
        probe, cpu, wall = _timed(lambda: fit_logistic(Xtr, ytr, C=1.0, tol=tol))
        runs[("probe", tol)] = (cpu, wall, 100 * float(np.mean(probe.predict_codes(Xte) == yte)))
    optimum = runs[("probe", 1e-6)][2]
    for tol in TOLS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf, cpu, wall = _timed(lambda: LogisticRegression(C=1.0, tol=tol, max_iter=10000).fit(Xtr, ytr))
        runs[("sklearn", tol)] = (cpu, wall, 100 * float(np.mean(clf.predict(Xte) == yte)))
        print(f"  scikit-learn lbfgs tol={tol:g}: {cpu:6.2f} s CPU ({wall:6.2f} s wall), "
              f"{int(clf.n_iter_[0])} iterations, accuracy {runs[('sklearn', tol)][2]:.2f}%")
    for tol in TOLS:
        cpu, wall, acc = runs[("probe", tol)]
        print(f"  repalign probe     tol={tol:g}: {cpu:6.2f} s CPU ({wall:6.2f} s wall), accuracy {acc:.2f}%")
    first = {}
    for side in ("probe", "sklearn"):
        tol = next((t for t in TOLS if abs(runs[(side, t)][2] - optimum) <= 0.5), TOLS[-1])
        first[side] = (tol, *runs[(side, tol)])
    ratio_cpu = first["sklearn"][1] / first["probe"][1]
    ratio_wall = first["sklearn"][2] / first["probe"][2]
    print(f"  => equal accuracy (within 0.5 pp of the optimum's {optimum:.2f}%): scikit-learn at tol="
          f"{first['sklearn'][0]:g} ({first['sklearn'][3]:.2f}%), probe at tol={first['probe'][0]:g} "
          f"({first['probe'][3]:.2f}%): ratio {ratio_cpu:.1f}x CPU time ({ratio_wall:.1f}x wall)")
    return ratio_cpu, ratio_wall


def main() -> None:
    from threadpoolctl import threadpool_limits

    from repalign import _threads

    # repalign applies its thread plan when it fits (BLAS pools included), which would undo a
    # bare threadpool_limits(1) for the scikit-learn side: fix the plan's budget instead.
    _threads.set_thread_override(1)
    threadpool_limits(1)
    iso = compare("isotropic", *isotropic())
    power = compare("power-law", *make_features())
    print(f"\nprobe / scikit-learn at equal accuracy, one thread: isotropic {iso[0]:.1f}x, power-law {power[0]:.1f}x "
          f"(CPU time; wall {iso[1]:.1f}x and {power[1]:.1f}x)")


if __name__ == "__main__":
    main()

"""The few-shot grid against the per-fit loop a paper's authors would write, in one run.

Setup of issue 15: 50 classes x 60 examples, 640-d power-law features (the generator of
``bench_fewshot.py``), shots 1/5/20/50, 3 seeds, heads linear, mlp1, mlp2.

* **Baseline (the per-fit loop)**: for every (shots, seed) split of ``make_splits`` (the same
  splits), scikit-learn's ``LogisticRegression(C=1)`` (lbfgs, ``max_iter=1000`` so that it
  converges at its default ``tol``) for the linear head, and for ``mlp1``/``mlp2`` one plain
  PyTorch loop per fit with the heads' documented settings (``default_config``: input
  dropout 0.8, l2-normalised inputs, AdamW, batch 256, 30 epochs and at least 300 steps,
  cosine decay to zero; ``nn.Sequential``, ``nn.Dropout``, ``nn.Linear``, ``torch.optim.AdamW``).
* **repalign**: ``run_fewshot`` on the same features with the same settings.

Prints wall and CPU time of both (on a machine shared with other jobs, CPU time of
one-thread runs is the stable measure), their ratios, and every head x shots mean of both with the
difference (equal accuracy: within 1 pp). Then the grid's seconds on CUDA (bf16 where it
is used) when torch sees a GPU.

Run::

    python benchmarks/bench_fewshot_grid.py                # the issue's setup
    python benchmarks/bench_fewshot_grid.py --threads 1    # torch and BLAS on one thread, both sides
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fewshot import make_features

SHOTS = [1, 5, 20, 50]
SEEDS = 3


def per_fit_loop(X: np.ndarray, y: np.ndarray, heads: list[str]) -> tuple[dict[tuple[str, int], list[float]], dict[str, float]]:
    """The baseline: one scikit-learn or one plain PyTorch fit per (head, shots, seed)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from repalign.transfer.heads import default_config
    from repalign.transfer.splits import make_splits

    splits = make_splits(y, shots=SHOTS, seeds=SEEDS)
    K = int(y.max()) + 1
    acc: dict[tuple[str, int], list[float]] = {}
    seconds: dict[str, tuple[float, float]] = {}
    for head in heads:
        t0, c0 = time.perf_counter(), time.process_time()
        for sp in splits:
            Xtr, ytr, Xte, yte = X[sp.train], y[sp.train], X[sp.test], y[sp.test]
            if head == "linear":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pred = LogisticRegression(C=1.0, max_iter=1000).fit(Xtr, ytr).predict(Xte)
            else:
                cfg = default_config(head)
                torch.manual_seed(1000 * sp.seed + sp.shots)
                xtr = torch.as_tensor(Xtr / np.linalg.norm(Xtr, axis=1, keepdims=True), dtype=torch.float32)
                xte = torch.as_tensor(Xte / np.linalg.norm(Xte, axis=1, keepdims=True), dtype=torch.float32)
                ttr = torch.as_tensor(ytr)
                d = Xtr.shape[1]
                if head == "mlp1":
                    net = torch.nn.Sequential(torch.nn.Dropout(cfg.dropout), torch.nn.Linear(d, K))
                else:
                    net = torch.nn.Sequential(torch.nn.Dropout(cfg.dropout), torch.nn.Linear(d, cfg.hidden),
                                              torch.nn.ReLU(), torch.nn.Linear(cfg.hidden, K))
                opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
                n = xtr.shape[0]
                bs = min(cfg.batch_size, n)
                per_epoch = math.ceil(n / bs)
                epochs = max(cfg.epochs, math.ceil(cfg.min_steps / per_epoch))
                sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * per_epoch)
                net.train()
                for _ in range(epochs):
                    order = torch.randperm(n)
                    for start in range(0, n, bs):
                        rows = order[start:start + bs]
                        loss = torch.nn.functional.cross_entropy(net(xtr[rows]), ttr[rows])
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                        sched.step()
                net.eval()
                with torch.no_grad():
                    pred = net(xte).argmax(1).numpy()
            acc.setdefault((head, sp.shots), []).append(100.0 * float(np.mean(pred == yte)))
        seconds[head] = (time.perf_counter() - t0, time.process_time() - c0)
    return acc, seconds


def repalign_grid(X: np.ndarray, y: np.ndarray, heads: list[str], device: str, precision: str = "auto") -> tuple[dict[tuple[str, int], list[float]], dict[str, float]]:
    from repalign.transfer.protocol import run_fewshot

    acc: dict[tuple[str, int], list[float]] = {}
    seconds: dict[str, tuple[float, float]] = {}
    for head in heads:
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_fewshot(X, y, shots=SHOTS, heads=head, seeds=SEEDS, device=device, precision=precision)
        if device != "cpu":
            import torch

            torch.cuda.synchronize()
        seconds[head] = (time.perf_counter() - t0, time.process_time() - c0)
        for r in res.records():
            acc[(head, r["shots"])] = r["accuracies"]
    return acc, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", default="linear,mlp1,mlp2")
    ap.add_argument("--threads", type=int, help="torch and BLAS threads for both sides (default: unchanged)")
    ap.add_argument("--skip-baseline", action="store_true", help="time only repalign's grid")
    ap.add_argument("--precision", default="auto", help="precision of the heads' products: auto, float32, bfloat16")
    args = ap.parse_args()
    heads = args.heads.split(",")
    import torch

    if args.threads:
        from threadpoolctl import threadpool_limits

        from repalign import _threads

        _threads.set_thread_override(args.threads)  # repalign applies its own thread plan otherwise

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)
    print(f"threads: torch {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"cpus available {len(os.sched_getaffinity(0))}")
    X, y = make_features(n_classes=50, per_class=60, d=640)
    print(f"features: {X.shape[0]} examples, 50 classes, {X.shape[1]}-d power-law; shots {SHOTS}, {SEEDS} seeds; "
          f"heads {', '.join(heads)}")
    ours, t_ours = repalign_grid(X, y, heads, "cpu", args.precision)
    _report("repalign grid (cpu)", t_ours)
    if not args.skip_baseline:
        ref, t_ref = per_fit_loop(X, y, heads)
        _report("per-fit loop (cpu)", t_ref)
        worst = 0.0
        print("head    shots  repalign  per-fit  difference (pp)")
        for key in ours:
            a, b = float(np.mean(ours[key])), float(np.mean(ref[key]))
            worst = max(worst, abs(a - b))
            print(f"{key[0]:7s} {key[1]:5d}  {a:8.2f}  {b:7.2f}  {a - b:+6.2f}")
        wall = sum(t[0] for t in t_ref.values()) / sum(t[0] for t in t_ours.values())
        cpu = sum(t[1] for t in t_ref.values()) / sum(t[1] for t in t_ours.values())
        print(f"=> speed ratio per-fit loop / repalign: {wall:.1f}x wall time, {cpu:.1f}x CPU time; largest mean "
              f"difference {worst:.2f} pp ({'equal accuracy' if worst <= 1.0 else 'NOT within 1 pp'})")
        for h in heads:
            print(f"   {h}: {t_ref[h][0] / t_ours[h][0]:.1f}x wall, {t_ref[h][1] / t_ours[h][1]:.1f}x CPU")
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        repalign_grid(X, y, heads, "cuda")  # first call: warm-up (CUDA context, kernels)
        gpu, t_gpu = repalign_grid(X, y, heads, "cuda")
        _report(f"repalign grid (cuda, {torch.cuda.get_device_name()}, seconds per model)", t_gpu)
        print("  cuda - cpu mean accuracy (pp): " + ", ".join(
            f"{h}/{n} {np.mean(gpu[(h, n)]) - np.mean(ours[(h, n)]):+.2f}" for h, n in ours))
    else:
        print("repalign grid (cuda): not measured (torch sees no GPU)")


def _report(name: str, seconds: dict[str, tuple[float, float]]) -> None:
    wall, cpu = sum(t[0] for t in seconds.values()), sum(t[1] for t in seconds.values())
    print(f"{name}: {wall:7.2f} s wall, {cpu:7.2f} s CPU  ("
          + ", ".join(f"{h} {t[0]:.2f}/{t[1]:.2f} s" for h, t in seconds.items()) + ")")


if __name__ == "__main__":
    main()

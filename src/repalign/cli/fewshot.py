"""``repalign fewshot FEATURES``: the paper's few-shot transfer protocol on frozen features."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from .._text import counted
from ._common import HelpFormatter, add_json_flag, format_table, print_json

log = logging.getLogger(__name__)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


#: repalign.transfer.fits.PROBES and repalign.transfer.grid.PRECISIONS (checked by tests/cli/test_fewshot.py)
_PROBES: tuple[str, ...] = ("repalign", "sklearn")
_PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")

#: CLI flags that map one-to-one onto :class:`repalign.transfer.heads.HeadConfig` fields.
_HEAD_FLAGS = ("epochs", "min_steps", "lr", "optimizer", "weight_decay", "hidden", "batch_size", "dropout", "standardize")


#: The most seeds one run takes.
MAX_SEEDS = 100_000

def register(subparsers: Any) -> None:
    from ._choices import OPTIMIZERS, STANDARDIZATIONS

    p = subparsers.add_parser(
        "fewshot",
        help="few-shot transfer accuracy of frozen features (linear probe, 1- and 2-layer heads)",
        description="Draw n training examples per class (n in --shots), evaluate on all remaining examples, "
        "repeat over seeds, and report mean accuracy (percent) with a 95% Student-t interval over seeds "
        "per (head, n). FEATURES is an .npz (ids, features, labels) or a feature table with a label column.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("features", metavar="FEATURES", help="features file (.npz or CSV/TSV/Parquet feature table)")
    p.add_argument("--labels", metavar="FILE", help="labels file (id,label table; one label a line; or .npz)")
    p.add_argument("--images", metavar="DATASET",
                   help="treat FEATURES as a model id and embed this labelled image set with it, through the "
                   "feature cache: 'cifar100', a CIFAR-100 release folder or archive, or an ImageFolder root")
    p.add_argument("--max-per-class", type=int, metavar="N", help="with --images: the first N images of each class")
    p.add_argument("--download", action="store_true",
                   help="with --images cifar100: download the CIFAR-100 python release (publisher's URL, MD5 "
                   "checked) into the data folder when it is not there")
    p.add_argument("--shots", type=_int_list, default="1,5,10,20,40,80", help="training examples per class")
    p.add_argument("--heads", default="linear,mlp1,mlp2", help="comma-separated, of: linear, mlp1, mlp2")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (0..S-1)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, or auto")
    p.add_argument("--C", dest="C", type=float, default=1.0, help="inverse regularisation of the linear probe (scikit-learn's C)")
    p.add_argument("--probe-standardize", choices=STANDARDIZATIONS, default="none", help="preprocessing before the probe")
    p.add_argument("--probe", choices=_PROBES, default="repalign",
                   help="the linear head: repalign's solver, or scikit-learn's own LogisticRegression (same C and "
                   "l2 penalty, lbfgs at its default tol) as the reference implementation")
    p.add_argument("--precision", choices=_PRECISIONS, default="auto",
                   help="precision of the neural heads' matrix products: auto = bfloat16 on CUDA and on CPUs with "
                   "native bf16 units, else float32 (parameters, optimiser and loss are always float32)")
    g = p.add_argument_group(
        "neural heads (mlp1, mlp2)",
        "Each setting given here replaces that setting of both heads; unset ones keep the head's "
        "documented default (docs/fewshot.md): mlp1 l2-normalised inputs, AdamW lr 1e-2, weight decay "
        "1e-4; mlp2 l2-normalised inputs, hidden 256, AdamW lr 1e-3, weight decay 1e-2; both dropout 0.8, "
        "30 epochs and at least 300 steps, batch 256, cosine decay.")
    g.add_argument("--epochs", type=int)
    g.add_argument("--min-steps", type=int, help="at least this many optimiser steps")
    g.add_argument("--lr", type=float)
    g.add_argument("--optimizer", choices=OPTIMIZERS)
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--hidden", type=int, help="hidden width of mlp2")
    g.add_argument("--batch-size", type=int)
    g.add_argument("--dropout", type=float, help="input dropout probability")
    g.add_argument("--standardize", choices=STANDARDIZATIONS, help="feature preprocessing, fitted on the training rows")
    p.add_argument("--confidence", type=float, default=0.95, help="level of the intervals")
    p.add_argument("--model", default="",
                   help="model name for the results table; when empty, the features file name without suffix")
    p.add_argument("--dataset", default="", help="dataset name for the results table")
    p.add_argument("--out", type=Path, help="write the long table (model, dataset, head, shots, seed, accuracy) "
                   "to this .csv or .parquet file")
    add_json_flag(p)
    p.set_defaults(handler=run)


class _Features:
    """Features, labels and ids of an embedded image set (the shape run() reads)."""

    def __init__(self, features: Any, labels: list[str], ids: list[str]) -> None:
        self.features, self.labels, self.ids = features, labels, ids


def run(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..io.labels import load_labelled_features
    from ..transfer.heads import NEURAL_HEADS, default_config, with_overrides
    from ..transfer.protocol import INTERVAL_METHOD, run_fewshot
    from ..transfer.summary import check_confidence

    # everything that can be checked without data is checked before any file is read or fit runs
    if args.seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {args.seeds}.")
    if args.seeds > MAX_SEEDS:  # each seed is one fit per head and shot count (and its splits are held in memory)
        raise InputError(f"--seeds {args.seeds}: at most {MAX_SEEDS:,} (the paper uses 5).")
    try:
        check_confidence(args.confidence)
    except InputError:
        raise InputError(f"--confidence must be between 0 and 1 (e.g. 0.95), got {args.confidence}.") from None
    if args.out is not None and args.out.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"--out {args.out}: use a .csv or .parquet file name.")
    overrides = {name: getattr(args, name) for name in _HEAD_FLAGS if getattr(args, name) is not None}
    config = {head: with_overrides(default_config(head), **overrides) for head in NEURAL_HEADS}
    if args.images is not None:
        if args.labels is not None:
            raise InputError("--labels does not apply with --images: the image set carries its labels.")
        from ..transfer.extract import image_set_features

        feats, labels, ids, classes, _ = image_set_features(args.features, args.images, max_per_class=args.max_per_class,
                                                            download=args.download)
        data = _Features(feats, [classes[i] for i in labels], ids)
        if not args.model:
            args.model = args.features
        if not args.dataset:
            args.dataset = Path(args.images).name or str(args.images)
    elif args.max_per_class is not None or args.download:
        raise InputError(f"{'--max-per-class' if args.max_per_class is not None else '--download'} applies only "
                         "with --images.")
    else:
        data = load_labelled_features(args.features, labels=args.labels)
    result = run_fewshot(
        data.features, data.labels, ids=data.ids, shots=args.shots, heads=args.heads, seeds=args.seeds,
        C=args.C, probe_standardize=args.probe_standardize, head_config=config, device=args.device,
        confidence=args.confidence, model=args.model or Path(args.features).stem, dataset=args.dataset,
        precision=args.precision, probe=args.probe,
    )
    if args.out is not None:
        from .._files import atomic_path

        with atomic_path(args.out) as tmp:
            if args.out.suffix.lower() == ".parquet":
                result.table.to_parquet(tmp, index=False)
            else:
                result.table.to_csv(tmp, index=False)
        log.info("wrote %d rows to %s", len(result.table), args.out)
    code = _report_failures(result)
    if args.json:
        print_json({
            "features": args.features,
            "n_examples": result.settings["n_examples"],
            "n_features": result.settings["n_features"],
            "n_classes": result.settings["n_classes"],
            "confidence": result.confidence,
            "interval": INTERVAL_METHOD,
            "accuracy_unit": "percent",
            "settings": result.settings,
            "records": result.records(),
            "failures": result.failures.to_dict(orient="records"),
        })
        return code
    s = result.settings
    print(f"{args.features}: {s['n_examples']} examples, {s['n_classes']} classes, {s['n_features']} features; "
          f"{len(s['seeds'])} seeds; accuracy in percent")
    rows = []
    for r in result.records():
        ci = (f"n/a ({counted(len(r['accuracies']), 'seed')})" if r["interval"] is None
              else f"[{r['interval'][0]:.2f}, {r['interval'][1]:.2f}]")
        mean = "failed" if r["mean"] is None else f"{r['mean']:.2f}"
        per_seed = " ".join(f"{a:.2f}" for a in r["accuracies"])
        if r.get("failed_seeds"):
            per_seed += f" (failed: seed{'s' if len(r['failed_seeds']) > 1 else ''} {', '.join(map(str, r['failed_seeds']))})"
        rows.append([r["head"], str(r["shots"]), mean, ci, per_seed])
    print(format_table(rows, ["head", "shots", "mean", f"{result.confidence:.0%} t-interval", "per seed"]))
    print("intervals: Student-t over seeds, clipped to [0, 100]")
    return code


def _report_failures(result: Any) -> int:
    """A summary of the failed fits on stderr; exit code 1 when a (head, shots) has no successful seed, else 0."""
    import sys

    failures = result.failures
    if failures.empty:
        return 0
    # each failed fit already has its line on stderr, from the library's log (model, head, shots, seed, reason)
    empty = [f"{r['head']}/{r['shots']}" for r in result.records() if r["mean"] is None]
    if empty:
        # the warnings above give each fit's reason; "--lr" is a remedy only for the neural heads
        neural = any(not e.startswith("linear/") for e in empty)
        hint = "training diverged: try a smaller --lr" if neural else "the reasons are above"
        print(f"error: every seed failed for {', '.join(empty)}; no result for them ({hint})", file=sys.stderr)
        return 1
    print(f"warning: {len(failures)} of {len(result.table)} fits failed; their means use the other seeds",
          file=sys.stderr)
    return 0

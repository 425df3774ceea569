"""``repalign robustness MODEL FOLDER --dataset D``: top-1/top-5 on an ImageNet-A/-R/-Sketch folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import HelpFormatter, add_json_flag, print_json


def register(subparsers: Any) -> None:
    from ._choices import EVAL_DATASETS

    p = subparsers.add_parser(
        "robustness",
        help="top-1/top-5 of an ImageNet classifier on an ImageNet-A/-R/-Sketch folder",
        description="Scores a 1,000-class ImageNet classifier on a folder with one sub-folder per WordNet id. "
        "For ImageNet-A and ImageNet-R the logits are restricted to their 200 classes before the top-k, as "
        "their authors evaluate them. Published numbers for timm models are in timm's results tables "
        "(see docs/report.md).",
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", help="a model id (timm:resnet50.a1_in1k, paper:resnet50, efficientnet-lite:lite0, ...)")
    p.add_argument("folder", type=Path, help="the dataset folder (<folder>/<wnid>/<image>)")
    p.add_argument("--dataset", required=True, choices=sorted(EVAL_DATASETS), help="which evaluation set this is")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", help="cuda, cpu, ... (default: CUDA when available)")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--random-init", action="store_true", help="random weights (testing the pipeline)")
    add_json_flag(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..robustness import evaluate_folder

    res = evaluate_folder(
        args.model, args.folder, dataset=args.dataset, batch_size=args.batch_size, device=args.device,
        num_workers=args.workers, pretrained=not args.random_init,
    )
    if args.json:
        print_json({"model": args.model, **res.as_dict(), **res.as_columns()})
        return 0
    print(f"{args.model} on {res.dataset} ({res.n_images} images, {res.n_classes_found} classes found, "
          f"logits restricted to {res.n_classes_scored} classes): top-1 {res.top1:.2f}%, top-5 {res.top5:.2f}%")
    return 0

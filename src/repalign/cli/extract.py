"""``repalign extract MODEL STIMULI --out FILE``: one embedding per stimulus, cached."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import HelpFormatter, add_json_flag, print_json


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "extract",
        help="extract model features for a set of stimuli",
        description="Embed every stimulus with MODEL and write an .npz (ids + features, read by "
        "`repalign align`) plus a .json of metadata next to it. MODEL is source:name "
        "(timm:resnet50.a1_in1k, paper:<name>, torchvision:, open_clip:, hf:, sentence-transformers:, "
        "python:, efficientnet-lite:lite0; a bare name is a timm name). STIMULI is a folder of images, "
        "a .txt file of stimulus names (text models), or a dataset reference. Features are cached by "
        "content in $REPALIGN_CACHE.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("stimuli", metavar="STIMULI")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="output .npz")
    p.add_argument("--weights", type=Path, metavar="FILE", help="local weights (safetensors or a PyTorch state dict)")
    p.add_argument("--random-init", action="store_true", help="random weights (seeded by --seed) instead of pretrained")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-init")
    layer = p.add_mutually_exclusive_group()
    layer.add_argument("--layer", metavar="NAME", help="penultimate (classifiers), output (embedding models), logits, "
                       "intermediate:<i> (timm), or a submodule name")
    layer.add_argument("--layers", metavar="A,B,...", help="several submodules in one forward pass, into one "
                       "multi-layer .npz: names, shell patterns (e.g. 'layer?,fc') or 'all' "
                       "(`repalign models layers MODEL` lists them); pooled with --pool (default avg)")
    p.add_argument("--pool", choices=("avg", "max", "cls", "flatten", "none"),
                   help="how a layer's output becomes one vector (default: none for penultimate/output/logits, else avg)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, metavar="N", help="DataLoader worker processes decoding images (default: "
                   "one per eight threads on CPU, none below eight; up to 8 with a GPU; 0 for a single batch)")
    p.add_argument("--max-per-class", type=int, metavar="N", help="an ImageFolder root: the first N images (by "
                   "name) of each class sub-folder")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (for GPUs)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels-last memory format (default: on for CUDA)")
    p.add_argument("--image-size", type=int, metavar="PX", help="override the model's input resolution")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    p.add_argument("--data-root", type=Path, help="folder holding the datasets named by references such as "
                   "peterson2018:animals (e.g. ../shared/data), or the dataset's own folder")
    add_json_flag(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..models import extract_features

    if args.out.suffix.lower() != ".npz":
        raise InputError(f"--out {args.out}: feature files are .npz; give a path ending in .npz.")
    if args.random_init and args.weights:
        raise InputError("give either --weights FILE or --random-init, not both.")
    quiet = getattr(args, "quiet", False)
    if args.max_per_class is not None:
        args.stimuli = _first_per_class(args)
    if args.layers:
        return _run_layers(args, quiet)
    feats = extract_features(
        args.model,
        args.stimuli,
        layer=args.layer,
        pool=args.pool,
        batch_size=args.batch_size,
        device=args.device,
        num_workers=args.workers,
        precision="bf16" if args.bf16 else "fp32",
        channels_last=args.channels_last,
        pretrained=not args.random_init,
        weights=args.weights,
        seed=args.seed,
        image_size=args.image_size,
        cache=not args.no_cache,
        progress=None if not quiet else False,
        data_root=args.data_root,
    )
    path = feats.save(args.out)
    meta = feats.metadata
    if feats.labels is not None:
        _say_labels(args.stimuli, feats.labels)
    if args.json:
        print_json({"out": str(path), "metadata_file": str(path.with_suffix(".json")), "cache_hit": feats.cache_hit,
                    "n_stimuli": feats.shape[0], "n_features": feats.shape[1], **meta})
        return 0
    how = "from the feature cache" if feats.cache_hit else f"in {meta.get('seconds', 0):.1f} s on {meta.get('device')}"
    print(f"{meta['model_id']}: {feats.shape[0]} stimuli x {feats.shape[1]} features "
          f"(layer {meta['layer']}, pool {meta['pool']}, {meta['precision']}) {how}")
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


def _first_per_class(args: argparse.Namespace) -> Any:
    """``--max-per-class N``: the first N images of each class of an ImageFolder root."""
    from .._errors import InputError
    from ..models.stimuli import as_stimuli

    if args.max_per_class < 1:
        raise InputError(f"--max-per-class {args.max_per_class}: must be at least 1.")
    stim = as_stimuli(args.stimuli, data_root=args.data_root)
    if stim.labels is None:
        raise InputError(f"{args.stimuli}: --max-per-class applies to an ImageFolder root (one sub-folder of images "
                         "per class); this is not one. Leave out --max-per-class.")
    return stim.first_per_class(args.max_per_class)


def _say_labels(stimuli: Any, labels: Any) -> None:
    import sys

    stimuli = getattr(stimuli, "source", stimuli)
    print(f"{stimuli}: an ImageFolder ({len(set(labels))} class sub-folders); stored their names as the labels "
          "of the features, so `repalign fewshot` can read the file alone", file=sys.stderr)


def _run_layers(args: argparse.Namespace, quiet: bool) -> int:
    from ..models import extract_layers

    result = extract_layers(
        args.model, args.stimuli, args.layers, out=args.out, pool=args.pool, batch_size=args.batch_size,
        device=args.device, num_workers=args.workers, precision="bf16" if args.bf16 else "fp32",
        channels_last=args.channels_last, pretrained=False if args.random_init else None, weights=args.weights,
        seed=args.seed, image_size=args.image_size, cache=not args.no_cache, progress=None if not quiet else False,
        data_root=args.data_root,
    )
    if result.labels is not None:
        _say_labels(args.stimuli, result.labels)
    if args.json:
        print_json({"out": str(result.path), "metadata_file": str(result.path.with_suffix(".json")),
                    "n_stimuli": len(result.ids), "layers": list(result.layers), "n_features": result.n_features,
                    "labels": result.labels is not None})
        return 0
    print(f"{result.metadata['model_id']}: {len(result.ids)} stimuli x {len(result.layers)} layers "
          f"(pool {result.metadata['pool']}, {result.metadata['precision']}) in one forward pass")
    print(f"wrote {result.path} and {result.path.with_suffix('.json')}")
    return 0

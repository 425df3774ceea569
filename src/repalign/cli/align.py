"""``repalign align A B``: alignment metrics between two representations."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

from ._common import add_json_flag, format_table, print_json

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    from ..metrics import DEFAULT_METRICS, METRICS, TIE_POLICIES
    from ..similarity import SIMILARITY_FUNCTIONS

    p = subparsers.add_parser(
        "align",
        help="alignment metrics between two representations",
        description="Compare two representations of the same stimuli (files: labeled matrix "
        "CSV, feature table CSV/Parquet, or .npz). Stimuli are matched by id.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("a", nargs="?", metavar="A", help="first representation (e.g. the human data)")
    p.add_argument("b", nargs="?", metavar="B", help="second representation (e.g. model features)")
    p.add_argument("--metric", default=",".join(DEFAULT_METRICS), help=f"comma-separated, of: {', '.join(METRICS)}")
    p.add_argument("--similarity", default="cosine", choices=SIMILARITY_FUNCTIONS, help="similarity for feature representations")
    p.add_argument("--ties", default="half", choices=TIE_POLICIES, help="tie policy of the triplet metric")
    p.add_argument("--bootstrap", type=int, default=0, metavar="N", help="stimulus resamples for confidence intervals (0: none)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--kind-a", choices=("similarity", "dissimilarity", "features"), help="what A holds (overrides detection)")
    p.add_argument("--kind-b", choices=("similarity", "dissimilarity", "features"), help="what B holds (overrides detection)")
    p.add_argument("--symmetrize", action="store_true", help="accept asymmetric matrices as (M + M.T) / 2")
    p.add_argument("--intersect", action="store_true", help="compare only the stimulus ids both have")
    p.add_argument("--example", action="store_true", help="write a synthetic example pair and align it (no data needed)")
    p.add_argument("--example-dir", type=Path, help="where --example writes its files (default: a new temporary folder)")
    add_json_flag(p)
    p.set_defaults(handler=run)


def _describe(rep: Any, similarity: str) -> str:
    if rep.kind == "features":
        return f"features {rep.values.shape[0]} x {rep.values.shape[1]} ({similarity} similarity)"
    how = rep.meta.get("kind_source")
    return f"{rep.kind} matrix {rep.n_stimuli} x {rep.n_stimuli}" + (f" ({how})" if how else "")


def run(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..io import load_representation
    from ..metrics import compare

    if args.example:
        if args.a or args.b:
            raise InputError("give either --example or two inputs A and B, not both.")
        from ..examples import make_example

        folder = args.example_dir or Path(tempfile.mkdtemp(prefix="repalign-example-"))
        folder.mkdir(parents=True, exist_ok=True)
        human, model = make_example()
        args.a, args.b = str(folder / "human_similarity.npz"), str(folder / "model_features.npz")
        human.to_npz(args.a)
        model.to_npz(args.b)
        log.info("example: wrote %s and %s", args.a, args.b)
    if not args.a or not args.b:
        raise InputError("align needs two inputs A and B (or --example).")
    rep_a = load_representation(args.a, kind=args.kind_a, symmetrize=args.symmetrize)
    rep_b = load_representation(args.b, kind=args.kind_b, symmetrize=args.symmetrize)
    result = compare(
        rep_a, rep_b, metrics=args.metric, similarity=args.similarity, ties=args.ties,
        bootstrap=args.bootstrap, confidence=args.confidence, seed=args.seed,
        how="intersect" if args.intersect else "exact",
    )
    if args.json:
        out = result.to_dict()
        out["a"] = {"path": args.a, "kind": rep_a.kind, "n_stimuli": rep_a.n_stimuli}
        out["b"] = {"path": args.b, "kind": rep_b.kind, "n_stimuli": rep_b.n_stimuli}
        print_json(out)
        return 0
    print(f"A: {args.a}: {_describe(rep_a, args.similarity)}")
    print(f"B: {args.b}: {_describe(rep_b, args.similarity)}")
    print(f"{result.n_stimuli} stimuli compared; triplet ties policy: {result.ties}\n")
    header = ["metric", "value"]
    if result.intervals:
        header.append(f"{result.confidence:.0%} CI ({result.n_bootstrap} bootstrap resamples)")
    rows = []
    for metric, value in result.scores.items():
        row = [metric, f"{value:.4f}"]
        if result.intervals:
            lo, hi = result.intervals[metric]
            row.append(f"[{lo:.4f}, {hi:.4f}]")
        rows.append(row)
    print(format_table(rows, header))
    return 0

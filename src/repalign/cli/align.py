"""``repalign align A B``: alignment metrics between two representations."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

# The option lists of the parser, spelled out in _choices so that building it imports nothing heavy.
from ._choices import ALL_METRICS, DEFAULT_METRICS, SIMILARITY_FUNCTIONS, TIE_POLICIES, TRIPLET_METRICS
from ._common import HelpFormatter, add_ceiling, add_json_flag, format_table, print_json

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "align",
        help="alignment metrics between two representations",
        description="Compare two representations of the same stimuli (files: labeled matrix "
        "CSV, feature table CSV/Parquet, .npz, .npy + ids, .mat; or a dataset reference such as "
        "peterson2018:animals with --data-root). Stimuli are matched by id. With --metric odd-one-out, "
        "A is a triplet file (or things:test) and B the representation scored on it.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("a", nargs="?", metavar="A", help="first representation (e.g. the human data)")
    p.add_argument("b", nargs="?", metavar="B", help="second representation (e.g. model features)")
    p.add_argument(
        "--metric", default=",".join(DEFAULT_METRICS),
        help=f"comma-separated, of: {', '.join(ALL_METRICS)} (cka and cka-debiased need features); or one of {', '.join(TRIPLET_METRICS.values())} "
        "to score B on the human triplets in A",
    )
    p.add_argument("--similarity", default="cosine", choices=SIMILARITY_FUNCTIONS, help="similarity for feature representations")
    p.add_argument("--ties", default="half", choices=TIE_POLICIES, help="tie policy of the triplet metric")
    p.add_argument("--bootstrap", type=int, default=0, metavar="N", help="stimulus resamples for confidence intervals (0: none)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--kind-a", choices=("similarity", "dissimilarity", "features"), help="what A holds (overrides detection)")
    p.add_argument("--kind-b", choices=("similarity", "dissimilarity", "features"), help="what B holds (overrides detection)")
    p.add_argument("--symmetrize", action="store_true", help="accept asymmetric matrices as (M + M.T) / 2")
    p.add_argument("--intersect", action="store_true", help="compare only the stimulus ids both have")
    p.add_argument("--data-root", type=Path, help="folder holding the datasets named by references such as "
                   "peterson2018:animals (e.g. ../shared/data), or the dataset's own folder")
    p.add_argument("--items", type=Path, help="item list (one id a line) that the indices of a triplet file refer to")
    p.add_argument("--index-base", type=int, choices=(0, 1), help="index of the first item in an integer-indexed "
                   "triplet file (default: inferred only when the file proves it, else an error asks)")
    p.add_argument("--choice-base", type=int, choices=(0, 1), help="coding of a triplet file's odd-one-out position "
                   "column: 1 for 1/2/3, 0 for 0/1/2 (default: inferred only when the file proves it)")
    p.add_argument("--id-column", metavar="NAME", help="the stimulus id column of feature tables (CSV/TSV/Parquet)")
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
    from ._choices import TRIPLET_METRICS

    metric_names = [m.strip() for m in str(args.metric).split(",") if m.strip()]
    if any(m in TRIPLET_METRICS.values() for m in metric_names):
        return _run_triplets(args, metric_names)
    triplet_only = [flag for flag, value in (("--items", args.items), ("--index-base", args.index_base),
                                             ("--choice-base", args.choice_base)) if value is not None]
    if triplet_only:  # read only for triplet files: ignoring them would hide that A was not read as one
        raise InputError(f"{', '.join(triplet_only)}: only for triplet files, read with --metric odd-one-out or "
                         f"anchor-triplet; --metric {args.metric} compares two representations, so A is not read "
                         "as triplets.")
    from ..data.references import resolve_representation

    common = {"data_root": args.data_root, "symmetrize": args.symmetrize, "id_column": args.id_column}
    rep_a = resolve_representation(args.a, kind=args.kind_a, **common)
    from ..models.features import is_layered_file

    if is_layered_file(args.b):  # a multi-layer feature file: every layer against A
        from ._layered import run_layered

        return run_layered(args, rep_a, _noise_ceiling)
    rep_b = resolve_representation(args.b, kind=args.kind_b, **common)
    result = compare(
        rep_a, rep_b, metrics=args.metric, similarity=args.similarity, ties=args.ties,
        bootstrap=args.bootstrap, confidence=args.confidence, seed=args.seed,
        how="intersect" if args.intersect else "exact",
    )
    ceiling, ceiling_note = _noise_ceiling(args, list(result.scores), _compared_ids(rep_a, rep_b))
    if args.json:
        out = result.to_dict()
        out["a"] = {"path": args.a, "kind": rep_a.kind, "n_stimuli": rep_a.n_stimuli}
        out["b"] = {"path": args.b, "kind": rep_b.kind, "n_stimuli": rep_b.n_stimuli}
        add_ceiling(out, ceiling, ceiling_note)
        print_json(out)
        return 0
    print(f"A: {args.a}: {_describe(rep_a, args.similarity)}")
    print(f"B: {args.b}: {_describe(rep_b, args.similarity)}")
    print(f"{result.n_stimuli} stimuli compared; triplet ties policy: {result.ties}\n")
    header = ["metric", "value"]
    if result.intervals:
        header.append(f"{result.confidence:.0%} CI ({result.n_bootstrap} bootstrap resamples)")
    if ceiling is not None:
        header.append("noise ceiling [lower, upper]")
    rows = []
    for metric, value in result.scores.items():
        row = [metric, f"{value:.4f}"]
        if result.intervals:
            lo, hi = result.intervals[metric]
            row.append(f"[{lo:.4f}, {hi:.4f}]")
        if ceiling is not None:
            e = ceiling[metric]
            row.append(f"[{e.lower:.4f}, {e.upper:.4f}]")
        rows.append(row)
    print(format_table(rows, header))
    if ceiling is not None:
        on = f" on the {ceiling.n_stimuli} compared stimuli" if args.intersect else ""
        print(f"\nnoise ceiling of {ceiling.source}{on}: lower = one half of the participants against the other, "
              "upper = each half against the full data (see docs/data.md)")
    elif ceiling_note:
        print(f"\nno noise ceiling: {ceiling_note}")
    return 0


def _compared_ids(rep_a: Any, rep_b: Any) -> list[str]:
    """The stimulus ids the scores were computed on (all of A, or with --intersect those B has too)."""
    in_b = set(rep_b.ids)
    return [x for x in rep_a.ids if x in in_b]


def _noise_ceiling(args: argparse.Namespace, metrics: list[str], compared: list[str]) -> tuple[Any, str]:
    """(ceiling, "") when A or B is a dataset reference whose copy has split halves; else (None, why not).

    The ceiling is computed on the stimuli the scores were computed on (``--intersect``
    compares only the shared ones), so score and ceiling describe the same pairs.
    """
    from .._errors import RepalignError
    from ..data.references import is_reference, matrix_part, parse_reference
    from ..data.registry import get_dataset
    from ..evaluation.ceilings import part_ceiling

    for spec in (args.a, args.b):
        if is_reference(spec) and get_dataset(parse_reference(spec).name).kind == "matrices":
            try:
                part = matrix_part(spec, data_root=args.data_root)
                if part.split_halves is None:
                    continue
                shared = compared if len(compared) < part.n_stimuli else None
                return part_ceiling(part, metrics=metrics, ties=args.ties, stimuli=shared), ""
            except RepalignError as exc:  # the scores stand without it; say why it is missing
                note = f"{spec}: {exc}"
                log.warning("no noise ceiling: %s", note)
                return None, note
    return None, ""


def _run_triplets(args: argparse.Namespace, metric_names: list[str]) -> int:
    """``--metric odd-one-out`` (or anchor-triplet): score representation B on the triplets in A."""
    from .._errors import InputError
    from ..data.references import resolve_representation, resolve_triplets
    from ..evaluation.triplets import triplet_accuracy, triplet_ceiling

    if len(metric_names) != 1:
        raise InputError(
            f"--metric {args.metric}: a triplet accuracy is computed alone (A is a triplet file, not a matrix); "
            "run the matrix metrics separately."
        )
    if args.bootstrap:
        raise InputError("--bootstrap is not available for triplet accuracy.")
    data = resolve_triplets(args.a, data_root=args.data_root, items=args.items, index_base=args.index_base,
                            choice_base=args.choice_base)
    if data.metric != metric_names[0]:
        raise InputError(
            f"{args.a}: holds {data.format} triplets, whose metric is {data.metric!r}, not {metric_names[0]!r}."
        )
    rep_b = resolve_representation(args.b, data_root=args.data_root, kind=args.kind_b, symmetrize=args.symmetrize,
                                   id_column=args.id_column)
    acc = triplet_accuracy(rep_b, data, similarity=args.similarity, ties=args.ties)
    try:
        ceiling = triplet_ceiling(data)
    except InputError:
        ceiling = None  # no repeated triplets: no ceiling to report
    if args.json:
        out = {
            "n_stimuli": acc.n_items, acc.metric: acc.accuracy, "similarity": acc.similarity, "ties": acc.ties,
            "n_triplets": acc.n_triplets, "n_used": acc.n_used, "n_tied": acc.n_tied,
            "a": {"path": str(args.a), "kind": "triplets", "format": data.format, "n_triplets": data.n_triplets},
            "b": {"path": args.b, "kind": rep_b.kind, "n_stimuli": rep_b.n_stimuli},
        }
        if ceiling is not None:
            out["noise_ceiling"] = ceiling.to_dict()
        print_json(out)
        return 0
    print(f"A: {args.a}: {data.n_triplets} {data.format} triplets over {acc.n_items} items")
    print(f"B: {args.b}: {_describe(rep_b, args.similarity)}")
    tied = f"; {acc.n_tied} tied predictions ({'scored 1/t' if acc.ties == 'half' else 'left out'})" if acc.n_tied else ""
    print(f"{acc.n_used} triplets scored{tied}\n")
    header = ["metric", "value"] + (["noise ceiling [lower, upper]"] if ceiling else [])
    row = [acc.metric, f"{acc.accuracy:.4f}"] + ([f"[{ceiling.lower:.4f}, {ceiling.upper:.4f}]"] if ceiling else [])
    print(format_table([row], header))
    if ceiling is not None:
        print(f"\nnoise ceiling from {ceiling.n_repeated} repeated triplets ({ceiling.n_trials} trials): lower = "
              "agreement between two people, upper = the most frequent answer (see docs/data.md)")
    return 0

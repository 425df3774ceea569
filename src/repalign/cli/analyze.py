"""``repalign analyze RESULTS``: the paper's statistics for each (alignment, outcome) pair."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from ._common import HelpFormatter, format_table, print_json

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="correlations, partial correlations, U-shape tests and high/mid/low groups",
        description="Relate alignment to outcomes over the models of a results table (CSV/TSV/Parquet, "
        "one row per model). For each (alignment, outcome) pair: Pearson and Spearman correlations "
        "with 95% CIs, the partial correlation given the covariate, correlations with the z^2 "
        "transform of the alignment, a quadratic regression, Simonsohn's two-lines test and the "
        "mean outcome of the k most, k mid and k least aligned models. Rows missing a needed value "
        "are dropped per pair and the n used is reported.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("results", metavar="RESULTS", help="results table (.csv, .tsv, .parquet) or a run folder")
    p.add_argument(
        "--alignment",
        required=True,
        metavar="COLS",
        help="alignment column(s), comma-separated; shell patterns allowed",
    )
    p.add_argument(
        "--outcome",
        required=True,
        metavar="COLS",
        help="outcome column(s), comma-separated; shell patterns allowed (e.g. 'fewshot_linear_*')",
    )
    p.add_argument(
        "--covariate", metavar="COL", help="covariate(s) to partial out, comma-separated (the paper: imagenet_top1)"
    )
    p.add_argument("--k", type=int, default=5, help="models per high/mid/low group")
    p.add_argument("--confidence", type=float, default=0.95, help="level of the confidence intervals")
    p.add_argument("--model-column", default=None, help="column with model ids (default: 'model' if present)")
    p.add_argument("--json", action="store_true", help="print a JSON array, one record per (alignment, outcome) pair")
    p.set_defaults(handler=run)


def _row(rec: dict[str, Any]) -> list[str]:
    from ..report.format import format_ci, format_p, format_r

    def corr(key: str) -> list[str]:
        c = rec[key]
        if c is None:
            return ["", ""]
        return [f"{format_r(c['r'])} {format_ci(c['ci_low'], c['ci_high'])}", format_p(c["p_val"])]

    quad = rec["quadratic"]
    lines = rec["two_lines"]
    verdict = f"{lines['searched']}: {'yes' if lines['u_shape'] else 'no'}"
    return [
        rec["alignment"],
        rec["outcome"],
        str(rec["n"]),
        *corr("pearson"),
        *corr("partial"),
        *corr("z2"),
        f"{quad['b2']:.3g}",
        format_p(quad["p_val"]),
        verdict,
    ]


def run(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..report.data import load_run
    from ..stats import analyze

    if args.k < 1:
        raise InputError(f"--k must be at least 1, got {args.k}.")
    data = load_run(args.results)
    records = analyze(
        data.results,
        args.alignment,
        args.outcome,
        covariates=[c.strip() for c in args.covariate.split(",")] if args.covariate else None,
        k=args.k,
        confidence=args.confidence,
        model_column=args.model_column,
        as_frame=False,
    )
    if args.json:
        print_json(records)
        return 0
    covs = records[0]["covariates"]
    level = f"{args.confidence * 100:g}%"
    print(
        f"{data.source}: {len(data.results)} rows; "
        + (f"partial correlations given {', '.join(covs)}; " if covs else "no covariate; ")
        + f"r with {level} CI (Fisher z)"
    )
    print()
    header = [
        "alignment",
        "outcome",
        "n",
        "r [CI]",
        "p",
        "partial r [CI]",
        "p",
        "z² r [CI]",
        "p",
        "quad b2",
        "p",
        "two lines (U?)",
    ]
    print(format_table([_row(r) for r in records], header))
    print()
    print(f"Mean outcome of the k={args.k} most (high), nearest-to-mean (mid) and least (low) aligned models:")
    rows = [
        [r["alignment"], r["outcome"], *(f"{r['groups'][g]['mean']:.2f}" for g in ("high", "mid", "low"))]
        for r in records
    ]
    print(format_table(rows, ["alignment", "outcome", "high", "mid", "low"]))
    dropped = sorted({r["n_missing"] for r in records if r["n_missing"]})
    if dropped:
        print(f"\nRows with a missing value were dropped per pair ({', '.join(map(str, dropped))} rows).")
    return 0

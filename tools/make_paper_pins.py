#!/usr/bin/env python
"""Derive the paper's model pins and write ``src/repalign/models/paper_pins.csv``.

Reads the paper's model list and timm's 2022-07 and 2025-10 ImageNet results tables from
the shared data folder (``../shared/data`` next to the repository), and the installed
timm's registry (deprecated-name map, pretrained tags). See
:mod:`repalign.models.paper` for the method.

    python tools/make_paper_pins.py            # rewrite the table
    python tools/make_paper_pins.py --check    # exit 1 if the committed table differs
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from repalign.models.paper import (  # noqa: E402
    derive_paper_pins,
    read_paper_names,
    read_results_table,
    write_pins,
)

DEFAULT_OUT = ROOT / "src" / "repalign" / "models" / "paper_pins.csv"


def derive(shared: Path) -> tuple[list, list[str]]:
    import timm

    names = read_paper_names(shared / "paper_models.txt")
    old = read_results_table(shared / "timm_results" / "2022-07" / "results-imagenet.csv")
    new = read_results_table(shared / "timm_results" / "2025-10" / "results-imagenet.csv")
    pins = derive_paper_pins(names, old, new)
    counts = collections.Counter(p.method for p in pins)
    header = [
        "paper model names pinned to timm weights; made by tools/make_paper_pins.py, do not edit",
        f"timm: {timm.__version__}",
        "inputs: paper_models.txt, timm_results/2022-07/results-imagenet.csv, timm_results/2025-10/results-imagenet.csv",
        f"names: {len(pins)}",
        f"resolved: {sum(p.resolved for p in pins)}",
        "methods: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
    ]
    return pins, header


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data", help="the shared data folder")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args(argv)
    pins, header = derive(args.shared)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "pins.csv"
            write_pins(pins, fresh, header=header)
            same = fresh.read_text() == args.out.read_text()
        print("up to date" if same else f"{args.out} differs from a fresh derivation", file=sys.stderr)
        return 0 if same else 1
    write_pins(pins, args.out, header=header)
    print(f"wrote {args.out}: {header[4]} of {len(pins)}; {header[5]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reading a labelled matrix CSV and a feature table: repalign's checked reader vs plain pandas.

    python benchmarks/bench_io.py [--n 1500] [--repeats 3]

The baseline is the obvious reader, ``pandas.read_csv(path, index_col=0).to_numpy()``, which
checks nothing (ids, symmetry, kind, NaN). repalign reads the header row and the first
column first, decides what the file is, then parses the numbers with pandas' C float
parser; it falls back to a cell-by-cell text parse only to say where a bad cell is. Both
must return the same array.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from repalign.io import load_representation


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500, help="stimuli (matrix n x n; table n x 512)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ids = [f"stim-{i:05d}.png" for i in range(args.n)]
    x = rng.normal(size=(args.n, 32))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    sim = (sim + sim.T) / 2
    np.fill_diagonal(sim, 1.0)
    feats = rng.normal(size=(args.n, 512))
    with tempfile.TemporaryDirectory() as tmp:
        matrix, table = Path(tmp) / "m.csv", Path(tmp) / "f.csv"
        pd.DataFrame(sim, index=ids, columns=ids).to_csv(matrix, index_label="stimulus")
        pd.DataFrame(feats, index=ids, columns=[f"f{j}" for j in range(512)]).to_csv(table, index_label="id")
        for label, path in (("labelled matrix", matrix), (f"feature table {args.n} x 512", table)):
            ours = load_representation(path).values
            base = pd.read_csv(path, index_col=0).to_numpy()
            assert np.array_equal(ours, base), "the readers disagree"
            t_ours = best_of(args.repeats, lambda: load_representation(path))
            t_base = best_of(args.repeats, lambda: pd.read_csv(path, index_col=0).to_numpy())
            print(f"{label:28s} repalign {t_ours:6.3f} s   pandas.read_csv {t_base:6.3f} s   "
                  f"ratio {t_ours / t_base:4.2f}x (checks included)")


if __name__ == "__main__":
    main()

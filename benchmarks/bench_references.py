"""What `repalign align peterson2018:animals F` reads: one part through the memoised open, vs a full scan per use.

    python benchmarks/bench_references.py [--root ../shared/data] [--repeats 5]

The command uses the reference three times (the matrix, the split halves, the full matrix
for the ceiling). The baseline is what repalign did before datasets were plugins: every use
scanned the whole copy (all six domains parsed). The new path indexes the root once and
reads only the animals files, once. Both must give the same matrix and halves.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from repalign.data import adapters, load_reference, matrix_part, resolve_dataset_root, split_halves
from repalign.data.registry import get_adapter


def baseline(root: Path) -> tuple[object, object]:
    """Three uses, each a fresh scan of every domain (the old behaviour)."""
    for _ in range(3):
        adapters.clear_cache()
        scan = adapters.open_dataset(get_adapter("peterson2018"), root).scan()
        part = scan.parts["animals"]
        halves = part.load_split_halves()
    return part.representation, halves


def memoised(root: Path) -> tuple[object, object]:
    adapters.clear_cache()
    rep = load_reference("peterson2018:animals", data_root=root)
    halves = split_halves("peterson2018:animals", data_root=root)
    matrix_part("peterson2018:animals", data_root=root)
    return rep, halves


def _best(fn, root: Path, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(root)
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = resolve_dataset_root("peterson2018", args.root)
    t_old, (rep_old, halves_old) = _best(baseline, root, args.repeats)
    t_new, (rep_new, halves_new) = _best(memoised, root, args.repeats)
    assert np.array_equal(rep_old.values, rep_new.values)
    assert all(np.array_equal(a.values, b.values) for a, b in zip(halves_old, halves_new))
    print(f"peterson2018:animals at {root}: matrix + halves + matrix again")
    print(f"  full scan per use (before): {t_old * 1e3:8.1f} ms")
    print(f"  one index, one read (now):  {t_new * 1e3:8.1f} ms")
    print(f"  ratio: {t_old / t_new:.1f}x faster, same values")


if __name__ == "__main__":
    main()

"""Print the tables behind docs/theory.md: run_simulations("demo") and its summary.

    PYTHONPATH=src OMP_NUM_THREADS=1 python docs/scripts/theory_simulations.py [OUT_DIR]

With OUT_DIR, the tables (CSV) and figures (PNG) are written there as well.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from repalign.theory import MAIN_VARIANT, run_simulations


def main(out: Path | None) -> None:
    start = time.perf_counter()
    res = run_simulations("demo", seed=0)
    total = time.perf_counter() - start
    summary = res.summary()
    summary["total_seconds"] = round(total, 1)
    print(json.dumps(summary, indent=1, default=str))
    pd.set_option("display.width", 220)
    pd.set_option("display.max_rows", 300)
    game = res.game.assign(ratio=res.game.queries * res.game.capacity / np.log2(res.game.n))
    main_rows = game[game.variant == MAIN_VARIANT]
    print("\nqueries to 90% accuracy [95% bootstrap interval], and queries * C(eps) / log2 n:")
    for n, df in main_rows.groupby("n"):
        print(f"n = {n}")
        print(df[["eps", "queries", "ci_low", "ci_high", "ratio", "fano", "final_accuracy", "queries_run"]].round(3).to_string(index=False))
    print("\nvariants (queries to 90%; inf = not reached):")
    at = res.settings["variants_at"]
    print(game[game.n == at].pivot(index="eps", columns="variant", values="queries").dropna().to_string())
    print("\ngeometric game:")
    cols = ["family", "level", "eps_queries", "eps_shared", "eps_estimated", "queries", "ci_low", "ci_high", "final_accuracy", "queries_run"]
    print(res.geometry[cols].round(3).to_string(index=False))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        res.game.to_csv(out / "game.csv", index=False)
        res.geometry.to_csv(out / "geometry.csv", index=False)
        res.geometry_eps.to_csv(out / "geometry_eps.csv", index=False)
        for name, fig in res.figures().items():
            fig.savefig(out / f"{name}.png", dpi=100)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)

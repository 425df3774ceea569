"""Noise ceilings of a study's human datasets: computed once per dataset per run.

A ceiling depends on the human data alone, never on a model, so the driver computes it
once (not once per model unit) for every domain whose split halves this copy has, and
writes ``ceilings.parquet`` / ``ceilings.csv`` in the run folder for the report:

``dataset, domain, metric, lower, upper, corrected, n_stimuli, note``

(one row per domain x metric; ``lower``/``upper`` are the split-half bounds of
:func:`repalign.evaluation.noise_ceiling`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .._files import atomic_path
from .context import HumanTarget

__all__ = ["CEILING_COLUMNS", "study_ceilings", "write_ceilings"]

log = logging.getLogger(__name__)

CEILING_COLUMNS: tuple[str, ...] = ("dataset", "domain", "metric", "lower", "upper", "corrected", "n_stimuli", "note")


def study_ceilings(targets: Sequence[HumanTarget], metrics: Sequence[str], ties: str = "half") -> pd.DataFrame:
    """The ceilings of every domain with split halves among ``targets`` (see the module docstring)."""
    from ..evaluation import noise_ceiling

    rows = []
    for target in targets:
        if target.scan is None:
            continue
        for domain in target.parts:
            part = target.scan.parts.get(domain)
            if part is None or part.split_halves is None:
                continue
            h1, h2 = part.load_split_halves()
            ceiling = noise_ceiling(h1, h2, metrics=list(metrics), full=part.representation, ties=ties)
            for metric, est in ceiling.estimates.items():
                rows.append({"dataset": f"{target.name}:{domain}", "domain": domain, "metric": metric,
                             "lower": est.lower, "upper": est.upper, "corrected": est.corrected,
                             "n_stimuli": ceiling.n_stimuli, "note": est.note or ""})
            log.info("noise ceiling of %s:%s from its split halves (%d stimuli)", target.name, domain, ceiling.n_stimuli)
    return pd.DataFrame(rows, columns=list(CEILING_COLUMNS))


def write_ceilings(run_dir: Path, table: pd.DataFrame) -> dict[str, Path]:
    """Write ``ceilings.parquet`` and ``ceilings.csv`` (nothing when the table is empty)."""
    if table.empty:
        return {}
    out = {}
    for suffix, write in ((".parquet", lambda f, p: f.to_parquet(p, index=False)), (".csv", lambda f, p: f.to_csv(p, index=False))):
        path = Path(run_dir) / f"ceilings{suffix}"
        with atomic_path(path, what="ceilings table") as tmp:
            write(table, tmp)
        out[suffix] = path
    return {"ceilings": out[".parquet"]}

"""The result of a few-shot run: the long table, per-(head, n) means and intervals.

Accuracies are percentages, so their intervals are clipped to ``[0, 100]``
(:data:`INTERVAL_METHOD` says so in every JSON output). A fit whose training diverged
(non-finite loss, parameters or logits) is a **failure**, not a result: its row has
``status = "failed"``, the reason in ``error`` and no accuracy, and the summary averages
the successful seeds only, saying how many failed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError

__all__ = ["INTERVAL_METHOD", "RESULT_COLUMNS", "STATUS_COLUMNS", "FewShotResult", "check_confidence", "t_interval"]

#: Columns of the long table (``fewshot.parquet``).
RESULT_COLUMNS: tuple[str, ...] = ("model", "dataset", "head", "shots", "seed", "accuracy")
#: Added to the long table when at least one fit failed: ``status`` ("ok"/"failed") and ``error``.
STATUS_COLUMNS: tuple[str, ...] = ("status", "error")
INTERVAL_METHOD = ("two-sided Student-t interval over seeds: mean +/- t(1-(1-c)/2, s-1) * sd / sqrt(s), "
                   "sd with ddof=1, clipped to [0, 100] (accuracy is a percentage)")


def check_confidence(confidence: float) -> float:
    """``confidence`` if it lies strictly between 0 and 1, else an :class:`InputError`."""
    if not (isinstance(confidence, (int, float)) and not isinstance(confidence, bool) and 0 < confidence < 1):
        raise InputError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}.")
    return float(confidence)


def t_interval(values: Sequence[float], confidence: float = 0.95,
               bounds: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """Student-t confidence interval of the mean of ``values``; None for fewer than 2 values.

    ``bounds`` clips the interval to the range the quantity can take (e.g. ``(0, 100)``
    for a percentage).

    Examples
    --------
    >>> lo, hi = t_interval([50.0, 52.0, 54.0])
    >>> round(lo, 3), round(hi, 3)
    (47.032, 56.968)
    >>> t_interval([1.0, 40.0], bounds=(0.0, 100.0))[0]
    0.0
    """
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    check_confidence(confidence)
    if v.size < 2:
        return None
    mean, sd = float(v.mean()), float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=v.size - 1)) * sd / math.sqrt(v.size)
    lo, hi = mean - half, mean + half
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return lo, hi


@dataclass
class FewShotResult:
    """Accuracies of every (head, shots, seed) fit, and their summary.

    Attributes
    ----------
    table : DataFrame
        Columns ``model, dataset, head, shots, seed, accuracy`` (percent), one row per fit;
        plus ``status`` and ``error`` when a fit failed (its accuracy is then NaN).
    details : DataFrame
        The same rows with diagnostics: ``n_train``, ``n_eval``, ``seconds`` (wall time of the
        batch the fit was part of, divided by its size), ``converged`` (probe),
        ``final_loss`` (the training objective), ``status`` and ``error``.
    classes : list of str
    confidence : float
    settings : dict
        Everything needed to reproduce the run (shots, seeds, C, head configs, device).
    """

    table: pd.DataFrame
    details: pd.DataFrame
    classes: list[str]
    confidence: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> pd.DataFrame:
        """The failed fits (``model, head, shots, seed, error``); empty when every fit succeeded."""
        d = self.details
        return d.loc[d["status"] != "ok", ["model", "head", "shots", "seed", "error"]].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """One row per (head, shots): ``mean``, ``ci_low``, ``ci_high``, ``n_seeds``, ``accuracies``
        (successful seeds only; :meth:`failed_seeds` names the others)."""
        rows = []
        for (head, shots), grp in self.details.groupby(["head", "shots"], sort=False):
            grp = grp.sort_values("seed")
            ok = grp["status"] == "ok"
            acc = grp.loc[ok, "accuracy"].to_numpy(dtype=np.float64)
            ci = t_interval(acc, self.confidence, bounds=(0.0, 100.0))
            rows.append({"head": head, "shots": int(shots), "mean": float(acc.mean()) if acc.size else None,
                         "ci_low": None if ci is None else ci[0], "ci_high": None if ci is None else ci[1],
                         "n_seeds": int(acc.size), "accuracies": acc.tolist()})
        return pd.DataFrame(rows)

    def failed_seeds(self) -> dict[tuple[str, int], list[int]]:
        """(head, shots) -> the seeds whose fit failed (only pairs with a failure)."""
        f = self.failures
        return {(str(h), int(n)): sorted(int(s) for s in g["seed"]) for (h, n), g in f.groupby(["head", "shots"])}

    def records(self) -> list[dict[str, Any]]:
        """The JSON records: one per (head, n) with ``mean``, ``interval`` ([low, high] or None
        with fewer than two successful seeds) and the per-seed ``accuracies`` (percent, in seed
        order); ``failed_seeds`` is added when a seed's fit failed."""
        out = []
        failed = self.failed_seeds()
        for row in self.summary().itertuples(index=False):
            rec = {
                "head": row.head, "shots": int(row.shots), "mean": None if pd.isna(row.mean) else float(row.mean),
                "interval": None if pd.isna(row.ci_low) else [float(row.ci_low), float(row.ci_high)],
                "accuracies": [float(a) for a in row.accuracies],
            }
            if (row.head, int(row.shots)) in failed:
                rec["failed_seeds"] = failed[(row.head, int(row.shots))]
            out.append(rec)
        return out

    def wide(self) -> dict[str, float]:
        """Columns of the wide results table: ``fewshot_<head>_<n>`` -> mean accuracy (NaN when
        every seed failed)."""
        return {f"fewshot_{r['head']}_{r['shots']}": (float("nan") if r["mean"] is None else r["mean"])
                for r in self.records()}

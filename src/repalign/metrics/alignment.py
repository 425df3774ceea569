"""The result of :func:`repalign.metrics.compare`: scores, intervals and settings of one pair."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Alignment", "ALIGNMENT_FRAME_COLUMNS"]

#: Columns of :meth:`Alignment.to_frame`, in order.
ALIGNMENT_FRAME_COLUMNS: tuple[str, ...] = (
    "metric", "value", "ci_low", "ci_high", "confidence", "n_bootstrap", "n_stimuli", "similarity", "ties",
)


@dataclass(frozen=True)
class Alignment:
    """Scores of one representation pair.

    Attributes
    ----------
    n_stimuli : int
        Stimuli compared (after matching ids).
    scores : dict
        Metric name -> value.
    intervals : dict
        Metric name -> (low, high) bootstrap percentile interval; empty without bootstrap.
    similarity, ties : str
        The settings used.
    n_bootstrap : int
        Bootstrap resamples behind ``intervals`` (0 for none).
    details : dict
        Extra facts, e.g. ``triplet_counts``.
    """

    n_stimuli: int
    scores: dict[str, float]
    similarity: str
    ties: str
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    n_bootstrap: int = 0
    confidence: float = 0.95
    details: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> float:
        return self.scores[metric]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``n_stimuli``, one key per metric, then settings and intervals."""
        out: dict[str, Any] = {"n_stimuli": self.n_stimuli, **self.scores}
        out["similarity"] = self.similarity
        out["ties"] = self.ties
        if self.intervals:
            out["ci"] = {m: list(v) for m, v in self.intervals.items()}
            out["confidence"] = self.confidence
            out["n_bootstrap"] = self.n_bootstrap
        out.update(self.details)
        return out

    def to_frame(self) -> pd.DataFrame:
        """A tidy table, one row per metric, with the columns :data:`ALIGNMENT_FRAME_COLUMNS`.

        ``ci_low``/``ci_high`` are missing (NaN, with ``n_bootstrap`` 0 saying why) when no
        bootstrap was run.

        Examples
        --------
        >>> import numpy as np
        >>> from repalign import Representation, compare
        >>> x = np.random.default_rng(0).normal(size=(8, 3))
        >>> a = Representation.from_features(list("abcdefgh"), x)
        >>> frame = compare(a, a, metrics="pearson,cka").to_frame()
        >>> frame[["metric", "value", "n_stimuli"]].round(12).to_dict("records")
        [{'metric': 'pearson', 'value': 1.0, 'n_stimuli': 8}, {'metric': 'cka', 'value': 1.0, 'n_stimuli': 8}]
        """
        rows = []
        for metric, value in self.scores.items():
            low, high = self.intervals.get(metric, (float("nan"), float("nan")))
            rows.append({
                "metric": metric, "value": value, "ci_low": low, "ci_high": high,
                "confidence": self.confidence if self.intervals else float("nan"),
                "n_bootstrap": self.n_bootstrap, "n_stimuli": self.n_stimuli,
                "similarity": self.similarity, "ties": self.ties,
            })
        return pd.DataFrame(rows, columns=list(ALIGNMENT_FRAME_COLUMNS))

"""Statistics relating alignment to downstream properties (pure numpy/scipy/pandas).

- :mod:`~repalign.stats.correlation`: Pearson/Spearman correlations, raw or partial, with
  Fisher-z confidence intervals (:func:`correlation`, :func:`partial_correlation`).
- :mod:`~repalign.stats.ushape`: the paper's z^2 transform, a quadratic regression with a
  CI for the squared term, and Simonsohn's two-lines test (:func:`two_lines`).
- :mod:`~repalign.stats.groups`: high / mid / low alignment groups (Tables 1-2, Figure 3).
- :mod:`~repalign.stats.tables`: correlation tables (Tables 3-4, Figures 4-5) and the
  correlations between alignment metrics (section 5.1).
- :mod:`~repalign.stats.analysis`: :func:`analyze`, every test per (alignment, outcome), as a
  tidy frame or nested records (the one orchestration ``analyze`` and ``report`` share).

Every function drops, per test, the rows with a missing value it needs and reports the
``n`` it used; results are tidy DataFrames with fixed columns.
"""

from __future__ import annotations

from .analysis import FRAME_COLUMNS, RECORD_KEYS, analyze, expand_columns, quadratic_band, records_to_frame
from .correlation import (
    CORRELATION_COLUMNS,
    CORRELATION_METHODS,
    correlation,
    correlation_from_arrays,
    fisher_interval,
    partial_correlation,
)
from .groups import GROUP_COLUMNS, GROUPS, alignment_groups, select_groups
from .tables import TABLE_COLUMNS, TRANSFORMS, correlation_table, metric_correlations, pivot
from .ushape import (
    QUADRATIC_COLUMNS,
    TWO_LINES_COLUMNS,
    interrupted_regression,
    quadratic_regression,
    two_lines,
    z_squared,
)

__all__ = [
    "CORRELATION_COLUMNS",
    "FRAME_COLUMNS",
    "CORRELATION_METHODS",
    "GROUPS",
    "GROUP_COLUMNS",
    "QUADRATIC_COLUMNS",
    "RECORD_KEYS",
    "TABLE_COLUMNS",
    "TRANSFORMS",
    "TWO_LINES_COLUMNS",
    "alignment_groups",
    "analyze",
    "correlation",
    "correlation_from_arrays",
    "correlation_table",
    "expand_columns",
    "fisher_interval",
    "interrupted_regression",
    "metric_correlations",
    "partial_correlation",
    "pivot",
    "quadratic_band",
    "quadratic_regression",
    "records_to_frame",
    "select_groups",
    "two_lines",
    "z_squared",
]

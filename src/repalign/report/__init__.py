"""Reports: the paper's figures and tables, one self-contained HTML page, Markdown, CSV, LaTeX.

- :func:`build_report` reads a run folder or a results table (:func:`load_run`), runs the
  analyses of :mod:`repalign.stats` and writes ``report.html`` (figures embedded, no
  network needed), ``report.md``, ``figures/*.png`` and ``tables/*.csv|.tex``.
- Figures need the ``plot`` extra (matplotlib, Agg canvas, imported lazily).
"""

from __future__ import annotations

from .build import ReportOutput, build_report, default_output_folder
from .data import ALIGNMENT_METRICS, ROBUSTNESS_OUTCOMES, RunData, fewshot_columns, load_run, read_table

__all__ = [
    "ALIGNMENT_METRICS",
    "ROBUSTNESS_OUTCOMES",
    "ReportOutput",
    "RunData",
    "build_report",
    "default_output_folder",
    "fewshot_columns",
    "load_run",
    "read_table",
]

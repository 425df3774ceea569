"""Reports: the paper's figures and tables, one self-contained interactive HTML page, Markdown, CSV, LaTeX.

- :func:`write_report` writes the one report of a run folder (``repalign report``, studies
  and the demo call it); :func:`build_report` is the same with every setting explicit.
- The numbers come from one call of :func:`repalign.stats.analyze`; the page from Jinja2
  templates (``templates/``) with the Plotly bundle inlined, so it opens offline.
- Static figures (for Markdown and LaTeX) need matplotlib; the page needs jinja2 and
  plotly: all in the ``plot`` extra, imported lazily.
"""

from __future__ import annotations

from .build import ReportOutput, build_report, default_output_folder, write_report
from .data import ALIGNMENT_METRICS, ROBUSTNESS_OUTCOMES, RunData, fewshot_columns, load_run, read_table
from .model import ReportSection

__all__ = [
    "ALIGNMENT_METRICS",
    "ROBUSTNESS_OUTCOMES",
    "ReportOutput",
    "ReportSection",
    "RunData",
    "build_report",
    "default_output_folder",
    "fewshot_columns",
    "load_run",
    "read_table",
    "write_report",
]

"""Reports: figures, tables and one self-contained HTML page."""

"""The CKA example of docs/metrics.md runs as written and prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_cka_example_prints_what_the_docs_show(tmp_path, monkeypatch):
    text = DOC.read_text(encoding="utf-8")
    code = re.search(r"## CKA.*?```python\n(.*?)```", text, re.S).group(1)
    expected = re.search(r"## CKA.*?prints\n\n```\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {})
    assert out.getvalue() == expected

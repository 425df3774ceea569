"""One report per run folder: `repalign report RUN_DIR` on the demo's folder rewrites the
demo's own page (same place, same settings, same content), not a second one."""

from __future__ import annotations

import re

import pytest

from repalign.cli import main

pytest.importorskip("matplotlib")
pytest.importorskip("torch")


def _content(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d UTC)?", "DATE", text)
    return re.sub(r"\*\*report command:\*\*.*", "", text)


@pytest.mark.slow
def test_report_of_the_demo_folder_is_the_demo_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["-q", "demo", "--size", "test", "--out", str(out), "--no-real"]) == 0
    first = _content((out / "report.md").read_text(encoding="utf-8"))
    assert main(["report", str(out)]) == 0
    capsys.readouterr()
    assert not (out / "report").exists()
    again = _content((out / "report.md").read_text(encoding="utf-8"))
    assert again == first
    for text in ("The theory, simulated", "The synthetic zoo", "Few-shot transfer", "Models", "Provenance"):
        assert text in again

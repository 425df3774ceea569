"""The Python examples of docs/models.md run as written.

Each ```python block runs in a fresh folder laid out like a checkout's neighbourhood
(``../shared/data`` reachable, as the examples expect); blocks that read the shared data
are skipped without it, and those that run EfficientNet-Lite0 on the 120 Peterson images
are marked slow.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _params():
    for i, code in enumerate(BLOCKS):
        marks = [pytest.mark.slow] if "efficientnet-lite:lite0" in code and "extract" in code else []
        yield pytest.param(code, id=f"block{i}", marks=marks)


def test_the_doc_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", list(_params()))
def test_example_runs(code, tmp_path, monkeypatch):
    if "../shared/data" in code:
        if not (SHARED_DATA / "README.md").is_file():
            pytest.skip("../shared/data is not present")
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(SHARED_DATA, target_is_directory=True)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    exec(compile(code, str(DOC), "exec"), {"__name__": "models_doc"})

"""The input layer stands on the core alone: no data/, metrics/, models/, transfer/ or torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import repalign.io

FORBIDDEN = ("repalign.data", "repalign.metrics", "repalign.models", "repalign.transfer", "repalign.study",
             "repalign.report", "repalign.cli", "torch")


def _imports(path: Path) -> set[str]:
    """Absolute names of every module a file imports (relative imports resolved)."""
    package = "repalign.io"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def test_io_imports_only_the_core():
    folder = Path(repalign.io.__file__).parent
    offending = {
        f.name: sorted(n for n in _imports(f) if n.startswith(FORBIDDEN))
        for f in folder.glob("*.py")
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_importing_io_loads_no_application_layer():
    # The package face (repalign/__init__) loads metrics/; nothing may load data/, models/ or torch.
    heavy = ("repalign.data", "repalign.models", "repalign.transfer", "torch")
    code = f"import sys, repalign.io; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

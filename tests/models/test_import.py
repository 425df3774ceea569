"""``import repalign.models`` (and the CLI parser) must not import torch or any model library."""

from __future__ import annotations

import subprocess
import sys


def test_importing_models_imports_no_heavy_library():
    code = (
        "import sys, repalign.models, repalign.cli\n"
        "repalign.cli.build_parser()\n"
        "heavy = [m for m in ('torch', 'timm', 'torchvision', 'open_clip', 'transformers', "
        "'sentence_transformers', 'PIL') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

"""Provenance helpers: package versions from metadata, the machine from platform."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata

import repalign
from repalign._environment import machine_info, package_versions
from repalign.models.config import library_versions


def test_package_versions_read_metadata():
    out = package_versions(["numpy", "no-such-package-xyz"])
    assert out["numpy"] == metadata.version("numpy") and out["repalign"] == repalign.__version__
    assert out["python"] == platform.python_version() and "no-such-package-xyz" not in out
    assert package_versions(["no-such-package-xyz"], missing="absent")["no-such-package-xyz"] == "absent"
    # the models' provenance keeps its shape: repalign first, no python, "absent" for what is missing
    lib = library_versions("no-such-package-xyz")
    assert list(lib)[0] == "repalign" and "python" not in lib and lib["no-such-package-xyz"] == "absent"


def test_machine_info_imports_nothing_heavy():
    code = ("import sys; from repalign._environment import machine_info; info = machine_info(); "
            "assert 'gpus' not in info and info['cores'] >= 1, info; "
            "assert not {'torch', 'numpy', 'pandas'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert machine_info()["processor"] == (platform.machine() or "unknown")

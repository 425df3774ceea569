"""What ran a computation: installed package versions and the machine, for provenance.

Read from package metadata and :mod:`platform`, so nothing heavy is imported: torch is
asked about GPUs only when the process has already imported it.

Examples
--------
>>> versions = package_versions(["numpy", "surely-not-installed"])
>>> sorted(versions)
['numpy', 'python', 'repalign']
>>> info = machine_info()
>>> info["cores"] >= 1 and "platform" in info
True
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from ._version import __version__

__all__ = ["machine_info", "package_versions"]


def package_versions(names: Iterable[str], *, missing: str | None = None) -> dict[str, str]:
    """repalign's and Python's versions, then those of ``names`` that are installed.

    A package that is not installed is left out, or given the value ``missing`` when set.
    """
    out = {"python": platform.python_version(), "repalign": __version__}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if missing is not None:
                out[name] = missing
    return out


def machine_info() -> dict[str, Any]:
    """Host, platform, processor, the cores this process may use and its thread plan; the
    GPUs torch sees when torch is already imported (``"gpus"``, absent otherwise)."""
    from ._threads import available_cores, current_thread_plan

    info: dict[str, Any] = {
        "host": platform.node() or "unknown",
        "platform": platform.platform(),
        "processor": platform.machine() or "unknown",
        "cores": available_cores(),
    }
    plan = current_thread_plan()
    if plan is not None:
        info["threads"] = plan.describe()
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is not None:
        try:
            info["gpus"] = [cuda.get_device_name(i) for i in range(cuda.device_count())] if cuda.is_available() else []
        except Exception as exc:  # noqa: BLE001 - a broken CUDA install must not stop a run; it is recorded
            info["gpus"] = f"unknown ({type(exc).__name__})"
    return info

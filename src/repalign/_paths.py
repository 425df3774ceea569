"""Where repalign keeps downloaded data and cached features.

Both follow the same rule: an environment variable wins, else a folder under the user's
cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``). Nothing is created at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "data_dir", "feature_cache_dir", "find_shared_data", "shared_data_candidates"]


def cache_root() -> Path:
    """``$REPALIGN_HOME``, else ``$XDG_CACHE_HOME/repalign``, else ``~/.cache/repalign``."""
    if os.environ.get("REPALIGN_HOME"):
        return Path(os.environ["REPALIGN_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "repalign"


def data_dir() -> Path:
    """Datasets: ``$REPALIGN_DATA`` if set, else ``<cache_root>/data``."""
    env = os.environ.get("REPALIGN_DATA")
    return Path(env).expanduser() if env else cache_root() / "data"


def feature_cache_dir() -> Path:
    """Extracted features: ``$REPALIGN_CACHE`` if set, else ``<cache_root>/features``."""
    env = os.environ.get("REPALIGN_CACHE")
    return Path(env).expanduser() if env else cache_root() / "features"


def shared_data_candidates(start: Path | None = None) -> list[Path]:
    """Every ``../shared/data`` looked at: next to ``start`` (default: the current directory)
    and next to each of its parents, nearest first."""
    here = (start or Path.cwd()).resolve()
    return list(dict.fromkeys(folder.parent / "shared" / "data" for folder in (here, *here.parents)))


def find_shared_data(start: Path | None = None) -> Path | None:
    """The development data folder ``../shared/data`` next to the working copy, if present.

    The first of :func:`shared_data_candidates` that holds its ``README.md``; used only to
    pick sensible defaults for offline runs, never required.
    """
    return next((c for c in shared_data_candidates(start) if (c / "README.md").is_file()), None)

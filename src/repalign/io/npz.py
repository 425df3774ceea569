"""``.npz`` representation files: ``ids`` plus exactly one of ``features``, ``similarity``, ``dissimilarity``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError
from ..representations import KINDS, Representation

__all__ = ["load_npz"]


def load_npz(path: Path, kind: str | None, symmetrize: bool, name: str) -> Representation:
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        raise InputError(f"{path}: cannot read without pickle (object arrays are refused): {exc}.") from exc
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a valid .npz file ({exc}).") from exc
    if "ids" not in data:
        raise InputError(f"{path}: no 'ids' array; keys are {sorted(data)}.")
    present = [k for k in KINDS if k in data]
    if len(present) != 1:
        raise InputError(
            f"{path}: needs exactly one of the arrays {', '.join(KINDS)} (the key states the kind); "
            f"found {present or 'none'} among keys {sorted(data)}."
        )
    stored = present[0]
    if kind is not None and kind != stored:
        raise InputError(f"{path}: the file stores {stored!r} but kind={kind!r} was requested.")
    meta: dict[str, Any] = {"source": str(path), "format": "npz", "kind_source": "file key"}
    if "labels" in data:
        meta["labels"] = data["labels"]
    return Representation(data["ids"], data[stored], kind=stored, name=name, symmetrize=symmetrize, meta=meta)

"""Content hashes for the feature cache: files, canonical JSON, and a memo for big files.

Hashing a 100 MB weight file takes a noticeable fraction of a second, and the cache key
of every extraction needs the hash of the weights, so hashes of large files are
remembered in ``<feature cache>/file-hashes.json`` keyed on the file's absolute path,
size, modification time and inode. A changed file changes at least one of those and is
hashed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["sha256_file", "sha256_bytes", "digest_json", "canonical_json"]

#: Files at least this large have their hash remembered on disk between runs.
MEMO_MIN_BYTES = 16 * 2**20
#: Files from this size get their own progress display (weights, archives; not single images).
_PROGRESS_MIN_BYTES = 2**20
_CHUNK = 2**20
_memo_lock = threading.Lock()
_memo: dict[str, dict[str, Any]] = {}
_memo_loaded_from: Path | None = None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stat_key(path: Path) -> tuple[str, dict[str, int]]:
    st = path.stat()
    return str(path.resolve()), {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _memo_file() -> Path:
    from .._paths import feature_cache_dir

    return feature_cache_dir() / "file-hashes.json"


def _load_memo() -> None:
    global _memo, _memo_loaded_from
    where = _memo_file()
    if _memo_loaded_from == where:
        return
    _memo, _memo_loaded_from = {}, where
    try:
        data = json.loads(where.read_text())
        if isinstance(data, dict):
            _memo = {k: v for k, v in data.items() if isinstance(v, dict)}
    except (OSError, ValueError):
        pass  # absent or unreadable memo: hashes are recomputed, nothing is lost


def _save_memo() -> None:
    from .._errors import InputError
    from .._files import atomic_write_text

    where = _memo_file()
    try:
        atomic_write_text(where, json.dumps(_memo), durable=False, what="file-hash memo")
    except (OSError, InputError) as exc:  # a read-only cache still works, just slower
        log.debug("could not write the file-hash memo %s: %s", where, exc)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex), remembered for large files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    p = Path(path)
    size = p.stat().st_size
    if size >= MEMO_MIN_BYTES:
        key, stat = _stat_key(p)
        with _memo_lock:
            _load_memo()
            hit = _memo.get(key)
            if hit and all(hit.get(k) == v for k, v in stat.items()) and isinstance(hit.get("sha256"), str):
                return hit["sha256"]
    from .._progress import progress

    h = hashlib.sha256()
    # small files (one image among thousands) are counted by their caller's progress instead
    shown = None if size >= _PROGRESS_MIN_BYTES else False
    with open(p, "rb") as fh, progress(total=size, desc=f"hashing {p.name}", unit="B", enabled=shown) as bar:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
            bar.update(len(block))
    digest = h.hexdigest()
    if size >= MEMO_MIN_BYTES:
        with _memo_lock:
            _memo[key] = {**stat, "sha256": digest}
            _save_memo()
    return digest


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace, tuples as lists: the same object, the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_jsonable)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not part of a cache key")


def digest_json(obj: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``obj``."""
    return sha256_bytes(canonical_json(obj).encode("ascii"))


def state_dict_sha256(module: Any) -> str:
    """SHA-256 over every parameter and buffer: names, dtypes, shapes and values."""
    import torch  # a module's weights: torch is already loaded by whoever built it

    h = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()

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

__all__ = ["sha256_file", "sha256_bytes", "digest_json", "canonical_json", "probe_transform"]

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


def _torch() -> Any:
    from .._validation import optional_import

    return optional_import("torch", extra="torch", purpose="Fingerprinting a transform")


#: :func:`probe_transform`'s reason for a transform that is random (its callers warn about it).
RANDOM_TRANSFORM = "the transform gives different outputs for the same image"


def probe_transform(transform: Any) -> tuple[str | None, str | None]:
    """(SHA-256 of the transform's outputs on two fixed images, or why there is none).

    A repr alone does not pin a transform: torchvision's ``Lambda`` prints as ``Lambda()``
    whatever it computes, and a class may print without its parameters. Two transforms
    with one repr share a cache entry only if they also agree on these images. A transform
    that gives two outputs for one image (random augmentation) is not cached: its
    features are not reproducible.
    """
    import hashlib

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(20231201)
    digest = hashlib.sha256()
    for width, height in ((67, 53), (301, 203)):
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")
        try:
            with _torch().random.fork_rng(devices=[]):  # a random transform leaves the caller's RNG alone
                first, second = (_as_array(transform(image.copy())) for _ in range(2))
        except Exception as exc:  # user code; the real stimuli will say more, batch by batch
            return None, f"the transform raised {type(exc).__name__} on a {width}x{height} probe image"
        if first.shape != second.shape or not np.array_equal(first, second, equal_nan=first.dtype.kind == "f"):
            return None, RANDOM_TRANSFORM
        digest.update(f"{first.dtype.str}{first.shape}".encode())
        digest.update(np.ascontiguousarray(first).tobytes())
    return digest.hexdigest(), None


def _as_array(out: Any) -> Any:
    import numpy as np

    if hasattr(out, "detach"):
        out = out.detach().cpu()
        out = out.float() if out.is_floating_point() else out
        return out.numpy()
    return np.asarray(out)

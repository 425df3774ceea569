"""Atomic file writes: a reader sees the old file or the complete new one, never a part.

Every file repalign writes for a user (features, tables, unit records, reports, the
dataset registry) goes through :func:`atomic_path` or :func:`atomic_write`: the data is
written to a uniquely named temporary file in the destination's own folder (so the final
:func:`os.replace` never crosses a file system), flushed and fsynced when ``durable``, then
renamed over the destination. The new file gets ``0o666 & ~umask``, the permissions a plain
``open(path, "w")`` would give, so results in a shared lab folder stay readable by the
group (``mkstemp`` alone would leave them ``0o600``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ._errors import InputError

__all__ = [
    "atomic_path", "atomic_write", "atomic_write_bytes", "atomic_write_text", "ensure_parent", "safe_filename",
]


def safe_filename(name: str, what: str = "file name", example: str = "data.zip") -> str:
    """``name`` when it is a plain file name that stays in its folder; else an InputError.

    Parameters
    ----------
    name : str
        The name to check (a download's file name, a study's name that becomes a folder).
    what : str
        What the name is, for the error message.
    example : str
        A valid name of that kind, for the error message.

    Examples
    --------
    >>> safe_filename("all.zip")
    'all.zip'
    >>> safe_filename("../x")
    Traceback (most recent call last):
    ...
    repalign._errors.InputError: '../x': a file name must not leave its folder (no '/', '\\', '..', or drive); use a plain name such as 'data.zip'.
    """
    bad = (
        not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
        or "\x00" in name or (len(name) > 1 and name[1] == ":") or name != name.strip()
    )
    if bad:
        raise InputError(
            f"{name!r}: a {what} must not leave its folder (no '/', '\\', '..', or drive); use a plain name "
            f"such as {example!r}."
        )
    return name


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def ensure_parent(path: str | os.PathLike[str], *, what: str = "output") -> Path:
    """Create ``path``'s folder, turning the usual OS failures into one clear error.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = ensure_parent(pathlib.Path(tempfile.mkdtemp()) / "a" / "b.txt")
    >>> p.parent.is_dir()
    True
    """
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise InputError(f"{what} {p}: a file is in the way of its folder ({exc.filename}); choose another path") from exc
    except OSError as exc:
        raise InputError(f"{what} {p}: cannot create its folder ({exc.strerror}); choose another path") from exc
    if p.is_dir():
        raise InputError(f"{what} {p}: is a folder; give a file name")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, durable: bool = True, what: str = "output") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    For writers that take a file name (``np.savez``, ``pandas.to_parquet``,
    ``figure.savefig``). On an exception the temporary file is removed and ``path`` is left
    as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("done")
    >>> out.read_text()
    'done'
    """
    final = ensure_parent(path, what=what)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{what} {final}: cannot write in {final.parent} ({exc.strerror}); choose another path") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8", durable: bool = True, what: str = "output"
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> with atomic_write(out) as fh:
    ...     _ = fh.write("{}")
    >>> out.read_text()
    '{}'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path, durable=durable, what=what) as tmp:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()


def atomic_write_text(path: str | os.PathLike[str], text: str, *, durable: bool = True, what: str = "output") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8) and return the path."""
    with atomic_write(path, "w", durable=durable, what=what) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = True, what: str = "output") -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_write(path, "wb", durable=durable, what=what) as fh:
        fh.write(data)
    return Path(path)

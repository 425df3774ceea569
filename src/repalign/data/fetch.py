"""Download discipline for datasets, after pooch.

* Files live in a cache folder (:func:`repalign._paths.data_dir`; ``$REPALIGN_DATA``
  overrides it).
* A download goes to ``<name>.part`` next to its destination; an interrupted download
  resumes from there with an HTTP ``Range`` request.
* The hash is checked before the file is moved into place with an atomic
  :func:`os.replace`, so a file at its final path is always complete and verified.
* A hash is written ``"sha256:<hex>"`` (or ``"md5:<hex>"`` where only the publisher's
  MD5 is known). :class:`RemoteFile` records who verified it; nothing unverified is
  presented as verified.
* Offline, a missing file raises :class:`~repalign.DataNotFoundError` saying where to put it.
* Archives are extracted only after every member has been checked to stay inside the
  destination folder (no absolute paths, no ``..``, no links pointing out, no devices).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import lzma
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .._errors import DataNotFoundError, InputError
from .._files import safe_filename
from .._validation import check_option

__all__ = [
    "RemoteFile",
    "file_hash",
    "check_hash",
    "fetch",
    "extract_archive",
    "extract_cached",
    "merge_into",
    "safe_filename",
    "HASH_ALGORITHMS",
    "ARCHIVE_SUFFIXES",
]

log = logging.getLogger(__name__)

HASH_ALGORITHMS: tuple[str, ...] = ("sha256", "md5")
#: File names treated as archives (extracted after download).
ARCHIVE_SUFFIXES: tuple[str, ...] = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """A file that can be downloaded.

    Parameters
    ----------
    filename : str
        Name in the cache folder.
    url : str
        Where to download it from.
    known_hash : str or None
        ``"sha256:<hex>"`` or ``"md5:<hex>"``; None when no hash is known (the download is
        then refused unless ``allow_unverified=True`` is passed to :func:`fetch`).
    hash_source : str
        Who vouches for the hash (e.g. "publisher's page", "computed by repalign
        maintainers from the original release on 2026-11-28"). Shown to users.
    size : int, optional
        Expected size in bytes, for progress reporting.
    """

    filename: str
    url: str
    known_hash: str | None
    hash_source: str = "unverified"
    size: int | None = None

    def __post_init__(self) -> None:
        safe_filename(self.filename, "RemoteFile file name")


def _split_hash(known_hash: str) -> tuple[str, str]:
    if ":" not in known_hash:
        raise InputError(f"hash {known_hash!r} must look like 'sha256:<hex>' or 'md5:<hex>'.")
    algorithm, hexdigest = known_hash.split(":", 1)
    check_option("hash algorithm", algorithm.lower(), HASH_ALGORITHMS)
    return algorithm.lower(), hexdigest.lower()


def file_hash(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    check_option("hash algorithm", algorithm, HASH_ALGORITHMS)
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def check_hash(path: str | os.PathLike[str], known_hash: str) -> bool:
    """Whether ``path`` matches ``known_hash`` (``"sha256:<hex>"`` or ``"md5:<hex>"``)."""
    algorithm, expected = _split_hash(known_hash)
    return file_hash(path, algorithm) == expected


def _download(url: str, part: Path, timeout: float) -> None:
    """Append the rest of ``url`` to ``part`` (resuming when it already holds a prefix)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "repalign"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response_cm = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) only, checked by caller
    except urllib.error.HTTPError as exc:
        if have and exc.code == 416:  # range not satisfiable: the part already holds the whole file
            log.info("%s: the partial download is already complete", part.name)
            return
        raise
    with response_cm as response:
        status = getattr(response, "status", 200)
        if have and status != 206:  # the server ignored the range: start over
            log.info("server does not support resuming; restarting %s", part.name)
            have = 0
        elif have:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {have}-"):
                part.unlink()  # an unexpected range: start over on the next attempt
                raise ConnectionError(f"asked for bytes {have}- but the server sent {content_range!r}")
        total = response.headers.get("Content-Length")
        total_bytes = int(total) + have if total is not None else None
        mode = "ab" if have else "wb"
        done = have
        from .._progress import progress

        with open(part, mode) as out, progress(total=total_bytes, desc=f"downloading {part.name[:-5]}", unit="B") as bar:
            bar.update(have)
            for block in iter(lambda: response.read(_CHUNK), b""):
                out.write(block)
                done += len(block)
                bar.update(len(block))
    if total_bytes is not None and done < total_bytes:
        # http.client returns b"" when the server closes early; keep the part for resuming.
        raise ConnectionError(f"the connection closed after {done} of {total_bytes} bytes")


def fetch(
    remote: RemoteFile,
    *,
    folder: str | os.PathLike[str] | None = None,
    allow_unverified: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Return the local path of ``remote``, downloading and verifying it if needed.

    Parameters
    ----------
    remote : RemoteFile
    folder : path-like, optional
        Cache folder; default :func:`repalign._paths.data_dir`.
    allow_unverified : bool, default False
        Accept a file without a known hash (its SHA-256 is logged so it can be recorded).
    timeout : float
        Seconds before a stalled connection fails.

    Raises
    ------
    DataNotFoundError
        When the file is absent and cannot be downloaded (e.g. offline); the message gives
        the URL and the exact path to place the file at.
    InputError
        When the downloaded (or placed) file does not match the known hash.
    """
    from .._paths import data_dir

    root = Path(folder) if folder is not None else data_dir()
    dest = root / safe_filename(remote.filename)
    if remote.known_hash is None and not allow_unverified:
        raise InputError(
            f"{remote.filename}: no verified hash is known for {remote.url}; refusing to download it "
            "unverified. Download it yourself and register it with `repalign data add`."
        )
    if dest.exists():
        if remote.known_hash is None or check_hash(dest, remote.known_hash):
            return dest
        raise InputError(
            f"{dest}: exists but does not match the expected {remote.known_hash.split(':')[0]} hash "
            f"({remote.hash_source}); it is corrupt or a different version. Delete it and fetch again."
        )
    if not remote.url.startswith(("https://", "http://")):
        raise InputError(f"{remote.filename}: refusing to download from a non-HTTP URL {remote.url!r}.")
    root.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    log.info("downloading %s from %s", remote.filename, remote.url)
    try:
        _download(remote.url, part, timeout)
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
        raise DataNotFoundError(
            f"{remote.filename} is not available locally and could not be downloaded from "
            f"{remote.url} ({exc}). On a machine without internet, copy the file to {dest} "
            f"(a partial download, if any, is kept at {part} and will be resumed)."
        ) from exc
    if remote.known_hash is not None and not check_hash(part, remote.known_hash):
        algorithm, expected = _split_hash(remote.known_hash)
        got = file_hash(part, algorithm)
        part.unlink()
        raise InputError(
            f"{remote.filename}: downloaded file has {algorithm} {got}, expected {expected} "
            f"({remote.hash_source}); it was deleted. The server may serve a different version."
        )
    if remote.known_hash is None:
        log.warning("%s: accepted without a known hash; its sha256 is %s", remote.filename, file_hash(part))
    os.replace(part, dest)
    return dest


def _safe_member_path(root: Path, name: str, archive: Path) -> Path:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise InputError(f"{archive}: refusing to extract the unsafe member path {name!r}.")
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise InputError(f"{archive}: member {name!r} would be written outside {root}.")
    return target


def extract_archive(archive: str | os.PathLike[str], destination: str | os.PathLike[str]) -> Path:
    """Extract a ``.tar``, ``.tar.gz``/``.tgz`` or ``.zip`` file after checking every member.

    Members with absolute paths, ``..`` components, links, or device files are refused
    (the whole extraction fails before anything is written). ``destination`` must not
    exist or be empty. Extraction goes to a temporary folder that is renamed into place,
    so a destination folder is always complete.
    """
    src = Path(archive)
    root = Path(destination).resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InputError(f"{root}: extraction target exists and is not an empty folder; choose a new folder.")
    tmp = root.with_name(root.name + ".extracting")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        _extract_members(src, tmp)
        if root.exists():
            root.rmdir()  # empty, checked above
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _extract_members(src: Path, tmp: Path) -> None:
    """Check every member of ``src``, then extract them into ``tmp`` (one InputError when corrupt)."""
    try:
        _extract_checked(src, tmp)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile) as exc:
        raise InputError(
            f"{src}: the archive is truncated or corrupt ({exc.__class__.__name__}: {exc}); nothing was "
            "extracted. Delete it and download it again (for a built-in dataset: repalign data fetch NAME)."
        ) from exc


def _extract_checked(src: Path, tmp: Path) -> None:
    if zipfile.is_zipfile(src):
        with zipfile.ZipFile(src) as zf:
            for info in zf.infolist():
                _safe_member_path(tmp.resolve(), info.filename, src)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise InputError(f"{src}: refusing to extract the symbolic link {info.filename!r}.")
            zf.extractall(tmp)
    elif tarfile.is_tarfile(src):
        with tarfile.open(src) as tf:
            members = tf.getmembers()
            for m in members:
                _safe_member_path(tmp.resolve(), m.name, src)
                if not (m.isfile() or m.isdir()):
                    raise InputError(f"{src}: refusing to extract {m.name!r} (links and devices are not allowed).")
            tf.extractall(tmp, members=members, filter="data")
    elif src.name.lower().endswith(ARCHIVE_SUFFIXES):
        raise InputError(
            f"{src}: named like an archive but it is not a readable zip or tar file (truncated or corrupt); "
            "delete it and download it again (for a built-in dataset: repalign data fetch NAME)."
        )
    else:
        raise InputError(f"{src}: not a zip or tar archive.")


def extract_cached(archive: str | os.PathLike[str], parent: str | os.PathLike[str] | None = None) -> Path:
    """Extract ``archive`` once per content: into ``<parent>/<name>-<sha256 prefix>``.

    The folder is keyed by the archive's SHA-256, not its name, so an archive replaced by
    another of the same name is extracted again, and an unchanged one is not.
    ``parent`` defaults to ``<data dir>/extracted``.

    Examples
    --------
    >>> import tempfile, pathlib, zipfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(d / "a.zip", "w") as zf:
    ...     zf.writestr("x.txt", "1")
    >>> out = extract_cached(d / "a.zip", d / "extracted")
    >>> (out / "x.txt").read_text(), extract_cached(d / "a.zip", d / "extracted") == out
    ('1', True)
    """
    from .._paths import data_dir

    src = Path(archive)
    base = Path(parent) if parent is not None else data_dir() / "extracted"
    stem = src.name
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    dest = base / f"{stem}-{file_hash(src)[:16]}"
    if dest.is_dir():  # extract_archive renames a complete extraction into place
        log.debug("%s: already extracted at %s", src.name, dest)
        return dest
    return extract_archive(src, dest)


def merge_into(extracted: str | os.PathLike[str], target: str | os.PathLike[str], *, source: str) -> Path:
    """Copy the files extracted from archive ``source`` into ``target``.

    A marker ``.extracted-<source>`` in ``target`` records which extraction (the folder name
    of :func:`extract_cached`, which holds the archive's SHA-256 prefix) was installed and
    the files it put there: the same content is not copied again; a changed archive of the
    same name replaces exactly its own files; files that did not come from it are never
    overwritten (an error lists them).
    """
    src = Path(extracted)
    dest = Path(target)
    marker = dest / f".extracted-{safe_filename(source)}"
    lines = marker.read_text(encoding="utf-8").splitlines() if marker.is_file() else []
    content = f"content: {src.name}"
    if lines and lines[0] == content:
        log.debug("%s: already installed in %s", source, dest)
        return dest
    previous = set(lines[1:])
    files = [p for p in sorted(src.rglob("*")) if p.is_file()]
    names = [p.relative_to(src).as_posix() for p in files]
    clashes = [n for n in names if (dest / n).exists() and n not in previous]
    if clashes:
        from .._validation import preview

        raise InputError(f"{source}: would overwrite {preview(clashes)} in {dest}; move them away first.")
    for path, name in zip(files, names):
        out = dest / name
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        shutil.copyfile(path, tmp)
        os.replace(tmp, out)
    dest.mkdir(parents=True, exist_ok=True)
    from .._files import atomic_write_text

    atomic_write_text(marker, "\n".join([content, *names]) + "\n")
    return dest

"""The dataset registry: what each dataset is, where it comes from, where a copy lives.

Built-in entries (:data:`DATASETS`) are the cards of the adapters in
:mod:`repalign.data.datasets` (one module per dataset, see :mod:`repalign.data.adapters`):
the citation, a licence note, the stimuli, the layout they expect and how to obtain the
files. An entry lists remote files only where a URL *and* its hash were verified
(:class:`~repalign.data.fetch.RemoteFile` records who verified it); the others explain how
to obtain the data and how to register a copy.

A copy a user already has is registered with :func:`register_dataset` (CLI:
``repalign data add NAME PATH``): its structure is checked, the SHA-256 of every file is
recorded, and the entry is kept in ``<data dir>/registry.json``. Any other name registers
a folders-layout dataset of the user's own (see :mod:`repalign.data.folders`).

Where a dataset is looked for (:func:`dataset_root`): an explicit root (CLI: ``--data-root``,
the folder holding datasets or the dataset's own folder), else the registered path, else
``<data dir>/<name>``. A missing dataset
raises :class:`~repalign.DataNotFoundError` saying where to put the files.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from .._errors import DataNotFoundError, InputError
from .._files import atomic_write_text
from .._paths import data_dir, find_shared_data
from .._validation import preview
from .adapters import Dataset, DatasetAdapter, FoldersAdapter, OpenDataset, builtin_adapters, open_dataset
from .fetch import file_hash

__all__ = [
    "Dataset",
    "DATASETS",
    "get_adapter",
    "open_dataset_at",
    "resolve_dataset_root",
    "REGISTRY_FILE",
    "get_dataset",
    "dataset_names",
    "registered_datasets",
    "register_dataset",
    "dataset_root",
    "scan_dataset",
    "verify_registered",
    "fetch_dataset",
]

log = logging.getLogger(__name__)

REGISTRY_FILE = "registry.json"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


#: Built-in datasets by name: the cards of the adapters in :mod:`repalign.data.datasets`.
#: An entry added here without an adapter (e.g. in a test) is read in the folders layout.
DATASETS: dict[str, Dataset] = {name: a.dataset for name, a in builtin_adapters().items()}

_folder_adapters: dict[Dataset, FoldersAdapter] = {}


def get_adapter(name: str, *, unknown_as_folders: bool = False) -> DatasetAdapter:
    """The adapter of dataset ``name``: a built-in one, or the folders adapter of any other card.

    ``unknown_as_folders`` reads a name that is neither built in nor registered as a
    folders-layout dataset (used when its folder is given explicitly, e.g. a study's
    ``human.data_root`` holding ``mydata/``); otherwise an unknown name is an error listing
    the known ones.
    """
    builtin = builtin_adapters().get(name)
    if unknown_as_folders and name not in dataset_names():
        card = Dataset(name, f"folders-layout dataset {name}", "(user data)", "(user data)", "(user data)",
                       "folders layout (see docs/data.md)", "given by its folder", (), "matrices")
    else:
        card = get_dataset(name)
    if builtin is not None and builtin.dataset is card:
        return builtin
    if card not in _folder_adapters:
        _folder_adapters[card] = FoldersAdapter(card)
    return _folder_adapters[card]


def _registry_path() -> Path:
    return data_dir() / REGISTRY_FILE


def registered_datasets() -> dict[str, dict[str, Any]]:
    """The user registry: name -> entry (path, when added, file hashes, summary)."""
    path = _registry_path()
    if not path.is_file():
        return {}
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: the dataset registry is not valid JSON ({exc}); fix or delete it.") from exc
    if not isinstance(content, dict) or not isinstance(content.get("datasets", {}), dict):
        raise InputError(f"{path}: the dataset registry must be an object with a 'datasets' object.")
    return dict(content.get("datasets", {}))


def _write_registry(entries: dict[str, dict[str, Any]]) -> Path:
    path = _registry_path()
    atomic_write_text(path, json.dumps({"version": 1, "datasets": entries}, indent=2, sort_keys=True) + "\n")
    return path


def _builtin_names() -> list[str]:
    return [*DATASETS, *(n for n in builtin_adapters() if n not in DATASETS)]


def dataset_names() -> list[str]:
    """Built-in names, then the user's own registered datasets."""
    builtin = _builtin_names()
    return [*builtin, *(n for n in registered_datasets() if n not in builtin)]


def get_dataset(name: str) -> Dataset:
    """The built-in entry ``name``, or an entry describing a user-registered folders dataset."""
    if name in DATASETS:
        return DATASETS[name]
    if name in builtin_adapters():  # a dataset module added after this module was imported
        return builtin_adapters()[name].dataset
    registered = registered_datasets()
    if name in registered:
        entry = registered[name]
        return Dataset(
            name=name, title=f"user dataset registered from {entry.get('path')}", citation="(user data)",
            licence="(user data)", stimuli="(user data)", layout="folders layout (see docs/data.md)",
            obtain=f"registered with repalign data add on {entry.get('added', '?')}",
            parts=tuple(entry.get("parts", ())), kind="matrices",
        )
    from .._validation import check_option

    check_option("dataset", name, dataset_names())
    raise AssertionError("unreachable")  # pragma: no cover


def _missing_message(name: str) -> str:
    card = get_dataset(name) if name in _builtin_names() else None
    default = get_adapter(name).default_folder() if card is not None else data_dir() / name
    message = (
        f"dataset {name!r} is not available locally. Put its files at {default} "
        f"(layout: {card.layout if card is not None else 'see docs/data.md'}), or register a copy you "
        f"have with: repalign data add {name} PATH, or pass its folder (or the folder holding it) with --data-root."
    )
    if card is not None:
        message += f" {card.obtain}"
    shared = find_shared_data()
    if shared is not None and (shared / name).is_dir():
        message += f" (A development copy exists at {shared / name}; pass --data-root {shared}.)"
    return message


def _given_root(name: str, given: Path) -> Path:
    """The dataset's own folder, from a ``--data-root`` that is either it or the folder holding it."""
    adapter = get_adapter(name, unknown_as_folders=True)
    if adapter.is_own_folder(given):
        log.debug("%s: %s is the dataset's own folder", name, given)
        return given
    holder = given / name
    if holder.is_dir():
        log.debug("%s: %s holds datasets; using %s", name, given, holder)
        return holder
    log.debug("%s: %s neither looks like the dataset's folder nor holds %s/; reading it as the dataset's folder",
              name, given, name)
    return given


def dataset_root(name: str, root: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """Where the local copy of ``name`` is, and how that was decided.

    ``root`` (CLI: ``--data-root``) is the folder that holds datasets (``../shared/data``)
    or the dataset's own folder (``../shared/data/peterson2018``): the dataset's adapter
    tells them apart by the names in the folder (the choice is logged at debug level).

    Returns
    -------
    (Path, str)
        The folder and its source: ``"given"``, ``"registered"`` or ``"data dir"``.

    Raises
    ------
    DataNotFoundError
        With where to put the files when no copy is found.

    Examples
    --------
    >>> dataset_root("peterson2018", "../shared/data")  # doctest: +SKIP
    (PosixPath('../shared/data/peterson2018'), 'given')
    """
    if root is not None:
        r = Path(root).expanduser()
        if r.exists() and not r.is_dir():
            raise InputError(f"{r}: is a file, not a folder; --data-root (data_root=) names the folder that holds "
                             f"the datasets (or the {name} folder itself).")
        if not r.is_dir():
            raise DataNotFoundError(f"{r}: the folder given for dataset {name!r} does not exist.")
        return _given_root(name, r), "given"
    get_dataset(name)  # unknown names: an error listing the valid ones
    registered = registered_datasets().get(name)
    if registered is not None:
        r = Path(registered["path"])
        if not r.is_dir():
            raise DataNotFoundError(
                f"dataset {name!r} was registered at {r}, which no longer exists. Register it again with: "
                f"repalign data add {name} PATH"
            )
        return r, "registered"
    r = get_adapter(name).default_folder()
    if r.is_dir() and any(r.iterdir()):
        return r, "data dir"
    raise DataNotFoundError(_missing_message(name))


def resolve_dataset_root(name: str, data_root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of dataset ``name``: ``data_root`` may hold datasets or be the dataset's own folder.

    What ``--data-root`` means for every command (``align``, ``extract``, ``data``, ``study``,
    ``demo``); without it, the registered copy or ``<data dir>/<name>``.

    Examples
    --------
    >>> resolve_dataset_root("peterson2018", "../shared/data") == resolve_dataset_root(
    ...     "peterson2018", "../shared/data/peterson2018")  # doctest: +SKIP
    True
    """
    return dataset_root(name, data_root)[0]


def open_dataset_at(name: str, root: str | os.PathLike[str] | None = None) -> OpenDataset:
    """The memoised open dataset ``name`` at ``root`` (see :func:`dataset_root` for ``root``)."""
    return open_dataset(get_adapter(name, unknown_as_folders=root is not None), dataset_root(name, root)[0])


def scan_dataset(name: str, root: str | os.PathLike[str] | None = None) -> Any:
    """Check a local copy: a :class:`~repalign.data.folders.DatasetScan` or :class:`~repalign.data.things.ThingsScan`."""
    return open_dataset_at(name, root).scan()


def _hash_files(root: Path) -> dict[str, str]:
    from .._progress import progress

    hashes: dict[str, str] = {}
    for path in progress(sorted(root.rglob("*")), desc=f"hashing {root.name}", unit="file"):
        if path.is_symlink():
            raise InputError(f"{path}: symbolic links are not registered; copy the real files into {root}.")
        if path.is_file():
            hashes[path.relative_to(root).as_posix()] = "sha256:" + file_hash(path)
    return hashes


def register_dataset(name: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check the structure of a local copy, record its file hashes, and register it under ``name``.

    Built-in names are checked against their layouts; any other name (letters, digits,
    ``_`` and ``-``) registers a folders-layout dataset. Returns the registry entry.

    Raises
    ------
    InputError
        When the folder does not have the expected structure (the message says what is wrong).
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"dataset name {name!r} must start with a letter and hold only letters, digits, _ and -.")
    r = Path(path).expanduser().resolve()
    if not r.is_dir():
        raise DataNotFoundError(f"{r}: not a folder.")
    if name in _builtin_names():
        adapter = get_adapter(name)
        r = _given_root(name, r)
    else:
        adapter = FoldersAdapter(Dataset(name, "", "", "", "", "", "", (), "matrices"))
    summary = adapter.summary(open_dataset(adapter, r).scan())
    if summary["problems"]:
        log.warning("%s: registered with problems: %s", name, "; ".join(f"{k}: {v}" for k, v in summary["problems"].items()))
    entry = {
        "path": str(r),
        "added": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "parts": summary["parts"],
        "problems": summary["problems"],
        "files": _hash_files(r),
    }
    entries = registered_datasets()
    entries[name] = entry
    _write_registry(entries)
    log.info("registered %s at %s (%d files hashed)", name, r, len(entry["files"]))
    return entry


def verify_registered(name: str) -> dict[str, list[str]]:
    """Compare a registered copy with the hashes recorded when it was added.

    Returns
    -------
    dict
        ``changed``, ``missing`` and ``added`` file lists (all empty when the copy is intact).
    """
    entry = registered_datasets().get(name)
    if entry is None:
        raise InputError(f"dataset {name!r} is not registered; register it with: repalign data add {name} PATH")
    root = Path(entry["path"])
    if not root.is_dir():
        raise DataNotFoundError(f"{root}: the registered folder of {name!r} no longer exists.")
    recorded: dict[str, str] = entry.get("files", {})
    current = {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}
    changed = [k for k, h in recorded.items() if k in current and "sha256:" + file_hash(current[k]) != h]
    missing = [k for k in recorded if k not in current]
    added = [k for k in current if k not in recorded]
    if changed or missing:
        log.warning("%s: %d files changed, %d missing since registration: %s", name, len(changed), len(missing),
                    preview([*changed, *missing]))
    return {"changed": changed, "missing": missing, "added": added}


def fetch_dataset(name: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Download a dataset's verified remote files (resumable, hash-checked) and install them.

    Files go to ``folder`` (default: the adapter's folder, ``<data dir>/<name>``); archives
    are downloaded to ``<data dir>/downloads`` and extracted into it (an archive whose content
    changed is extracted again: the extraction is keyed by the archive's SHA-256). Datasets
    without verified remote files raise :class:`~repalign.DataNotFoundError` explaining how
    to obtain and register them (unless a local copy already exists, which is returned).
    """
    from .fetch import fetch

    ds = get_dataset(name)
    if not ds.remote:
        try:
            return dataset_root(name, folder)[0]
        except DataNotFoundError:
            raise DataNotFoundError(_missing_message(name)) from None
    adapter = get_adapter(name)
    target = Path(folder) if folder is not None else adapter.default_folder()
    downloaded = [(remote, fetch(remote, folder=data_dir() / "downloads")) for remote in ds.remote]
    adapter.install(downloaded, target)
    return target

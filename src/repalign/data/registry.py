"""The dataset registry: what each human dataset is, where it comes from, where a copy lives.

Built-in entries (:data:`DATASETS`) carry the citation, a licence note, the stimuli, the
layout they expect and how to obtain the files. An entry lists remote files only where a
URL *and* its hash were verified (:class:`~repalign.data.fetch.RemoteFile` records who
verified it); the built-in entries have none yet, so they explain how to obtain the data
and how to register a copy.

A copy a user already has is registered with :func:`register_dataset` (CLI:
``repalign data add NAME PATH``): its structure is checked, the SHA-256 of every file is
recorded, and the entry is kept in ``<data dir>/registry.json``. Any other name registers
a folders-layout dataset of the user's own (see :mod:`repalign.data.folders`).

Where a dataset is looked for (:func:`dataset_root`): an explicit root (CLI: ``--root`` /
``--data-root``), else the registered path, else ``<data dir>/<name>``. A missing dataset
raises :class:`~repalign.DataNotFoundError` saying where to put the files.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import DataNotFoundError, InputError
from .._paths import data_dir, find_shared_data
from .._validation import preview
from .fetch import RemoteFile, file_hash

__all__ = [
    "Dataset",
    "DATASETS",
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


@dataclass(frozen=True)
class Dataset:
    """A registry entry.

    Attributes
    ----------
    name, title : str
    citation : str
        The reference to cite.
    licence : str
        What is known about the terms of use (not legal advice; check the source).
    stimuli : str
        What was judged.
    layout : str
        The folder layout repalign reads (text shown by ``repalign data info``).
    obtain : str
        How to get the files when no verified remote file exists.
    parts : tuple of str
        Domains (matrix datasets) or named parts; references are ``name:part``.
    kind : {"matrices", "triplets"}
    remote : tuple of RemoteFile
        Verified downloads only.
    """

    name: str
    title: str
    citation: str
    licence: str
    stimuli: str
    layout: str
    obtain: str
    parts: tuple[str, ...]
    kind: str
    remote: tuple[RemoteFile, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "citation": self.citation,
            "licence": self.licence,
            "stimuli": self.stimuli,
            "layout": self.layout,
            "obtain": self.obtain,
            "parts": list(self.parts),
            "kind": self.kind,
            "remote_files": [
                {"filename": r.filename, "url": r.url, "hash": r.known_hash, "hash_source": r.hash_source}
                for r in self.remote
            ],
        }


_PETERSON = Dataset(
    name="peterson2018",
    title="Human similarity judgments for six domains of natural images",
    citation=(
        "Peterson, J. C., Abbott, J. T., & Griffiths, T. L. (2018). Evaluating (and improving) the "
        "correspondence between deep neural networks and human representations. Cognitive Science, 42(8), "
        "2648-2669. doi:10.1111/cogs.12670"
    ),
    licence=(
        "Released by the authors for research use; the images come from third-party sources with their own "
        "terms. repalign does not redistribute the data; check the authors' release before sharing copies."
    ),
    stimuli=(
        "Six domains (animals, automobiles, fruits, furniture, various, vegetables) of 120 photographs each; "
        "each domain has a 120 x 120 matrix of mean pairwise similarity ratings (Amazon Mechanical Turk, "
        "0-10 scale). The animal and fruit images are RGBA PNGs with transparent backgrounds, shown on white."
    ),
    layout=(
        "Either (a) folders: similarity/<domain>.csv (labeled matrix whose ids are the image file names), "
        "images/<domain>/, optional split_halves/<domain>_{first,second}_half.csv; or (b) the original release: "
        "<domain>/ with the image folder and the MATLAB file (animals turkSimMatrix2016.mat, automobiles "
        "simMatrix_mturkvehicles.mat, fruits fruits_mturk_sim.mat, furniture simMatrix_mturkfurniture.mat, "
        "various simMatrix_mturkmurreplication.mat, vegetables simMatrix_mturkveggies.mat). Domains without "
        "images are usable for matrix-only work."
    ),
    obtain=(
        "No download URL and hash have been verified by repalign, so nothing is fetched automatically. Obtain "
        "the release from the authors (see the paper), then register your copy: "
        "repalign data add peterson2018 PATH (or pass --root PATH to each command)."
    ),
    parts=("animals", "automobiles", "fruits", "furniture", "various", "vegetables"),
    kind="matrices",
)

_THINGS = Dataset(
    name="things",
    title="THINGS odd-one-out triplets and the SPoSE embedding",
    citation=(
        "Hebart, M. N., Zheng, C. Y., Pereira, F., & Baker, C. I. (2020). Revealing the multidimensional mental "
        "representations of natural objects underlying human similarity judgements. Nature Human Behaviour, "
        "4(11), 1173-1185. doi:10.1038/s41562-020-00951-3"
    ),
    licence=(
        "The THINGS data are shared by the authors for research use (see the THINGS initiative's terms); "
        "repalign does not redistribute them."
    ),
    stimuli=(
        "1,854 object concepts; human odd-one-out choices among three concepts (shown as images); the "
        "49-dimensional SPoSE embedding learned from those choices."
    ),
    layout=(
        "unique_id.txt (concepts, one a line; line n is item n), spose_embedding_49d_sorted.txt (optional), "
        "<part>_triplets.tsv (THINGS format: 1-based items i, j, k; position 1-3 of the odd one; participant)."
    ),
    obtain=(
        "No download URL and hash have been verified by repalign, so nothing is fetched automatically. Obtain "
        "the files from the THINGS initiative (see the paper's data availability statement), then register "
        "them: repalign data add things PATH (or pass --root PATH)."
    ),
    parts=("spose", "test"),
    kind="triplets",
)

#: Built-in datasets by name.
DATASETS: dict[str, Dataset] = {d.name: d for d in (_PETERSON, _THINGS)}


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"version": 1, "datasets": entries}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def dataset_names() -> list[str]:
    """Built-in names, then the user's own registered datasets."""
    return [*DATASETS, *(n for n in registered_datasets() if n not in DATASETS)]


def get_dataset(name: str) -> Dataset:
    """The built-in entry ``name``, or an entry describing a user-registered folders dataset."""
    if name in DATASETS:
        return DATASETS[name]
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
    default = data_dir() / name
    message = (
        f"dataset {name!r} is not available locally. Put its files at {default} "
        f"(layout: {DATASETS[name].layout if name in DATASETS else 'see docs/data.md'}), or register a copy you "
        f"have with: repalign data add {name} PATH, or pass its folder with --root/--data-root."
    )
    if name in DATASETS and not DATASETS[name].remote:
        message += f" {DATASETS[name].obtain}"
    shared = find_shared_data()
    if shared is not None and (shared / name).is_dir():
        message += f" (A development copy exists at {shared / name}; pass it with --root.)"
    return message


def dataset_root(name: str, root: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """Where the local copy of ``name`` is, and how that was decided.

    Returns
    -------
    (Path, str)
        The folder and its source: ``"given"``, ``"registered"`` or ``"data dir"``.

    Raises
    ------
    DataNotFoundError
        With where to put the files when no copy is found.
    """
    if root is not None:
        r = Path(root).expanduser()
        if not r.is_dir():
            raise DataNotFoundError(f"{r}: the folder given for dataset {name!r} does not exist.")
        return r, "given"
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
    r = data_dir() / name
    if r.is_dir() and any(r.iterdir()):
        return r, "data dir"
    raise DataNotFoundError(_missing_message(name))


def scan_dataset(name: str, root: str | os.PathLike[str] | None = None) -> Any:
    """Check a local copy: a :class:`~repalign.data.folders.DatasetScan` or :class:`~repalign.data.things.ThingsScan`."""
    r, _ = dataset_root(name, root)
    if name == "peterson2018":
        from .peterson import scan_peterson

        return scan_peterson(r)
    if name == "things":
        from .things import scan_things

        return scan_things(r)
    from .folders import scan_matrix_folder

    return scan_matrix_folder(r, name)


def _summary(name: str, scan: Any) -> dict[str, Any]:
    if name == "things":
        if not scan.triplets and scan.embedding is None:
            raise InputError(f"{scan.root}: no triplet file (*_triplets.tsv) and no SPoSE embedding; nothing to register.")
        return {"parts": [*(["spose"] if scan.embedding else []), *scan.triplets], "problems": scan.problems}
    if not scan.parts:
        detail = "; ".join(f"{k}: {v}" for k, v in scan.problems.items()) or "no matrix files"
        raise InputError(f"{scan.root}: no readable {name} matrix ({detail}).")
    return {"parts": list(scan.parts), "problems": scan.problems}


def _hash_files(root: Path) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
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
    if name in DATASETS:
        scan = scan_dataset(name, r)
    else:
        from .folders import scan_matrix_folder

        scan = scan_matrix_folder(r, name)
    summary = _summary(name, scan)
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


_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def _extract_into(archive: Path, target: Path) -> None:
    """Extract ``archive`` (safely, see :func:`~repalign.data.fetch.extract_archive`) into ``target``."""
    import shutil

    from .fetch import extract_archive

    staging = target.parent / f".{target.name}.staging"
    if staging.exists():
        shutil.rmtree(staging)
    extract_archive(archive, staging)
    try:
        target.mkdir(parents=True, exist_ok=True)
        clashes = [e.name for e in staging.iterdir() if (target / e.name).exists()]
        if clashes:
            raise InputError(f"{archive.name}: would overwrite {preview(clashes)} in {target}; move them away first.")
        for entry in staging.iterdir():
            os.replace(entry, target / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fetch_dataset(name: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Download a dataset's verified remote files (resumable, hash-checked) and unpack archives.

    Files go to ``folder`` (default ``<data dir>/<name>``); archives are downloaded to
    ``<data dir>/downloads`` and extracted into it. Datasets without verified remote files
    raise :class:`~repalign.DataNotFoundError` explaining how to obtain and register them
    (unless a local copy already exists, which is returned).
    """
    from .fetch import fetch

    ds = get_dataset(name)
    if not ds.remote:
        try:
            return dataset_root(name, folder)[0]
        except DataNotFoundError:
            raise DataNotFoundError(_missing_message(name)) from None
    target = Path(folder) if folder is not None else data_dir() / name
    for remote in ds.remote:
        if remote.filename.lower().endswith(_ARCHIVE_SUFFIXES):
            marker = target / f".extracted-{remote.filename}"
            if marker.is_file():
                continue
            archive = fetch(remote, folder=data_dir() / "downloads")
            _extract_into(archive, target)
            marker.write_text(remote.known_hash or "", encoding="utf-8")
        else:
            fetch(remote, folder=target)
    return target

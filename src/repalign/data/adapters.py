"""Datasets as plugins: what a dataset adapter is, how adapters are found, and one memoised open.

An adapter is one object per dataset that knows

* what the dataset is (a :class:`Dataset` card: title, citation, licence, stimuli, layout,
  how to obtain it, its parts, its ``kind`` and its ``role``, and the verified
  :class:`~repalign.data.fetch.RemoteFile` downloads);
* whether a folder is the dataset's own folder (:meth:`DatasetAdapter.is_own_folder`, a
  cheap look at names, no parsing), so ``--data-root`` may name either the folder that
  holds datasets or the dataset's own folder;
* how to index a root (:meth:`DatasetAdapter.index`: which parts exist and which files
  each is read from, without reading them) and how to load ONE part
  (:meth:`DatasetAdapter.load_part`);
* how to check a whole copy (:meth:`DatasetAdapter.scan`, for ``repalign data info`` and
  ``repalign data add``) and summarise it;
* how to install downloaded files (:meth:`DatasetAdapter.install`).

Built-in adapters are the modules of :mod:`repalign.data.datasets`: each module defines a
module-level ``ADAPTER``, and every module of that package is found by listing it, so
adding a dataset is adding one module. Modules there import only the standard library at
their top (listing datasets must stay fast); they read files inside their methods.

:func:`open_dataset` memoises one index per (dataset, root) and one loaded part per
(dataset, root, part); both are revalidated with the modification times and sizes of the
folders and files they were read from, so a copy changed on disk is read again.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import DataNotFoundError, InputError
from .fetch import RemoteFile

__all__ = [
    "Dataset",
    "DatasetAdapter",
    "DatasetIndex",
    "FoldersAdapter",
    "OpenDataset",
    "KINDS",
    "ROLES",
    "builtin_adapters",
    "open_dataset",
    "clear_cache",
]

log = logging.getLogger(__name__)

#: What a dataset holds: similarity matrices, triplet judgments (and embeddings), or labelled images.
KINDS: tuple[str, ...] = ("matrices", "triplets", "images")
#: What a dataset is for: human judgments a model is aligned with, or a transfer (few-shot) task.
ROLES: tuple[str, ...] = ("human", "transfer")


@dataclass(frozen=True)
class Dataset:
    """The card of a dataset: what it is and where it comes from.

    Attributes
    ----------
    name, title : str
    citation : str
        The reference to cite.
    licence : str
        What is known about the terms of use (not legal advice; check the source).
    stimuli : str
        What was judged (or what the images are).
    layout : str
        The folder layout repalign reads (text shown by ``repalign data info``).
    obtain : str
        How to get the files (shown when no verified remote file exists or fetching fails).
    parts : tuple of str
        Domains (matrix datasets) or named parts; references are ``name:part``.
    kind : {"matrices", "triplets", "images"}
    remote : tuple of RemoteFile
        Verified downloads only.
    role : {"human", "transfer"}
        Human judgments to align with, or a transfer (few-shot) image set.
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
    role: str = "human"

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
            "role": self.role,
            "remote_files": [
                {"filename": r.filename, "url": r.url, "hash": r.known_hash, "hash_source": r.hash_source}
                for r in self.remote
            ],
        }


@dataclass
class DatasetIndex:
    """Which parts a root holds and the files each is read from (nothing parsed yet).

    Attributes
    ----------
    parts : dict
        Part -> the files and folders it is read from (their sizes and modification times
        validate the memoised part).
    problems : dict
        Expected part -> why it is not there.
    watched : tuple of Path
        Folders whose listing the index depends on (a file added or removed there changes
        their modification time and so invalidates the index).
    details : dict
        Adapter-specific facts found while indexing (e.g. the layout of each part).
    """

    dataset: str
    root: Path
    parts: dict[str, tuple[Path, ...]]
    problems: dict[str, str] = field(default_factory=dict)
    watched: tuple[Path, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


class DatasetAdapter:
    """Base class of dataset adapters (see the module docstring).

    Subclasses set :attr:`dataset` and implement :meth:`is_own_folder`, :meth:`index` and
    :meth:`load_part`; the other methods have defaults that fit most datasets.
    """

    dataset: Dataset
    #: What one part is called in messages ("domain" for Peterson et al.).
    part_label: str = "part"

    @property
    def name(self) -> str:
        return self.dataset.name

    def is_own_folder(self, folder: Path) -> bool:  # pragma: no cover - abstract
        """Whether ``folder`` looks like this dataset's own folder (names only, nothing parsed)."""
        raise NotImplementedError

    def index(self, root: Path) -> DatasetIndex:  # pragma: no cover - abstract
        """Which parts ``root`` holds (cheap: file names, no parsing)."""
        raise NotImplementedError

    def load_part(self, index: DatasetIndex, part: str) -> Any:  # pragma: no cover - abstract
        """Read ONE part: a :class:`~repalign.data.folders.MatrixPart` for matrix datasets,
        :class:`~repalign.data.triplets.TripletData` or a Representation for triplet datasets."""
        raise NotImplementedError

    def missing_part(self, index: DatasetIndex, part: str) -> Exception:
        """The error for a part the copy lacks (lists the parts it has)."""
        if part in index.problems:
            return DataNotFoundError(f"{self.name}:{part} in {index.root}: {index.problems[part]}")
        from .._validation import check_option

        known = [*self.dataset.parts, *(p for p in index.parts if p not in self.dataset.parts)]
        try:
            check_option(f"{self.name} {self.part_label}", part, known)
        except InputError as exc:
            return InputError(f"{self.name}:{part}: {exc}")
        return DataNotFoundError(f"{self.name}:{part}: not found in {index.root}.")

    def scan(self, opened: OpenDataset) -> Any:
        """Check every part of a copy (default: a :class:`~repalign.data.folders.DatasetScan`)."""
        from .folders import DatasetScan

        parts: dict[str, Any] = {}
        problems = dict(opened.index.problems)
        for part in opened.index.parts:
            try:
                parts[part] = opened.part(part)
            except (InputError, DataNotFoundError) as exc:
                problems[part] = str(exc)
        return DatasetScan(self.name, opened.root, parts, problems, self.dataset.parts)

    def summary(self, scan: Any) -> dict[str, Any]:
        """``parts`` and ``problems`` of a scan, for the registry; an error when nothing is readable."""
        if not scan.parts:
            detail = "; ".join(f"{k}: {v}" for k, v in scan.problems.items()) or "no matrix files"
            raise InputError(f"{scan.root}: no readable {self.name} matrix ({detail}).")
        return {"parts": list(scan.parts), "problems": dict(scan.problems)}

    def default_folder(self) -> Path:
        """Where ``repalign data fetch NAME`` puts the files (``<data dir>/NAME``)."""
        from .._paths import data_dir

        return data_dir() / self.name

    def install(self, downloaded: list[tuple[RemoteFile, Path]], target: Path) -> None:
        """Put downloaded files in place under ``target`` (default: extract archives, copy the rest)."""
        import shutil

        from .fetch import ARCHIVE_SUFFIXES, extract_cached, merge_into

        for remote, path in downloaded:
            if remote.filename.lower().endswith(ARCHIVE_SUFFIXES):
                merge_into(extract_cached(path), target, source=path.name)
            elif not (target / remote.filename).exists():
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / remote.filename)

    # -- what references ask for (defaults: a matrix dataset whose parts are MatrixPart) --

    def refuse_reference(self, part: str) -> Exception | None:
        """Why ``name:part`` cannot stand for human data at all (checked before the copy is looked for)."""
        return None

    def matrix_part(self, opened: OpenDataset, part: str) -> Any:
        """The :class:`~repalign.data.folders.MatrixPart` of ``part`` (matrix datasets)."""
        if self.dataset.kind != "matrices":
            raise InputError(f"{self.name}:{part}: {self.name} holds {self.dataset.kind}, not similarity matrices with stimuli.")
        return opened.part(part)

    def representation(self, opened: OpenDataset, part: str) -> Any:
        """The representation ``name:part`` stands for."""
        return self.matrix_part(opened, part).representation

    def triplets(self, opened: OpenDataset, part: str) -> Any:
        """The :class:`~repalign.data.triplets.TripletData` of ``part`` (triplet datasets)."""
        raise InputError(f"{self.name}:{part}: {self.name} holds similarity matrices, not triplet judgments.")

    def stimulus_ids(self, opened: OpenDataset, part: str) -> tuple[str, ...]:
        """The stimulus ids of ``part``, in the order its names and matrices use."""
        return tuple(self.matrix_part(opened, part).ids)

    def stimulus_names(self, opened: OpenDataset, part: str) -> Any:
        """Text names of the part's stimuli (:class:`~repalign.data.names.StimulusNames`), in matrix order."""
        return self.matrix_part(opened, part).names


class FoldersAdapter(DatasetAdapter):
    """A dataset in the folders layout (:mod:`repalign.data.folders`): user datasets and any card
    without an adapter module of its own."""

    def __init__(self, dataset: Dataset, *, kind: str | None = None) -> None:
        self.dataset = dataset
        self._kind = kind

    def is_own_folder(self, folder: Path) -> bool:
        return any((folder / k).is_dir() for k in ("similarity", "dissimilarity"))

    def index(self, root: Path) -> DatasetIndex:
        from .folders import KIND_FOLDERS, part_files

        parts = {p: part_files(root, p) for p in _folder_part_names(root, self.dataset.parts)}
        problems = {
            p: f"not found: expected similarity/{p}.csv (or .tsv, .npy, .mat) in {root}"
            for p in self.dataset.parts if p not in parts
        }
        watched = (root, *(root / k for k in (*KIND_FOLDERS, "split_halves", "names", "images") if (root / k).is_dir()))
        return DatasetIndex(self.name, root, parts, problems, watched)

    def load_part(self, index: DatasetIndex, part: str) -> Any:
        from .folders import read_folder_part

        if part not in index.parts:
            raise self.missing_part(index, part)
        return read_folder_part(index.root, self.name, part, kind=self._kind)


def _folder_part_names(root: Path, expected: tuple[str, ...]) -> list[str]:
    from .folders import list_folder_parts

    found = list_folder_parts(root)
    return [*(p for p in expected if p in found), *(p for p in found if p not in expected)]


# -- discovery -----------------------------------------------------------------------------

_PLUGIN_PACKAGE = "repalign.data.datasets"
_builtin: dict[str, DatasetAdapter] | None = None
_lock = threading.Lock()


def builtin_adapters() -> dict[str, DatasetAdapter]:
    """Every adapter of :mod:`repalign.data.datasets`, by dataset name (modules in name order)."""
    global _builtin
    with _lock:
        if _builtin is None:
            package = importlib.import_module(_PLUGIN_PACKAGE)
            found: dict[str, DatasetAdapter] = {}
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
                if info.name.startswith("_"):
                    continue
                module = importlib.import_module(f"{_PLUGIN_PACKAGE}.{info.name}")
                adapter = getattr(module, "ADAPTER", None)
                if not isinstance(adapter, DatasetAdapter):
                    raise TypeError(f"{module.__name__}: a dataset module must define ADAPTER, a DatasetAdapter.")
                if adapter.name in found:
                    raise TypeError(f"{module.__name__}: dataset {adapter.name!r} is defined twice.")
                found[adapter.name] = adapter
            order = {"human": 0, "transfer": 1}
            _builtin = dict(sorted(found.items(), key=lambda kv: (order.get(kv[1].dataset.role, 2), _rank(kv[0]))))
        return _builtin


def _rank(name: str) -> tuple[int, str]:
    # The two datasets of the paper first, then the rest by name.
    return ({"peterson2018": 0, "things": 1}.get(name, 2), name)


# -- the memoised open ---------------------------------------------------------------------


def _stamp(paths: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), -1, -1))
    return tuple(out)


class OpenDataset:
    """A dataset at one root: its index, and its parts loaded on demand (each at most once)."""

    def __init__(self, adapter: DatasetAdapter, root: Path) -> None:
        self.adapter = adapter
        self.root = root
        self._index: DatasetIndex | None = None
        self._index_stamp: tuple[Any, ...] = ()
        self._parts: dict[str, tuple[tuple[Any, ...], Any]] = {}
        self._lock = threading.RLock()
        self.n_index = 0  # how often the root was indexed (tests count it)

    @property
    def index(self) -> DatasetIndex:
        with self._lock:
            if self._index is None or _stamp(self._index.watched) != self._index_stamp:
                self._index = self.adapter.index(self.root)
                self._index_stamp = _stamp(self._index.watched)
                self._parts.clear()
                self.n_index += 1
                log.debug("%s: indexed %s (%d parts)", self.adapter.name, self.root, len(self._index.parts))
            return self._index

    def part(self, part: str) -> Any:
        """Load ``part`` (memoised; read again when one of its files changed)."""
        with self._lock:
            index = self.index
            if part not in index.parts:
                raise self.adapter.missing_part(index, part)
            stamp = _stamp(index.parts[part])
            cached = self._parts.get(part)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            loaded = self.adapter.load_part(index, part)
            self._parts[part] = (stamp, loaded)
            return loaded

    def scan(self) -> Any:
        """Every part checked (:meth:`DatasetAdapter.scan`)."""
        return self.adapter.scan(self)


_open: dict[tuple[str, str, Dataset], OpenDataset] = {}


def open_dataset(adapter: DatasetAdapter, root: str | os.PathLike[str]) -> OpenDataset:
    """The memoised :class:`OpenDataset` of ``adapter`` at ``root`` (one per dataset and root)."""
    # Absolute: the memo outlives the working directory, and a relative root opened from one
    # folder (a config's ../shared/data) must not be read from another later.
    # Keyed by that path as given (not resolved), so a dataset reports the root it was opened
    # with; a symlinked alias of the same folder is scanned once more.
    r = Path(root).absolute()
    key = (adapter.name, str(r), adapter.dataset)
    with _lock:
        opened = _open.get(key)
        if opened is None:
            opened = _open[key] = OpenDataset(adapter, r)
        return opened


def clear_cache() -> None:
    """Forget every memoised index and part (the next access reads from disk)."""
    with _lock:
        _open.clear()


"""Stimulus sets for feature extraction: ordered (stimulus id, image file) or (id, text) pairs.

Extraction takes its stimuli as an ordered sequence of pairs, so that any dataset loader
can feed it. The rows of the extracted features follow that order, and the ids are
stored with the features. An image folder is the simplest source: every image directly
inside it, sorted by file name, with the file name as the id (which is how the
Peterson et al. similarity matrices name their stimuli).

The *fingerprint* of a stimulus set (ids plus a hash of every file's bytes, or of every
text) is part of the feature-cache key, so replacing an image with another of the same
name invalidates cached features.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._validation import check_option, preview
from ..data.images import IMAGE_SUFFIXES as _IMAGE_SUFFIXES
from ._hashing import digest_json, sha256_file

log = logging.getLogger(__name__)

__all__ = ["Stimuli", "image_stimuli", "text_stimuli", "as_stimuli", "text_from_id", "subset_per_class", "MODALITIES"]

#: The kinds of stimuli a model can take.
MODALITIES: tuple[str, ...] = ("image", "text")


@dataclass(frozen=True)
class Stimuli:
    """An ordered, validated set of stimuli of one modality.

    Parameters
    ----------
    ids : tuple of str
        Unique stimulus ids, in row order.
    items : tuple
        Image paths (``modality="image"``) or texts (``modality="text"``), aligned with ``ids``.
    modality : {"image", "text"}
    source : str
        Where they came from (a folder, a file, ``"pairs"``), for messages and metadata.
    labels : tuple of str or None
        A class label per stimulus (an ImageFolder's sub-folder names), or None.

    Examples
    --------
    >>> s = text_stimuli([("a", "a cat"), ("b", "a dog")])
    >>> s.ids, s.items
    (('a', 'b'), ('a cat', 'a dog'))
    """

    ids: tuple[str, ...]
    items: tuple[Any, ...]
    modality: str
    source: str = "pairs"
    labels: tuple[str, ...] | None = None
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_option("stimulus modality", self.modality, MODALITIES)
        if len(self.ids) != len(self.items):
            raise InputError(f"{self.source}: {len(self.ids)} stimulus ids but {len(self.items)} stimuli.")
        if not self.ids:
            raise InputError(f"{self.source}: no stimuli.")
        seen: set[str] = set()
        dups = [x for x in self.ids if x in seen or seen.add(x)]  # type: ignore[func-returns-value]
        if dups:
            raise InputError(f"{self.source}: {len(dups)} stimulus ids occur more than once: {preview(dups)}.")
        if self.labels is not None and len(self.labels) != len(self.ids):
            raise InputError(f"{self.source}: {len(self.labels)} labels for {len(self.ids)} stimuli.")

    def __len__(self) -> int:
        return len(self.ids)

    def fingerprint(self) -> str:
        """SHA-256 over the ids and the content of every stimulus (file bytes or text), in order."""
        if not self._fingerprint:
            if self.modality == "image":
                from .._progress import progress

                # thousands of small files (CIFAR, ImageNet-A) take seconds: one line, not one per file
                content = [[i, sha256_file(p)] for i, p in
                           progress(list(zip(self.ids, self.items)), desc="hashing stimuli", unit="file")]
            else:
                content = [[i, t] for i, t in zip(self.ids, self.items)]
            self._fingerprint.append(digest_json({"modality": self.modality, "stimuli": content}))
        return self._fingerprint[0]

    def first_per_class(self, n: int) -> Stimuli:
        """The first ``n`` stimuli of each class, in id order (a labelled set: an ImageFolder).

        Examples
        --------
        >>> s = text_stimuli([("b", "x"), ("a", "y"), ("c", "z")])
        >>> Stimuli(s.ids, s.items, "text", labels=("u", "u", "v")).first_per_class(1).ids
        ('a', 'c')
        """
        if self.labels is None:
            raise InputError(f"{self.source}: keeping the first N stimuli per class needs class labels: an "
                             "ImageFolder root (one sub-folder of images per class).")
        codes = np.unique(np.asarray(self.labels, dtype=str), return_inverse=True)[1]
        keep = subset_per_class(list(self.ids), codes, n)
        return Stimuli(tuple(self.ids[i] for i in keep), tuple(self.items[i] for i in keep), self.modality,
                       f"{self.source} (first {n} per class)", tuple(self.labels[i] for i in keep))

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary for metadata (never the full list of files)."""
        return {"source": self.source, "modality": self.modality, "n_stimuli": len(self), "fingerprint": self.fingerprint()}


def _pairs(source: Any, what: str) -> list[tuple[str, Any]]:
    if isinstance(source, Mapping):
        return [(str(k), v) for k, v in source.items()]
    out = []
    for i, entry in enumerate(source):
        if isinstance(entry, (str, bytes, os.PathLike)) or not isinstance(entry, Sequence) or len(entry) != 2:
            raise InputError(
                f"stimuli: entry {i} is {entry!r}; give {what} as (stimulus id, {what}) pairs, "
                "or an image folder."
            )
        out.append((str(entry[0]), entry[1]))
    return out


def image_stimuli(source: str | os.PathLike[str] | Iterable[tuple[str, str | os.PathLike[str]]] | Mapping[str, Any]) -> Stimuli:
    """Image stimuli from a folder or from ``(id, path)`` pairs.

    Parameters
    ----------
    source : path, sequence of paths, sequence of (str, path), or mapping
        A folder: every image file directly inside it, sorted by name, id = file name
        (sub-folders with images are then left out, said on the log); a folder with no
        images but class sub-folders (an ImageFolder root): as torchvision's
        ``ImageFolder``, every image below each class folder (nested folders included),
        ids ``<class>/<file>`` (``<class>/<sub>/<file>`` when nested), with the class
        names as labels. A list of paths: in
        the given order, id = file name. Pairs or a mapping ``{id: path}``: kept in the
        given order.

    Raises
    ------
    InputError
        No images, duplicate ids, or files that do not exist (all listed).
    """
    if isinstance(source, (str, os.PathLike)):
        from ..data.images import list_images

        folder = Path(source)
        if not folder.exists():
            raise DataNotFoundError(f"{folder}: no such folder of images.")
        paths = list_images(folder)
        classes = _class_folders(folder)
        if not paths:
            if classes:
                return _image_folder_stimuli(folder, classes)
            raise InputError(f"{folder}: contains no image files (.png, .jpg, ...).")
        if classes:  # an ImageFolder root with stray images, or a folder of stimuli with extras
            log.warning("%s: %d images directly inside are the stimuli; its %d sub-folders with images (%s) are "
                        "not included (an ImageFolder root holds only class sub-folders)",
                        folder, len(paths), len(classes), preview([c.name for c in classes]))
        return Stimuli(tuple(p.name for p in paths), tuple(paths), "image", str(folder))
    if not isinstance(source, Mapping):
        source = list(source)
        if source and all(isinstance(e, (str, os.PathLike)) for e in source):
            return _path_list_stimuli(source)
    pairs = _pairs(source, "image path")
    paths = [Path(p) for _, p in pairs]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataNotFoundError(f"stimuli: {len(missing)} image files do not exist: {preview(missing)}.")
    return Stimuli(tuple(i for i, _ in pairs), tuple(paths), "image", "pairs")


def _path_list_stimuli(paths: list[Any]) -> Stimuli:
    """A list of image paths: ids are the file names, as for a folder (so they must be unique)."""
    files = [Path(p) for p in paths]
    missing = [str(p) for p in files if not p.is_file()]
    if len(missing) == len(files):  # not one path exists: these are probably not paths at all
        raise InputError(
            f"stimuli: none of the {len(files)} entries is an existing image file ({preview(missing)}); give "
            "image paths, (stimulus id, image path) pairs, or an image folder."
        )
    if missing:
        raise DataNotFoundError(
            f"stimuli: {len(missing)} of {len(files)} image files in the list do not exist: {preview(missing)} "
            "(give existing image paths, (stimulus id, image path) pairs, or an image folder)."
        )
    names = [p.name for p in files]
    seen: set[str] = set()
    dups = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dups:
        raise InputError(
            f"stimuli: {len(dups)} file names occur in more than one folder ({preview(dups)}); the file name is "
            "the stimulus id, so give (id, path) pairs instead."
        )
    return Stimuli(tuple(names), tuple(files), "image", "list of paths")


def _images_below(folder: Path) -> list[Path]:
    """Every image in ``folder`` and its sub-folders, in torchvision ImageFolder's order
    (``os.walk`` sorted, files sorted; hidden files and folders skipped)."""
    from ..data.images import list_images

    found = []
    for root, _dirs, _files in sorted(os.walk(folder, followlinks=True)):
        if any(part.startswith(".") for part in Path(root).relative_to(folder).parts):
            continue
        found.extend(list_images(root))
    return found


def _class_folders(folder: Path) -> list[Path]:
    """Sub-folders holding images, at any depth below them (an ImageFolder root), sorted by
    name; hidden ones skipped. A sub-folder without images is left out, said on the log."""
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    with_images = [p for p in subs if _images_below(p)]
    empty = [p.name for p in subs if p not in with_images]
    if with_images and empty:
        log.warning("%s: %d sub-folders hold no images and are not classes: %s", folder, len(empty), preview(empty))
    return with_images


def _image_folder_stimuli(folder: Path, classes: list[Path]) -> Stimuli:
    """An ImageFolder root: ids ``<class>/<path below it>`` (sorted as torchvision's
    ImageFolder sorts), labels = the class folder names."""
    ids, paths, labels = [], [], []
    for sub in classes:
        for p in _images_below(sub):
            ids.append(p.relative_to(folder).as_posix())
            paths.append(p)
            labels.append(sub.name)
    log.info("%s: an ImageFolder of %d classes, %d images; the class folder names are the labels",
             folder, len(classes), len(ids))
    return Stimuli(tuple(ids), tuple(paths), "image", str(folder), labels=tuple(labels))


def text_from_id(stimulus_id: str) -> str:
    """The text a stimulus name stands for (:func:`repalign.data.names.label_from_filename`).

    Examples
    --------
    >>> text_from_id("ackee2.png"), text_from_id("air_conditioner"), text_from_id("sea-lion_03.jpg")
    ('ackee', 'air conditioner', 'sea lion')
    """
    from ..data.names import label_from_filename

    return label_from_filename(stimulus_id) or str(stimulus_id).strip()


def text_stimuli(source: str | os.PathLike[str] | Iterable[Any] | Mapping[str, str]) -> Stimuli:
    """Text stimuli: ``(id, text)`` pairs, a mapping, a list of names, or a text file.

    A list of plain strings, or a ``.txt`` file with one name a line, uses each name as
    its id and :func:`text_from_id` of it as the text (``air_conditioner`` ->
    ``air conditioner``), which suits concept lists such as THINGS' ``unique_id.txt``.

    Examples
    --------
    >>> text_stimuli(["air_conditioner", "aardvark"]).items
    ('air conditioner', 'aardvark')
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataNotFoundError(f"{path}: no such text file of stimulus names.")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not a UTF-8 text file ({exc}).") from exc
        names = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        if not names:
            raise InputError(f"{path}: no stimulus names (one a line expected).")
        return Stimuli(tuple(names), tuple(text_from_id(n) for n in names), "text", str(path))
    if isinstance(source, Mapping):
        pairs = [(str(k), str(v)) for k, v in source.items()]
    else:
        entries = list(source)
        if entries and all(isinstance(e, str) for e in entries):
            return Stimuli(tuple(entries), tuple(text_from_id(e) for e in entries), "text", "names")
        pairs = [(i, str(t)) for i, t in _pairs(entries, "text")]
    empty = [i for i, t in pairs if not t.strip()]
    if empty:
        raise InputError(f"stimuli: {len(empty)} texts are empty: {preview(empty)}.")
    return Stimuli(tuple(i for i, _ in pairs), tuple(t for _, t in pairs), "text", "pairs")


def _dataset_stimuli(reference: str, modality: str, data_root: Any = None) -> Stimuli:
    """A dataset reference such as ``peterson2018:animals`` (see :mod:`repalign.data.references`):
    its images in the order of its human matrix, or for text models its stimulus names."""
    from ..data import stimulus_images, stimulus_names

    if modality == "text":
        names = stimulus_names(reference, data_root=data_root)
        if not names.available:
            raise InputError(f"{reference}: no stimulus names for a text model: {names.source}.")
        ids = _reference_ids(reference, data_root)  # names come in the order of the human matrix
        return Stimuli(ids, tuple(names.names), "text", f"{reference} ({names.source})")  # type: ignore[arg-type]
    stim = image_stimuli(list(stimulus_images(reference, data_root=data_root)))
    return Stimuli(stim.ids, stim.items, "image", reference)


def _reference_ids(reference: str, data_root: Any = None) -> tuple[str, ...]:
    from ..data import load_reference

    return tuple(load_reference(reference, data_root=data_root).ids)


def as_stimuli(source: Any, *, modality: str = "image", data_root: str | os.PathLike[str] | None = None) -> Stimuli:
    """Turn what the user gave into :class:`Stimuli` for a model of ``modality``.

    Image models take an image folder, ``(id, path)`` pairs or a dataset reference
    (``peterson2018:animals``: its images in the order of its human matrix; ``data_root``
    is the dataset's folder when it is not registered). Text models take text stimuli, a
    ``.txt`` file of names, a dataset reference (its stimulus names), or image stimuli
    whose file names carry object names (``ackee2.png`` -> ``ackee``; see
    :func:`repalign.data.names.names_from_ids`).
    """
    check_option("model modality", modality, MODALITIES)
    if not isinstance(source, (Stimuli, str, os.PathLike, Mapping)):
        source = list(source)
    if isinstance(source, Stimuli):
        stim = source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            stim = image_stimuli(path)
        elif path.is_file() and path.suffix.lower() == ".txt":
            stim = text_stimuli(path)
        elif path.exists():
            raise InputError(
                f"{path}: stimuli must be a folder of images or a .txt file of stimulus names "
                f"(one a line); got a {path.suffix or 'suffix-less'} file."
            )
        else:
            from ..data import is_reference

            if not is_reference(str(source)):
                raise DataNotFoundError(
                    f"{source}: not an existing image folder, .txt file of stimulus names, or dataset "
                    "reference such as peterson2018:animals (`repalign data list` shows the datasets)."
                )
            stim = _dataset_stimuli(str(source), modality, data_root)
    elif modality == "text" and _looks_like_text(source):
        stim = text_stimuli(source)
    else:
        stim = image_stimuli(source)
    if stim.modality == modality:
        return stim
    if modality == "text":
        from ..data.names import names_from_ids

        names = names_from_ids(stim.ids)
        if not names.available:
            raise InputError(f"{stim.source}: no stimulus names for a text model: {names.source}.")
        log.info("text model: the stimulus names of %s (%s) are the texts", stim.source, names.source)
        return Stimuli(stim.ids, tuple(names.names), "text", stim.source)  # type: ignore[arg-type]
    raise InputError(f"{stim.source}: an image model cannot take text stimuli; give images.")


def _looks_like_text(source: Any) -> bool:
    if isinstance(source, Mapping):
        return all(isinstance(v, str) and not Path(v).suffix for v in source.values())
    entries = list(source)
    if all(isinstance(e, str) for e in entries):
        return True
    return all(
        isinstance(e, Sequence) and not isinstance(e, str) and len(e) == 2 and isinstance(e[1], str)
        and Path(e[1]).suffix.lower() not in _IMAGE_SUFFIXES for e in entries
    )


def subset_per_class(ids: list[str], labels: np.ndarray, max_per_class: int | None) -> np.ndarray:
    """Indices of the first ``max_per_class`` examples of each class, in id order (all when None).

    Examples
    --------
    >>> subset_per_class(["b", "a", "c", "d"], np.array([0, 0, 1, 1]), 1).tolist()
    [1, 2]
    """
    if max_per_class is None:
        return np.arange(len(ids))
    if isinstance(max_per_class, bool) or not isinstance(max_per_class, (int, np.integer)) or max_per_class < 1:
        raise InputError(f"max_per_class must be a whole number >= 1; got {max_per_class!r}.")
    order = np.argsort(np.asarray(ids, dtype=str), kind="stable")
    keep: list[int] = []
    counts: dict[int, int] = {}
    for i in order:
        c = int(labels[i])
        if counts.get(c, 0) < max_per_class:
            counts[c] = counts.get(c, 0) + 1
            keep.append(int(i))
    return np.sort(np.asarray(keep, dtype=np.intp))

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

import importlib
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import DataNotFoundError, InputError
from .._validation import check_option, preview
from ..data.images import IMAGE_SUFFIXES as _IMAGE_SUFFIXES
from ._hashing import digest_json, sha256_file

log = logging.getLogger(__name__)

__all__ = ["Stimuli", "image_stimuli", "text_stimuli", "as_stimuli", "text_from_id", "MODALITIES"]

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

    def __len__(self) -> int:
        return len(self.ids)

    def fingerprint(self) -> str:
        """SHA-256 over the ids and the content of every stimulus (file bytes or text), in order."""
        if not self._fingerprint:
            if self.modality == "image":
                content = [[i, sha256_file(p)] for i, p in zip(self.ids, self.items)]
            else:
                content = [[i, t] for i, t in zip(self.ids, self.items)]
            self._fingerprint.append(digest_json({"modality": self.modality, "stimuli": content}))
        return self._fingerprint[0]

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
    source : path or sequence of (str, path) or mapping
        A folder: every image file directly inside it, sorted by name, id = file name.
        Pairs or a mapping ``{id: path}``: kept in the given order.

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
        if not paths:
            raise InputError(f"{folder}: contains no image files (.png, .jpg, ...).")
        return Stimuli(tuple(p.name for p in paths), tuple(paths), "image", str(folder))
    pairs = _pairs(source, "image path")
    paths = [Path(p) for _, p in pairs]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataNotFoundError(f"stimuli: {len(missing)} image files do not exist: {preview(missing)}.")
    return Stimuli(tuple(i for i, _ in pairs), tuple(paths), "image", "pairs")


_TRAILING_NUMBER = re.compile(r"[\s_\-]*\d+$")


def text_from_id(stimulus_id: str) -> str:
    """The text a stimulus name stands for: no file suffix, ``_``/``-`` as spaces, no trailing number.

    Examples
    --------
    >>> text_from_id("ackee2.png"), text_from_id("air_conditioner"), text_from_id("sea-lion_03.jpg")
    ('ackee', 'air conditioner', 'sea lion')
    """
    stem = Path(stimulus_id).stem if Path(stimulus_id).suffix.lower() in _IMAGE_SUFFIXES else stimulus_id
    stem = _TRAILING_NUMBER.sub("", stem) or stem
    return re.sub(r"[\s_\-]+", " ", stem).strip()




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


def _dataset_stimuli(reference: str) -> Stimuli | None:
    """A dataset reference such as ``peterson2018:animals``, if :mod:`repalign.data` resolves it.

    The data package provides ``resolve_stimuli(reference) -> sequence of (id, path)``;
    until it does, references are refused with a message.
    """
    try:
        data = importlib.import_module("repalign.data")
    except ImportError:  # pragma: no cover - part of the package
        return None
    resolver = getattr(data, "resolve_stimuli", None)
    if resolver is None:
        return None
    pairs = resolver(reference)
    stim = image_stimuli(list(pairs))
    return Stimuli(stim.ids, stim.items, "image", reference)


def as_stimuli(source: Any, *, modality: str = "image") -> Stimuli:
    """Turn what the user gave into :class:`Stimuli` for a model of ``modality``.

    Image models take an image folder, ``(id, path)`` pairs or a dataset reference. Text
    models take text stimuli, a ``.txt`` file of names, or image stimuli, whose ids are
    turned into texts with :func:`text_from_id` (so a folder ``ackee2.png, ...`` becomes
    the words ``ackee, ...``).
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
            found = _dataset_stimuli(str(source)) if ":" in str(source) else None
            if found is None:
                raise DataNotFoundError(
                    f"{source}: not an existing image folder or .txt file of stimulus names"
                    + (" (dataset references are resolved by repalign.data, which does not know this one)" if ":" in str(source) else "")
                    + "."
                )
            stim = found
    elif modality == "text" and _looks_like_text(source):
        stim = text_stimuli(source)
    else:
        stim = image_stimuli(source)
    if stim.modality == modality:
        return stim
    if modality == "text":
        texts = tuple(text_from_id(i) for i in stim.ids)
        distinct = len(set(texts))
        log.info("text model: using the stimulus names of %s as texts (%d distinct)", stim.source, distinct)
        if distinct < len(texts):
            log.warning(
                "%d stimulus names reduce to only %d distinct texts (e.g. %r): their features will repeat",
                len(texts), distinct, texts[0],
            )
        return Stimuli(stim.ids, texts, "text", stim.source)
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

"""Dataset references: ``NAME:PART`` strings that stand for human data in place of a file.

``peterson2018:animals`` is the animals similarity matrix, ``things:spose`` the SPoSE
embedding, ``things:test`` the THINGS test triplets, ``lee:colour`` a matrix of Lee's
collection, ``mydata:cond1`` a part of a dataset registered with ``repalign data add``.
The folder is found by :func:`repalign.data.registry.dataset_root` (``data_root`` wins; it
may be the folder holding datasets or the dataset's own folder).

Each function parses the reference, looks up the dataset's adapter
(:mod:`repalign.data.adapters`) and loads only the requested part, through one memoised
index per (dataset, root): loading ``peterson2018:animals`` reads the animals files only,
and asking for its matrix, its split halves and its images reads each file once.

A string is a reference when it has the form ``name:part`` with a known dataset name and
is not an existing file; anything else is treated as a path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import DataNotFoundError, InputError
from ..representations import Representation
from .folders import MatrixPart
from .names import StimulusNames
from .triplets import TripletData

__all__ = [
    "DatasetReference",
    "matrix_part",
    "parse_reference",
    "is_reference",
    "malformed_reference",
    "load_reference",
    "load_reference_triplets",
    "stimulus_images",
    "stimulus_names",
    "split_halves",
    "resolve_representation",
    "resolve_triplets",
]

_PATTERN = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_\-]*):(?P<part>[A-Za-z0-9_.\-]+)$")


@dataclass(frozen=True)
class DatasetReference:
    """A parsed ``NAME:PART`` reference."""

    name: str
    part: str

    def __str__(self) -> str:
        return f"{self.name}:{self.part}"


def parse_reference(text: str) -> DatasetReference:
    """Parse ``NAME:PART`` (the dataset must be known).

    Examples
    --------
    >>> parse_reference("peterson2018:animals")
    DatasetReference(name='peterson2018', part='animals')
    """
    from .registry import get_dataset

    m = _PATTERN.match(str(text).strip())
    if m is None:
        raise InputError(f"{text!r} is not a dataset reference of the form NAME:PART (e.g. peterson2018:animals).")
    get_dataset(m["name"])  # an unknown dataset: an error listing the known ones
    return DatasetReference(m["name"], m["part"])


def is_reference(text: str | os.PathLike[str]) -> bool:
    """Whether ``text`` names a dataset part rather than a file (see the module docstring)."""
    from .registry import dataset_names

    if not isinstance(text, str) or os.path.exists(text):
        return False
    m = _PATTERN.match(text.strip())
    return m is not None and m["name"] in dataset_names()


_LOOSE = re.compile(r"^(?P<name>[^:/\\]*):(?P<part>.*)$", re.DOTALL)


def malformed_reference(text: object) -> InputError | DataNotFoundError | None:
    """The error for a string that is meant as a dataset reference but is not a valid one, else None.

    ``peterson2018:`` (no part), ``:animals`` (no name), ``Peterson2018:animals`` (a
    dataset name in other letter case or misspelt), ``peterson2018: animals`` (spaces) and
    ``peterson2018:animals:x`` would otherwise be read as file names and reported as "no
    such file". An existing file, a valid reference and a string unlike a reference give
    ``None``.

    Examples
    --------
    >>> str(malformed_reference("peterson2018:"))[:60]
    "'peterson2018:': a dataset reference names a part after the "
    >>> malformed_reference("peterson2018:animals") is None
    True
    """
    import difflib

    from .registry import dataset_names

    if not isinstance(text, str) or os.path.exists(text) or is_reference(text):
        return None
    m = _LOOSE.match(text)
    if m is None:
        return None
    name, part = m["name"].strip(), m["part"].strip()
    names = dataset_names()
    lowered = {n.lower(): n for n in names}
    known = name if name in names else lowered.get(name.lower())
    if known is None and name:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
        known = close[0] if close else None
    if known is None:
        if name == "" and part and _PATTERN.match(f"x:{part}"):
            return InputError(f"{text!r}: a dataset reference names its dataset before the ':' "
                              f"(NAME:PART, e.g. {names[0]}:{part}); known datasets: {', '.join(names)}.")
        if _PATTERN.match(text):  # NAME:PART in form, but neither a file nor a known dataset
            return DataNotFoundError(f"{text}: no such file, and {name!r} is not a known dataset "
                                     f"({', '.join(names)}; see `repalign data list`).")
        return None
    suggestion = f"{known}:{part}" if part and _PATTERN.match(f"{known}:{part}") else None
    if name != known:
        what = f"unknown dataset {name!r}" + ("; dataset names are case-sensitive" if name.lower() == known.lower() else "")
    elif not part:
        what = "a dataset reference names a part after the ':' (NAME:PART)"
    elif m["part"] != part or m["name"] != name:
        what = "spaces around the ':' are not part of a dataset reference"
    else:
        what = "a part name holds only letters, digits, '_', '.' and '-'"
    hint = f"did you mean {suggestion!r}?" if suggestion else f"its parts are listed by `repalign data info {known}`."
    return InputError(f"{text!r}: {what}; {hint}")


def _opened(ref: DatasetReference, data_root: str | os.PathLike[str] | None) -> tuple[Any, Any]:
    from .registry import get_adapter, open_dataset_at

    adapter = get_adapter(ref.name)
    refusal = adapter.refuse_reference(ref.part)
    if refusal is not None:
        raise refusal
    return adapter, open_dataset_at(ref.name, data_root)


def _as_reference(ref: str | DatasetReference) -> DatasetReference:
    return parse_reference(ref) if isinstance(ref, str) else ref


def matrix_part(ref: str | DatasetReference, *, data_root: str | os.PathLike[str] | None = None) -> MatrixPart:
    """The :class:`~repalign.data.folders.MatrixPart` a matrix reference stands for (memoised)."""
    r = _as_reference(ref)
    adapter, opened = _opened(r, data_root)
    return adapter.matrix_part(opened, r.part)


def load_reference(ref: str | DatasetReference, *, data_root: str | os.PathLike[str] | None = None) -> Representation:
    """The representation a reference stands for (a human matrix, or an embedding such as SPoSE).

    Examples
    --------
    >>> rep = load_reference("peterson2018:animals", data_root="../shared/data")  # doctest: +SKIP
    >>> rep.n_stimuli, rep.kind  # doctest: +SKIP
    (120, 'similarity')
    """
    r = _as_reference(ref)
    adapter, opened = _opened(r, data_root)
    return adapter.representation(opened, r.part)


def load_reference_triplets(
    ref: str | DatasetReference, *, data_root: str | os.PathLike[str] | None = None
) -> TripletData:
    """The triplet data a reference stands for (``things:test`` -> ``test_triplets.tsv``)."""
    r = _as_reference(ref)
    adapter, opened = _opened(r, data_root)
    return adapter.triplets(opened, r.part)


def stimulus_images(
    ref: str | DatasetReference, *, data_root: str | os.PathLike[str] | None = None
) -> list[tuple[str, Path]]:
    """``(stimulus id, image path)`` of a dataset part, in the order of its human matrix.

    This is what feature extraction needs: extract one feature vector per image, in this
    order, and the result lines up with the human matrix by id.

    Raises
    ------
    DataNotFoundError
        When the copy has no images for the part (it is usable matrix-only).
    InputError
        When a matrix id has no image or an image has no matrix id (both listed by name).

    Examples
    --------
    >>> pairs = stimulus_images("peterson2018:animals", data_root="../shared/data")  # doctest: +SKIP
    >>> pairs[0]  # doctest: +SKIP
    ('stim-0007.png', PosixPath('../shared/data/peterson2018/images/animals/stim-0007.png'))
    """
    return matrix_part(ref, data_root=data_root).stimulus_images()


def stimulus_names(
    ref: str | DatasetReference,
    *,
    data_root: str | os.PathLike[str] | None = None,
    names_file: str | os.PathLike[str] | None = None,
) -> StimulusNames:
    """Text names of a part's stimuli, in matrix order (for text models).

    From ``names_file`` when given, else the dataset's names (a names file, the labels a
    dataset ships, such as Lee's ``labs``), else the stimulus file names when they are
    informative (see :mod:`repalign.data.names`); ``.names`` is None with the reason in
    ``.source`` when there are none.
    """
    from .names import read_names_file

    r = _as_reference(ref)
    adapter, opened = _opened(r, data_root)
    if names_file:
        return read_names_file(names_file, adapter.stimulus_ids(opened, r.part))
    return adapter.stimulus_names(opened, r.part)


def split_halves(
    ref: str | DatasetReference, *, data_root: str | os.PathLike[str] | None = None
) -> tuple[Representation, Representation] | None:
    """The two split-half matrices of a part, or None when the copy has none."""
    part = matrix_part(ref, data_root=data_root)
    return part.load_split_halves() if part.split_halves is not None else None


def resolve_representation(
    spec: str | os.PathLike[str],
    *,
    data_root: str | os.PathLike[str] | None = None,
    kind: str | None = None,
    symmetrize: bool = False,
    id_column: str | None = None,
) -> Representation:
    """A file path or a dataset reference, as a representation (what ``repalign align`` accepts)."""
    from ..io import load_representation

    malformed = malformed_reference(spec)
    if malformed is not None:
        raise malformed
    if is_reference(spec):  # type: ignore[arg-type]
        if kind is not None:
            raise InputError(
                f"{spec}: the kind of a dataset reference is fixed by the dataset; drop --kind-a/--kind-b (kind=)."
            )
        return load_reference(str(spec), data_root=data_root)
    return load_representation(spec, kind=kind, symmetrize=symmetrize, id_column=id_column)  # FILE.mat:VARIABLE too


def resolve_triplets(
    spec: str | os.PathLike[str],
    *,
    data_root: str | os.PathLike[str] | None = None,
    items: str | os.PathLike[str] | None = None,
    index_base: int | None = None,
    choice_base: int | None = None,
) -> TripletData:
    """A triplet file or a triplet reference (``things:test``) as :class:`TripletData`.

    For an integer-indexed file without ``items``, an item list ``unique_id.txt`` next to
    it (the THINGS layout) is used. ``index_base`` and ``choice_base`` are inferred only
    when the file proves them (:func:`repalign.io.triplets.load_triplets`).
    """
    import logging

    from .things import CONCEPTS_FILE
    from .triplets import load_triplets

    malformed = malformed_reference(spec)
    if malformed is not None:
        raise malformed
    if is_reference(spec):  # type: ignore[arg-type]
        return load_reference_triplets(str(spec), data_root=data_root)
    p = Path(spec)
    if items is None and (p.parent / CONCEPTS_FILE).is_file():
        items = p.parent / CONCEPTS_FILE
        logging.getLogger(__name__).info("%s: item list %s (found next to it)", p, items)
    data = load_triplets(p, items=items, index_base=index_base, choice_base=choice_base)
    return data

"""Dataset references: ``NAME:PART`` strings that stand for human data in place of a file.

``peterson2018:animals`` is the animals similarity matrix, ``things:spose`` the SPoSE
embedding, ``things:test`` the THINGS test triplets, ``mydata:cond1`` a part of a dataset
registered with ``repalign data add``. The folder is found by
:func:`repalign.data.registry.dataset_root` (``data_root`` wins).

A string is a reference when it has the form ``name:part`` with a known dataset name and
is not an existing file; anything else is treated as a path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .._errors import InputError
from ..representations import Representation
from .names import StimulusNames
from .triplets import TripletData

__all__ = [
    "DatasetReference",
    "parse_reference",
    "is_reference",
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


def _matrix_part(ref: DatasetReference, data_root: str | os.PathLike[str] | None):  # -> MatrixPart
    from .registry import dataset_root, get_dataset

    if get_dataset(ref.name).kind != "matrices":
        raise InputError(f"{ref}: {ref.name} holds triplets and embeddings, not similarity matrices with stimuli.")
    root, _ = dataset_root(ref.name, data_root)
    if ref.name == "peterson2018":
        from .._validation import check_option
        from .peterson import DOMAINS, scan_peterson

        check_option("peterson2018 domain", ref.part, DOMAINS)
        return scan_peterson(root).part(ref.part)
    from .folders import read_folder_part

    return read_folder_part(root, ref.name, ref.part)


def load_reference(ref: str | DatasetReference, *, data_root: str | os.PathLike[str] | None = None) -> Representation:
    """The representation a reference stands for (a human matrix, or an embedding such as SPoSE).

    Examples
    --------
    >>> rep = load_reference("peterson2018:animals", data_root="../shared/data/peterson2018")  # doctest: +SKIP
    >>> rep.n_stimuli, rep.kind  # doctest: +SKIP
    (120, 'similarity')
    """
    r = parse_reference(ref) if isinstance(ref, str) else ref
    if r.name == "things":
        from .registry import dataset_root
        from .things import EMBEDDING_PART, load_spose

        if r.part != EMBEDDING_PART:
            raise InputError(
                f"{r}: a THINGS triplet file, not a representation; use {r.name}:{EMBEDDING_PART} for the embedding, "
                "or align with --metric odd-one-out to score a representation on these triplets."
            )
        return load_spose(dataset_root(r.name, data_root)[0])
    return _matrix_part(r, data_root).representation


def load_reference_triplets(
    ref: str | DatasetReference, *, data_root: str | os.PathLike[str] | None = None
) -> TripletData:
    """The triplet data a reference stands for (``things:test`` -> ``test_triplets.tsv``)."""
    from .registry import dataset_root, get_dataset
    from .things import load_things_triplets

    r = parse_reference(ref) if isinstance(ref, str) else ref
    if get_dataset(r.name).kind != "triplets":
        raise InputError(f"{r}: {r.name} holds similarity matrices, not triplet judgments.")
    return load_things_triplets(dataset_root(r.name, data_root)[0], r.part)


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
    >>> pairs = stimulus_images("peterson2018:animals", data_root="../shared/data/peterson2018")  # doctest: +SKIP
    >>> pairs[0]  # doctest: +SKIP
    ('stim-0007.png', PosixPath('../shared/data/peterson2018/images/animals/stim-0007.png'))
    """
    r = parse_reference(ref) if isinstance(ref, str) else ref
    return _matrix_part(r, data_root).stimulus_images()


def stimulus_names(
    ref: str | DatasetReference,
    *,
    data_root: str | os.PathLike[str] | None = None,
    names_file: str | os.PathLike[str] | None = None,
) -> StimulusNames:
    """Text names of a part's stimuli, in matrix order (for text models).

    From ``names_file`` when given, else the dataset's names file, else the stimulus file
    names when they are informative (see :mod:`repalign.data.names`); ``.names`` is None
    with the reason in ``.source`` when there are none.
    """
    from .names import read_names_file

    r = parse_reference(ref) if isinstance(ref, str) else ref
    if r.name == "things":
        from .registry import dataset_root
        from .things import concept_names, read_concepts

        concepts = read_concepts(dataset_root(r.name, data_root)[0])
        return read_names_file(names_file, concepts) if names_file else concept_names(concepts)
    part = _matrix_part(r, data_root)
    return read_names_file(names_file, part.ids) if names_file else part.names


def split_halves(
    ref: str | DatasetReference, *, data_root: str | os.PathLike[str] | None = None
) -> tuple[Representation, Representation] | None:
    """The two split-half matrices of a part, or None when the copy has none."""
    r = parse_reference(ref) if isinstance(ref, str) else ref
    part = _matrix_part(r, data_root)
    return part.load_split_halves() if part.split_halves is not None else None


def resolve_representation(
    spec: str | os.PathLike[str],
    *,
    data_root: str | os.PathLike[str] | None = None,
    kind: str | None = None,
    symmetrize: bool = False,
) -> Representation:
    """A file path or a dataset reference, as a representation (what ``repalign align`` accepts)."""
    from ..io import load_representation

    if is_reference(spec):  # type: ignore[arg-type]
        if kind is not None:
            raise InputError(f"{spec}: the kind of a dataset reference is fixed by the dataset; drop --kind.")
        return load_reference(str(spec), data_root=data_root)
    return load_representation(spec, kind=kind, symmetrize=symmetrize)  # FILE.mat:VARIABLE included


def resolve_triplets(
    spec: str | os.PathLike[str],
    *,
    data_root: str | os.PathLike[str] | None = None,
    items: str | os.PathLike[str] | None = None,
    index_base: int = 1,
) -> TripletData:
    """A triplet file or a triplet reference (``things:test``) as :class:`TripletData`.

    For an integer-indexed file without ``items``, an item list ``unique_id.txt`` next to
    it (the THINGS layout) is used.
    """
    import logging

    from .things import CONCEPTS_FILE
    from .triplets import load_triplets

    if is_reference(spec):  # type: ignore[arg-type]
        return load_reference_triplets(str(spec), data_root=data_root)
    p = Path(spec)
    if items is None and (p.parent / CONCEPTS_FILE).is_file():
        items = p.parent / CONCEPTS_FILE
        logging.getLogger(__name__).info("%s: item list %s (found next to it)", p, items)
    data = load_triplets(p, items=items, index_base=index_base)
    return data

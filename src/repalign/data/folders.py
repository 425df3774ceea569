"""Datasets kept as folders: one matrix per part, with its stimuli, halves and names.

The *folders* layout (the layout of ``../shared/data/peterson2018``, and the layout of any
dataset a user registers with ``repalign data add NAME PATH``)::

    ROOT/
      similarity/<part>.csv          labeled matrix (first row and column: stimulus ids);
                                     or <part>.tsv, <part>.mat, <part>.npy + <part>.ids.txt
      dissimilarity/<part>.csv       the same for dissimilarities (the folder states the kind)
      images/<part>/                 stimuli, named as the matrix ids (optional)
      split_halves/<part>_first_half.csv, <part>_second_half.csv
                                     the matrix from two halves of the participants (optional)
      names/<part>.txt or .csv       names of the stimuli for text models (optional)

Stimulus order always follows the matrix. An image is matched to a matrix id by its file
name, or by its name without suffix when the id has none (``dog1`` <-> ``dog1.jpg``).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import DataNotFoundError, InputError
from .._validation import preview
from ..representations import Representation
from .images import IMAGE_SUFFIXES, list_images
from .names import StimulusNames, names_from_ids, read_names_file

__all__ = [
    "MATRIX_SUFFIXES",
    "ImageMatch",
    "MatrixPart",
    "DatasetScan",
    "match_images",
    "load_matrix_file",
    "scan_matrix_folder",
    "part_files",
    "list_folder_parts",
    "read_folder_part",
]

log = logging.getLogger(__name__)

#: Matrix file types of the folders layout, in the order they are looked for.
MATRIX_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".npy", ".mat")
#: Folders of the folders layout whose name states the kind of the matrices in them.
KIND_FOLDERS: tuple[str, ...] = ("similarity", "dissimilarity")
_KIND_FOLDERS = KIND_FOLDERS
_HALVES = ("first", "second")


@dataclass(frozen=True)
class ImageMatch:
    """Images of a folder matched to matrix ids.

    Attributes
    ----------
    paths : tuple of Path or None
        One entry per matrix id, in matrix order; None where the id has no image.
    missing : tuple of str
        Matrix ids without an image.
    extra : tuple of str
        Image files without a matrix id.
    """

    folder: Path
    paths: tuple[Path | None, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing and not self.extra

    def problem(self, what: str) -> str:
        """A precise description of the mismatch (empty when complete)."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} matrix ids have no image in {self.folder}: {preview(self.missing)}")
        if self.extra:
            parts.append(f"{len(self.extra)} images in {self.folder} have no matrix id: {preview(self.extra)}")
        return f"{what}: " + "; ".join(parts) + "." if parts else ""


def match_images(ids: Sequence[str], folder: str | os.PathLike[str]) -> ImageMatch:
    """Match the image files of ``folder`` to matrix ``ids`` (by file name, else by stem).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for f in ("b.png", "a.jpg", "z.png"):
    ...     _ = (d / f).write_bytes(b"")
    >>> m = match_images(["a", "b.png", "c.png"], d)
    >>> [p.name if p else None for p in m.paths], m.missing, m.extra
    (['a.jpg', 'b.png', None], ('c.png',), ('z.png',))
    """
    root = Path(folder)
    files = list_images(root)
    by_name = {f.name: f for f in files}
    by_stem: dict[str, list[Path]] = defaultdict(list)
    for f in files:
        by_stem[f.stem].append(f)
    paths: list[Path | None] = []
    used: set[Path] = set()
    for x in ids:
        hit = by_name.get(x)
        if hit is None and Path(x).suffix.lower() not in IMAGE_SUFFIXES:
            candidates = by_stem.get(x, [])
            if len(candidates) > 1:
                raise InputError(
                    f"{root}: matrix id {x!r} matches several images ({', '.join(c.name for c in candidates)}); "
                    "name the ids with their file suffix."
                )
            hit = candidates[0] if candidates else None
        if hit is not None:
            used.add(hit)
        paths.append(hit)
    missing = tuple(x for x, p in zip(ids, paths) if p is None)
    extra = tuple(f.name for f in files if f not in used)
    return ImageMatch(root, tuple(paths), missing, extra)


def load_matrix_file(path: Path, *, kind: str | None, name: str, symmetrize: bool = False) -> Representation:
    """Read one matrix file of any supported type (CSV/TSV labeled matrix, NPY + ids, MAT)."""
    from ..io import load_matrix, load_representation

    if path.suffix.lower() in (".npy", ".mat"):
        return load_matrix(path, kind=kind, symmetrize=symmetrize, name=name)
    return load_representation(path, kind=kind, symmetrize=symmetrize, name=name)


@dataclass
class MatrixPart:
    """One matrix of a dataset (a Peterson domain, a user's condition), with its stimuli.

    Attributes
    ----------
    dataset, part : str
        ``part`` is the domain name; ``f"{dataset}:{part}"`` is the reference.
    layout : str
        ``"folders"`` or ``"original"`` (the Peterson release layout).
    representation : Representation
        The human matrix; its ids define the stimulus order.
    matrix_path : Path
    images : ImageMatch or None
        None when this copy has no images for the part (usable for matrix-only work).
    split_halves : (Path, Path) or None
    names : StimulusNames
    notes : list of str
        Facts worth reporting (e.g. which MATLAB variable was used).
    """

    dataset: str
    part: str
    layout: str
    representation: Representation
    matrix_path: Path
    images: ImageMatch | None
    split_halves: tuple[Path, Path] | None
    names: StimulusNames
    notes: list[str] = field(default_factory=list)
    image_hint: str = ""
    _halves: tuple[Representation, Representation] | None = field(default=None, repr=False, compare=False)

    @property
    def reference(self) -> str:
        return f"{self.dataset}:{self.part}"

    @property
    def ids(self) -> tuple[str, ...]:
        return self.representation.ids

    @property
    def n_stimuli(self) -> int:
        return self.representation.n_stimuli

    @property
    def has_images(self) -> bool:
        """True when every matrix id has an image and every image a matrix id."""
        return self.images is not None and self.images.complete

    def image_status(self) -> str:
        if self.images is None:
            return "no (matrix only)"
        if self.images.complete:
            return f"yes ({len(self.images.paths)})"
        return f"incomplete ({len(self.images.missing)} missing, {len(self.images.extra)} extra)"

    def stimulus_images(self) -> list[tuple[str, Path]]:
        """``(stimulus id, image path)`` in matrix order.

        Raises
        ------
        DataNotFoundError
            When this copy has no images for the part.
        InputError
            When a matrix id has no image or an image has no matrix id (both listed).
        """
        if self.images is None:
            raise DataNotFoundError(
                f"{self.reference}: this copy has no images (the matrix is usable on its own, not for image "
                f"models). {self._where_images()}"
            )
        if not self.images.complete:
            raise InputError(self.images.problem(self.reference))
        return [(x, p) for x, p in zip(self.ids, self.images.paths) if p is not None]

    def _where_images(self) -> str:
        where = self.image_hint or "the image folder of this layout"
        return f"To use image models, put the {self.n_stimuli} stimuli, named as the matrix ids, in {where}."

    def load_split_halves(self) -> tuple[Representation, Representation]:
        """The matrices of the two halves of the participants, in the full matrix's order."""
        if self.split_halves is None:
            raise DataNotFoundError(f"{self.reference}: no split-half matrices in this copy.")
        if self._halves is not None:  # read once per loaded part
            return self._halves
        kind = self.representation.kind
        halves = []
        for path, half in zip(self.split_halves, _HALVES):
            rep = load_matrix_file(path, kind=kind, name=f"{self.reference} ({half} half)")
            if set(rep.ids) != set(self.ids):
                only_half = [x for x in rep.ids if x not in self.representation.index]
                only_full = [x for x in self.ids if x not in rep.index]
                raise InputError(
                    f"{path}: the stimuli of the {half} half differ from those of {self.matrix_path}: "
                    f"{len(only_full)} only in the full matrix ({preview(only_full)}), "
                    f"{len(only_half)} only in the half ({preview(only_half)})."
                )
            halves.append(rep.select(self.ids))
        self._halves = (halves[0], halves[1])
        return self._halves

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "domain": self.part,
            "reference": self.reference,
            "n_stimuli": self.n_stimuli,
            "kind": self.representation.kind,
            "layout": self.layout,
            "matrix": str(self.matrix_path),
            "has_images": self.has_images,
            "image_folder": str(self.images.folder) if self.images is not None else None,
            "n_images": sum(p is not None for p in self.images.paths) if self.images is not None else 0,
            "missing_images": list(self.images.missing) if self.images is not None else [],
            "extra_images": list(self.images.extra) if self.images is not None else [],
            "names": self.names.available,
            "names_source": self.names.source,
            "split_halves": [str(p) for p in self.split_halves] if self.split_halves else None,
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class DatasetScan:
    """What a local copy of a matrix dataset holds: readable parts and precise problems."""

    dataset: str
    root: Path
    parts: dict[str, MatrixPart]
    problems: dict[str, str]
    expected: tuple[str, ...] = ()

    def part(self, name: str) -> MatrixPart:
        """The part ``name``; a clear error when it is absent or unreadable."""
        if name in self.parts:
            return self.parts[name]
        if name in self.problems:
            raise InputError(f"{self.dataset}:{name} in {self.root}: {self.problems[name]}")
        from .._validation import check_option

        check_option(f"part of {self.dataset}", name, sorted(set(self.parts) | set(self.expected)))
        raise DataNotFoundError(f"{self.dataset}:{name}: not found in {self.root}.")  # pragma: no cover

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "domains": [p.to_dict() for p in self.parts.values()],
            "problems": dict(self.problems),
        }


def _names_for(root: Path, part: str, ids: Sequence[str]) -> StimulusNames:
    for suffix in (".txt", ".csv", ".tsv"):
        candidate = root / "names" / f"{part}{suffix}"
        if candidate.is_file():
            return read_names_file(candidate, ids)
    return names_from_ids(ids)


def _find_matrix(root: Path, part: str) -> tuple[Path, str] | None:
    for kind in _KIND_FOLDERS:
        for suffix in MATRIX_SUFFIXES:
            candidate = root / kind / f"{part}{suffix}"
            if candidate.is_file():
                return candidate, kind
    return None


def _find_halves(root: Path, part: str) -> tuple[Path, Path] | None:
    folder = root / "split_halves"
    for suffix in MATRIX_SUFFIXES:
        pair = tuple(folder / f"{part}_{half}_half{suffix}" for half in _HALVES)
        present = [p.is_file() for p in pair]
        if all(present):
            return pair  # type: ignore[return-value]
        if any(present):
            have = pair[present.index(True)]
            raise InputError(f"{have}: only one split half is present; {pair[present.index(False)]} is missing.")
    return None


def part_files(root: Path, part: str) -> tuple[Path, ...]:
    """The files and folders :func:`read_folder_part` reads for ``part`` (nothing is read here)."""
    found = _find_matrix(root, part)
    paths: list[Path] = []
    if found is not None:
        paths.append(found[0])
        if found[0].suffix.lower() == ".npy":
            paths.append(found[0].with_suffix(".ids.txt"))
    folder = root / "split_halves"
    paths.extend(folder / f"{part}_{half}_half{suffix}" for suffix in MATRIX_SUFFIXES for half in _HALVES
                 if (folder / f"{part}_{half}_half{suffix}").exists())
    paths.extend(root / "names" / f"{part}{suffix}" for suffix in (".txt", ".csv", ".tsv")
                 if (root / "names" / f"{part}{suffix}").is_file())
    if (root / "images" / part).is_dir():
        paths.append(root / "images" / part)
    return tuple(paths)


def list_folder_parts(root: Path) -> list[str]:
    """Parts of a folders-layout dataset: the matrix files under ``similarity/`` and ``dissimilarity/``."""
    names: list[str] = []
    for kind in _KIND_FOLDERS:
        folder = root / kind
        if folder.is_dir():
            for f in sorted(folder.iterdir()):
                if f.is_file() and f.suffix.lower() in MATRIX_SUFFIXES and not f.name.startswith("."):
                    if f.stem not in names:
                        names.append(f.stem)
    return names


def read_folder_part(
    root: Path, dataset: str, part: str, *, kind: str | None = None, symmetrize: bool = False
) -> MatrixPart:
    """Read one part of a folders-layout dataset (see the module docstring).

    ``kind`` overrides the kind stated by the folder (used for datasets whose kind is known).
    """
    found = _find_matrix(root, part)
    if found is None:
        raise DataNotFoundError(
            f"{dataset}:{part}: no matrix in {root} (looked for similarity/{part}.csv, .tsv, .npy, .mat)."
        )
    path, folder_kind = found
    rep = load_matrix_file(path, kind=kind or folder_kind, name=f"{dataset}:{part}", symmetrize=symmetrize)
    rep.meta.update(dataset=dataset, part=part, layout="folders")
    image_dir = root / "images" / part
    images = match_images(rep.ids, image_dir) if image_dir.is_dir() else None
    if images is not None and not images.complete:
        log.warning("%s", images.problem(f"{dataset}:{part}"))
    return MatrixPart(
        dataset=dataset,
        part=part,
        layout="folders",
        representation=rep,
        matrix_path=path,
        images=images,
        split_halves=_find_halves(root, part),
        names=_names_for(root, part, rep.ids),
        image_hint=str(image_dir),
    )


def scan_matrix_folder(
    root: str | os.PathLike[str], dataset: str, *, expected: Sequence[str] = (), kind: str | None = None
) -> DatasetScan:
    """Scan a folders-layout dataset: every part it has, plus each expected part it lacks."""
    r = Path(root)
    if not r.is_dir():
        raise DataNotFoundError(f"{r}: not a folder.")
    parts: dict[str, MatrixPart] = {}
    problems: dict[str, str] = {}
    for part in [*expected, *(p for p in list_folder_parts(r) if p not in expected)]:
        try:
            parts[part] = read_folder_part(r, dataset, part, kind=kind)
        except (InputError, DataNotFoundError) as exc:
            problems[part] = str(exc)
    return DatasetScan(dataset, r, parts, problems, tuple(expected))

"""THINGS odd-one-out data (Hebart et al. 2020): concepts, SPoSE embedding, triplet files.

Expected layout of a local copy (the layout of ``../shared/data/things``)::

    ROOT/
      unique_id.txt                    the 1,854 concepts, one a line; line n is item n
      spose_embedding_49d_sorted.txt   49-d SPoSE embedding, one row per concept (optional)
      <part>_triplets.tsv              triplet files in the THINGS format (e.g. test_triplets.tsv)
      labels_49.mat                    names of the SPoSE dimensions (optional, not used)

References: ``things:spose`` is the SPoSE embedding (a feature representation whose ids
are the concepts); ``things:<part>`` is the triplet file ``<part>_triplets.tsv``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from ..representations import Representation
from ..io.matrices import read_id_list
from .names import StimulusNames, label_from_filename
from .triplets import TripletData, load_triplets, triplet_ceiling

__all__ = [
    "DATASET",
    "CONCEPTS_FILE",
    "EMBEDDING_FILE",
    "EMBEDDING_PART",
    "ThingsScan",
    "read_concepts",
    "concept_names",
    "load_spose",
    "triplet_files",
    "load_things_triplets",
    "scan_things",
]

DATASET = "things"
CONCEPTS_FILE = "unique_id.txt"
EMBEDDING_FILE = "spose_embedding_49d_sorted.txt"
EMBEDDING_PART = "spose"
_TRIPLET_SUFFIX = "_triplets"


def read_concepts(root: str | os.PathLike[str]) -> list[str]:
    """The concept ids in item order (line ``n`` of ``unique_id.txt`` is item ``n``)."""
    path = Path(root) / CONCEPTS_FILE
    if not path.is_file():
        raise DataNotFoundError(f"{DATASET}: no concept list {path}; it is needed to read the item indices.")
    return read_id_list(path)


def concept_names(concepts: list[str]) -> StimulusNames:
    """Text names of the concepts: ``bat1`` -> ``"bat"``, ``air_conditioner`` -> ``"air conditioner"``."""
    return StimulusNames(tuple(label_from_filename(c) for c in concepts), "concept ids")


def load_spose(root: str | os.PathLike[str]) -> Representation:
    """The SPoSE embedding as a feature representation with the concepts as ids."""
    concepts = read_concepts(root)
    path = Path(root) / EMBEDDING_FILE
    if not path.is_file():
        raise DataNotFoundError(f"{DATASET}:{EMBEDDING_PART}: no embedding file {path}.")
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise InputError(f"{path}: not a whitespace-separated table of numbers ({exc}).") from exc
    if values.shape[0] != len(concepts):
        raise InputError(
            f"{path}: {values.shape[0]} rows, but {CONCEPTS_FILE} lists {len(concepts)} concepts; each row "
            "must be one concept, in the same order."
        )
    return Representation.from_features(
        concepts, values, name=f"{DATASET}:{EMBEDDING_PART}",
        meta={"source": str(path), "dataset": DATASET, "part": EMBEDDING_PART, "labels": concept_names(concepts).names},
    )


def triplet_files(root: str | os.PathLike[str]) -> dict[str, Path]:
    """Triplet files of a copy: ``test_triplets.tsv`` is part ``test``."""
    r = Path(root)
    out: dict[str, Path] = {}
    for suffix in (".tsv", ".csv", ".txt"):
        for f in sorted(r.glob(f"*{_TRIPLET_SUFFIX}{suffix}")):
            out.setdefault(f.stem[: -len(_TRIPLET_SUFFIX)], f)
    return out


def load_things_triplets(root: str | os.PathLike[str], part: str = "test") -> TripletData:
    """Read ``<part>_triplets.tsv`` with the concept list as items (1-based indices)."""
    files = triplet_files(root)
    if not files:
        raise DataNotFoundError(f"{DATASET}:{part}: no triplet files (*{_TRIPLET_SUFFIX}.tsv) in {root}.")
    if part not in files:
        from .._validation import check_option

        check_option(f"{DATASET} triplet file", part, sorted(files))
    return load_triplets(files[part], items=read_concepts(root), index_base=1)


@dataclass
class ThingsScan:
    """What a local THINGS copy holds."""

    root: Path
    n_concepts: int
    embedding: dict[str, Any] | None
    triplets: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "n_concepts": self.n_concepts,
            "embedding": self.embedding,
            "triplets": self.triplets,
            "problems": dict(self.problems),
        }


def scan_things(root: str | os.PathLike[str]) -> ThingsScan:
    """Check a THINGS copy: the concept list (required), the embedding and every triplet file."""
    r = Path(root)
    if not r.is_dir():
        raise DataNotFoundError(f"{r}: not a folder.")
    concepts = read_concepts(r)
    scan = ThingsScan(r, len(concepts), None)
    try:
        rep = load_spose(r)
        scan.embedding = {"reference": f"{DATASET}:{EMBEDDING_PART}", "file": str(Path(r) / EMBEDDING_FILE),
                          "n_items": rep.n_stimuli, "n_dimensions": int(rep.values.shape[1])}
    except DataNotFoundError:
        scan.embedding = None
    except InputError as exc:
        scan.problems[EMBEDDING_PART] = str(exc)
    for part, path in triplet_files(r).items():
        try:
            data = load_triplets(path, items=concepts, index_base=1)
        except InputError as exc:
            scan.problems[part] = str(exc)
            continue
        entry = {
            "reference": f"{DATASET}:{part}", "file": str(path), "format": data.format,
            "n_triplets": data.n_triplets, "n_items_used": int(np.unique(data.triplets).size),
            "n_participants": len(data.participant_ids),
        }
        try:
            ceiling = triplet_ceiling(data)
            entry["noise_ceiling"] = {"lower": ceiling.lower, "upper": ceiling.upper, "n_repeated": ceiling.n_repeated}
        except InputError:
            entry["noise_ceiling"] = None  # no repeated triplets
        scan.triplets[part] = entry
    return scan

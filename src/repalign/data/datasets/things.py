"""THINGS odd-one-out data (Hebart et al. 2020): the card and adapter.

The files are read by :mod:`repalign.data.things`. Parts: ``spose`` (the SPoSE embedding, a
representation) and one part per ``<part>_triplets.tsv`` (triplet judgments).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..._errors import DataNotFoundError, InputError
from ..adapters import Dataset, DatasetAdapter, DatasetIndex, OpenDataset

CARD = Dataset(
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
        "them: repalign data add things PATH (or pass --data-root PATH)."
    ),
    parts=("spose", "test"),
    kind="triplets",
)

_CONCEPTS = "unique_id.txt"
_EMBEDDING = "spose_embedding_49d_sorted.txt"


class ThingsAdapter(DatasetAdapter):
    dataset = CARD

    def is_own_folder(self, folder: Path) -> bool:
        return (folder / _CONCEPTS).is_file()

    def index(self, root: Path) -> DatasetIndex:
        from ..things import triplet_files

        concepts = root / _CONCEPTS
        parts: dict[str, tuple[Path, ...]] = {}
        problems: dict[str, str] = {}
        if (root / _EMBEDDING).is_file():
            parts["spose"] = (concepts, root / _EMBEDDING)
        else:
            problems["spose"] = f"no embedding file {root / _EMBEDDING}"
        for part, path in triplet_files(root).items():
            parts[part] = (concepts, path)
        return DatasetIndex(self.name, root, parts, problems, (root,))

    def load_part(self, index: DatasetIndex, part: str) -> Any:
        from ..things import EMBEDDING_PART, load_spose, load_things_triplets

        return load_spose(index.root) if part == EMBEDDING_PART else load_things_triplets(index.root, part)

    def missing_part(self, index: DatasetIndex, part: str) -> Exception:
        from ..things import load_things_triplets

        try:
            load_things_triplets(index.root, part)
        except (InputError, DataNotFoundError) as exc:
            return exc
        return super().missing_part(index, part)  # pragma: no cover - the part exists after all

    def scan(self, opened: OpenDataset) -> Any:
        from ..things import scan_things

        return scan_things(opened.root)

    def summary(self, scan: Any) -> dict[str, Any]:
        if not scan.triplets and scan.embedding is None:
            raise InputError(f"{scan.root}: no triplet file (*_triplets.tsv) and no SPoSE embedding; nothing to register.")
        return {"parts": [*(["spose"] if scan.embedding else []), *scan.triplets], "problems": scan.problems}

    def matrix_part(self, opened: OpenDataset, part: str) -> Any:
        raise InputError(f"{self.name}:{part}: {self.name} holds triplets and embeddings, not similarity matrices with stimuli.")

    def representation(self, opened: OpenDataset, part: str) -> Any:
        from ..things import EMBEDDING_PART

        if part != EMBEDDING_PART:
            raise InputError(
                f"{self.name}:{part}: a THINGS triplet file, not a representation; use {self.name}:{EMBEDDING_PART} "
                "for the embedding, or align with --metric odd-one-out to score a representation on these triplets."
            )
        return opened.part(part)

    def triplets(self, opened: OpenDataset, part: str) -> Any:
        from ..things import EMBEDDING_PART

        if part == EMBEDDING_PART:
            raise InputError(f"{self.name}:{part}: the SPoSE embedding, not triplet judgments; use e.g. {self.name}:test.")
        return opened.part(part)

    def stimulus_ids(self, opened: OpenDataset, part: str) -> tuple[str, ...]:
        from ..things import read_concepts

        return tuple(read_concepts(opened.root))

    def stimulus_names(self, opened: OpenDataset, part: str) -> Any:
        from ..things import concept_names, read_concepts

        return concept_names(read_concepts(opened.root))


ADAPTER = ThingsAdapter()

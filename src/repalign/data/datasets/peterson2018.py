"""Peterson, Abbott & Griffiths (2018): six domains of 120 images with human similarity matrices.

The files are read by :mod:`repalign.data.peterson` (both layouts, per domain); this module
is the dataset's card and adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..adapters import Dataset, DatasetAdapter, DatasetIndex

#: The six domains, in the paper's order (the reader's table of release files has the same keys; a test checks).
DOMAINS: tuple[str, ...] = ("animals", "automobiles", "fruits", "furniture", "various", "vegetables")

CARD = Dataset(
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
        "repalign data add peterson2018 PATH (or pass --data-root PATH to each command)."
    ),
    parts=DOMAINS,
    kind="matrices",
)


class PetersonAdapter(DatasetAdapter):
    """Either layout, decided per domain: ``similarity/<domain>.*`` (folders) or ``<domain>/`` (original)."""

    dataset = CARD
    part_label = "domain"

    def is_own_folder(self, folder: Path) -> bool:
        sim = folder / "similarity"
        if sim.is_dir() and any(any(sim.glob(f"{d}.*")) for d in DOMAINS):
            return True
        return any((folder / d).is_dir() for d in DOMAINS)

    def index(self, root: Path) -> DatasetIndex:
        from ..folders import part_files
        from ..peterson import ORIGINAL_RELEASE, _walk

        parts: dict[str, tuple[Path, ...]] = {}
        problems: dict[str, str] = {}
        layouts: dict[str, str] = {}
        for d in DOMAINS:
            if (root / "similarity").is_dir() and any((root / "similarity").glob(f"{d}.*")):
                parts[d], layouts[d] = part_files(root, d), "folders"
            elif (root / d).is_dir():
                # The folders (two levels, as the reader looks) and MATLAB files the domain is read from.
                found = _walk(root / d, 2)
                parts[d] = (root / d, *(p for p in found if p.is_dir() or p.suffix.lower() == ".mat"))
                layouts[d] = "original"
            else:
                problems[d] = (
                    f"not found: expected similarity/{d}.csv (folders layout) or a folder {d}/ "
                    f"with {ORIGINAL_RELEASE[d].filename} and the images (original layout)"
                )
        watched = tuple(p for p in (root, root / "similarity", root / "split_halves", root / "images") if p.is_dir())
        return DatasetIndex(self.name, root, parts, problems, watched, {"layouts": layouts})

    def load_part(self, index: DatasetIndex, part: str, *, symmetrize: bool = False) -> Any:
        from ..folders import read_folder_part
        from ..peterson import read_original_domain

        if part not in index.parts:
            raise self.missing_part(index, part)
        if index.details["layouts"][part] == "folders":
            return read_folder_part(index.root, self.name, part, kind="similarity", symmetrize=symmetrize)
        return read_original_domain(index.root, part, symmetrize=symmetrize)


ADAPTER = PetersonAdapter()

"""Peterson, Abbott & Griffiths (2018): six domains of 120 images with human similarity matrices.

Two layouts are read, per domain:

``folders`` (the layout of ``../shared/data/peterson2018``)
    ``similarity/<domain>.csv`` (labeled matrix, ids are the image file names),
    ``images/<domain>/``, optional ``split_halves/<domain>_{first,second}_half.csv``.
    See :mod:`repalign.data.folders`.
``original`` (the authors' release)
    ``<domain>/`` holding the image folder and a MATLAB file (names below). The MATLAB
    file holds only the matrix; its row order is the order of the image file names as
    MATLAB's ``dir`` lists them (sorted by character code), which is the order of the
    labeled matrices of the folders layout too. Without an image folder the stimuli get
    positional ids ``<domain>-001`` ... and the domain is usable matrix-only.

Every matrix is a similarity matrix (mean rating; larger = more similar). A domain without
images is reported as matrix-only, never dropped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._validation import preview
from ..representations import Representation
from .folders import DatasetScan, MatrixPart, match_images, read_folder_part
from .images import list_images
from ..io.matrices import read_mat, select_mat_matrix
from .names import StimulusNames, names_from_ids

__all__ = ["DATASET", "DOMAINS", "ORIGINAL_RELEASE", "scan_peterson", "read_original_domain"]

log = logging.getLogger(__name__)

DATASET = "peterson2018"



@dataclass(frozen=True)
class OriginalFile:
    """The MATLAB file of a domain in the original release and its variable, where known."""

    filename: str
    variable: str | None


#: File (and variable) names of the original release. Variables marked None are not
#: documented; the single square matrix in the file is used (an error lists several).
ORIGINAL_RELEASE: dict[str, OriginalFile] = {
    "animals": OriginalFile("turkSimMatrix2016.mat", "simMatrixturk2016"),
    "automobiles": OriginalFile("simMatrix_mturkvehicles.mat", None),
    "fruits": OriginalFile("fruits_mturk_sim.mat", "simmat"),
    "furniture": OriginalFile("simMatrix_mturkfurniture.mat", None),
    "various": OriginalFile("simMatrix_mturkmurreplication.mat", None),
    "vegetables": OriginalFile("simMatrix_mturkveggies.mat", None),
}

#: The six domains, in the paper's order (the card in :mod:`repalign.data.datasets.peterson2018`
#: lists the same parts; a test keeps them equal).
DOMAINS: tuple[str, ...] = tuple(ORIGINAL_RELEASE)

_MAX_DEPTH = 2  # how deep below <domain>/ the MATLAB file and image folder are looked for


def _walk(folder: Path, depth: int) -> list[Path]:
    out: list[Path] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return out
    for entry in entries:
        if entry.name.startswith("."):
            continue
        out.append(entry)
        if entry.is_dir() and not entry.is_symlink() and depth > 1:
            out.extend(_walk(entry, depth - 1))
    return out


def _find_mat(domain_dir: Path, domain: str) -> tuple[Path, str | None]:
    expected = ORIGINAL_RELEASE[domain]
    entries = [p for p in _walk(domain_dir, _MAX_DEPTH) if p.is_file() and p.suffix.lower() == ".mat"]
    exact = [p for p in entries if p.name == expected.filename]
    if len(exact) == 1:
        return exact[0], None
    if len(exact) > 1:
        raise InputError(f"{domain_dir}: {len(exact)} copies of {expected.filename}: {preview(map(str, exact))}.")
    if len(entries) == 1:
        return entries[0], f"{expected.filename} not found; used {entries[0].name}, the only MATLAB file"
    if not entries:
        raise DataNotFoundError(
            f"{domain_dir}: no MATLAB file (expected {expected.filename} in the domain folder)."
        )
    raise InputError(
        f"{domain_dir}: {expected.filename} not found and {len(entries)} other MATLAB files are present "
        f"({preview(p.name for p in entries)}); keep only the similarity matrix's file."
    )


def _find_image_folder(domain_dir: Path) -> Path | None:
    if (domain_dir / "images").is_dir():
        return domain_dir / "images"
    with_images = [
        p for p in _walk(domain_dir, _MAX_DEPTH) if p.is_dir() and list_images(p)
    ]
    if len(with_images) > 1:
        raise InputError(
            f"{domain_dir}: several folders hold images ({preview(str(p.relative_to(domain_dir)) for p in with_images)}); "
            "keep one image folder per domain (named images/)."
        )
    if with_images:
        return with_images[0]
    return domain_dir if list_images(domain_dir) else None


def read_original_domain(root: str | os.PathLike[str], domain: str, *, symmetrize: bool = False) -> MatrixPart:
    """Read one domain in the original release layout (see the module docstring)."""
    domain_dir = Path(root) / domain
    if not domain_dir.is_dir():
        raise DataNotFoundError(f"{DATASET}:{domain}: no folder {domain_dir}.")
    mat_path, note = _find_mat(domain_dir, domain)
    notes = [note] if note else []
    expected = ORIGINAL_RELEASE[domain]
    variable, values = select_mat_matrix(read_mat(mat_path), preferred=expected.variable, source=str(mat_path))
    if expected.variable is not None and variable != expected.variable:
        notes.append(f"variable {expected.variable!r} not found; used {variable!r}, the only square matrix")
    elif expected.variable is None:
        notes.append(f"matrix from variable {variable!r}")
    n = values.shape[0]
    diag = np.diag(values).copy()
    if not np.isfinite(diag).all():
        # The diagonal (self-similarity) is never used by any metric; fill it instead of refusing.
        off = values[~np.eye(n, dtype=bool)]
        values = values.copy()
        np.fill_diagonal(values, np.nanmax(off[np.isfinite(off)]) if np.isfinite(off).any() else 0.0)
        notes.append("non-finite diagonal replaced by the largest similarity (the diagonal is not used)")
    image_dir = _find_image_folder(domain_dir)
    if image_dir is not None:
        files = list_images(image_dir)
        if len(files) != n:
            raise InputError(
                f"{DATASET}:{domain}: {mat_path.name} holds a {n} x {n} matrix but {image_dir} has {len(files)} "
                "images. In the original release the matrix rows follow the sorted image file names, so the "
                "stimuli can only be matched when the folder holds exactly the release's images."
            )
        ids = [f.name for f in files]
        names = names_from_ids(ids)
    else:
        ids = [f"{domain}-{i + 1:03d}" for i in range(n)]
        names = StimulusNames(None, "no image file names in this copy (matrix only)")
    rep = Representation(
        ids,
        values,
        kind="similarity",
        name=f"{DATASET}:{domain}",
        symmetrize=symmetrize,
        meta={"source": str(mat_path), "format": "mat", "variable": variable, "kind_source": "dataset definition",
              "dataset": DATASET, "part": domain, "layout": "original"},
    )
    images = match_images(ids, image_dir) if image_dir is not None else None
    return MatrixPart(DATASET, domain, "original", rep, mat_path, images, None, names, notes, str(domain_dir / "images"))


def scan_peterson(root: str | os.PathLike[str], *, symmetrize: bool = False) -> DatasetScan:
    """Read every domain of a local copy (either layout, per domain) and record what is missing.

    Examples
    --------
    >>> from repalign.data.peterson import scan_peterson  # doctest: +SKIP
    >>> scan = scan_peterson("../shared/data/peterson2018")  # doctest: +SKIP
    >>> [(d, p.n_stimuli, p.has_images) for d, p in scan.parts.items()][:2]  # doctest: +SKIP
    [('animals', 120, True), ('automobiles', 120, False)]
    """
    r = Path(root)
    if not r.is_dir():
        raise DataNotFoundError(f"{r}: not a folder.")
    from .adapters import open_dataset
    from .registry import get_adapter

    ADAPTER = get_adapter(DATASET)  # noqa: N806 - the dataset's adapter, looked up like any other

    if not symmetrize:
        return open_dataset(ADAPTER, r).scan()  # the memoised open every reference uses
    index = ADAPTER.index(r)
    parts: dict[str, MatrixPart] = {}
    problems = dict(index.problems)
    for domain in index.parts:
        try:
            parts[domain] = ADAPTER.load_part(index, domain, symmetrize=True)
        except (InputError, DataNotFoundError) as exc:
            problems[domain] = str(exc)
    return DatasetScan(DATASET, r, parts, problems, DOMAINS)

"""Michael Lee's collection of classic human similarity and proximity matrices (OSF ``ey9vp``).

The collection is one archive, ``all.zip``, of MATLAB files ``<name>.mat`` (52 matrices).
Each file holds ``s`` (a similarity matrix) and/or ``d`` (a proximity, i.e. dissimilarity,
matrix), ``n`` (the number of stimuli) and ``labs`` (one label per stimulus).

Rules (stated here and in ``docs/data.md``):

* the matrix is ``s`` when the file has it (kind: similarity); otherwise ``d`` (kind:
  dissimilarity). ``repalign data info lee`` prints which variable each part uses;
* the labels are the stimulus names, so text models can embed them; they are also the
  stimulus ids when they are distinct, otherwise the ids are ``<name>-001``, ... (and the
  labels stay the names);
* ``n`` must equal the size of the matrix; a non-finite diagonal (self-pairs are never
  used by any metric) is filled, with a note.

References are ``lee:<name>``, e.g. ``lee:colour``. ``repalign data fetch lee`` downloads
the archive, checks its SHA-256 and extracts it into ``<data dir>/lee/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..._errors import InputError
from ..adapters import Dataset, DatasetAdapter, DatasetIndex
from ..fetch import RemoteFile

#: The matrices of the collection (the member names of ``all.zip`` without ``.mat``).
NAMES: tuple[str, ...] = (
    "abstractnumbers", "animalnames11", "animalnames5", "animalpictures11", "animalpictures5", "auditory",
    "bankwiring", "birds_romney", "bodies_viken", "cartoonfaces", "clothing2_romney", "clothing_romney",
    "colour", "congress", "countriesdis", "countriessim", "country_robinsonhefner", "dotpatterns", "druguse",
    "faces11", "faces5", "faces_busey", "faces_steyvers", "fish_romney", "flowerpots", "fruit2_romney",
    "fruit_romney", "fruits", "furniture2_romney", "furniture_romney", "kinship_kimrosenberg", "letters",
    "lines_cohen", "morseall", "morsenumbers", "nonsense_romney", "phonemes", "rectangle_kruschke", "risks",
    "sizeangle_treat", "sport_romney", "texturebrodatz_heaps", "texturemit_heaps", "textures", "tools_romney",
    "toys_romney", "vegetables2_romney", "vegetables_romney", "vehicles2_romney", "vehicles_romney",
    "weapons2_romney", "weapons_romney",
)

ARCHIVE = RemoteFile(
    filename="all.zip",
    url="https://files.osf.io/v1/resources/ey9vp/providers/osfstorage/5e7a7065d2927f006fdd1cf9?action=download&direct&version=1",
    known_hash="sha256:8c799cdebb00192ecb63f3e28c6eeee0e2f64fcb8dad3bc68982e551f2ae5b1c",
    hash_source="SHA-256 published by the cblearn project (cblearn.datasets, the similarity-matrix collection)",
)

CARD = Dataset(
    name="lee",
    title="Michael Lee's collection of 52 human similarity and proximity matrices",
    citation=(
        "Collected and shared by Michael D. Lee, OSF project ey9vp (https://osf.io/ey9vp/). Each matrix comes "
        "from its own original study (e.g. the Romney et al. domains, Rosenberg & Kim's kinship terms); cite "
        "the study of the matrix you use as well as the collection."
    ),
    licence=(
        "Shared publicly on OSF for research use; each matrix belongs to its original study and its terms. "
        "repalign downloads it from OSF and does not redistribute it."
    ),
    stimuli=(
        "52 classic sets of stimuli (colours, Morse codes, letters, faces, animal names and pictures, "
        "countries, kinship terms, ...), each with a matrix aggregated over participants and one label per "
        "stimulus (used as the stimulus names for text models)."
    ),
    layout=(
        "<name>.mat for each matrix (the members of all.zip): s (similarity) and/or d (proximity, read as a "
        "dissimilarity), n (number of stimuli), labs (labels). s is used when present, else d."
    ),
    obtain="repalign data fetch lee (downloads all.zip from OSF and checks its SHA-256).",
    parts=NAMES,
    kind="matrices",
    remote=(ARCHIVE,),
)


def _labels(value: Any, n: int, source: str) -> list[str] | None:
    """``labs`` as n strings (a MATLAB char matrix, a cell array, or numbers), else None."""
    import numpy as np

    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        items = [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in arr.ravel()]
    elif arr.dtype == object:
        items = []
        for cell in arr.ravel():
            inner = np.asarray(cell).ravel()
            items.append(" ".join(str(x) for x in inner) if inner.size else "")
    elif arr.dtype.kind in "iuf":
        items = [f"{x:g}" for x in arr.ravel()]
    else:
        return None
    items = [x.strip() for x in items]
    if len(items) != n:
        raise InputError(f"{source}: 'labs' holds {len(items)} labels for a {n} x {n} matrix.")
    return items


def read_lee_matrix(path: Path, name: str) -> Any:
    """Read one ``<name>.mat`` of the collection as a :class:`~repalign.data.folders.MatrixPart`."""
    import numpy as np

    from ...io.matrices import read_mat
    from ...representations import Representation
    from ..folders import MatrixPart
    from ..names import StimulusNames

    source = str(path)
    variables = read_mat(path)
    if "s" in variables:
        variable, kind = "s", "similarity"
        notes = ["similarity from variable 's'" + (" ('d' is also present and not used)" if "d" in variables else "")]
    elif "d" in variables:
        variable, kind = "d", "dissimilarity"
        notes = ["no similarity 's' in the file: dissimilarity (proximity) from variable 'd'"]
    else:
        raise InputError(f"{source}: neither 's' (similarity) nor 'd' (proximity); the file holds {', '.join(variables) or 'nothing'}.")
    values = np.array(variables[variable], dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise InputError(f"{source}: variable {variable!r} is not a square matrix (shape {values.shape}).")
    n = values.shape[0]
    if "n" in variables and int(np.asarray(variables["n"]).ravel()[0]) != n:
        raise InputError(f"{source}: n = {int(np.asarray(variables['n']).ravel()[0])} but {variable!r} is {n} x {n}.")
    diag = np.diag(values)
    if not np.isfinite(diag).all():
        off = values[~np.eye(n, dtype=bool)]
        fill = (np.nanmax(off) if kind == "similarity" else 0.0) if np.isfinite(off).any() else 0.0
        np.fill_diagonal(values, fill)
        notes.append("non-finite diagonal filled (self-pairs are not used by any metric)")
    labels = _labels(variables.get("labs"), n, source)
    if labels is not None and len(set(labels)) == n and all(labels):
        ids, names = labels, StimulusNames(tuple(labels), "labels ('labs') of the .mat file")
    else:
        ids = [f"{name}-{i + 1:03d}" for i in range(n)]
        if labels is None:
            names = StimulusNames(None, "the file has no labels ('labs')")
        else:
            names = StimulusNames(tuple(labels), "labels ('labs') of the .mat file")
            notes.append("labels are not distinct, so the stimulus ids are positional (the labels stay the names)")
    rep = Representation(
        ids, values, kind=kind, name=f"lee:{name}",
        meta={"source": source, "format": "mat", "variable": variable, "dataset": "lee", "part": name,
              "layout": "lee", "kind_source": f"variable {variable!r} of the collection"},
    )
    return MatrixPart("lee", name, "lee", rep, path, None, None, names, notes, "")


class LeeAdapter(DatasetAdapter):
    dataset = CARD
    part_label = "matrix"

    def is_own_folder(self, folder: Path) -> bool:
        return any((folder / f"{n}.mat").is_file() for n in NAMES)

    def index(self, root: Path) -> DatasetIndex:
        found = {p.stem: (p,) for p in sorted(root.glob("*.mat")) if p.is_file()}
        parts = {**{n: found[n] for n in NAMES if n in found}, **{k: v for k, v in found.items() if k not in NAMES}}
        problems = {n: f"not found: expected {n}.mat in {root} (repalign data fetch lee)" for n in NAMES if n not in found}
        return DatasetIndex(self.name, root, parts, problems, (root,))

    def load_part(self, index: DatasetIndex, part: str) -> Any:
        if part not in index.parts:
            raise self.missing_part(index, part)
        return read_lee_matrix(index.parts[part][0], part)


ADAPTER = LeeAdapter()

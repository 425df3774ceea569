"""thingsvision output folders: ``features.<format>`` plus ``file_names.txt``.

`thingsvision <https://github.com/ViCCo-Group/thingsvision>`_ saves the features of one
extraction into a folder as one of

* ``features.npy`` (``np.save``), ``features.txt`` (``np.savetxt``), ``features.hdf5``
  (dataset ``features``), or ``features.mat`` (variable ``features``, or one variable per
  image named by its file name without extension);
* split files ``features_01.npy``, ``features_02.npy``, ... (or ``.txt``; ``.mat`` with one
  variable per image; datasets ``features_01``, ... inside ``features.hdf5``), stacked in
  their numeric order;

and its image dataset writes ``file_names.txt`` beside them: one image path a line, in
row order. The stimulus ids are the **file names** of those paths (``cat/cat_01.jpg`` ->
``cat_01.jpg``), which is how repalign names the images of a folder
(:func:`repalign.models.stimuli.image_stimuli`) and how the Peterson et al. matrices name
their stimuli. Two lines with the same file name are an error (the ids would collide).

Every rule is strict: several feature files of different formats, a count of file names
that differs from the rows, or features with more than two dimensions are errors, never
a choice made for the user.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._validation import preview
from ..representations import Representation
from ._checks import check_finite, real_array
from .hdf5 import read_hdf5_arrays
from .matrices import read_id_list, read_mat

__all__ = ["FILE_NAMES", "FEATURE_FORMATS", "is_thingsvision_folder", "is_thingsvision_file", "load_thingsvision"]

FILE_NAMES = "file_names.txt"
#: Feature file formats of thingsvision that repalign reads (``.pt`` would need torch).
FEATURE_FORMATS: tuple[str, ...] = ("npy", "txt", "mat", "hdf5")
_SPLIT = re.compile(r"^features_(\d+)\.(npy|txt|mat)$")
# thingsvision's two rm_suffix patterns: the one that names MATLAB variables when it saves
# (thingsvision/utils/storing/helpers.py: no .JPG/.JPEG, dots unescaped, kept as written) and
# the one of its datasets (utils/data/helpers.py). A variable is looked up under the first,
# then the second.
_STORING_EXTENSIONS = re.compile(r"(.eps|.jpg|.jpeg|.png|.PNG|.tif|.tiff)$")
_IMAGE_EXTENSIONS = re.compile(r"(\.eps|\.jpg|\.JPG|\.jpeg|\.JPEG|\.png|\.PNG|\.tif|\.tiff)$")


def is_thingsvision_folder(folder: Path) -> bool:
    """Whether ``folder`` holds thingsvision's output (a ``features.*`` file or ``file_names.txt``)."""
    return folder.is_dir() and (
        (folder / FILE_NAMES).is_file()
        or any((folder / f"features.{fmt}").is_file() for fmt in (*FEATURE_FORMATS, "pt"))
        or any(_SPLIT.match(p.name) for p in folder.iterdir())
    )


def _stimulus_ids(folder: Path) -> tuple[list[str], list[str]]:
    """(ids, lines) from ``file_names.txt``: the file name of every line, unique."""
    path = folder / FILE_NAMES
    if not path.is_file():
        raise InputError(
            f"{folder}: thingsvision features without {FILE_NAMES}, so the stimulus ids are unknown. thingsvision "
            f"writes {FILE_NAMES} into the output folder of its ImageDataset; copy it here (one image path a line, "
            "in the order of the feature rows)."
        )
    lines = read_id_list(path)
    # A line may be a POSIX or a Windows path; the id is its last component either way.
    ids = [PureWindowsPath(PurePosixPath(line).name).name for line in lines]
    seen: dict[str, list[str]] = {}
    for line, stimulus_id in zip(lines, ids):
        seen.setdefault(stimulus_id, []).append(line)
    repeated = {k: v for k, v in seen.items() if len(v) > 1}
    if repeated:
        example = next(iter(repeated.values()))
        raise InputError(
            f"{path}: {len(repeated)} file names occur more than once ({preview(list(repeated))}; e.g. "
            f"{preview(example, 2)}); the stimulus id of an image is its file name, so these would collide. "
            "Give the images unique file names."
        )
    return ids, lines


def _feature_sources(folder: Path) -> list[str]:
    found = [f"features.{fmt}" for fmt in (*FEATURE_FORMATS, "pt") if (folder / f"features.{fmt}").is_file()]
    splits = sorted({m.group(2) for p in folder.iterdir() if (m := _SPLIT.match(p.name))})
    return found + [f"features_NN.{fmt}" for fmt in splits if f"features.{fmt}" not in found]


def _read_splits(folder: Path, fmt: str, lines: list[str]) -> np.ndarray:
    parts = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _SPLIT.match(p.name)) and m.group(2) == fmt)
    numbers = [n for n, _ in parts]
    if numbers != list(range(1, len(numbers) + 1)):
        raise InputError(f"{folder}: split feature files are numbered {numbers}; expected 1 to {len(numbers)} without gaps.")
    if fmt == "mat":  # one variable per image, each in the file of its rows: look them up across all
        variables: dict[str, Any] = {}
        for _, path in parts:
            variables.update(read_mat(path))
        if "features" in variables:  # thingsvision's split without file names stores all rows in every file
            raise InputError(
                f"{folder}: split .mat files with a variable 'features' (thingsvision writes the whole matrix into "
                "each of them when it has no file names); save the features again with file_format='npy' or 'hdf5'."
            )
        return _mat_rows(variables, lines, folder / "features_NN.mat")
    blocks = [_read_one(p, fmt) for _, p in parts]
    return np.concatenate(blocks, axis=0)


def _read_one(path: Path, fmt: str) -> np.ndarray:
    if fmt == "npy":
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable .npy file ({exc}).") from exc
    try:
        return np.loadtxt(path, ndmin=2)
    except ValueError as exc:
        raise InputError(f"{path}: not a readable text matrix of numbers ({exc}).") from exc


def _read_mat_features(path: Path, lines: list[str]) -> np.ndarray:
    variables = read_mat(path)
    if "features" in variables:
        return np.asarray(variables["features"])
    return _mat_rows(variables, lines, path)


def _mat_rows(variables: dict[str, Any], lines: list[str], path: Path) -> np.ndarray:
    """One row per line of file_names.txt, from the MAT variable thingsvision named after it."""
    names = []
    for line in lines:
        candidates = (_STORING_EXTENSIONS.sub("", line), _IMAGE_EXTENSIONS.sub("", line))
        names.append(next((c for c in candidates if c in variables), candidates[0]))
    missing = [n for n in names if n not in variables]
    if missing:
        raise InputError(
            f"{path}: no variable 'features' and no variable per image (as thingsvision names them from "
            f"{FILE_NAMES}); missing {len(missing)}, e.g. {preview(missing)}; the file holds {preview(list(variables))}."
        )
    return np.stack([np.asarray(variables[n]).ravel() for n in names])


def _read_hdf5_features(path: Path) -> np.ndarray:
    arrays = read_hdf5_arrays(path)
    if "features" in arrays:
        return arrays["features"]
    splits = sorted((int(k.split("_")[1]), k) for k in arrays if re.fullmatch(r"features_\d+", k))
    if not splits:
        raise InputError(f"{path}: no dataset 'features' (or features_01, ...); it holds {preview(list(arrays))}.")
    return np.concatenate([arrays[k] for _, k in splits], axis=0)


def is_thingsvision_file(path: Path) -> bool:
    """Whether ``path`` is thingsvision's ``features.<format>`` with ``file_names.txt`` beside it."""
    return path.name in {f"features.{fmt}" for fmt in FEATURE_FORMATS} and (path.parent / FILE_NAMES).is_file()


def load_thingsvision(folder: str | Path, *, name: str | None = None, file: str | None = None) -> Representation:
    """Features saved by thingsvision, with the file names of ``file_names.txt`` as ids.

    ``file`` picks one feature file of the folder (``"features.npy"``) when it has several.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(out / "features.npy", np.arange(6.0).reshape(3, 2))
    >>> _ = (out / "file_names.txt").write_text("imgs/a.png\\nimgs/b.png\\nimgs/c.png\\n")
    >>> load_thingsvision(out).ids
    ('a.png', 'b.png', 'c.png')
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(f"{folder}: no such folder.")
    sources = [file] if file is not None else _feature_sources(folder)
    if not sources:
        raise InputError(
            f"{folder}: a thingsvision output folder holds features.npy, .txt, .mat or .hdf5 beside "
            f"{FILE_NAMES}; this one has none."
        )
    if len(sources) > 1:
        raise InputError(f"{folder}: several feature files ({', '.join(sources)}); keep one, or load it by its path.")
    source = sources[0]
    if source == "features.pt":
        raise InputError(
            f"{folder / source}: PyTorch tensors are not read by repalign's input layer (it never imports torch); "
            "save the features with thingsvision's file_format='npy' (or 'hdf5')."
        )
    ids, lines = _stimulus_ids(folder)
    path = folder / source
    fmt = source.rsplit(".", 1)[1]
    if source.startswith("features_NN"):
        raw = _read_splits(folder, fmt, lines)
    elif fmt == "mat":
        raw = _read_mat_features(path, lines)
    elif fmt == "hdf5":
        raw = _read_hdf5_features(path)
    else:
        raw = _read_one(path, fmt)
    values = real_array(raw, str(path), what="features")
    if values.ndim != 2:
        raise InputError(
            f"{path}: features of shape {values.shape}; repalign reads one vector per image (2-D). Extract them "
            "flattened or pooled (thingsvision: flatten_acts=True, or a pooled layer)."
        )
    if values.shape[0] != len(ids):
        raise InputError(f"{path}: {values.shape[0]} feature rows but {len(ids)} file names in {FILE_NAMES}.")
    check_finite(values, str(path), rows=ids, columns=[f"feature {j}" for j in range(values.shape[1])])
    meta: dict[str, Any] = {"source": str(folder), "format": f"thingsvision ({source})", "kind_source": "thingsvision"}
    return Representation(ids, values, kind="features", name=name or folder.name, meta=meta)

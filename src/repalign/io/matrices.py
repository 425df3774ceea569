"""Similarity matrices in the formats users have: NPY plus an id list, and MATLAB files.

(Labeled CSV/TSV matrices are read by :func:`repalign.load_representation`; this module
adds the formats without ids inside the matrix file.)

* **NPY + id list**: ``sim.npy`` holds the square matrix (read with
  ``allow_pickle=False``); the stimulus ids come from ``ids=`` (a sequence or a text file
  with one id a line, in row order) or, by default, from the file ``sim.ids.txt`` next to it.
* **MAT**: a MATLAB ``.mat`` file (v4-v7 through SciPy; v7.3/HDF5 through h5py). The
  matrix is the variable named by ``variable=``; without it, the one square numeric
  matrix in the file (an error lists the candidates when there are several). Ids come
  from ``ids=``, else from the one cell array of strings with one entry per row in the
  file, else from ``<stem>.ids.txt``.

The kind (similarity or dissimilarity) is given or detected from the diagonal exactly as
for CSV files (:func:`repalign.io.kind.detect_matrix_kind`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._validation import check_option, optional_import, preview
from ..representations import KINDS, SYMMETRY_ATOL, SYMMETRY_RTOL, Representation
from ._checks import check_finite, decode_ids, real_array
from .kind import detect_matrix_kind

__all__ = ["load_matrix", "load_npy", "read_id_list", "read_mat", "select_mat_matrix", "ids_file_for", "split_mat_variable"]

log = logging.getLogger(__name__)

_KINDS = ("similarity", "dissimilarity")


def split_mat_variable(spec: str | os.PathLike[str]) -> tuple[str, str | None]:
    """Split ``FILE.mat:VARIABLE`` into the file and the variable; anything else has no variable.

    The one place that parses this syntax. An existing file whose name happens to contain
    ``.mat:`` is taken as it is.

    Examples
    --------
    >>> split_mat_variable("lee/abstract.mat:s")
    ('lee/abstract.mat', 's')
    >>> split_mat_variable("sim.csv")
    ('sim.csv', None)
    """
    text = os.fspath(spec)
    head, sep, variable = text.rpartition(":")
    if sep and variable and head.lower().endswith(".mat") and not os.path.exists(text):
        return head, variable
    return text, None


def ids_file_for(path: str | os.PathLike[str]) -> Path:
    """The default id list of a matrix file: ``sim.npy`` -> ``sim.ids.txt``."""
    p = Path(path)
    return p.with_name(p.stem + ".ids.txt")


def read_id_list(path: str | os.PathLike[str]) -> list[str]:
    """Stimulus ids, one a line (surrounding blanks and trailing empty lines dropped).

    Raises
    ------
    InputError
        On an empty line between ids (the order would silently shift).
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: id list not found.")
    lines = [line.strip() for line in p.read_text(encoding="utf-8-sig").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    blank = [i + 1 for i, line in enumerate(lines) if not line]
    if blank:
        raise InputError(f"{p}: empty lines at {preview(blank)}; an id list holds one id on every line.")
    return lines


def read_mat(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The variables of a MATLAB file (``__header__`` and friends dropped).

    v7.3 files (HDF5) need h5py; their arrays are transposed back to MATLAB's row order.
    """
    import scipy.io

    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: MATLAB file not found.")
    if _is_hdf5(p):
        return _read_mat_v73(p)
    try:
        data = scipy.io.loadmat(p)
    except NotImplementedError:  # a v7.3 header scipy recognises
        return _read_mat_v73(p)
    except Exception as exc:  # noqa: BLE001 - scipy's parser raises many types on malformed files
        raise InputError(f"{p}: not a readable MATLAB file ({type(exc).__name__}: {exc}).") from exc
    return {k: v for k, v in data.items() if not k.startswith("__")}


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _is_hdf5(path: Path) -> bool:
    # HDF5 files start with the signature at offset 0 or after a user block (MATLAB: 512 bytes).
    with open(path, "rb") as fh:
        head = fh.read(2048 + len(_HDF5_SIGNATURE))
    return any(head[o : o + len(_HDF5_SIGNATURE)] == _HDF5_SIGNATURE for o in (0, 512, 1024, 2048))


def _read_mat_v73(path: Path) -> dict[str, Any]:
    h5py = optional_import("h5py", extra="io", purpose=f"Reading the MATLAB v7.3 file {path}")
    out: dict[str, Any] = {}
    try:
        with h5py.File(path, "r") as fh:
            for key, value in fh.items():
                if isinstance(value, h5py.Dataset) and not key.startswith("#"):
                    arr = value[()]
                    out[key] = arr.T if getattr(arr, "ndim", 0) == 2 else arr  # MATLAB is column-major
    except OSError as exc:
        raise InputError(f"{path}: not a readable MATLAB v7.3 (HDF5) file ({exc}).") from exc
    return out


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    return f"{'x'.join(map(str, shape))} {dtype}" if shape is not None else type(value).__name__


def _is_square_numeric(value: Any) -> bool:
    return (
        isinstance(value, np.ndarray)
        and value.ndim == 2
        and value.shape[0] == value.shape[1]
        and value.shape[0] >= 3
        and (np.issubdtype(value.dtype, np.number) or value.dtype == bool)
    )


def select_mat_matrix(
    variables: Mapping[str, Any], *, preferred: str | None = None, source: str = "MATLAB file", strict: bool = False
) -> tuple[str, np.ndarray]:
    """Pick the similarity matrix among the variables of a MATLAB file.

    Parameters
    ----------
    variables : mapping
        Variable name -> value, as returned by :func:`read_mat`.
    preferred : str, optional
        The expected variable name. Used when present; otherwise (unless ``strict``) the
        single square numeric matrix in the file is used and the substitution is logged.
    strict : bool
        Require ``preferred`` (the user named the variable explicitly).

    Raises
    ------
    InputError
        When the variable is missing (strict), when no square numeric matrix exists, or when
        there are several and none has the preferred name; the message lists them.

    Examples
    --------
    >>> import numpy as np
    >>> select_mat_matrix({"simmat": np.eye(3), "n": np.array([[3]])}, preferred="simMatrix")[0]
    'simmat'
    """
    listing = ", ".join(f"{k} ({_describe(v)})" for k, v in variables.items()) or "none"
    if preferred is not None and preferred in variables:
        value = variables[preferred]
        if not _is_square_numeric(value):
            raise InputError(
                f"{source}: variable {preferred!r} is not a square numeric matrix ({_describe(value)})."
            )
        return preferred, _real_matrix(value, preferred, source)
    if strict and preferred is not None:
        raise InputError(f"{source}: no variable {preferred!r}; the file holds: {listing}.")
    candidates = [k for k, v in variables.items() if _is_square_numeric(v)]
    if not candidates:
        raise InputError(f"{source}: no square numeric matrix (at least 3 x 3) among its variables: {listing}.")
    if len(candidates) > 1:
        expected = f"none is named {preferred!r}, and " if preferred else ""
        raise InputError(
            f"{source}: {expected}{len(candidates)} variables could be the similarity matrix: "
            f"{', '.join(f'{k} ({_describe(variables[k])})' for k in candidates)}. Name the one to use "
            "(variable=..., CLI: NAME.mat:VARIABLE)."
        )
    name = candidates[0]
    if preferred is not None:
        log.info("%s: variable %r not found; using %r, the only square matrix in the file", source, preferred, name)
    return name, _real_matrix(variables[name], name, source)


def _real_matrix(value: Any, name: str, source: str) -> np.ndarray:
    if np.iscomplexobj(value):  # float64 casting would drop the imaginary parts with only a numpy warning
        raise InputError(
            f"{source}: variable {name!r} holds complex numbers; repalign compares real-valued matrices. "
            "Save its real part or magnitude (real(M) or abs(M) in MATLAB) explicitly."
        )
    return np.asarray(value, dtype=np.float64)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _cell_strings(value: Any) -> list[str] | None:
    """A MATLAB cell array of strings (or char matrix) as a list, else None (bytes decoded)."""
    if not isinstance(value, np.ndarray):
        return None
    if value.dtype.kind in "US":
        if value.ndim == 1 or (value.ndim == 2 and 1 in value.shape):
            return [_text(x).strip() for x in value.ravel().tolist()]
        return None
    if value.dtype == object and (value.ndim == 1 or (value.ndim == 2 and 1 in value.shape)):
        out = []
        for cell in value.ravel():
            arr = np.asarray(cell)
            if arr.dtype.kind not in "US" or arr.size != 1:
                return None
            out.append(_text(arr.ravel().tolist()[0]).strip())
        return out
    return None


def _ids_from_mat(variables: Mapping[str, Any], n: int, source: str) -> tuple[list[str], str] | None:
    found = {k: s for k, v in variables.items() if (s := _cell_strings(v)) is not None and len(s) == n}
    if len(found) == 1:
        key, ids = next(iter(found.items()))
        return ids, f"variable {key!r}"
    if len(found) > 1:
        raise InputError(
            f"{source}: several variables could hold the {n} stimulus ids ({', '.join(found)}); "
            "give the ids explicitly (Python: ids=...; or an id list file next to it, "
            f"{ids_file_for(source).name})."
        )
    others = {k: len(s) for k, v in variables.items() if (s := _cell_strings(v)) is not None and len(s) > 1}
    if others and not ids_file_for(source).is_file():  # an id list of the wrong length is not "no ids"
        listing = ", ".join(f"{k!r} has {m}" for k, m in others.items())
        raise InputError(
            f"{source}: the matrix has {n} rows, but no cell array of strings has {n} entries ({listing}); "
            f"give the {n} ids explicitly (Python: ids=...; or an id list file next to it, {ids_file_for(source).name})."
        )
    return None


def _resolve_ids(
    p: Path, ids: Sequence[str] | str | os.PathLike[str] | None, file_ids: tuple[list[str], str] | None,
    n: int, shape: str, meta: dict[str, Any],
) -> list[str]:
    """The id list: given, else found in the file, else ``<stem>.ids.txt``; its length checked."""
    if ids is not None:
        if isinstance(ids, (str, os.PathLike)):
            id_list, meta["ids_source"] = read_id_list(ids), str(ids)
        else:
            id_list, meta["ids_source"] = decode_ids(list(ids), str(p)), "given"
    elif file_ids is not None:
        id_list, meta["ids_source"] = file_ids
    elif ids_file_for(p).is_file():
        id_list, meta["ids_source"] = read_id_list(ids_file_for(p)), str(ids_file_for(p))
    else:
        raise InputError(
            f"{p}: a {shape} without stimulus ids. Put one id a line, in row order, in "
            f"{ids_file_for(p)} (or pass ids=...)."
        )
    if len(id_list) != n:
        raise InputError(f"{p}: {len(id_list)} stimulus ids ({meta['ids_source']}) for a {shape}.")
    return id_list


def _read_npy(p: Path) -> np.ndarray:
    try:
        values = np.load(p, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise InputError(f"{p}: cannot read without pickle (object arrays are refused): {exc}.") from exc
        raise InputError(f"{p}: not a valid .npy file (truncated or corrupt: {exc}).") from exc
    except (OSError, EOFError) as exc:
        raise InputError(f"{p}: not a valid .npy file ({exc}).") from exc
    return real_array(values, str(p))


def _matrix(
    values: np.ndarray, id_list: list[str], kind: str | None, meta: dict[str, Any], source: str,
    symmetrize: bool, name: str,
) -> Representation:
    check_finite(values, source, rows=id_list, columns=id_list, matrix=True)
    if kind is None:
        kind, reason = detect_matrix_kind(values, source=source)
        meta["kind_source"] = f"detected: {reason}"
    else:
        meta["kind_source"] = "given"
    return Representation(id_list, values, kind=kind, name=name, symmetrize=symmetrize, meta=meta)


def load_matrix(
    path: str | os.PathLike[str],
    *,
    ids: Sequence[str] | str | os.PathLike[str] | None = None,
    kind: str | None = None,
    variable: str | None = None,
    symmetrize: bool = False,
    name: str | None = None,
) -> Representation:
    """Read a similarity or dissimilarity matrix from ``.npy`` or ``.mat`` (see the module docstring).

    Parameters
    ----------
    path : path-like
        The matrix file. A ``.mat`` path may end in ``:VARIABLE`` to name the variable.
    ids : sequence of str or path-like, optional
        Stimulus ids in row order, or a text file with one id a line.
    kind : {"similarity", "dissimilarity"}, optional
        Detected from the diagonal when not given.
    variable : str, optional
        The MATLAB variable holding the matrix.
    symmetrize : bool
        Accept an asymmetric matrix as ``(M + M.T) / 2``.
    name : str, optional
        Display name (default: the file name).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "sim.npy", np.array([[1, .5, .2], [.5, 1, .1], [.2, .1, 1]]))
    >>> _ = (folder / "sim.ids.txt").write_text("a\\nb\\nc\\n")
    >>> rep = load_matrix(folder / "sim.npy")
    >>> rep.kind, rep.ids
    ('similarity', ('a', 'b', 'c'))
    """
    if kind is not None:
        check_option("kind", kind, _KINDS)
    text, named = split_mat_variable(path)
    variable = variable if variable is not None else named
    p = Path(text)
    source = str(p)
    if not p.is_file():
        raise DataNotFoundError(f"{source}: no such file.")
    suffix = p.suffix.lower()
    meta: dict[str, Any] = {"source": source}
    file_ids: tuple[list[str], str] | None = None
    if suffix == ".npy":
        values = _read_npy(p)
        if values.ndim != 2 or values.shape[0] != values.shape[1]:
            raise InputError(f"{source}: expected a square 2-D matrix; got shape {values.shape}.")
        meta["format"] = "npy"
    elif suffix == ".mat":
        variables = read_mat(p)
        var_name, values = select_mat_matrix(variables, preferred=variable, source=source, strict=variable is not None)
        meta.update(format="mat", variable=var_name)
        if ids is None:
            file_ids = _ids_from_mat(variables, values.shape[0], source)
    else:
        raise InputError(f"{source}: load_matrix reads .npy and .mat files; got {suffix!r}.")
    n = values.shape[0]
    id_list = _resolve_ids(p, ids, file_ids, n, f"{n} x {n} matrix", meta)
    return _matrix(values, id_list, kind, meta, source, symmetrize, name or p.name)


def load_npy(
    path: str | os.PathLike[str],
    *,
    ids: Sequence[str] | str | os.PathLike[str] | None = None,
    kind: str | None = None,
    symmetrize: bool = False,
    name: str | None = None,
) -> Representation:
    """A ``.npy`` array with an id list: a matrix or features, by a stated rule.

    * ``kind`` given: that kind (a matrix must be square).
    * not square (``n_stimuli x n_features``): **features**; a matrix is always square, so
      this is unambiguous (logged at info level).
    * square and symmetric: a **matrix**, its kind read from the diagonal
      (:func:`~repalign.io.kind.detect_matrix_kind`).
    * square and not symmetric: an error; ``kind="features"`` (CLI ``--kind-a/--kind-b
      features``) for features with as many dimensions as stimuli, or ``symmetrize=True``
      (CLI ``--symmetrize``) for an asymmetric matrix.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "features.npy", np.arange(12.0).reshape(3, 4))
    >>> load_npy(folder / "features.npy", ids=["a", "b", "c"]).kind
    'features'
    """
    if kind is not None:
        check_option("kind", kind, KINDS)
    p = Path(path)
    source = str(p)
    if not p.is_file():
        raise DataNotFoundError(f"{source}: no such file.")
    values = _read_npy(p)
    if values.ndim != 2:
        raise InputError(f"{source}: expected a 2-D array (stimuli x features, or a square matrix); got shape {values.shape}.")
    n, d = values.shape
    meta: dict[str, Any] = {"source": source, "format": "npy"}
    square = n == d
    matrix = kind in _KINDS or (kind is None and square)
    if matrix and not square:
        raise InputError(f"{source}: a {kind} matrix must be square; got shape {values.shape}.")
    id_list = _resolve_ids(p, ids, None, n, f"{n} x {d} {'matrix' if matrix else 'feature array'}", meta)
    if kind is None and square:
        check_finite(values, source, rows=id_list, columns=id_list, matrix=True)
        tol = SYMMETRY_ATOL + SYMMETRY_RTOL * float(np.abs(values).max())
        if not symmetrize and not (np.abs(values - values.T) <= tol).all():
            raise InputError(
                f"{source}: a square {n} x {n} array that is not symmetric, so neither clearly a matrix nor clearly "
                "features. Pass kind='features' (CLI: --kind-a/--kind-b features) if its rows are feature vectors, "
                "or symmetrize=True (CLI: --symmetrize) if it is an asymmetric similarity matrix."
            )
    if matrix:
        return _matrix(values, id_list, kind, meta, source, symmetrize, name or p.name)
    check_finite(values, source, rows=id_list, columns=[f"feature {j}" for j in range(d)])
    meta["kind_source"] = "given" if kind else f"detected: {n} x {d} is not square, so features"
    if kind is None:
        log.info("%s: read as features (%d stimuli x %d features; a matrix would be square)", source, n, d)
    return Representation(id_list, values, kind="features", name=name or p.name, meta=meta)

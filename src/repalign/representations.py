"""Representations: a set of stimulus ids plus features, similarities or dissimilarities.

The kind of a matrix is always explicit. Confusing a similarity matrix with a
dissimilarity matrix silently flips the sign of every rank metric, so a
:class:`Representation` is only ever built with its kind named
(:meth:`Representation.from_similarity`, :meth:`Representation.from_dissimilarity`,
:meth:`Representation.from_features`), and every metric asks it for similarities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ._errors import InputError
from ._validation import check_flag, check_option, preview
from .similarity import SIMILARITY_FUNCTIONS, similarity_matrix

__all__ = ["KINDS", "Representation", "match_stimuli"]

#: The three kinds of representation.
KINDS: tuple[str, ...] = ("features", "similarity", "dissimilarity")

#: Asymmetry tolerated in a matrix before it is an error: |M - M.T| <= ATOL + RTOL * max|M|.
SYMMETRY_ATOL = 1e-10
SYMMETRY_RTOL = 1e-8

MIN_STIMULI = 3


def _id_text(x: Any, source: str) -> str:
    if x is None or (isinstance(x, (float, np.floating)) and np.isnan(x)):
        # str() would make the ids "None" and "nan", which then match nothing (or each other)
        raise InputError(f"{source}: a stimulus id is missing ({x!r}); every stimulus needs a text id.")
    if isinstance(x, (bytes, bytearray)):
        try:
            return bytes(x).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: stimulus id {bytes(x)!r} is bytes that are not UTF-8 text ({exc}).") from exc
    return str(x)


def _as_ids(ids: Iterable[Any], source: str) -> tuple[str, ...]:
    if isinstance(ids, str):
        raise InputError(f"{source}: ids must be a sequence of stimulus ids, not a single string.")
    if not isinstance(ids, Iterable) or isinstance(ids, (bytes, Mapping)):
        raise InputError(f"{source}: ids must be a sequence of stimulus ids; got {type(ids).__name__}.")
    # Bytes ids (numpy 'S' arrays, common from h5py and MATLAB) are decoded, never rendered as "b'x'".
    out = tuple(_id_text(x, source) for x in ids)
    seen: dict[str, int] = {}
    dups: list[str] = []
    for x in out:
        seen[x] = seen.get(x, 0) + 1
        if seen[x] == 2:
            dups.append(x)
    if dups:
        raise InputError(f"{source}: {len(dups)} stimulus ids occur more than once: {preview(dups)}.")
    return out


def _as_values(values: Any, ids: tuple[str, ...], kind: str, source: str) -> np.ndarray:
    if np.iscomplexobj(values):
        # Casting would drop the imaginary parts silently (numpy only warns).
        raise InputError(
            f"{source}: {kind} values are complex numbers; repalign compares real-valued "
            "representations. Pass the real part, the magnitude or both (np.real / np.abs / "
            "np.hstack([x.real, x.imag])) explicitly."
        )
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{source}: {kind} values are not all numeric ({exc}).") from exc
    if arr.ndim != 2:
        raise InputError(f"{source}: {kind} must be a 2-D array; got shape {arr.shape}.")
    if arr.shape[0] != len(ids):
        raise InputError(
            f"{source}: {len(ids)} stimulus ids but {arr.shape[0]} rows of {kind}; they must match."
        )
    if kind != "features" and arr.shape[0] != arr.shape[1]:
        raise InputError(f"{source}: a {kind} matrix must be square; got shape {arr.shape}.")
    if kind == "features" and arr.shape[1] < 1:
        raise InputError(f"{source}: features have no columns.")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        r, c = np.argwhere(bad)[0]
        col = ids[c] if kind != "features" else f"feature {c}"
        raise InputError(
            f"{source}: {int(bad.sum())} values are NaN or infinite, in the rows of "
            f"{len(rows)} stimuli ({preview([ids[i] for i in rows])}); first at "
            f"[{ids[r]!r}, {col!r}] = {arr[r, c]}."
        )
    return arr


class Representation:
    """Stimulus ids plus one of: features, a similarity matrix or a dissimilarity matrix.

    Build one with :meth:`from_features`, :meth:`from_similarity` or
    :meth:`from_dissimilarity` (or :func:`repalign.load_representation` for a file).
    Values are validated (finite, numeric, square and symmetric matrices, unique ids,
    at least 3 stimuli) and stored read-only as float64.

    Parameters
    ----------
    ids : sequence of str
        One unique id per stimulus, in row order.
    values : array_like
        ``(n_stimuli, n_features)`` features or an ``(n_stimuli, n_stimuli)`` matrix.
    kind : {"features", "similarity", "dissimilarity"}
        What ``values`` holds. Keyword-only and required: never guessed here.
    name : str, optional
        A display name (model id, file name).
    symmetrize : bool, default False
        Replace an asymmetric matrix by ``(M + M.T) / 2`` instead of raising.
    meta : mapping, optional
        Free-form provenance (where the data came from, how the kind was decided).

    Examples
    --------
    >>> import numpy as np
    >>> rep = Representation.from_features(["a", "b", "c"], np.eye(3))
    >>> rep.kind, rep.n_stimuli
    ('features', 3)
    >>> d = Representation.from_dissimilarity(["a", "b", "c"], [[0, 2, 5], [2, 0, 1], [5, 1, 0]])
    >>> d.similarity()[0].tolist()  # dissimilarities are negated, never reinterpreted
    [-0.0, -2.0, -5.0]
    """

    __slots__ = ("_ids", "_values", "_kind", "name", "meta", "_index")

    def __init__(
        self,
        ids: Sequence[Any],
        values: Any,
        *,
        kind: str,
        name: str | None = None,
        symmetrize: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        check_option("kind", kind, KINDS)
        symmetrize = check_flag("symmetrize", symmetrize)
        source = name or "representation"
        ids_t = _as_ids(ids, source)
        if len(ids_t) < MIN_STIMULI:
            raise InputError(
                f"{source}: {len(ids_t)} stimuli; alignment needs at least {MIN_STIMULI}."
            )
        arr = _as_values(values, ids_t, kind, source)
        if kind != "features":
            arr = self._check_symmetric(arr, ids_t, kind, source, symmetrize)
        arr.setflags(write=False)
        self._ids = ids_t
        self._values = arr
        self._kind = kind
        self.name = name
        self.meta: dict[str, Any] = dict(meta or {})
        self._index: dict[str, int] | None = None

    @staticmethod
    def _check_symmetric(
        arr: np.ndarray, ids: tuple[str, ...], kind: str, source: str, symmetrize: bool
    ) -> np.ndarray:
        diff = np.abs(arr - arr.T)
        scale = float(np.max(np.abs(arr))) if arr.size else 0.0
        tol = SYMMETRY_ATOL + SYMMETRY_RTOL * scale
        worst = float(diff.max())
        if worst > tol:
            if not symmetrize:
                r, c = np.unravel_index(int(np.argmax(diff)), diff.shape)
                raise InputError(
                    f"{source}: the {kind} matrix is not symmetric: "
                    f"[{ids[r]!r}, {ids[c]!r}] = {arr[r, c]} but [{ids[c]!r}, {ids[r]!r}] = "
                    f"{arr[c, r]} (largest difference {worst:.3g}, tolerance {tol:.3g}). "
                    "Pass symmetrize=True (CLI: --symmetrize) to use (M + M.T) / 2."
                )
        return 0.5 * (arr + arr.T) if worst > 0 else arr

    # -- constructors --------------------------------------------------------------
    @classmethod
    def from_features(cls, ids: Sequence[Any], features: Any, **kwargs: Any) -> Representation:
        """A representation given by one feature vector per stimulus."""
        return cls(ids, features, kind="features", **kwargs)

    @classmethod
    def from_similarity(cls, ids: Sequence[Any], similarity: Any, **kwargs: Any) -> Representation:
        """A representation given by a symmetric similarity matrix (larger = more alike)."""
        return cls(ids, similarity, kind="similarity", **kwargs)

    @classmethod
    def from_dissimilarity(
        cls, ids: Sequence[Any], dissimilarity: Any, **kwargs: Any
    ) -> Representation:
        """A representation given by a symmetric dissimilarity matrix (larger = less alike)."""
        return cls(ids, dissimilarity, kind="dissimilarity", **kwargs)

    @classmethod
    def from_rsatoolbox(
        cls, rdms: Any, *, rdm: int | None = None, pattern_descriptor: str | None = None, name: str | None = None
    ) -> Representation:
        """A dissimilarity representation from an rsatoolbox ``RDMs`` object (needs ``repalign[rsa]``).

        Parameters
        ----------
        rdms : rsatoolbox.rdm.RDMs
            Dissimilarities; they stay dissimilarities.
        rdm : int, optional
            Which RDM, when ``rdms`` holds several (required then).
        pattern_descriptor : str, optional
            The pattern descriptor holding the stimulus ids. Default: ``'ids'`` (what
            :meth:`to_rsatoolbox` writes), else the only descriptor besides ``'index'``;
            several candidates are an error asking for this argument.
        name : str, optional

        Examples
        --------
        >>> import numpy as np
        >>> from rsatoolbox.rdm import RDMs
        >>> rdms = RDMs(np.array([[1.0, 2.0, 3.0]]), pattern_descriptors={"stimulus": ["a", "b", "c"]})
        >>> rep = Representation.from_rsatoolbox(rdms)
        >>> rep.kind, rep.ids, rep.values[0].tolist()
        ('dissimilarity', ('a', 'b', 'c'), [0.0, 1.0, 2.0])
        """
        from ._rsatoolbox import from_rsatoolbox

        ids, matrix, meta = from_rsatoolbox(rdms, rdm=rdm, pattern_descriptor=pattern_descriptor, name=name)
        return cls.from_dissimilarity(ids, matrix, name=name, meta=meta)

    def to_rsatoolbox(self, *, similarity: str = "cosine") -> Any:
        """This representation as an rsatoolbox ``RDMs`` (one RDM; ids in the ``'ids'`` descriptor).

        Dissimilarities are written unchanged; similarities and features as a
        dissimilarity that is a decreasing affine map of the similarity (see
        :func:`repalign._rsatoolbox.to_rsatoolbox`). Needs ``repalign[rsa]``.

        Examples
        --------
        >>> import numpy as np
        >>> d = Representation.from_dissimilarity(list("abc"), [[0, 1, 2], [1, 0, 3], [2, 3, 0]])
        >>> rdms = d.to_rsatoolbox()
        >>> rdms.get_vectors().tolist(), rdms.pattern_descriptors["ids"]
        ([[1.0, 2.0, 3.0]], ['a', 'b', 'c'])
        """
        from ._rsatoolbox import to_rsatoolbox

        check_option("similarity", similarity, SIMILARITY_FUNCTIONS)
        return to_rsatoolbox(self, similarity=similarity)

    # -- accessors -----------------------------------------------------------------
    @property
    def ids(self) -> tuple[str, ...]:
        """Stimulus ids, in row order."""
        return self._ids

    @property
    def values(self) -> np.ndarray:
        """The stored array (read-only): features or the matrix, as given."""
        return self._values

    @property
    def kind(self) -> str:
        """One of ``"features"``, ``"similarity"``, ``"dissimilarity"``."""
        return self._kind

    @property
    def n_stimuli(self) -> int:
        return len(self._ids)

    @property
    def index(self) -> dict[str, int]:
        """Map from stimulus id to row."""
        if self._index is None:
            self._index = {x: i for i, x in enumerate(self._ids)}
        return self._index

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self._values.shape)
        label = f" {self.name!r}" if self.name else ""
        return f"<Representation{label}: {self.n_stimuli} stimuli, {self._kind} {shape}>"

    def similarity(self, method: str = "cosine") -> np.ndarray:
        """The similarity matrix (larger = more similar), as a new float64 array.

        Parameters
        ----------
        method : {"cosine", "correlation", "euclidean", "dot"}
            Used only for feature representations; see
            :func:`repalign.similarity.similarity_matrix`. A dissimilarity matrix is negated.
        """
        check_option("similarity", method, SIMILARITY_FUNCTIONS)
        if self._kind == "features":
            return similarity_matrix(self._values, method, ids=self._ids)
        if self._kind == "dissimilarity":
            return -self._values
        return self._values.copy()

    def select(self, ids: Sequence[Any]) -> Representation:
        """The representation restricted to (and ordered as) ``ids``.

        Raises
        ------
        InputError
            If an id is not present, listing the missing ids.
        """
        if isinstance(ids, str):  # iterating it would select its characters
            raise InputError(f"{self.name or 'representation'}: select takes a sequence of ids, not the single "
                             f"string {ids!r} (write [{ids!r}]).")
        wanted = [str(x) for x in ids]
        index = self.index
        missing = [x for x in wanted if x not in index]
        if missing:
            raise InputError(
                f"{self.name or 'representation'}: {len(missing)} of the requested ids are not "
                f"among its {self.n_stimuli} stimuli: {preview(missing)}."
            )
        rows = np.fromiter((index[x] for x in wanted), dtype=np.intp, count=len(wanted))
        values = self._values[rows] if self._kind == "features" else self._values[np.ix_(rows, rows)]
        return Representation(wanted, values, kind=self._kind, name=self.name, meta=self.meta)

    def to_npz(self, path: Any) -> None:
        """Write ``ids`` and the values under a key naming the kind (``features``, ...), atomically."""
        from ._files import atomic_write

        with atomic_write(path, "wb", what=f"{self.name or 'representation'} .npz") as fh:
            np.savez(fh, ids=np.array(self._ids, dtype=str), **{self._kind: self._values})


def _loose_id(x: str) -> str:
    stem, dot, ext = x.strip().rpartition(".")
    return (stem if dot and ext.isalnum() and len(ext) <= 5 else x.strip()).lower()


def _near_matches(only_a: list[str], only_b: list[str]) -> tuple[int, tuple[str, str]] | None:
    """How many unmatched ids of A match one of B without letter case and file extension, and a first pair."""
    loose_b = {_loose_id(x): x for x in only_b}
    pairs = [(x, loose_b[_loose_id(x)]) for x in only_a if _loose_id(x) in loose_b]
    return (len(pairs), pairs[0]) if pairs else None


def match_stimuli(
    a: Representation, b: Representation, *, how: str = "exact"
) -> tuple[Representation, Representation]:
    """Put two representations in the same stimulus order.

    Parameters
    ----------
    a, b : Representation
    how : {"exact", "intersect"}
        ``exact``: both must hold the same set of ids (order may differ), else an error
        shows the counts and the first missing and extra ids. ``intersect``: keep the
        ids both have (at least 3), in ``a``'s order.

    Returns
    -------
    (Representation, Representation)
        Both in ``a``'s id order.

    Examples
    --------
    >>> import numpy as np
    >>> a = Representation.from_features(["x", "y", "z"], np.eye(3))
    >>> b = Representation.from_features(["z", "x", "y"], np.eye(3))
    >>> match_stimuli(a, b)[1].ids
    ('x', 'y', 'z')
    """
    check_option("how", how, ("exact", "intersect"))
    if a.ids == b.ids:
        return a, b
    name_a, name_b = a.name or "A", b.name or "B"
    in_b = b.index
    only_a = [x for x in a.ids if x not in in_b]
    only_b = [x for x in b.ids if x not in a.index]
    if how == "exact" and (only_a or only_b):
        parts = [f"stimulus ids of {name_a} ({a.n_stimuli}) and {name_b} ({b.n_stimuli}) do not match"]
        if only_a:
            parts.append(f"{len(only_a)} only in {name_a}: {preview(only_a)}")
        if only_b:
            parts.append(f"{len(only_b)} only in {name_b}: {preview(only_b)}")
        near = _near_matches(only_a, only_b)
        if near:
            n_near, (x, y) = near
            parts.append(f"{n_near} of them match when compared without letter case and file extension "
                         f"(e.g. {x!r} and {y!r}); rename the ids of one input to match the other")
        raise InputError("; ".join(parts) + ". Use how='intersect' (CLI: --intersect) to keep the shared ids.")
    common = [x for x in a.ids if x in in_b]
    if len(common) < MIN_STIMULI:
        raise InputError(
            f"{name_a} and {name_b} share only {len(common)} stimulus ids; at least {MIN_STIMULI} are needed."
        )
    return a.select(common), b.select(common)

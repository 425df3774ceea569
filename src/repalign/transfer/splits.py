"""Few-shot splits: ``n`` examples per class for training, all the others for evaluation.

The protocol of the paper (section 4.1): for ``n`` in {1, 5, 10, 20, 40, 80}, draw ``n``
examples of every class for training and evaluate on **all** remaining examples of the
set. Splits here are

* **class-balanced**: exactly ``n`` training examples of every class;
* **disjoint**: no example is in both parts (checked for every split, not assumed);
* **reproducible**: a split depends only on the seed, the labels and, when stimulus ids
  are given, the ids (so reordering the rows of a features file does not change which
  images are drawn);
* **nested across shot counts**: for one seed, the training set for ``n`` shots is contained
  in the one for every larger ``n`` (each class is permuted once per seed and the first
  ``n`` of the permutation are taken). The fast probe uses this to warm-start each shot
  count from the previous one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .._errors import InputError
from .._validation import preview

__all__ = ["PAPER_SHOTS", "FewShotSplit", "check_split", "encode_labels", "make_splits"]

#: Shot counts of the paper's protocol.
PAPER_SHOTS: tuple[int, ...] = (1, 5, 10, 20, 40, 80)


@dataclass(frozen=True)
class FewShotSplit:
    """One draw of the protocol.

    Attributes
    ----------
    shots : int
        Training examples per class.
    seed : int
        The seed this split was drawn with.
    train : ndarray of int
        Row indices of the training examples, class by class.
    test : ndarray of int
        Row indices of every other example (sorted).
    """

    shots: int
    seed: int
    train: np.ndarray
    test: np.ndarray


def encode_labels(labels: Sequence[object] | np.ndarray, *, name: str = "labels") -> tuple[np.ndarray, list[str]]:
    """Map class labels of any type to integer codes ``0..K-1`` in sorted label order.

    Returns
    -------
    codes : ndarray of int64
    classes : list of str
        The label of each code.

    Examples
    --------
    >>> codes, classes = encode_labels(["cat", "dog", "cat"])
    >>> codes.tolist(), classes
    ([0, 1, 0], ['cat', 'dog'])
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected one label per example (a 1-d array), got shape {arr.shape}.")
    if arr.size == 0:
        raise InputError(f"{name}: no labels given.")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise InputError(f"{name}: float labels must be whole numbers (got e.g. {preview(arr[arr != np.round(arr)][:3])}).")
        arr = arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        classes_arr, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.int64), [str(c) for c in classes_arr.tolist()]
    strs = np.asarray([str(x) for x in arr.tolist()])
    classes_arr, codes = np.unique(strs, return_inverse=True)
    return codes.astype(np.int64), classes_arr.tolist()


def _seed_list(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, (bool, np.bool_, float, str)):
        raise InputError(f"seeds: expected a number of seeds or a list of whole numbers, got {seeds!r}.")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise InputError(f"seeds: need at least one seed, got {seeds}.")
        return list(range(int(seeds)))
    out = [_whole("seeds", s) for s in seeds]
    if not out:
        raise InputError("seeds: the list of seeds is empty.")
    if len(set(out)) != len(out):
        raise InputError(f"seeds: repeated seeds {preview(out)}; repeats would count one draw twice.")
    if min(out) < 0:
        raise InputError(f"seeds: seeds must be non-negative, got {preview(out)}.")
    return out


def _whole(name: str, value: object) -> int:
    """``value`` as an int when it is a whole number (not a bool, not 1.5), else an InputError."""
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name}: expected whole numbers, got the boolean {value!r}.")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise InputError(f"{name}: expected whole numbers, got {value!r}.")


def _shot_list(shots: int | Iterable[int]) -> list[int]:
    if isinstance(shots, (str, bytes)):
        raise InputError(f"shots: expected whole numbers, got the string {shots!r}.")
    if isinstance(shots, (int, float, bool, np.integer, np.floating, np.bool_)):
        out = [_whole("shots", shots)]
    else:
        out = [_whole("shots", s) for s in shots]
    if not out:
        raise InputError("shots: the list of shot counts is empty.")
    if min(out) < 1:
        raise InputError(f"shots: every shot count must be at least 1, got {preview(out)}.")
    if len(set(out)) != len(out):
        raise InputError(f"shots: repeated shot counts {preview(out)}.")
    return sorted(out)


def check_split(split: FewShotSplit, codes: np.ndarray) -> None:
    """Raise if ``split`` is not disjoint, not class-balanced, or does not cover every row.

    Called by :func:`make_splits` on every split it returns; public so that splits made
    elsewhere (or loaded from disk) can be checked the same way.
    """
    n = codes.shape[0]
    train, test = np.asarray(split.train), np.asarray(split.test)
    overlap = np.intersect1d(train, test)
    if overlap.size:
        raise InputError(f"split (shots={split.shots}, seed={split.seed}): {overlap.size} examples are in both the "
                         f"training and the evaluation set, e.g. rows {preview(overlap.tolist())}.")
    if np.unique(train).size != train.size:
        raise InputError(f"split (shots={split.shots}, seed={split.seed}): repeated training rows.")
    if train.size + test.size != n or np.unique(np.concatenate([train, test])).size != n:
        raise InputError(f"split (shots={split.shots}, seed={split.seed}): training and evaluation rows do not "
                         f"cover the {n} examples exactly once.")
    counts = np.bincount(codes[train], minlength=int(codes.max()) + 1)
    if not np.all(counts == split.shots):
        bad = np.flatnonzero(counts != split.shots)
        raise InputError(f"split (shots={split.shots}, seed={split.seed}): not class-balanced; classes "
                         f"{preview(bad.tolist())} have {preview(counts[bad].tolist())} training examples.")


def make_splits(
    labels: Sequence[object] | np.ndarray,
    *,
    shots: int | Iterable[int] = PAPER_SHOTS,
    seeds: int | Iterable[int] = 5,
    ids: Sequence[object] | np.ndarray | None = None,
    classes: Sequence[str] | None = None,
) -> list[FewShotSplit]:
    """Draw the class-balanced few-shot splits of the protocol.

    Parameters
    ----------
    labels : array-like, shape (n_examples,)
        Class of every example (any hashable values).
    shots : int or iterable of int
        Training examples per class; default the paper's (1, 5, 10, 20, 40, 80).
    seeds : int or iterable of int
        An int ``s`` means seeds ``0..s-1``; default 5.
    ids : array-like of str, optional
        Stimulus ids. When given, each class is ordered by id before it is permuted, so a
        split does not depend on the row order of the file.
    classes : sequence of str, optional
        When ``labels`` are integer codes of the caller's classes, the label of each code,
        so that errors name classes as the user knows them.

    Returns
    -------
    list of FewShotSplit
        Ordered by seed, then by increasing shot count.

    Raises
    ------
    InputError
        If a class has too few examples to leave at least one for evaluation at the
        largest shot count, or the inputs are malformed.

    Examples
    --------
    >>> labels = [0] * 4 + [1] * 4
    >>> splits = make_splits(labels, shots=[1, 2], seeds=1)
    >>> [(s.shots, len(s.train), len(s.test)) for s in splits]
    [(1, 2, 6), (2, 4, 4)]
    """
    codes, own = encode_labels(labels)
    if classes is not None:
        names = [str(c) for c in classes]
        classes = [names[int(c)] if str(c).lstrip("-").isdigit() and 0 <= int(c) < len(names) else c for c in own]
    else:
        classes = own
    shot_list, seed_list = _shot_list(shots), _seed_list(seeds)
    n = codes.shape[0]
    counts = np.bincount(codes)
    if ids is not None:
        id_arr = np.asarray([str(x) for x in np.asarray(ids).tolist()])
        if id_arr.shape[0] != n:
            raise InputError(f"ids: {id_arr.shape[0]} ids for {n} labels.")
        if np.unique(id_arr).size != n:
            raise InputError("ids: stimulus ids are not unique.")
        base_order = np.lexsort((id_arr, codes))
    else:
        base_order = np.argsort(codes, kind="stable")
    if counts.min() <= shot_list[-1]:
        few = np.flatnonzero(counts <= shot_list[-1])
        raise InputError(
            f"labels: {shot_list[-1]} shots need at least {shot_list[-1] + 1} examples in every class "
            f"(one left for evaluation); classes {preview([classes[i] for i in few])} have "
            f"{preview(counts[few].tolist())}."
        )
    starts = np.concatenate([[0], np.cumsum(counts)])
    splits: list[FewShotSplit] = []
    for seed in seed_list:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        perms = [base_order[starts[k]:starts[k + 1]][rng.permutation(counts[k])] for k in range(len(classes))]
        for n_shots in shot_list:
            train = np.concatenate([p[:n_shots] for p in perms]).astype(np.int64)
            mask = np.ones(n, dtype=bool)
            mask[train] = False
            split = FewShotSplit(shots=n_shots, seed=seed, train=train, test=np.flatnonzero(mask).astype(np.int64))
            check_split(split, codes)
            splits.append(split)
    return splits

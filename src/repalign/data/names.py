"""Stimulus names (text labels) for the stimuli of a human dataset.

Text models are aligned on the same human matrices as image models (as Marjieh et al.
2022 did) by embedding a *name* per stimulus. Names come from one of two sources:

* **File names**, by :func:`label_from_filename`: ``bar-stool-01.jpg`` -> ``"bar stool"``,
  ``airplane3.jpg`` -> ``"airplane"``, ``ackee2.png`` -> ``"ackee"``, the THINGS concept
  ``bat1`` -> ``"bat"``. Names derived this way are used only when they are informative:
  every name is non-empty and there are at least two different names (the Peterson
  animals are called ``stim-0007.png`` ... so every derived name would be ``"stim"``, and
  they are reported as unavailable instead).
* **A names file** the user gives: ``.txt`` with one name a line in matrix order, or a
  ``.csv``/``.tsv`` table with a stimulus id column and a ``name`` (or ``label``) column
  covering every stimulus exactly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._errors import DataNotFoundError, InputError
from .._validation import preview
from .images import IMAGE_SUFFIXES

__all__ = ["StimulusNames", "label_from_filename", "names_from_ids", "read_names_file"]

_TRAILING_NUMBER = re.compile(r"[\s_\-.]*\d+$")
_SEPARATORS = re.compile(r"[\s_\-]+")


def label_from_filename(name: str) -> str:
    """The object name a stimulus file name stands for.

    Drops a known image suffix, a trailing number (with its separator) and turns ``-`` and
    ``_`` into spaces.

    Examples
    --------
    >>> label_from_filename("bar-stool-01.jpg")
    'bar stool'
    >>> label_from_filename("airplane3.jpg"), label_from_filename("ice_cream_2.png")
    ('airplane', 'ice cream')
    >>> label_from_filename("bat1")
    'bat'
    """
    stem = str(name).strip()
    suffix = os.path.splitext(stem)[1]
    if suffix.lower() in IMAGE_SUFFIXES:
        stem = stem[: -len(suffix)]
    stem = _TRAILING_NUMBER.sub("", stem)
    return _SEPARATORS.sub(" ", stem).strip()


@dataclass(frozen=True)
class StimulusNames:
    """Names of a dataset's stimuli, in matrix order, or why there are none.

    Attributes
    ----------
    names : tuple of str or None
        One name per stimulus (several stimuli may share a name, e.g. ``airplane1.jpg`` and
        ``airplane2.jpg``), or None when no informative names exist.
    source : str
        Where they came from (``"file names"`` or the names file), or the reason they are
        unavailable.
    """

    names: tuple[str, ...] | None
    source: str

    @property
    def available(self) -> bool:
        return self.names is not None


def names_from_ids(ids: Sequence[str]) -> StimulusNames:
    """Names derived from stimulus ids (file names), when they are informative.

    Examples
    --------
    >>> names_from_ids(["bar-stool-01.jpg", "vanity-07.jpg", "vanity-09.jpg"]).names
    ('bar stool', 'vanity', 'vanity')
    >>> names_from_ids(["stim-0007.png", "stim-0019.png", "stim-0035.png"]).source
    "the file names carry no object names (all 3 reduce to 'stim'); give a names file"
    """
    labels = tuple(label_from_filename(x) for x in ids)
    empty = [x for x, lab in zip(ids, labels) if not lab]
    if empty:
        return StimulusNames(None, f"{len(empty)} file names carry no name ({preview(empty, 3)}); give a names file")
    distinct = set(labels)
    if len(distinct) < 2:
        only = next(iter(distinct)) if distinct else ""
        return StimulusNames(
            None, f"the file names carry no object names (all {len(labels)} reduce to {only!r}); give a names file"
        )
    return StimulusNames(labels, "file names")


def read_names_file(path: str | os.PathLike[str], ids: Sequence[str]) -> StimulusNames:
    """Read user-given names for the stimuli ``ids`` (see the module docstring for formats).

    Raises
    ------
    InputError
        When the file does not give exactly one name per stimulus; the message lists the
        stimuli without a name and the names of unknown stimuli.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: names file not found.")
    ids = [str(x) for x in ids]
    if p.suffix.lower() in (".csv", ".tsv"):
        try:
            table = pd.read_csv(p, sep="\t" if p.suffix.lower() == ".tsv" else ",", dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{p}: not a readable names table ({exc}).") from exc
        from ..io import ID_COLUMNS

        lower = {c.strip().lower(): c for c in table.columns}
        id_col = next((lower[c] for c in ID_COLUMNS if c in lower and c != "name"), None)
        name_col = lower.get("name") or lower.get("label")
        if id_col is None or name_col is None:
            raise InputError(
                f"{p}: a names table needs a stimulus id column ({', '.join(c for c in ID_COLUMNS if c != 'name')}) "
                f"and a 'name' or 'label' column; its columns are {preview(list(table.columns), 8)}."
            )
        keys = [str(x).strip() for x in table[id_col]]
        dups = sorted({k for k in keys if keys.count(k) > 1})
        if dups:
            raise InputError(f"{p}: {len(dups)} stimuli are named more than once: {preview(dups)}.")
        mapping = dict(zip(keys, (str(x).strip() for x in table[name_col])))
        missing = [x for x in ids if x not in mapping]
        unknown = [k for k in keys if k not in set(ids)]
        if missing or unknown:
            parts = [f"{p}: the names table does not match the {len(ids)} stimuli"]
            if missing:
                parts.append(f"{len(missing)} stimuli have no name: {preview(missing)}")
            if unknown:
                parts.append(f"{len(unknown)} rows name unknown stimuli: {preview(unknown)}")
            raise InputError("; ".join(parts) + ".")
        names = tuple(mapping[x] for x in ids)
    else:
        lines = [line.strip() for line in p.read_text(encoding="utf-8").splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        if len(lines) != len(ids):
            raise InputError(
                f"{p}: {len(lines)} names for {len(ids)} stimuli; a .txt names file holds one name a line, "
                "in matrix order (use a .csv with id and name columns to name stimuli by id)."
            )
        names = tuple(lines)
    blank = [x for x, n in zip(ids, names) if not n]
    if blank:
        raise InputError(f"{p}: {len(blank)} stimuli have an empty name: {preview(blank)}.")
    return StimulusNames(names, str(p))

"""Triplet files: human odd-one-out and anchor/positive/negative judgments, parsed into :class:`TripletData`.

Formats (documented for users in ``docs/data.md``); CSV, TSV or whitespace-separated text:

* **THINGS odd-one-out** (no header): three item indices ``i j k``, the position (1, 2 or
  3) of the item chosen as the odd one out, and optionally a participant id; further
  columns are ignored. Indices refer to an item list (THINGS: ``unique_id.txt``, line
  ``n`` is item ``n``; 1-based by default, ``index_base=0`` for 0-based files).
* **Odd-one-out with a header**: columns ``item1, item2, item3`` and either ``odd`` (the
  chosen item itself) or ``odd_position`` (1, 2 or 3); optional ``participant``.
* **Anchor/positive/negative with a header**: columns ``anchor, positive, negative``: the
  participant judged ``anchor`` more similar to ``positive`` than to ``negative``;
  optional ``participant``.

Items in header formats are stimulus ids, or integer indices into ``items`` when all item
cells are integers and an item list is given.

Scoring a representation on them is the evaluation layer's job (``triplet_accuracy``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import DataNotFoundError, InputError
from .._validation import preview
from .matrices import read_id_list

__all__ = ["TRIPLET_FORMATS", "TRIPLET_METRICS", "TripletData", "load_triplets"]

log = logging.getLogger(__name__)

#: The two triplet formats: odd-one-out choices and anchor/positive/negative judgments.
TRIPLET_FORMATS: tuple[str, ...] = ("odd-one-out", "anchor")
#: Metric name of each format (as used by ``repalign align --metric``).
TRIPLET_METRICS: dict[str, str] = {"odd-one-out": "odd-one-out", "anchor": "anchor-triplet"}


@dataclass(frozen=True, eq=False)
class TripletData:
    """Human triplet judgments.

    Attributes
    ----------
    format : {"odd-one-out", "anchor"}
    items : tuple of str
        Item ids; ``triplets`` index into it.
    triplets : ndarray of shape (n_triplets, 3), int
        Odd-one-out: the three items as shown. Anchor: anchor, positive, negative.
    odd : ndarray of shape (n_triplets,), int8, or None
        Odd-one-out: the position (0, 1, 2) of the chosen item in its row.
    participants : ndarray of shape (n_triplets,), int, or None
        Participant codes (indices into ``participant_ids``), when the file has them.
    participant_ids : tuple of str
    source : str
    """

    format: str
    items: tuple[str, ...]
    triplets: np.ndarray
    odd: np.ndarray | None
    participants: np.ndarray | None
    participant_ids: tuple[str, ...]
    source: str

    @property
    def n_triplets(self) -> int:
        return int(self.triplets.shape[0])

    @property
    def metric(self) -> str:
        """The accuracy metric's name for this format."""
        return TRIPLET_METRICS[self.format]

    def used_items(self) -> list[str]:
        """Ids of the items that occur in at least one triplet, in item order."""
        return [self.items[i] for i in np.unique(self.triplets)]

    def chosen(self) -> np.ndarray:
        """The chosen item of each triplet: the odd one (odd-one-out) or the positive (anchor)."""
        if self.format == "odd-one-out":
            return self.triplets[np.arange(self.n_triplets), self.odd]
        return self.triplets[:, 1]

    def __repr__(self) -> str:
        return f"<TripletData {self.format}: {self.n_triplets} triplets over {len(self.items)} items from {self.source}>"


def _separator(path: Path, first_line: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".tsv" or "\t" in first_line:
        return "\t"
    if suffix == ".csv" or "," in first_line:
        return ","
    return r"\s+"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _integer_column(values: pd.Series) -> np.ndarray | None:
    """The column as int64 if every cell is an integer, else None."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any():
        return None
    arr = numeric.to_numpy()
    if not np.all(arr == np.round(arr)):
        return None
    return arr.astype(np.int64)


_BOTH_FLAGS = "index_base=0 or index_base=1 (CLI: --index-base 0 or --index-base 1)"
#: A 1-2-3 choice column of this many trials without a single 3 is not believed (p < (2/3)**30 < 1e-5).
CHOICE_EVIDENCE = 30


def _index_base(lo: int, hi: int, n_items: int, index_base: int | None, source: str) -> int:
    """The index base of integer item indices ``lo..hi`` into ``n_items`` items: given, or provable."""
    span = f"{source}: item indices run from {lo} to {hi}"
    if index_base is not None:
        if lo - index_base < 0 or hi - index_base >= n_items:
            hint = ""
            if lo < index_base:
                hint = " The file contains index 0, so it looks 0-based: pass index_base=0 (CLI: --index-base 0)."
            elif hi == n_items and index_base == 0:
                hint = (f" The file contains index {n_items}, so it looks 1-based: pass index_base=1 "
                        "(CLI: --index-base 1).")
            raise InputError(
                f"{span}, outside the {n_items} items of the item list (index_base={index_base}).{hint}"
            )
        return index_base
    if lo < 0 or hi > n_items or (lo == 0 and hi == n_items):
        raise InputError(f"{span}, which fits the {n_items} items of the item list neither 0-based nor 1-based.")
    if lo == 0:
        raise InputError(
            f"{span}. The file contains index 0, so it looks 0-based: pass index_base=0 (CLI: --index-base 0); "
            "without it, files are read 1-based (the THINGS convention) only when they use the last index."
        )
    if hi == n_items:
        return 1  # index n exists only in 1-based numbering
    raise InputError(
        f"{span} over an item list of {n_items}: that fits 1-based numbering (THINGS) and 0-based numbering "
        f"alike (the file uses neither index 0 nor index {n_items}). Say which: {_BOTH_FLAGS}."
    )


def _choice_positions(column: pd.Series, label: str, choice_base: int | None, source: str, first_row: int) -> np.ndarray:
    """Positions (0, 1, 2) of the chosen item from a 1-2-3 (default) or 0-1-2 coded column."""
    numeric = pd.to_numeric(column, errors="coerce")
    allowed = (0, 1, 2, 3) if choice_base is None else tuple(range(choice_base, choice_base + 3))
    coding = "1, 2 or 3" if choice_base in (None, 1) else "0, 1 or 2"

    def rule(coding: str) -> str:  # the header format names the column, the THINGS format its number
        return f"{label} must hold {coding} in every row" if "'" in label else (
            f"{label} must hold the position ({coding}) of the odd one out")

    bad = ~numeric.isin(allowed)
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{source}: {rule(coding)}; line {r + first_row} has {column.iloc[r]!r}."
        )
    values = numeric.to_numpy().astype(np.int64)
    if choice_base is None:
        has0, has3 = bool((values == 0).any()), bool((values == 3).any())
        if has0 and has3:
            raise InputError(f"{source}: {label} holds both 0 and 3, so it is neither 0-1-2 nor 1-2-3 coded.")
        if has0:
            r = int(np.flatnonzero(values == 0)[0])
            raise InputError(
                f"{source}: {rule('1, 2 or 3')}; line {r + first_row} has '0', so it looks 0-based: "
                "pass choice_base=0 (CLI: --choice-base 0)."
            )
        if not has3:
            say = ("choice_base=1 if the positions are 1, 2, 3 or choice_base=0 if they are 0, 1, 2 "
                   "(CLI: --choice-base 1 / --choice-base 0)")
            if values.size >= CHOICE_EVIDENCE:
                raise InputError(
                    f"{source}: {label} holds only 1 and 2 in {values.size} trials: a 1-2-3 coding would show a 3, "
                    f"a 0-1-2 coding a 0. Say which: {say}."
                )
            log.warning(
                "%s: %s holds only 1 and 2 (%d trials), read as positions 1-3; if they are 0-based, pass %s.",
                source, label, values.size, say,
            )
        choice_base = 1
    return (values - choice_base).astype(np.int8)


def _map_items(
    columns: list[pd.Series],
    items: Sequence[str] | None,
    index_base: int | None,
    source: str,
    first_row: int,
) -> tuple[tuple[str, ...], np.ndarray]:
    ints = [_integer_column(c) for c in columns]
    if all(x is not None for x in ints) and items is not None:
        raw = np.stack(ints, axis=1)  # type: ignore[arg-type]
        _check_distinct(raw, source, first_row)
        base = _index_base(int(raw.min()), int(raw.max()), len(items), index_base, source)
        return tuple(items), raw - base
    stacked = pd.concat([c.astype(str).str.strip() for c in columns], ignore_index=True)
    if items is not None:
        index = {x: i for i, x in enumerate(items)}
        codes = stacked.map(index)
        if codes.isna().any():
            unknown = sorted(set(stacked[codes.isna()]))
            raise InputError(
                f"{source}: {len(unknown)} items are not in the item list of {len(items)}: {preview(unknown)}."
            )
        t = codes.to_numpy(dtype=np.int64).reshape(3, -1).T
    else:
        codes, uniques = pd.factorize(stacked, sort=True)
        items, t = tuple(str(u) for u in uniques), codes.astype(np.int64).reshape(3, -1).T
    _check_distinct(t, source, first_row)
    return tuple(items), t


def _check_distinct(t: np.ndarray, source: str, first_row: int) -> None:
    bad = np.flatnonzero((t[:, 0] == t[:, 1]) | (t[:, 0] == t[:, 2]) | (t[:, 1] == t[:, 2]))
    if bad.size:
        raise InputError(
            f"{source}: {bad.size} triplets repeat an item (a triplet needs three different items); "
            f"first at line {int(bad[0]) + first_row}."
        )


def _participants(column: pd.Series | None) -> tuple[np.ndarray | None, tuple[str, ...]]:
    if column is None:
        return None, ()
    codes, uniques = pd.factorize(column.astype(str).str.strip(), sort=True)
    return codes.astype(np.int32), tuple(str(u) for u in uniques)


def _item_list(items: Sequence[str] | str | os.PathLike[str] | None, source: str) -> list[str] | None:
    if items is None:
        return None
    names = read_id_list(items) if isinstance(items, (str, os.PathLike)) else [str(x) for x in items]
    repeated = sorted(x for x, count in Counter(names).items() if count > 1)
    if repeated:
        raise InputError(f"{source}: the item list repeats {len(repeated)} items ({preview(repeated)}); "
                         "indices and ids into it would be ambiguous.")
    return names


def _read_table(p: Path, source: str) -> tuple[pd.DataFrame, bool]:
    """The file as a table of strings, and whether its first line is a header."""
    with open(p, encoding="utf-8-sig") as fh:
        first = fh.readline().rstrip("\r\n")
    if not first.strip():
        raise InputError(f"{source}: the triplet file is empty (or starts with an empty line).")
    sep = _separator(p, first)
    fields = [f.strip() for f in (first.split(sep) if sep != r"\s+" else first.split())]
    # A header names the columns; a THINGS row starts with four numbers, and its participant column (and
    # any after it) may be text ("p17"), so only the first four cells decide.
    has_header = not all(_is_number(f) for f in fields[:4])
    try:
        table = pd.read_csv(
            p, sep=sep, header=0 if has_header else None, dtype=str, keep_default_na=False, engine="c",
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: not a readable triplet table ({exc}).") from exc
    if table.empty:
        raise InputError(f"{source}: no triplets (only a header).")
    return table, has_header


def _things_format(table: pd.DataFrame, items: list[str] | None, index_base: int | None,
                   choice_base: int | None, source: str) -> TripletData:
    if table.shape[1] < 4:
        raise InputError(
            f"{source}: {table.shape[1]} columns without a header. A file without a header is read in the "
            "THINGS format (item i, item j, item k, position of the odd one 1-3[, participant]); for other "
            "files add a header row: 'anchor,positive,negative' or 'item1,item2,item3,odd'."
        )
    cols = [table[c] for c in table.columns[:3]]
    odd = _choice_positions(table[table.columns[3]], "column 4", choice_base, source, 1)
    item_ids, t = _map_items(cols, items, index_base, source, 1)
    codes, pids = _participants(table[table.columns[4]] if table.shape[1] >= 5 else None)
    return TripletData("odd-one-out", item_ids, t, odd, codes, pids, source)


def _odd_by_name(table: pd.DataFrame, cols: list[pd.Series], source: str) -> np.ndarray:
    """Positions of the chosen items named in the ``odd`` column."""
    chosen = table["odd"].astype(str).str.strip().to_numpy()
    cells = np.stack([c.astype(str).str.strip().to_numpy() for c in cols], axis=1)
    match = cells == chosen[:, None]
    bad = np.flatnonzero(~match.any(axis=1))
    if bad.size:
        r = int(bad[0])
        raise InputError(
            f"{source}: {bad.size} rows name an odd one that is not among their three items; first at "
            f"line {r + 2}: odd {chosen[r]!r} of {tuple(cells[r])}."
        )
    return match.argmax(axis=1).astype(np.int8)


def _header_format(table: pd.DataFrame, items: list[str] | None, index_base: int | None,
                   choice_base: int | None, source: str) -> TripletData:
    table.columns = [str(c).strip().lower() for c in table.columns]
    names = set(table.columns)
    codes, pids = _participants(table["participant"] if "participant" in names else None)
    if {"anchor", "positive", "negative"} <= names:
        item_ids, t = _map_items([table["anchor"], table["positive"], table["negative"]], items, index_base, source, 2)
        return TripletData("anchor", item_ids, t, None, codes, pids, source)
    if {"item1", "item2", "item3"} <= names and ("odd" in names or "odd_position" in names):
        cols = [table["item1"], table["item2"], table["item3"]]
        item_ids, t = _map_items(cols, items, index_base, source, 2)
        if "odd_position" in names:
            odd = _choice_positions(table["odd_position"], "column 'odd_position'", choice_base, source, 2)
        else:
            odd = _odd_by_name(table, cols, source)
        return TripletData("odd-one-out", item_ids, t, odd, codes, pids, source)
    raise InputError(
        f"{source}: unrecognised header {preview(list(table.columns), 8)}. Expected 'anchor, positive, negative' "
        "or 'item1, item2, item3' with 'odd' (the chosen item) or 'odd_position' (1-3); optional 'participant'."
    )


def load_triplets(
    path: str | os.PathLike[str],
    *,
    items: Sequence[str] | str | os.PathLike[str] | None = None,
    index_base: int | None = None,
    choice_base: int | None = None,
) -> TripletData:
    """Read a triplet file (see the module docstring for the formats).

    Parameters
    ----------
    path : path-like
    items : sequence of str or path-like, optional
        The item list that integer indices refer to (a file: one id a line). Without it,
        the ids are the cells as written (numbers included).
    index_base : {None, 1, 0}
        Index of the first item in integer-indexed files. ``None``: 1-based (the THINGS
        convention) when the file uses index ``n``, which only 1-based numbering has; a file
        with index 0, or with neither 0 nor ``n``, is an error that asks for it.
    choice_base : {None, 1, 0}
        Coding of an odd-one-out position column: 1, 2, 3 (THINGS) or 0, 1, 2. ``None``:
        1-2-3 when the column holds a 3; a 0 is an error that asks for ``choice_base=0``; only
        1s and 2s are an error from 30 trials on and a warning below.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ooo.csv"
    >>> _ = p.write_text("item1,item2,item3,odd\\ncat,dog,car,car\\n")
    >>> data = load_triplets(p)
    >>> data.format, data.items, data.odd.tolist()
    ('odd-one-out', ('car', 'cat', 'dog'), [2])
    """
    p = Path(path)
    source = str(p)
    if not p.is_file():
        raise DataNotFoundError(f"{source}: no such triplet file.")
    for flag, value in (("index_base", index_base), ("choice_base", choice_base)):
        if value not in (None, 0, 1) or isinstance(value, bool):
            raise InputError(f"{flag} must be 0 or 1; got {value!r}.")
    item_list = _item_list(items, source)
    table, has_header = _read_table(p, source)
    if has_header:
        return _header_format(table, item_list, index_base, choice_base, source)
    return _things_format(table, item_list, index_base, choice_base, source)

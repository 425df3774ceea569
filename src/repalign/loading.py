"""``repalign.load_representation``: a file, a folder, an array, or a dataset reference.

The input layer (:mod:`repalign.io`) reads files and arrays and knows nothing of
datasets; the data layer (:mod:`repalign.data`) knows the datasets and reads their files
through the input layer. This module sits above both, so that the one public function
takes either, as ``repalign align`` does, without an import cycle:

* a string of the form ``NAME:PART`` naming a known dataset (``peterson2018:animals``, a
  dataset registered with ``repalign data add``) that is not an existing file is a
  **dataset reference**, read by :func:`repalign.data.references.load_reference`;
* anything else goes to :func:`repalign.io.load_representation`.
"""

from __future__ import annotations

import os
from typing import Any

from ._errors import InputError
from .io import load_representation as load_input
from .representations import Representation

__all__ = ["load_representation"]


def load_representation(
    source: str | os.PathLike[str] | Any,
    *,
    kind: str | None = None,
    id_column: str | None = None,
    symmetrize: bool = False,
    name: str | None = None,
    stimulus_dim: str | None = None,
    data_root: str | os.PathLike[str] | None = None,
) -> Representation:
    """Read a representation: a file or folder, an ``xarray.DataArray``, or a dataset reference.

    Parameters
    ----------
    source : path-like, xarray.DataArray, or str
        A file (``docs/formats.md``), a thingsvision output folder, a DataArray, or a
        dataset reference such as ``"peterson2018:animals"``.
    kind, id_column, symmetrize, name, stimulus_dim
        As in :func:`repalign.io.load_representation`; a dataset reference fixes them itself,
        so giving one with a reference is an error.
    data_root : path-like, optional
        Where the dataset of a reference is (the folder holding datasets, or the dataset's
        own folder); by default the registered copy (``repalign data add``).

    Examples
    --------
    >>> import repalign as ra
    >>> rep = ra.load_representation("peterson2018:animals", data_root="../shared/data")  # doctest: +SKIP
    >>> rep.n_stimuli, rep.kind  # doctest: +SKIP
    (120, 'similarity')
    """
    # The data layer is imported on first use, so that reading a file costs no dataset registry;
    # grimp/import-linter still see this import (loading sits above both io and data).
    from .data.references import is_reference, load_reference, malformed_reference

    malformed = malformed_reference(source)
    if malformed is not None:
        raise malformed
    if isinstance(source, str) and is_reference(source):
        given = [flag for flag, value in (("kind", kind), ("id_column", id_column), ("stimulus_dim", stimulus_dim),
                                           ("symmetrize", symmetrize)) if value]
        if given:
            raise InputError(f"{source}: a dataset reference fixes its own {', '.join(given)}; drop {', '.join(given)}=.")
        rep = load_reference(source, data_root=data_root)
        if name is not None:
            rep.name = name
        return rep
    if data_root is not None:
        raise InputError(f"{source}: data_root= applies to dataset references (NAME:PART), not to files.")
    return load_input(source, kind=kind, id_column=id_column, symmetrize=symmetrize, name=name, stimulus_dim=stimulus_dim)

"""The input layer: every file format repalign reads, in one package.

=====================  ==============================================================
:mod:`.load`           :func:`load_representation`: one path -> a Representation
:mod:`.kind`           similarity or dissimilarity: the diagonal rule
:mod:`.tables`         labelled matrix CSV/TSV, feature tables (CSV/TSV/Parquet)
:mod:`.npz`            ``.npz`` with ``ids`` + ``features`` | ``similarity`` | ``dissimilarity``
:mod:`.hdf5`           the same layout in ``.h5``/``.hdf5`` (h5py, the ``io`` extra)
:mod:`.thingsvision`   thingsvision output folders (``features.*`` + ``file_names.txt``)
:mod:`.arrays`         ``xarray.DataArray`` with a stimulus dimension
:mod:`.matrices`       ``.npy`` + id list, MATLAB ``.mat`` (``FILE.mat:VARIABLE``)
:mod:`.triplets`       triplet files (odd-one-out, anchor/positive/negative)
:mod:`.labels`         labelled feature files (features + class labels)
:mod:`.features`       the extracted-feature file format (ids, features, metadata, checksum)
=====================  ==============================================================

The user-facing description of each format and of every detection rule is
``docs/formats.md``. This package depends only on the core (``representations``) and on
numpy/scipy/pandas; it never imports ``data``, ``metrics``, ``models`` or torch.
"""

from __future__ import annotations

from .arrays import from_xarray
from .features import ExtractedFeatures, features_checksum, load_features
from .kind import MATRIX_KINDS, detect_matrix_kind
from .labels import LabelledFeatures, load_labelled_features, read_labels
from .hdf5 import load_hdf5
from .load import SUFFIXES, load_representation
from .matrices import load_matrix, load_npy, read_id_list, read_mat, select_mat_matrix, split_mat_variable
from .tables import ID_COLUMNS, LABEL_COLUMNS
from .thingsvision import load_thingsvision
from .triplets import TRIPLET_FORMATS, TRIPLET_METRICS, TripletData, load_triplets

__all__ = [
    "ExtractedFeatures",
    "ID_COLUMNS",
    "LABEL_COLUMNS",
    "LabelledFeatures",
    "MATRIX_KINDS",
    "SUFFIXES",
    "TRIPLET_FORMATS",
    "TRIPLET_METRICS",
    "TripletData",
    "detect_matrix_kind",
    "features_checksum",
    "from_xarray",
    "load_hdf5",
    "load_npy",
    "load_thingsvision",
    "load_features",
    "load_labelled_features",
    "load_matrix",
    "load_representation",
    "load_triplets",
    "read_id_list",
    "read_labels",
    "read_mat",
    "select_mat_matrix",
    "split_mat_variable",
]

"""The evaluation tests build their small datasets with the builders of tests/data."""

from __future__ import annotations

from ..data.conftest import (  # noqa: F401 - fixtures and builders shared with the data tests
    _own_data_dir,
    domain_ids,
    folders_copy,
    make_folders_copy,
    make_original_copy,
    random_similarity,
    write_image,
    write_labeled,
)

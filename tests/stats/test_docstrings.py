"""The examples in the docstrings of stats, robustness and report run and are right."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "repalign.stats.correlation",
    "repalign.stats.ushape",
    "repalign.stats.groups",
    "repalign.stats.tables",
    "repalign.stats.analysis",
    "repalign.robustness.tables",
    "repalign.report.data",
    "repalign.report.format",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0

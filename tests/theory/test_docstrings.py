"""The examples in the theory modules' docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["capacity", "adversarial", "quantities", "game", "geometry", "zoo", "simulate", "figures"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "figures":
        pytest.importorskip("matplotlib")
    module = importlib.import_module(f"repalign.theory.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

"""One CPU thread per test in this folder: under ``pytest -n 2`` on two cores, BLAS and
torch threads otherwise oversubscribe the machine (measured here: a 1.4 s test took 45 s)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    torch = importlib.import_module("torch") if importlib.util.find_spec("torch") else None
    before = torch.get_num_threads() if torch is not None else 0
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)

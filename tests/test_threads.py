"""Thread plans: pools sized together from the cores available, never oversubscribed."""

from __future__ import annotations

import os

import pytest

from repalign import _threads
from repalign._errors import InputError
from repalign._threads import (
    apply_thread_plan,
    available_cores,
    current_thread_plan,
    limited_threads,
    set_thread_override,
    thread_plan,
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch):
    for name in ("REPALIGN_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_threads, "_override", None)
    monkeypatch.setattr(_threads, "_applied", None)
    yield


def test_cores_follow_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(_threads, "_cgroup_quota_cores", lambda: None)
    assert available_cores() == 3
    monkeypatch.setattr(_threads, "_cgroup_quota_cores", lambda: 2)
    assert available_cores() == 2
    plan = thread_plan()
    assert (plan.budget, plan.source) == (2, "cores")


@pytest.mark.parametrize("budget", range(1, 65))
@pytest.mark.parametrize("gpu", [False, True])
def test_never_oversubscribed(budget: int, gpu: bool) -> None:
    plan = thread_plan(threads=budget, loader=True, gpu=gpu)
    assert plan.intra_op >= 1 and plan.blas >= 1
    assert plan.loader_workers + plan.intra_op <= max(budget, 1)
    assert plan.loader_workers + plan.blas <= max(budget, 1)
    no_loader = thread_plan(threads=budget)
    assert no_loader.loader_workers == 0 and no_loader.intra_op == budget


def test_precedence_override_env_omp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_plan().budget == 3 and thread_plan().source == "$OMP_NUM_THREADS"
    monkeypatch.setenv("REPALIGN_THREADS", "5")
    assert (thread_plan().budget, thread_plan().source) == (5, "$REPALIGN_THREADS")
    set_thread_override(7)
    assert (thread_plan().budget, thread_plan().source) == (7, "--threads")
    assert os.environ["OMP_NUM_THREADS"] == "7"  # runtimes started later get the same budget
    assert thread_plan(threads=2).budget == 2


@pytest.mark.parametrize("raw", ["0", "-2", "many"])
def test_bad_env_budget_is_an_input_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("REPALIGN_THREADS", raw)
    with pytest.raises(InputError, match=r"\$REPALIGN_THREADS=.*must be a whole number"):
        thread_plan()


def test_apply_sets_blas_and_torch_and_restores() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    torch = pytest.importorskip("torch")

    def blas_threads() -> set[int]:
        return {p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"}

    outer = torch.get_num_threads()
    with threadpoolctl.threadpool_limits(limits=1):  # conftest's limit; we change it inside
        before_torch = torch.get_num_threads()  # OpenMP-backed: the limit above applies
        with limited_threads(thread_plan(threads=2)) as plan:
            assert torch.get_num_threads() == 2
            assert blas_threads() <= {2}
            assert current_thread_plan() == plan
        assert torch.get_num_threads() == before_torch
        assert blas_threads() <= {1}
        applied = apply_thread_plan(thread_plan(threads=1))
        assert torch.get_num_threads() == 1 and current_thread_plan() == applied
    torch.set_num_threads(outer)


def test_the_command_line_default_budget_keeps_its_source(monkeypatch):
    # the CLI fixes the default budget for every command; provenance must not call it "--threads"
    from repalign import _threads
    from repalign.cli import _global_options

    for name in ("REPALIGN_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    with _global_options(False, None):
        assert _threads.thread_plan().source == "cores"
    with _global_options(False, 1):
        assert _threads.thread_plan().source == "--threads"
    assert _threads.thread_override() is None

"""Toy unit functions for testing the study engine in isolation (importable by workers)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from repalign.study.store import UnitResult


def toy_unit(unit_id: str, context: dict) -> UnitResult:
    """A deterministic unit; misbehaves on request through the context.

    ``trace_dir`` gets one file per execution (to count reruns), ``sleep`` slows every unit,
    ``exit_on`` names a unit that ends its process with ``os._exit(3)`` (every time).
    """
    if context.get("trace_dir"):
        (Path(context["trace_dir"]) / f"{unit_id.replace(':', '_')}-{uuid.uuid4().hex}").write_text(str(os.getpid()))
    if context.get("sleep"):
        time.sleep(context["sleep"])
    if unit_id == context.get("exit_on"):
        os._exit(3)
    if unit_id in context.get("fail", ()):
        raise RuntimeError(f"deliberate failure of {unit_id}")
    crash_flag = context.get("crash_flag")
    if unit_id == context.get("crash_on") and crash_flag and not Path(crash_flag).exists():
        if Path(crash_flag).parent.is_dir():  # crash once, leaving a flag; else crash every time
            Path(crash_flag).write_text("crashed once")
        os.kill(os.getpid(), signal.SIGKILL)
    seed = int.from_bytes(unit_id.encode(), "little") % 2**32
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame({"model": unit_id, "seed": range(3), "accuracy": rng.random(3) * 100})
    summary = pd.DataFrame({"model": [unit_id], "score": [float(rows["accuracy"].mean())]})
    return UnitResult(unit_id, {"fewshot": rows, "results": summary}, {"seed": seed})


def thread_budget_unit(unit_id: str, context: dict) -> UnitResult:
    """Records the thread budget the unit's process runs with (to test the pool's split)."""
    from repalign._threads import thread_override

    summary = pd.DataFrame({"model": [unit_id], "budget": [thread_override() or 0], "omp": [os.environ.get("OMP_NUM_THREADS", "")]})
    return UnitResult(unit_id, {"results": summary}, {})

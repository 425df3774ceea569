"""Honest plans: which weights are here, what must be downloaded, how long a study will take.

:func:`weights_report` asks the model registry (:func:`repalign.models.weights_status`,
never the network) whether each model's weights are in the local cache, and the download
size where a local record states it (None: unknown, never guessed).

:func:`estimate_time` prices each unit from a per-model cost:

* **measured on this run** when the run folder already has finished units: the median
  seconds of its finished image-model units (and of its zoo units), per unit;
* else **calibrated on this machine** (:func:`calibrate`, cached per machine in
  ``REPALIGN_HOME/study_calibration.json``): the seconds per image of a random-init
  ResNet-18 (no download) at the study's batch size and device, scaled for each model by
  ``param_count x (img_size / 224)^2`` from the robustness tables (1 when the model has no
  row: stated), plus the seconds of one few-shot fit measured on a synthetic problem of
  the task's size, times the number of fits.

The figure is an estimate and says which basis it used.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write_text

__all__ = ["weights_report", "calibrate", "estimate_time", "REFERENCE_MODEL"]

log = logging.getLogger(__name__)

#: The calibration model: built without weights, so calibrating never downloads.
REFERENCE_MODEL = {"id": "timm:resnet18", "param_count": 11.69, "img_size": 224}


def weights_report(units: Sequence[str], model_options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{model_id: {"present", "download_bytes", "where"}}`` for every unit (see the module docstring)."""
    from ..models import weights_status

    out = {}
    for uid in units:
        try:
            out[uid] = weights_status(uid, options=model_options.get(uid))
        except Exception as exc:  # noqa: BLE001 - a plan must list every model, whatever its source says
            out[uid] = {"present": False, "download_bytes": None, "where": f"cannot check: {type(exc).__name__}: {exc}"}
    return out


def _calibration_path() -> Path:
    from .._paths import cache_root

    return cache_root() / "study_calibration.json"


def _machine_key(device: str, batch_size: int) -> str:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return f"{platform.node()}|{platform.machine()}|{cores} cores|{device}|batch {batch_size}"


def _time_embedding(device: str, batch_size: int) -> float:
    """Seconds per 224 px image of a random-init ResNet-18 (best of two batches)."""
    from .._validation import optional_import

    torch = optional_import("torch", extra="torch", purpose="Calibrating the study's time estimate")
    timm = optional_import("timm", extra="torch", purpose="Calibrating the study's time estimate")
    dev = "cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    model = timm.create_model("resnet18", pretrained=False, num_classes=0).eval().to(dev)
    n = max(2, min(batch_size, 16))
    x = torch.randn(n, 3, 224, 224, device=dev)
    best = float("inf")
    with torch.inference_mode():
        model(x[:1])  # warm-up
        for _ in range(2):
            t0 = time.perf_counter()
            model(x)
            if dev == "cuda":
                torch.cuda.synchronize()
            best = min(best, (time.perf_counter() - t0) / n)
    return best


def _time_fit() -> dict[str, float]:
    """Seconds of one few-shot fit per head on a synthetic problem (20 classes, 256-d, 5 shots)."""
    from ..transfer import run_fewshot

    rng = np.random.default_rng(0)
    classes, per_class, dim = 20, 25, 256
    labels = np.repeat(np.arange(classes), per_class)
    feats = rng.normal(size=(classes * per_class, dim)) + 2 * rng.normal(size=(classes, dim))[labels]
    out = {}
    for head in ("linear", "mlp1", "mlp2"):
        t0 = time.perf_counter()
        run_fewshot(feats, labels, shots=[5], heads=[head], seeds=1)
        out[head] = time.perf_counter() - t0
    out["problem_size"] = float(classes * 5 * dim * classes)
    return out


def calibrate(device: str = "auto", batch_size: int = 32, *, refresh: bool = False) -> dict[str, Any]:
    """Per-image and per-fit costs on this machine (measured once, then read from the cache)."""
    key = _machine_key(device, batch_size)
    path = _calibration_path()
    cache: dict[str, Any] = {}
    if path.is_file():
        try:
            cache = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            cache = {}
    if key in cache and not refresh:
        return cache[key]
    log.info("calibrating the time estimate on this machine (a random-init ResNet-18 and three small fits)")
    entry = {"seconds_per_image": _time_embedding(device, batch_size), "fit": _time_fit(), "measured": time.time(),
             "machine": key}
    cache[key] = entry
    try:
        atomic_write_text(path, json.dumps(cache, indent=2), what="calibration cache")
    except Exception as exc:  # noqa: BLE001 - a read-only home must not stop a dry run
        log.warning("could not cache the calibration in %s (%s)", path, exc)
    return entry


def _finished_costs(run_dir: Path, is_synthetic: Any) -> dict[str, list[float]]:
    from .store import RunStore

    costs: dict[str, list[float]] = {"zoo": [], "image": []}
    store = RunStore(run_dir)
    if store.read_manifest() is None:
        return costs
    for uid, folder in store.done_units().items():
        try:
            seconds = float(json.loads((folder / "record.json").read_text()).get("seconds"))
        except (TypeError, ValueError, json.JSONDecodeError):
            continue
        costs["zoo" if is_synthetic(uid) else "image"].append(seconds)
    return costs


def _size_factor(model_id: str, tables: Any, name_of: Any) -> float | None:
    if tables is None:
        return None
    name = name_of(model_id, set(tables.index))
    if name is None:
        return None
    row = tables.loc[name]
    try:
        params, size = float(row["param_count"]), float(row["img_size"])
    except (KeyError, TypeError, ValueError):
        return None
    if not np.isfinite(params) or not np.isfinite(size):
        return None
    return params / REFERENCE_MODEL["param_count"] * (size / REFERENCE_MODEL["img_size"]) ** 2


def estimate_time(plan: Any, *, calibration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Estimated seconds per model and in all (see the module docstring for the bases)."""
    from .units import is_synthetic, robustness_name

    est = plan.estimate()
    done = set()
    costs = _finished_costs(Path(plan.config.output), is_synthetic)
    from .store import RunStore

    if RunStore(plan.config.output).read_manifest() is not None:
        done = set(RunStore(plan.config.output).done_units())
    todo = [u for u in plan.units if u not in done]
    per_model: dict[str, float] = {}
    basis: dict[str, str] = {}
    tables = None
    if plan.config.robustness.tables is not None:
        from ..robustness import load_timm_results

        tables = load_timm_results(plan.config.robustness.tables).set_index("model")
    cal = None
    unknown_size = 0
    notes: list[str] = []
    extra_images = _missing_transfer_images(plan, notes)
    for uid in todo:
        kind = "zoo" if is_synthetic(uid) else "image"
        if costs[kind]:
            per_model[uid] = statistics.median(costs[kind])
            basis[kind] = f"median of {len(costs[kind])} finished {kind} unit(s) of this run"
            continue
        if cal is None:
            cal = calibration or calibrate(plan.config.extraction.device, plan.config.extraction.batch_size)
        factor = _size_factor(uid, tables, robustness_name) if kind == "image" else 0.0
        if factor is None:
            unknown_size += 1
            factor = 1.0
        images = est["images_to_embed_per_model"] + extra_images if kind == "image" else 0
        per_model[uid] = images * cal["seconds_per_image"] * factor + _fewshot_seconds(plan, kind, cal)
        basis[kind] = "calibrated on this machine (random-init ResNet-18, scaled by parameters x pixels; few-shot fits timed on a synthetic problem)"
    total = float(sum(per_model.values()))
    if unknown_size:
        notes.append(f"{unknown_size} model(s) have no parameter count in the robustness tables: priced as a ResNet-18")
    return {"seconds": total, "per_model": per_model, "basis": basis, "remaining_units": len(todo),
            "finished_units": len(done), "notes": notes}


#: Published sizes (test images, classes) of transfer sets, for pricing one that is not here yet.
KNOWN_TRANSFER_SIZES: dict[str, tuple[int, int]] = {"cifar100": (10_000, 100), "cifar10": (10_000, 10)}


def _missing_transfer_images(plan: Any, notes: list[str]) -> int:
    extra = 0
    for task in plan.transfer_specs:
        if task.is_zoo or task.n_images is not None:
            continue
        known = KNOWN_TRANSFER_SIZES.get(task.dataset)
        if known is None:
            notes.append(f"transfer set {task.name} is not on this machine and its size is unknown: not in the estimate")
            continue
        n = known[0] if task.max_per_class is None else min(known[0], task.max_per_class * known[1])
        notes.append(f"transfer set {task.name} is not on this machine: priced at its published size ({n} images, {known[1]} classes)")
        extra += n
    return extra


def _fewshot_seconds(plan: Any, kind: str, cal: dict[str, Any]) -> float:
    seconds = 0.0
    for task in plan.transfer_specs:
        if (kind == "zoo") != task.is_zoo:
            continue
        classes = task.n_classes or KNOWN_TRANSFER_SIZES.get(task.dataset, (0, 10))[1]
        dim = 64 if task.is_zoo else 1024
        for shots in task.shots:
            scale = classes * shots * dim * classes / cal["fit"]["problem_size"]
            seconds += task.seeds * sum(cal["fit"][h] for h in task.heads) * max(scale, 0.05)
    return seconds

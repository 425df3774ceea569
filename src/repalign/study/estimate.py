"""Honest plans: which weights are here, what must be downloaded, how long a study will take.

:func:`weights_report` asks the model registry (:func:`repalign.models.weights_status`,
never the network) whether each model's weights are in the local cache, and the download
size where a local record states it (None: unknown, never guessed);
:func:`parameter_download_bytes` gives an approximate size from the parameter count
(reported apart, as ``download_bytes_from_parameters``).

:func:`estimate_time` prices each unit from a per-model cost:

* **measured on this run** when the run folder already has finished units: the median
  seconds of its finished image-model units (and of its zoo units), per unit;
* else, for a zoo model, one zoo unit of the plan **run now** and timed (a second or so);
* else, for an image model, **calibrated on this machine** (:func:`calibrate`, cached per
  machine, repalign version and transfer-task shape in
  ``REPALIGN_HOME/study_calibration.json``): the seconds
  per image of a random-init ResNet-18 (no download) at the study's batch size and device,
  scaled for each model by ``param_count x (img_size / 224)^2`` from the robustness tables
  (1 when the model has no row: stated), plus the few-shot grid of each transfer task timed
  for real, as a unit runs it (the task's classes x shots x heads x seeds in one program) on
  synthetic features of :data:`CALIBRATION_DIM` dimensions. Image models' embeddings are
  usually wider (512 to 2,048), so for them this part errs on the short side; the time
  of the first finished units replaces it as soon as a run has some.

The figure is an estimate and says which basis it used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import statistics
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .._text import counted as count_noun

import numpy as np

from .._files import atomic_write_text

__all__ = ["weights_report", "calibrate", "estimate_time", "parameter_download_bytes", "REFERENCE_MODEL"]

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


#: Width of the synthetic features the few-shot grid is timed on.
CALIBRATION_DIM = 256
#: Bumped when what is measured changes, so older cached calibrations are measured again.
CALIBRATION_FORMAT = 2
#: Test examples per class in a calibration problem (evaluation is a small part of a fit).
_TEST_PER_CLASS = 10

GridShape = tuple[int, tuple[int, ...], tuple[str, ...], int]


def _grid_shape(task: Any) -> GridShape:
    """(classes, shots, heads, seeds) of a transfer task, with the published class count when it is not here."""
    classes = task.n_classes or KNOWN_TRANSFER_SIZES.get(task.dataset, (0, 10))[1]
    return int(classes), tuple(int(s) for s in task.shots), tuple(task.heads), int(task.seeds)


def _grid_key(classes: int, shots: tuple[int, ...], heads: tuple[str, ...], seeds: int) -> str:
    return f"{classes} classes|shots {','.join(map(str, shots))}|{','.join(heads)}|{seeds} seeds"


def _time_grid(classes: int, shots: tuple[int, ...], heads: tuple[str, ...], seeds: int, dim: int) -> dict[str, float]:
    """Seconds of the few-shot grid per head, all seeds in one program, on synthetic ``dim``-d features.

    Shows its progress (the paper's grid takes minutes on a small CPU): one display over the
    heads, and each head's few-shot fits below it.
    """
    from .._progress import progress
    from ..transfer import run_fewshot

    rng = np.random.default_rng(0)
    per_class = max(shots) + _TEST_PER_CLASS
    labels = np.repeat(np.arange(classes), per_class)
    feats = (rng.normal(size=(classes * per_class, dim)) + 2 * rng.normal(size=(classes, dim))[labels]).astype(np.float32)
    out = {}
    for head in progress(list(heads), desc="calibrating the few-shot grid", unit="head"):
        t0 = time.perf_counter()
        run_fewshot(feats, labels, shots=list(shots), heads=[head], seeds=seeds)
        out[head] = time.perf_counter() - t0
    return out


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    from .. import _progress

    was = _progress.is_quiet()
    _progress.set_quiet(True)
    try:
        yield
    finally:
        _progress.set_quiet(was)


def _calibrate_grid(classes: int, shots: tuple[int, ...], heads: tuple[str, ...], seeds: int) -> dict[str, Any]:
    with _quiet_progress():  # warm-up: the first fit of a process pays for kernel set-up
        _time_grid(2, (1,), heads, 1, 8)
    return {"seconds": _time_grid(classes, shots, heads, seeds, CALIBRATION_DIM), "dim": CALIBRATION_DIM}


def _read_cache(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        cache = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        log.warning("%s: unreadable calibration cache; measuring again", path)
        return {}
    return cache if isinstance(cache, dict) else {}


def calibrate(
    device: str = "auto",
    batch_size: int = 32,
    *,
    grids: Sequence[GridShape] = (),
    refresh: bool = False,
) -> dict[str, Any]:
    """Per-image cost and few-shot grid costs on this machine (measured once, then read from the cache).

    Parameters
    ----------
    device, batch_size
        The study's extraction settings (part of the cache key).
    grids
        ``(classes, shots, heads, seeds)`` of the transfer tasks to price; each is timed once.
    refresh
        Measure again even when the cache holds an entry.

    Returns
    -------
    dict
        ``seconds_per_image``, ``grids`` (``{key: {"seconds": {head: s}, "dim": d}}``,
        keys from the task shape), ``measured`` (a timestamp) and ``machine``.
    """
    from .. import __version__

    key = f"{_machine_key(device, batch_size)}|repalign {__version__}|format {CALIBRATION_FORMAT}"
    path = _calibration_path()
    cache = _read_cache(path)
    entry = dict(cache.get(key) or {}) if not refresh else {}
    changed = False
    if "seconds_per_image" not in entry:
        log.info("calibrating the time estimate on this machine: a random-init ResNet-18 (once; cached in %s)", path)
        entry.update(seconds_per_image=_time_embedding(device, batch_size), measured=time.time(), machine=key)
        changed = True
    measured = dict(entry.get("grids") or {})
    for shape in grids:
        gkey = _grid_key(*shape)
        if gkey not in measured:
            log.info("calibrating the few-shot grid (%s, on %d-d synthetic features; once, cached)", gkey, CALIBRATION_DIM)
            measured[gkey] = _calibrate_grid(*shape)
            changed = True
    entry["grids"] = measured
    if changed:
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


#: Bytes a parameter takes in a float32 weight file (what timm publishes for most models).
BYTES_PER_PARAMETER = 4


def _param_rows(plan: Any) -> Any:
    """The plan's robustness tables indexed by model, or None (read once per process: reading them logs)."""
    if plan.config.robustness.tables is None:
        return None
    from .units import _timm_table

    return _timm_table(str(plan.config.robustness.tables)).set_index("model")


def parameter_download_bytes(plan: Any, weights: dict[str, dict[str, Any]], tables: Any = None) -> dict[str, int]:
    """An approximate download size for missing weights whose size no local record states.

    ``param_count`` (millions, from the robustness tables) x 4 bytes: a float32 weight
    file's size up to its small header. Models without a row are left out (unknown).
    """
    from .units import robustness_name

    tables = _param_rows(plan) if tables is None else tables
    if tables is None:
        return {}
    out = {}
    for uid, status in weights.items():
        if status.get("present") or status.get("download_bytes"):
            continue
        name = robustness_name(uid, set(tables.index))
        if name is None:
            continue
        try:
            params = float(tables.loc[name, "param_count"])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(params):
            out[uid] = int(params * 1e6 * BYTES_PER_PARAMETER)
    return out


def _size_factor(model_id: str, tables: Any, name_of: Any, image_size: int | None = None) -> float | None:
    """Parameters x pixels relative to the reference model; ``image_size`` (the study's own
    setting for the model) replaces the table's published input size."""
    if tables is None:
        return None
    name = name_of(model_id, set(tables.index))
    if name is None:
        return None
    row = tables.loc[name]
    try:
        params, size = float(row["param_count"]), float(image_size or row["img_size"])
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
    tables = _param_rows(plan)
    cal = None
    unknown_size = 0
    notes: list[str] = []
    extra_images = _missing_transfer_images(plan, notes)
    for uid in todo:
        kind = "zoo" if is_synthetic(uid) else "image"
        if costs[kind]:
            per_model[uid] = statistics.median(costs[kind])
            basis[kind] = f"median of {count_noun(len(costs[kind]), 'finished ' + kind + ' unit')} of this run"
            continue
        if kind == "zoo":  # a zoo unit is cheap and needs nothing missing: run one and time it
            if "zoo" not in basis:
                zoo_uid, zoo_seconds = uid, _time_zoo_unit(plan, uid)
                basis["zoo"] = f"calibrated on this machine: one zoo unit run now ({zoo_uid}: {zoo_seconds:.2f} s)"
            per_model[uid] = zoo_seconds
            continue
        if cal is None:
            grids = [_grid_shape(t) for t in plan.transfer_specs if not t.is_zoo]
            cal = calibration or calibrate(plan.config.extraction.device, plan.config.extraction.batch_size,
                                           grids=grids)
        image_size = getattr(plan.model_options.get(uid), "image_size", None)
        factor = _size_factor(uid, tables, robustness_name, image_size)
        if factor is None:  # priced as the reference model, at the study's image size when it sets one
            unknown_size += 1
            factor = (float(image_size or REFERENCE_MODEL["img_size"]) / REFERENCE_MODEL["img_size"]) ** 2
        images = est["images_to_embed_per_model"] + extra_images
        per_model[uid] = images * cal["seconds_per_image"] * factor + _fewshot_seconds(plan, cal)
        basis[kind] = ("calibrated on this machine (random-init ResNet-18, scaled by parameters x pixels; "
                       f"few-shot grid timed on synthetic {CALIBRATION_DIM}-d features)")
    total = float(sum(per_model.values()))
    if unknown_size:
        notes.append(f"{count_noun(unknown_size, 'model has', 'models have')} no parameter count in the robustness tables: "
                     "priced as a ResNet-18")
    return {"seconds": total, "per_model": per_model, "basis": basis, "remaining_units": len(todo),
            "priced_images_per_model": extra_images,
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


def _time_zoo_unit(plan: Any, uid: str) -> float:
    """Seconds of one zoo unit of this plan, run now (twice: the first pays for imports and set-up)."""
    from .units import run_model_unit

    run_model_unit(uid, plan.context())
    t0 = time.perf_counter()
    run_model_unit(uid, plan.context())
    return time.perf_counter() - t0


def _fewshot_seconds(plan: Any, cal: dict[str, Any]) -> float:
    """Seconds of an image model's few-shot grids: the calibrated time of each task's grid.

    A task the calibration did not time (a calibration passed in by a caller) adds nothing.
    """
    seconds = 0.0
    for task in plan.transfer_specs:
        if task.is_zoo:
            continue
        entry = (cal.get("grids") or {}).get(_grid_key(*_grid_shape(task)))
        if entry is not None:
            seconds += sum(entry["seconds"][h] for h in task.heads)
    return seconds

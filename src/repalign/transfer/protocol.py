"""The few-shot protocol: splits x heads x seeds on frozen features, summarised per (head, n).

:func:`run_fewshot` is the one entry point; it takes a feature matrix and labels (from a
features file, or from an extractor) and returns a :class:`FewShotResult` holding the long
results table of ``docs/architecture.md`` (``model, dataset, head, shots, seed, accuracy``;
accuracies in percent) and the per-(head, n) summary: mean over seeds and a two-sided
Student-t confidence interval over seeds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._progress import progress as show_progress
from .._threads import limited_threads, thread_plan
from .._validation import check_option, optional_import, parse_list
from .fits import PROBES, linear_fits, neural_fits
from .grid import PRECISIONS, resolve_precision
from .heads import NEURAL_HEADS, STANDARDIZATIONS, HeadConfig, default_config
from .splits import PAPER_SHOTS, FewShotSplit, encode_labels, make_splits
from .summary import (
    INTERVAL_METHOD,
    RESULT_COLUMNS,
    STATUS_COLUMNS,
    FewShotResult,
    check_confidence,
    t_interval,
)

__all__ = [
    "HEADS",
    "INTERVAL_METHOD",
    "RESULT_COLUMNS",
    "FewShotResult",
    "resolve_device",
    "run_fewshot",
    "run_fewshot_many",
    "t_interval",
]

log = logging.getLogger(__name__)

#: Head names, as in the results tables.
HEADS: tuple[str, ...] = ("linear", *NEURAL_HEADS)


def resolve_device(device: str | None) -> str:
    """The device the heads run on: :func:`repalign.models.runtime.resolve_device` without MPS.

    ``"auto"``/None -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; any other name is
    checked against this machine, before any fit runs.
    """
    from ..models.runtime import resolve_device as resolve

    return resolve(device, allow_mps=False)  # the heads need float64, which MPS lacks


def _check_features(features: Any, n_labels: int) -> np.ndarray:
    X = np.asarray(features)
    if X.ndim != 2:
        raise InputError(f"features: expected a 2-d array (n_examples, n_features), got shape {X.shape}.")
    if X.dtype.kind not in "fiu":
        raise InputError(f"features: expected numbers, got dtype {X.dtype}.")
    if X.shape[0] != n_labels:
        raise InputError(f"features and labels have different numbers of examples: [{X.shape[0]}, {n_labels}].")
    X = X.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise InputError(f"features: NaN or infinite value, first at row {bad[0]}, column {bad[1]}.")
    return X


#: Largest feature magnitude the linear probe takes without preprocessing: its Gram products run partly
#: in float32 (max 3.4e38), which values from about 1e19 overflow (measured: 1e15 fits, 1e19 fails).
MAX_PROBE_MAGNITUDE = 1e16


def _check_probe_scale(Xs: list[np.ndarray], names: list[str]) -> None:
    for X, name in zip(Xs, names):
        peak = float(np.max(np.abs(X))) if X.size else 0.0
        if peak > MAX_PROBE_MAGNITUDE:
            raise InputError(
                f"features{' ' + name if name else ''}: values up to {peak:.3g}; the linear probe on unscaled features takes magnitudes "
                f"up to {MAX_PROBE_MAGNITUDE:.0e} (larger ones overflow its products). Rescale them, or pass "
                "probe_standardize='standardize' (CLI: --probe-standardize standardize), which is scale-free."
            )


def _head_configs(heads: list[str], head_config: HeadConfig | Mapping[str, HeadConfig] | None) -> dict[str, HeadConfig]:
    out: dict[str, HeadConfig] = {}
    for head in heads:
        if head == "linear":
            continue
        if head_config is None:
            cfg = default_config(head)
        elif isinstance(head_config, HeadConfig):
            cfg = head_config
        else:
            unknown = sorted(set(head_config) - set(NEURAL_HEADS))
            if unknown:
                raise InputError(f"head_config: unknown heads {unknown}; valid: {', '.join(NEURAL_HEADS)}.")
            cfg = head_config.get(head, default_config(head))
        out[head] = cfg.validate()
    return out


def run_fewshot(
    features: Any,
    labels: Sequence[object] | np.ndarray,
    *,
    shots: int | Iterable[int] = PAPER_SHOTS,
    heads: str | Iterable[str] = HEADS,
    seeds: int | Iterable[int] = 5,
    ids: Sequence[object] | None = None,
    C: float = 1.0,
    probe_tol: float = 1e-6,
    probe_standardize: str = "none",
    head_config: HeadConfig | Mapping[str, HeadConfig] | None = None,
    device: str | None = "cpu",
    seed_batch: int | None = None,
    confidence: float = 0.95,
    model: str = "",
    dataset: str = "",
    precision: str = "auto",
    probe: str = "repalign",
    progress: bool | None = None,
) -> FewShotResult:
    """Run the paper's few-shot protocol on frozen features.

    Parameters
    ----------
    features : array, shape (n_examples, n_features)
        Frozen embeddings (e.g. penultimate layer).
    labels : array-like, shape (n_examples,)
        Class of every example.
    shots : int or iterable of int
        Training examples per class; default (1, 5, 10, 20, 40, 80).
    heads : str or iterable of str
        Any of ``linear`` (logistic-regression probe at scikit-learn's optimum), ``mlp1``,
        ``mlp2``; a comma-separated string is accepted.
    seeds : int or iterable of int
        Number of seeds (``0..s-1``) or the seeds themselves; default 5.
    ids : sequence of str, optional
        Stimulus ids; make the splits independent of row order (see :func:`make_splits`).
    C : float
        Inverse regularisation of the probe, as in scikit-learn (default 1.0, its default).
    probe_tol : float
        Gradient tolerance of the probe.
    probe_standardize : {"none", "standardize", "l2", "center"}
        Preprocessing before the probe (default none: raw embeddings, as the paper).
    head_config : HeadConfig or mapping head -> HeadConfig, optional
        Settings of the neural heads (default :func:`repalign.transfer.heads.default_config`).
    device : str
        ``"cpu"`` (the probe then uses numpy only), ``"cuda"``, ``"cuda:1"``, or ``"auto"``.
    seed_batch : int, optional
        Seeds trained together. Default: all seeds, except the probe on CPU (one at a time,
        which bounds memory and costs nothing there).
    confidence : float
        Level of the intervals (default 0.95), checked before any fit runs.
    model, dataset : str
        Written into the ``model`` and ``dataset`` columns of the table.
    precision : {"auto", "float32", "bfloat16"}
        Precision of the neural heads' matrix products (``auto``: bf16 on CUDA and on CPUs
        with native bf16 matrix units, else float32; see ``docs/fewshot.md``).
    probe : {"repalign", "sklearn"}
        The linear head's implementation: repalign's solver (default) or scikit-learn's own
        ``LogisticRegression`` with the same C and penalty.
    progress : bool, optional
        Progress of the fits (:func:`repalign._progress.progress`: a bar on a terminal, plain
        lines on a pipe); ``False`` silences it, ``None`` shows it unless ``-q`` silenced all.

    Returns
    -------
    FewShotResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat(np.arange(3), 10)
    >>> X = rng.normal(size=(30, 4)) + 3 * np.eye(3, 4)[labels]
    >>> res = run_fewshot(X, labels, shots=[1, 5], heads="linear", seeds=2)
    >>> [(r["head"], r["shots"], len(r["accuracies"])) for r in res.records()]
    [('linear', 1, 2), ('linear', 5, 2)]
    """
    result = run_fewshot_many(
        {model: _check_features(features, np.asarray(labels).shape[0])}, labels, shots=shots, heads=heads,
        seeds=seeds, ids=ids, C=C, probe_tol=probe_tol, probe_standardize=probe_standardize,
        head_config=head_config, device=device, seed_batch=seed_batch, confidence=confidence, dataset=dataset,
        precision=precision, probe=probe, progress=progress,
    )
    settings = dict(result.settings)
    settings.pop("models")
    settings["n_features"] = settings["n_features"][model]
    return FewShotResult(result.table, result.details, result.classes, result.confidence, settings)


def run_fewshot_many(
    features: Mapping[str, Any],
    labels: Sequence[object] | np.ndarray,
    *,
    shots: int | Iterable[int] = PAPER_SHOTS,
    heads: str | Iterable[str] = HEADS,
    seeds: int | Iterable[int] = 5,
    ids: Sequence[object] | None = None,
    C: float = 1.0,
    probe_tol: float = 1e-6,
    probe_standardize: str = "none",
    head_config: HeadConfig | Mapping[str, HeadConfig] | None = None,
    device: str | None = "cpu",
    seed_batch: int | None = None,
    confidence: float = 0.95,
    dataset: str = "",
    precision: str = "auto",
    probe: str = "repalign",
    progress: bool | None = None,
) -> FewShotResult:
    """:func:`run_fewshot` for several models of the same examples, in one pass.

    Every model gets the same splits (they depend only on the labels, ids and seeds), and the
    neural heads of all models with the same feature dimension train as one batch, which
    is much faster than one model at a time when the problems are small. Results equal
    separate :func:`run_fewshot` calls (tested); the ``model`` column holds the mapping's keys.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat(np.arange(3), 10)
    >>> zoo = {f"m{i}": rng.normal(size=(30, 4)) + (3 - i) * np.eye(3, 4)[labels] for i in range(3)}
    >>> res = run_fewshot_many(zoo, labels, shots=[1, 5], heads="linear", seeds=2)
    >>> res.table.groupby("model").size().to_dict()
    {'m0': 4, 'm1': 4, 'm2': 4}
    """
    if not isinstance(features, Mapping) or not features:
        raise InputError("features: give a non-empty mapping of model name -> (n_examples, n_features) array.")
    check_confidence(confidence)
    head_list = parse_list("heads", heads if not isinstance(heads, str) else heads, HEADS)
    check_option("probe_standardize", probe_standardize, STANDARDIZATIONS)
    check_option("probe", probe, PROBES)
    check_option("precision", precision, PRECISIONS)
    codes, classes = encode_labels(labels)
    if len(classes) < 2:
        raise InputError(f"labels: need at least two classes, got {len(classes)}.")
    names = [str(k) for k in features]
    Xs = [_check_features(features[k], codes.shape[0]) for k in features]
    if "linear" in head_list and probe_standardize == "none":
        _check_probe_scale(Xs, names)
    splits = make_splits(codes, shots=shots, seeds=seeds, ids=ids, classes=classes)
    dev = resolve_device(device)
    configs = _head_configs(head_list, head_config)
    shot_list = sorted({s.shots for s in splits})
    seed_list = list(dict.fromkeys(s.seed for s in splits))
    by_key: dict[tuple[int, int], FewShotSplit] = {(s.seed, s.shots): s for s in splits}
    K = len(classes)
    rows: list[dict[str, Any]] = []

    def recorder(model_of: Any) -> Any:
        def record(m: int, head: str, n_shots: int, seed: int, acc: float, split: FewShotSplit, seconds: float,
                   **extra: Any) -> None:
            rows.append({"model": model_of(m), "dataset": dataset, "head": head, "shots": n_shots, "seed": seed,
                         "accuracy": acc, "n_train": int(split.train.size), "n_eval": int(split.test.size),
                         "seconds": seconds, **extra})
        return record

    with contextlib.ExitStack() as stack:
        # a study runs one model per unit: its bar says whose fits these are
        desc = f"{names[0]}: few-shot fits" if len(names) == 1 and names[0] else "few-shot fits"
        bar = stack.enter_context(show_progress(total=len(head_list) * len(splits) * len(Xs), desc=desc,
                                                unit="fit", enabled=progress))
        if configs:
            optional_import("torch", extra="torch", purpose="The neural few-shot heads")
        stack.enter_context(limited_threads(thread_plan(gpu=dev != "cpu")))
        _fit_all(head_list, Xs, names, codes, K, shot_list, seed_list, by_key, configs, recorder, bar.update,
                 C=C, probe_tol=probe_tol, probe_standardize=probe_standardize, dev=dev, seed_batch=seed_batch,
                 probe=probe, precision=precision)
    details = pd.DataFrame(rows)
    details["_order"] = details["model"].map({n: i for i, n in enumerate(names)})
    details = details.sort_values(["_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    failed = details["status"] != "ok"
    columns = list(RESULT_COLUMNS) + (list(STATUS_COLUMNS) if failed.any() else [])
    table = details[columns].copy()
    table["shots"] = table["shots"].astype(np.int64)
    table["seed"] = table["seed"].astype(np.int64)
    table["accuracy"] = table["accuracy"].astype(np.float64)
    for row in details[failed].itertuples(index=False):
        log.warning("few-shot fit failed: model %s, head %s, %d shots, seed %d: %s",
                    row.model or "(unnamed)", row.head, row.shots, row.seed, row.error)
    settings = {
        "shots": shot_list, "seeds": seed_list, "heads": head_list, "C": float(C), "probe_tol": probe_tol,
        "probe": probe, "probe_standardize": probe_standardize, "device": dev, "confidence": confidence,
        "precision": {h: resolve_precision(precision, dev) for h in configs} if configs else {},
        "interval": INTERVAL_METHOD, "n_examples": int(codes.shape[0]), "models": names,
        "n_features": {n: int(X.shape[1]) for n, X in zip(names, Xs)},
        "n_classes": K, "head_config": {h: c.to_dict() for h, c in configs.items()},
        "n_failed": int(failed.sum()),
    }
    return FewShotResult(table=table, details=details, classes=classes, confidence=confidence, settings=settings)


def _fit_all(head_list: list[str], Xs: list[np.ndarray], names: list[str], codes: np.ndarray, K: int,
             shot_list: list[int], seed_list: list[int], by_key: dict[tuple[int, int], FewShotSplit],
             configs: dict[str, HeadConfig], recorder: Any, advance: Callable[[float], None], *, C: float,
             probe_tol: float, probe_standardize: str, dev: str, seed_batch: int | None, probe: str,
             precision: str) -> None:
    """Every head over every model of the grid (the probe per model; a neural head for all
    models of one feature dimension in one program)."""
    by_dim: dict[int, list[int]] = {}
    for i, X in enumerate(Xs):
        by_dim.setdefault(X.shape[1], []).append(i)
    for head in head_list:
        if head == "linear":
            for i, X in enumerate(Xs):
                record = recorder(lambda _m, i=i: names[i])
                linear_fits(X, codes, K, shot_list, seed_list, by_key, C=C, tol=probe_tol,
                            standardize=probe_standardize, dev=dev, seed_batch=seed_batch, probe=probe,
                            record=lambda *a, record=record, **k: record(0, *a, **k), advance=advance)
        else:
            for members in by_dim.values():
                neural_fits(head, configs[head], [Xs[i].astype(np.float32) for i in members], codes, K, shot_list,
                            seed_list, by_key, dev=dev, seed_batch=seed_batch, precision=precision,
                            record=recorder(lambda m, members=members: names[members[m]]), advance=advance)

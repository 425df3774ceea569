"""The few-shot protocol: splits x heads x seeds on frozen features, summarised per (head, n).

:func:`run_fewshot` is the one entry point; it takes a feature matrix and labels (from a
features file, or from an extractor) and returns a :class:`FewShotResult` holding the long
results table of ``docs/architecture.md`` (``model, dataset, head, shots, seed, accuracy``;
accuracies in percent) and the per-(head, n) summary: mean over seeds and a two-sided
Student-t confidence interval over seeds.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import check_option, parse_list
from .heads import NEURAL_HEADS, STANDARDIZATIONS, HeadConfig, Standardizer, default_config, train_heads
from .probe import fit_logistic_batch
from .splits import PAPER_SHOTS, FewShotSplit, encode_labels, make_splits

__all__ = ["HEADS", "FewShotResult", "run_fewshot", "run_fewshot_many", "t_interval", "resolve_device", "RESULT_COLUMNS"]

log = logging.getLogger(__name__)

#: Head names, as in the results tables.
HEADS: tuple[str, ...] = ("linear", *NEURAL_HEADS)
#: Columns of the long table (``fewshot.parquet``).
RESULT_COLUMNS: tuple[str, ...] = ("model", "dataset", "head", "shots", "seed", "accuracy")
INTERVAL_METHOD = "two-sided Student-t interval over seeds: mean +/- t(1-(1-c)/2, s-1) * sd / sqrt(s), sd with ddof=1"


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Student-t confidence interval of the mean of ``values``; None for fewer than 2 values.

    Examples
    --------
    >>> lo, hi = t_interval([50.0, 52.0, 54.0])
    >>> round(lo, 3), round(hi, 3)
    (47.032, 56.968)
    """
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}.")
    if v.size < 2:
        return None
    mean, sd = float(v.mean()), float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=v.size - 1)) * sd / math.sqrt(v.size)
    return mean - half, mean + half


def resolve_device(device: str | None) -> str:
    """``"auto"``/None -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; other names pass through."""
    if device in (None, "", "auto"):
        try:
            import torch
        except ImportError:
            return "cpu"
        return "cuda" if torch.cuda.is_available() else "cpu"
    text = str(device)
    if text != "cpu":
        from .._validation import optional_import

        torch = optional_import("torch", extra="torch", purpose=f"Running on device {text!r}")
        try:
            dev = torch.device(text)
        except RuntimeError as exc:
            raise InputError(f"device: {text!r} is not a torch device name ({exc}).") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device: {text!r} was requested but torch sees no CUDA GPU.")
    return text


@dataclass
class FewShotResult:
    """Accuracies of every (head, shots, seed) fit, and their summary.

    Attributes
    ----------
    table : DataFrame
        Columns ``model, dataset, head, shots, seed, accuracy`` (percent), one row per fit.
    details : DataFrame
        The same rows with diagnostics: ``n_train``, ``n_eval``, ``seconds`` (wall time of the
        batch the fit was part of, divided by its size), ``converged`` (probe) and
        ``final_loss`` (neural heads, training loss of the last step).
    classes : list of str
    confidence : float
    settings : dict
        Everything needed to reproduce the run (shots, seeds, C, head configs, device).
    """

    table: pd.DataFrame
    details: pd.DataFrame
    classes: list[str]
    confidence: float
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row per (head, shots): ``mean``, ``ci_low``, ``ci_high``, ``n_seeds``, ``accuracies``."""
        rows = []
        for (head, shots), grp in self.table.groupby(["head", "shots"], sort=False):
            acc = grp.sort_values("seed")["accuracy"].to_numpy(dtype=np.float64)
            ci = t_interval(acc, self.confidence)
            rows.append({"head": head, "shots": int(shots), "mean": float(acc.mean()),
                         "ci_low": None if ci is None else ci[0], "ci_high": None if ci is None else ci[1],
                         "n_seeds": int(acc.size), "accuracies": acc.tolist()})
        return pd.DataFrame(rows)

    def records(self) -> list[dict[str, Any]]:
        """The JSON records: one per (head, n) with ``mean``, ``interval`` ([low, high] or None
        with a single seed) and the per-seed ``accuracies`` (percent, in seed order)."""
        out = []
        for row in self.summary().itertuples(index=False):
            out.append({
                "head": row.head, "shots": int(row.shots), "mean": float(row.mean),
                "interval": None if row.ci_low is None else [float(row.ci_low), float(row.ci_high)],
                "accuracies": [float(a) for a in row.accuracies],
            })
        return out

    def wide(self) -> dict[str, float]:
        """Columns of the wide results table: ``fewshot_<head>_<n>`` -> mean accuracy."""
        return {f"fewshot_{r['head']}_{r['shots']}": r["mean"] for r in self.records()}


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


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    return 100.0 * float(np.mean(pred == truth))


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
        Level of the intervals (default 0.95).
    model, dataset : str
        Written into the ``model`` and ``dataset`` columns of the table.

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
    head_list = parse_list("heads", heads if not isinstance(heads, str) else heads, HEADS)
    check_option("probe_standardize", probe_standardize, STANDARDIZATIONS)
    codes, classes = encode_labels(labels)
    if len(classes) < 2:
        raise InputError(f"labels: need at least two classes, got {len(classes)}.")
    names = [str(k) for k in features]
    Xs = [_check_features(features[k], codes.shape[0]) for k in features]
    splits = make_splits(codes, shots=shots, seeds=seeds, ids=ids)
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

    by_dim: dict[int, list[int]] = {}
    for i, X in enumerate(Xs):
        by_dim.setdefault(X.shape[1], []).append(i)
    for head in head_list:
        if head == "linear":
            for i, X in enumerate(Xs):
                record = recorder(lambda _m, i=i: names[i])
                _linear_fits(X, codes, K, shot_list, seed_list, by_key, C=C, tol=probe_tol,
                             standardize=probe_standardize, dev=dev, seed_batch=seed_batch,
                             record=lambda *a, record=record, **k: record(0, *a, **k))
        else:
            for members in by_dim.values():
                _neural_fits(head, configs[head], [Xs[i].astype(np.float32) for i in members], codes, K, shot_list,
                             seed_list, by_key, dev=dev, seed_batch=seed_batch,
                             record=recorder(lambda m, members=members: names[members[m]]))
    details = pd.DataFrame(rows)
    details["_order"] = details["model"].map({n: i for i, n in enumerate(names)})
    details = details.sort_values(["_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    table = details[list(RESULT_COLUMNS)].copy()
    table["shots"] = table["shots"].astype(np.int64)
    table["seed"] = table["seed"].astype(np.int64)
    table["accuracy"] = table["accuracy"].astype(np.float64)
    settings = {
        "shots": shot_list, "seeds": seed_list, "heads": head_list, "C": float(C), "probe_tol": probe_tol,
        "probe_standardize": probe_standardize, "device": dev, "confidence": confidence,
        "interval": INTERVAL_METHOD, "n_examples": int(codes.shape[0]), "models": names,
        "n_features": {n: int(X.shape[1]) for n, X in zip(names, Xs)},
        "n_classes": K, "head_config": {h: c.to_dict() for h, c in configs.items()},
    }
    return FewShotResult(table=table, details=details, classes=classes, confidence=confidence, settings=settings)


def _linear_fits(X: np.ndarray, codes: np.ndarray, K: int, shot_list: list[int], seed_list: list[int],
                 by_key: dict[tuple[int, int], FewShotSplit], *, C: float, tol: float, standardize: str, dev: str,
                 seed_batch: int | None, record: Any) -> None:
    """The probe for every (seed, shots) of one model; shot counts warm-start each other."""
    size = seed_batch or (1 if dev == "cpu" else len(seed_list))
    for group in _chunks(seed_list, size):
        init = None
        for n_shots in shot_list:
            sp = [by_key[(s, n_shots)] for s in group]
            Xtr = np.stack([X[s.train] for s in sp])
            prep = Standardizer(Xtr, standardize)
            if standardize != "none":
                Xtr = prep.apply(Xtr)
                init = None  # a different preprocessing per shot count: no exact warm start
            t0 = time.perf_counter()
            fit = fit_logistic_batch(Xtr, np.stack([codes[s.train] for s in sp]), n_classes=K, C=C,
                                     tol=tol, init=init, device=dev)
            del Xtr
            seconds = (time.perf_counter() - t0) / len(sp)
            init = (fit.coef, fit.intercept)
            preds = _predict_linear(X, [s.test for s in sp], prep, fit.coef, fit.intercept)
            for j, s in enumerate(sp):
                record("linear", n_shots, s.seed, _accuracy(preds[j], codes[s.test]), s, seconds,
                       converged=bool(fit.converged[j]), final_loss=float(fit.objective[j]))
            log.debug("linear, %d shots, seeds %s: %.2fs per seed, %d Newton iterations",
                      n_shots, group, seconds, int(fit.n_iter.max()))


def _neural_fits(head: str, cfg: HeadConfig, Xs32: list[np.ndarray], codes: np.ndarray, K: int,
                 shot_list: list[int], seed_list: list[int], by_key: dict[tuple[int, int], FewShotSplit], *,
                 dev: str, seed_batch: int | None, record: Any) -> None:
    """One neural head for every (model, seed, shots): all models (same feature dimension) and a
    batch of seeds train as one stack; each problem keeps its own random generators, so the
    results equal separate runs."""
    size = seed_batch or len(seed_list)
    for group in _chunks(seed_list, size):
        for n_shots in shot_list:
            sp = [by_key[(s, n_shots)] for s in group]
            Xtr = np.stack([X[s.train] for X in Xs32 for s in sp])
            prep = Standardizer(Xtr, cfg.standardize)
            t0 = time.perf_counter()
            ytr = np.stack([codes[s.train] for _ in Xs32 for s in sp])
            trained = train_heads(head, prep.apply(Xtr), ytr, n_classes=K,
                                  seeds=[s.seed for _ in Xs32 for s in sp], config=cfg, device=dev)
            del Xtr
            tests = [s.test for s in sp]
            preds = _predict_heads(trained, Xs32, tests, prep, dev)
            seconds = (time.perf_counter() - t0) / (len(sp) * len(Xs32))
            for m in range(len(Xs32)):
                for j, s in enumerate(sp):
                    b = m * len(sp) + j
                    record(m, head, n_shots, s.seed, _accuracy(preds[b], codes[s.test]), s, seconds,
                           converged=None, final_loss=float(trained.final_loss[b]))
            log.debug("%s, %d shots, seeds %s, %d model(s): %.2fs per fit, %d steps", head, n_shots, group,
                      len(Xs32), seconds, trained.steps)


_EVAL_CHUNK = 4096


def _predict_linear(X: np.ndarray, tests: list[np.ndarray], prep: Standardizer, coef: np.ndarray,
                    intercept: np.ndarray) -> list[np.ndarray]:
    """Predicted class codes of the evaluation rows of every seed, in chunks of rows."""
    out = []
    for j, rows in enumerate(tests):
        parts = []
        for start in range(0, rows.size, _EVAL_CHUNK):
            xb = prep.apply(X[rows[start:start + _EVAL_CHUNK]], index=j)
            parts.append(np.argmax(xb @ coef[j] + intercept[j], axis=1))
        out.append(np.concatenate(parts))
    return out


def _predict_heads(trained: Any, Xs32: list[np.ndarray], tests: list[np.ndarray], prep: Standardizer,
                   device: str) -> np.ndarray:
    """Predicted class codes ((models x seeds) x evaluation rows); every seed has as many
    evaluation rows. ``trained`` holds the models' problems in order, each with all seeds."""
    import torch

    n = tests[0].size
    out = []
    for start in range(0, n, _EVAL_CHUNK):
        xb = prep.apply(np.stack([X[rows[start:start + _EVAL_CHUNK]] for X in Xs32 for rows in tests]))
        xt = torch.as_tensor(np.ascontiguousarray(xb, dtype=np.float32), device=device)
        out.append(trained.logits(xt).argmax(-1).cpu().numpy())
    return np.concatenate(out, axis=1)

"""Alignment layer by layer: a multi-layer feature file against one human representation.

:func:`compare_layers` runs :func:`repalign.compare` once per layer (the human side is
the same object every time); :func:`align_layers` returns the tidy table of the
alignment-by-depth curve, one row per (layer, metric): ``layer, depth, metric, value``
(``depth`` is the layer's position in the file's depth order, 0 = nearest the input),
plus ``lower``/``upper`` with a bootstrap. ``repalign align HUMAN F.npz`` prints the same
numbers, one row per layer.

Examples
--------
>>> import numpy as np, repalign
>>> from repalign.models.features import save_layered
>>> import tempfile, pathlib
>>> rng = np.random.default_rng(0)
>>> ids = tuple(f"s{i}" for i in range(8))
>>> human = repalign.Representation.from_features(ids, rng.normal(size=(8, 3)))
>>> arrays = {"early": rng.normal(size=(8, 5)), "late": human.values + 0.01 * rng.normal(size=(8, 3))}
>>> f = save_layered(pathlib.Path(tempfile.mkdtemp()) / "f.npz", ids, ["early", "late"], arrays.get, {}, sidecar=False)
>>> table = align_layers(human, f, metrics="pearson")
>>> table.columns.tolist(), table.layer.tolist()
(['layer', 'depth', 'metric', 'value'], ['early', 'late'])
>>> bool(table.value.iloc[1] > 0.99)
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from .features import LayeredFeatures, load_layered_features

__all__ = ["compare_layers", "align_layers", "SWEEP_COLUMNS"]

#: Columns of :func:`align_layers`.
SWEEP_COLUMNS: tuple[str, ...] = ("layer", "depth", "metric", "value")


def _layered(features: LayeredFeatures | str | os.PathLike[str]) -> LayeredFeatures:
    return features if isinstance(features, LayeredFeatures) else load_layered_features(features)


def _human(human: Any, data_root: Any) -> Any:
    from ..representations import Representation

    if isinstance(human, Representation):
        return human
    from ..data.references import resolve_representation

    return resolve_representation(human, data_root=data_root)


def compare_layers(
    human: Any,
    features: LayeredFeatures | str | os.PathLike[str],
    *,
    metrics: str | Iterable[str] = ("pearson", "spearman", "kendall", "triplet"),
    data_root: str | os.PathLike[str] | None = None,
    **compare_kwargs: Any,
) -> dict[str, Any]:
    """``{layer: Alignment}`` for every layer of a multi-layer feature file, in depth order.

    Parameters
    ----------
    human : Representation, path or dataset reference
    features : LayeredFeatures or path
    metrics, **compare_kwargs
        As for :func:`repalign.compare` (``similarity``, ``ties``, ``bootstrap``, ``how``, ...).
    """
    from ..metrics import compare

    layered = _layered(features)
    rep_human = _human(human, data_root)
    out = {}
    for name in layered.layers:
        rep = layered.layer(name).to_representation(name=f"{layered.metadata.get('model_id', 'model')} {name}")
        out[name] = compare(rep_human, rep, metrics=metrics, **compare_kwargs)
    return out


def align_layers(
    human: Any,
    features: LayeredFeatures | str | os.PathLike[str],
    *,
    metrics: str | Iterable[str] = ("pearson", "spearman", "kendall", "triplet"),
    data_root: str | os.PathLike[str] | None = None,
    **compare_kwargs: Any,
) -> Any:
    """The alignment-by-depth curve as a tidy DataFrame ``layer, depth, metric, value``.

    With ``bootstrap=N`` it also has ``lower`` and ``upper`` (percentile interval).
    See :func:`compare_layers` for the parameters.
    """
    import pandas as pd

    layered = _layered(features)
    results = compare_layers(human, layered, metrics=metrics, data_root=data_root, **compare_kwargs)
    rows = []
    for depth, (name, res) in enumerate(results.items()):
        for metric, value in res.scores.items():
            row = {"layer": name, "depth": depth, "metric": metric, "value": float(value)}
            if res.intervals:
                row["lower"], row["upper"] = (float(v) for v in res.intervals[metric])
            rows.append(row)
    columns = list(SWEEP_COLUMNS) + (["lower", "upper"] if rows and "lower" in rows[0] else [])
    return pd.DataFrame(rows, columns=columns)

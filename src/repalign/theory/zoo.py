"""A synthetic model zoo: many "models" of one stimulus set with a controlled spread of alignment.

What the generator controls, and what it does not
-------------------------------------------------
* **The teacher ("human").** ``n_classes * n_per_class`` stimuli drawn from a Gaussian
  mixture in ``dim`` dimensions (class centres ``N(0, separation^2 I)``, unit within-class
  spread). The human representation is the cosine-similarity matrix of these points.
* **The classes** are defined in the teacher's space only: each stimulus is labelled with
  its nearest class centre (the Voronoi cells of the teacher's prototypes).
* **The models** are distortions of the teacher's points, one family at a time, each
  embedded in ``feature_dim`` (or ``n_stimuli`` for ``anti``) dimensions and then rotated
  by a random orthogonal matrix, so no feature axis is privileged:

  ``noise``     teacher points isometrically embedded, plus isotropic Gaussian noise;
  ``rotation``  a subspace of the teacher's space rotated towards per-stimulus nuisance
                (:func:`repalign.theory.geometry.rotate_subspace`), then embedded;
  ``anti``      the ``noise`` model with its cosine-similarity ranking reversed
                (:func:`repalign.theory.geometry.reverse_ranking`): triplet alignment
                ``1 - a`` where the noise model has ``a``.

* **The alignment** of each model is what is controlled: each family's level (noise
  sigma, rotation angle) is set so the model's exact triplet alignment with the teacher
  (cosine similarities, the default of :func:`repalign.compare_many`) hits a target,
  targets spread evenly over each family's range. Levels come from a calibration curve
  measured on the stimuli; each model then gets its own random draw, so its alignment is
  near, not exactly at, its target (the tests bound the gap).
* **What is not controlled:** anything downstream. Model construction never sees the
  class labels, and no family is designed to help or hurt few-shot learning. Whatever
  relation between alignment and few-shot accuracy the pipeline finds on this zoo is a
  measurement of these geometries, not something put in by hand. (The ``anti`` family
  exists because the theory makes a claim about anti-aligned students; real model zoos
  have none.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validation import check_option
from ..metrics.triplets import triplet_counts
from ..representations import Representation
from ..similarity import similarity_matrix
from .geometry import reverse_ranking, rotate_subspace

log = logging.getLogger(__name__)

__all__ = ["ZOO_FAMILIES", "DEFAULT_RANGES", "SyntheticZoo", "make_zoo"]

ZOO_FAMILIES: tuple[str, ...] = ("noise", "rotation", "anti")

#: Triplet-alignment range each family's targets are spread over (rotation's lower end is
#: raised to what a full 90-degree rotation reaches when that is higher).
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "noise": (0.52, 0.97),
    "rotation": (0.55, 0.97),
    "anti": (0.03, 0.48),
}

_NOISE_GRID = np.concatenate([[0.0], np.geomspace(0.02, 20.0, 28)])
_ANGLE_GRID = np.linspace(0.0, 90.0, 19)
#: Calibration curves are measured on at most this many stimuli (a random subset).
_CALIBRATION_STIMULI = 150


@dataclass(frozen=True)
class SyntheticZoo:
    """The teacher, the models and the labels of a synthetic zoo.

    Attributes
    ----------
    ids : tuple of str
        Stimulus ids, shared by every representation.
    labels : ndarray of int
        Class of each stimulus (nearest teacher class centre).
    teacher : Representation
        The "human" cosine-similarity matrix (``kind="similarity"``, name ``"human"``).
    teacher_features : ndarray, shape (n_stimuli, dim)
    models : dict of str to Representation
        Feature representations, named ``<family>-<index>``.
    params : DataFrame
        One row per model: ``model, family, level, level_name, target_triplet, n_features``.
    settings : dict
        The arguments the zoo was made with.
    """

    ids: tuple[str, ...]
    labels: np.ndarray
    teacher: Representation
    teacher_features: np.ndarray = field(repr=False)
    models: dict[str, Representation] = field(repr=False)
    params: pd.DataFrame = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.models)


def _cosine_triplet_alignment(teacher_sim: np.ndarray, features: np.ndarray) -> float:
    # numpy backend: at calibration sizes it is as fast as numba and needs no JIT compile.
    return triplet_counts(similarity_matrix(features, "cosine"), teacher_sim, backend="numpy").agreement("half")


def _random_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))


def _embed(points: np.ndarray, feature_dim: int, rng: np.random.Generator) -> np.ndarray:
    """Isometric embedding of ``dim``-dimensional points into ``feature_dim`` dimensions."""
    basis = _random_orthogonal(feature_dim, rng)[: points.shape[1]]
    return points @ basis


def _build(family: str, level: float, teacher: np.ndarray, feature_dim: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """One model's features. Only the teacher's points go in: never the labels."""
    if family == "rotation":
        return _embed(rotate_subspace(teacher, level, fraction=fraction, rng=rng), feature_dim, rng)
    embedded = _embed(teacher, feature_dim, rng)
    noisy = embedded + level * np.sqrt(np.mean(np.var(embedded, axis=0))) * rng.normal(size=embedded.shape)
    if family == "noise":
        return noisy
    reversed_ = reverse_ranking(noisy, metric="cosine")  # eigen-coordinates: rotate them
    return reversed_ @ _random_orthogonal(reversed_.shape[1], rng)


def _calibrate(
    family: str, grid: np.ndarray, teacher: np.ndarray, teacher_sim: np.ndarray, feature_dim: int, fraction: float, seed: int
) -> np.ndarray:
    """Triplet alignment at each level of ``grid`` (one draw, on a random subset of at most
    ``_CALIBRATION_STIMULI`` stimuli), made non-increasing."""
    n = teacher.shape[0]
    if n > _CALIBRATION_STIMULI:
        keep = np.sort(np.random.default_rng(seed).choice(n, _CALIBRATION_STIMULI, replace=False))
        teacher, teacher_sim = teacher[keep], teacher_sim[np.ix_(keep, keep)]
    values = []
    for level in grid:
        rng = np.random.default_rng(seed)  # common random numbers along the grid
        values.append(_cosine_triplet_alignment(teacher_sim, _build(family, float(level), teacher, feature_dim, fraction, rng)))
    return np.minimum.accumulate(np.array(values))


def _level_for(target: float, grid: np.ndarray, curve: np.ndarray) -> float:
    """Invert a non-increasing calibration curve by linear interpolation."""
    if target >= curve[0]:
        return float(grid[0])
    if target <= curve[-1]:
        return float(grid[-1])
    # np.interp needs increasing x: flip both.
    return float(np.interp(target, curve[::-1], grid[::-1]))


def make_zoo(
    *,
    n_classes: int = 10,
    n_per_class: int = 30,
    dim: int = 16,
    separation: float = 1.0,
    models_per_family: int | dict[str, int] = 12,
    families: tuple[str, ...] | list[str] = ZOO_FAMILIES,
    ranges: dict[str, tuple[float, float]] | None = None,
    feature_dim: int = 64,
    rotation_fraction: float = 0.5,
    seed: int = 0,
) -> SyntheticZoo:
    """Build a synthetic zoo (see the module docstring for what is and is not controlled).

    Parameters
    ----------
    n_classes, n_per_class : int
        Teacher mixture components and stimuli drawn from each.
    dim : int
        Dimension of the teacher's space.
    separation : float
        Standard deviation of the class centres, in units of the within-class spread.
    models_per_family : int or dict
        Models of each family (a dict gives per-family counts).
    families : sequence of {"noise", "rotation", "anti"}
    ranges : dict, optional
        Family -> (low, high) triplet-alignment targets; default :data:`DEFAULT_RANGES`.
    feature_dim : int
        Dimension of the ``noise`` and ``rotation`` models' features (>= ``dim``).
    rotation_fraction : float
        Share of the teacher's dimensions the ``rotation`` family rotates.
    seed : int

    Examples
    --------
    >>> zoo = make_zoo(n_classes=3, n_per_class=8, models_per_family=2, seed=0)
    >>> len(zoo), zoo.teacher.kind, sorted(set(zoo.labels.tolist()))
    (6, 'similarity', [0, 1, 2])
    >>> zoo.params.columns.tolist()
    ['model', 'family', 'level', 'level_name', 'target_triplet', 'n_features']
    """
    for family in families:
        check_option("zoo family", family, ZOO_FAMILIES)
    if not families:
        raise InputError("families is empty; give at least one of " + ", ".join(ZOO_FAMILIES) + ".")
    for name, value, low in (("n_classes", n_classes, 2), ("n_per_class", n_per_class, 2), ("dim", dim, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"{name} must be an integer >= {low}; got {value!r}.")
    if feature_dim < dim:
        raise InputError(f"feature_dim ({feature_dim}) must be at least dim ({dim}).")
    if not (np.isfinite(separation) and separation > 0):
        raise InputError(f"separation must be positive; got {separation!r}.")
    counts = models_per_family if isinstance(models_per_family, dict) else {f: models_per_family for f in families}
    for family in families:
        c = counts.get(family, 0)
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
            raise InputError(f"models_per_family[{family!r}] must be a positive integer; got {c!r}.")
    ranges = {**DEFAULT_RANGES, **(ranges or {})}
    for family in families:
        low, high = ranges[family]
        if not (0 <= low <= high <= 1):
            raise InputError(f"alignment range of {family!r} must satisfy 0 <= low <= high <= 1; got {ranges[family]}.")

    seq = np.random.SeedSequence(seed)
    teacher_seed, calib_seed, model_seed = seq.spawn(3)
    rng = np.random.default_rng(teacher_seed)
    centres = separation * rng.normal(size=(n_classes, dim))
    teacher = np.repeat(centres, n_per_class, axis=0) + rng.normal(size=(n_classes * n_per_class, dim))
    order = rng.permutation(teacher.shape[0])  # stimulus ids carry no class information
    teacher = teacher[order]
    labels = np.argmin(((teacher[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
    n = teacher.shape[0]
    ids = tuple(f"stim-{i:04d}" for i in range(n))
    teacher_sim = similarity_matrix(teacher, "cosine")
    human = Representation.from_similarity(
        ids, teacher_sim, name="human", meta={"source": "repalign.theory.make_zoo", "seed": seed}
    )

    calib_int = int(calib_seed.generate_state(1)[0])
    noise_curve = None
    models: dict[str, Representation] = {}
    rows = []
    model_rngs = iter(np.random.default_rng(s) for s in model_seed.spawn(sum(counts[f] for f in families)))
    for family in families:
        low, high = ranges[family]
        if family in ("noise", "anti"):
            if noise_curve is None:
                noise_curve = _calibrate("noise", _NOISE_GRID, teacher, teacher_sim, feature_dim, rotation_fraction, calib_int)
            grid, curve, level_name = _NOISE_GRID, noise_curve, "sigma"
        else:
            grid = _ANGLE_GRID
            curve = _calibrate("rotation", grid, teacher, teacher_sim, feature_dim, rotation_fraction, calib_int)
            level_name = "angle_deg"
            if low < curve[-1]:
                log.info("rotation reaches triplet alignment %.3f at 90 degrees; raising the low end from %.3f", curve[-1], low)
                low = min(float(curve[-1]) + 0.01, high)
        targets = np.linspace(low, high, counts[family]) if counts[family] > 1 else np.array([(low + high) / 2])
        for i, target in enumerate(targets):
            # The anti model at noise level s has alignment 1 - a(s): invert the noise curve at 1 - target.
            lookup = 1.0 - target if family == "anti" else target
            level = _level_for(float(lookup), grid, curve)
            features = _build(family, level, teacher, feature_dim, rotation_fraction, next(model_rngs))
            name = f"{family}-{i:02d}"
            models[name] = Representation.from_features(
                ids, features, name=name, meta={"family": family, level_name: level, "target_triplet": float(target)}
            )
            rows.append(
                {"model": name, "family": family, "level": level, "level_name": level_name,
                 "target_triplet": float(target), "n_features": features.shape[1]}
            )
    params = pd.DataFrame(rows, columns=["model", "family", "level", "level_name", "target_triplet", "n_features"])
    settings = {
        "n_classes": n_classes, "n_per_class": n_per_class, "dim": dim, "separation": separation,
        "models_per_family": dict(counts), "families": list(families), "ranges": {f: ranges[f] for f in families},
        "feature_dim": feature_dim, "rotation_fraction": rotation_fraction, "seed": seed,
    }
    return SyntheticZoo(ids, labels, human, teacher, models, params, settings)

"""Neural heads on frozen features: dropout then one or two linear layers, in PyTorch.

* ``mlp1``: ``Dropout(p) -> Linear(d, K)``;
* ``mlp2``: ``Dropout(p) -> Linear(d, h) -> ReLU -> Linear(h, K)``;

with input dropout ``p = 0.8`` as in the paper. All seeds of one shot count are trained
**together**: the parameters of every seed are stacked along a leading axis and every
layer is one batched matrix product (``torch.baddbmm``). The summed loss has independent
gradients per seed and Adam/AdamW/SGD update every entry separately, so the stacked run is
the same computation as separate runs (each seed has its own initialisation, shuffling
and dropout masks, drawn from its own generator).

Nothing here sees evaluation data: :func:`train_heads` receives training rows only;
standardisation statistics come from those rows; there is no early stopping or other
selection on held-out data. The defaults of :class:`HeadConfig` were chosen once, on a
separate development set (CIFAR-10 features, see ``docs/fewshot.md``), never on the data
a protocol run evaluates on.

Torch is imported inside functions only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option, optional_import
from .grid import NEURAL_HEADS

__all__ = [
    "NEURAL_HEADS",
    "OPTIMIZERS",
    "STANDARDIZATIONS",
    "HeadConfig",
    "Standardizer",
    "TrainedHeads",
    "default_config",
    "standardize_features",
    "train_heads",
    "with_overrides",
]

log = logging.getLogger(__name__)

OPTIMIZERS: tuple[str, ...] = ("adamw", "adam", "sgd")
STANDARDIZATIONS: tuple[str, ...] = ("none", "standardize", "l2", "center")


@dataclass(frozen=True)
class HeadConfig:
    """Training settings of a neural head.

    The field defaults are a neutral starting point; the documented defaults of each head
    (chosen by measurement, see ``docs/fewshot.md``) are :func:`default_config`.

    Attributes
    ----------
    dropout : float
        Input dropout probability (the paper: 0.8).
    hidden : int
        Hidden width of ``mlp2`` (ignored by ``mlp1``).
    optimizer : {"adamw", "adam", "sgd"}
        ``sgd`` uses momentum 0.9.
    lr : float
        Learning rate (then cosine decay to zero over training when ``cosine`` is true).
    epochs : int
        Passes over the training examples.
    min_steps : int
        Lower bound on optimiser steps, so that tiny training sets (1 shot) still get
        enough updates; epochs are increased to reach it.
    batch_size : int
        Mini-batch size (the whole training set when it is smaller).
    weight_decay : float
        Decoupled weight decay for ``adamw``, L2 penalty for ``adam`` and ``sgd``.
    standardize : {"none", "standardize", "l2", "center"}
        Feature preprocessing from the training rows: z-scores with the training mean and
        standard deviation of every feature; scaling every row to unit Euclidean norm; or
        ``center``: subtracting the training mean and dividing by one number, the root
        mean square norm of the centred training rows (feature scales are kept relative).
    cosine : bool
        Cosine learning-rate decay.
    """

    dropout: float = 0.8
    hidden: int = 512
    optimizer: str = "adamw"
    lr: float = 1e-3
    epochs: int = 30
    min_steps: int = 300
    batch_size: int = 256
    weight_decay: float = 1e-4
    standardize: str = "standardize"
    cosine: bool = True

    def validate(self) -> HeadConfig:
        check_option("optimizer", self.optimizer, OPTIMIZERS)
        check_option("standardize", self.standardize, STANDARDIZATIONS)
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {self.dropout}.")
        for name in ("hidden", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if int(self.min_steps) < 0:
            raise InputError(f"min_steps must be non-negative, got {self.min_steps}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InputError(f"lr must be positive, got {self.lr}.")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise InputError(f"weight_decay must be non-negative, got {self.weight_decay}.")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Defaults chosen on development data (efficientnet-lite0 features of CIFAR-10 images, never
#: the evaluation set) by ``benchmarks/tune_fewshot_heads.py``; see ``docs/fewshot.md``.
_DEFAULTS: dict[str, HeadConfig] = {
    "mlp1": HeadConfig(standardize="l2", lr=1e-2, epochs=30, min_steps=300, weight_decay=1e-4),
    "mlp2": HeadConfig(standardize="l2", lr=1e-3, epochs=30, min_steps=300, weight_decay=1e-2, hidden=256),
}


def default_config(head: str) -> HeadConfig:
    """The documented defaults of ``head`` (``"mlp1"`` or ``"mlp2"``).

    Examples
    --------
    >>> default_config("mlp2").hidden, default_config("mlp2").dropout
    (256, 0.8)
    """
    check_option("head", head, NEURAL_HEADS)
    return _DEFAULTS[head]


class Standardizer:
    """Feature preprocessing fitted on training rows, applied to any rows.

    ``train`` has shape (..., n_train, d); statistics are per leading index (seed), so
    :meth:`apply` takes arrays of shape (..., n, d) with the same leading axes.
    Constant features keep standard deviation 1 (no division by zero).
    """

    def __init__(self, train: np.ndarray, how: str) -> None:
        self.how = check_option("standardize", how, STANDARDIZATIONS)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        # Every preprocessing but "none" is scale-free: divide by a power of two first (exact), so that
        # features of 1e-20 are not all "constant" and squares of 1e200 do not overflow.
        peak = float(np.max(np.abs(train))) if how in ("standardize", "center") and train.size else 0.0
        self.scale = float(np.ldexp(1.0, np.frexp(peak)[1])) if peak > 0 and np.isfinite(peak) else 1.0
        train = train / self.scale if self.scale != 1.0 else train
        if how == "standardize":
            mean = train.mean(axis=-2, keepdims=True)
            std = train.std(axis=-2, keepdims=True)
            self.mean = mean
            # constant columns (std below 1e-12 of the largest feature) are centred only, in the input's units
            self.std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0 / self.scale)
        elif how == "center":
            self.mean = train.mean(axis=-2, keepdims=True)
            rms = np.sqrt(np.mean(np.sum(np.square(train - self.mean), axis=-1), axis=-1))[..., None, None]
            self.std = np.where(rms > 0, rms, 1.0 / self.scale)

    def apply(self, a: np.ndarray, *, index: int | None = None) -> np.ndarray:
        """Transform ``a`` (..., n, d); with ``index``, ``a`` is (n, d) rows of that seed only."""
        if self.how == "none":
            return a
        if self.scale != 1.0:
            a = a / self.scale
        if self.how == "l2":  # per row a power of two first, so that the norm neither overflows nor underflows
            peak = np.max(np.abs(a), axis=-1, keepdims=True)
            a = a / np.where(peak > 0, np.ldexp(1.0, np.frexp(peak)[1]), 1.0)
            norm = np.linalg.norm(a, axis=-1, keepdims=True)
            return a / np.where(norm > 0, norm, 1.0)
        assert self.mean is not None and self.std is not None  # set in __init__ for "standardize"
        if index is not None:
            return (a - self.mean[index]) / self.std[index]
        return (a - self.mean) / self.std


def standardize_features(train: np.ndarray, other: np.ndarray | None, how: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Preprocess features with statistics of the **training rows only** (see :class:`Standardizer`).

    Examples
    --------
    >>> import numpy as np
    >>> tr, te = standardize_features(np.array([[0., 1.], [2., 1.]]), np.array([[4., 1.]]), "standardize")
    >>> tr.tolist(), te.tolist()
    ([[-1.0, 0.0], [1.0, 0.0]], [[3.0, 0.0]])
    """
    fitted = Standardizer(train, how)
    return fitted.apply(train), None if other is None else fitted.apply(other)


@dataclass
class TrainedHeads:
    """The stacked parameters of one head trained for a batch of seeds (float32 tensors).

    ``layers`` is a list of ``(weight, bias)`` with weight (batch, in, out), bias (batch, out).
    """

    head: str
    layers: list[tuple[Any, Any]]
    config: HeadConfig
    steps: int
    final_loss: np.ndarray

    def logits(self, X: Any) -> Any:
        """Evaluation-mode forward pass (no dropout) of a (batch, n, d) float32 tensor."""
        import torch

        with torch.no_grad():
            return _forward(X, self.layers, dropout=0.0, generators=None, training=False)


def _forward(X: Any, layers: list[tuple[Any, Any]], *, dropout: float, generators: list[Any] | None,
             training: bool) -> Any:
    """Batched forward pass; in training, input dropout with one generator per seed."""
    import torch

    h = X
    if training and dropout > 0:
        if generators is None or len(generators) != h.shape[0]:
            raise InputError("training forward pass needs one dropout generator per seed.")
        u = torch.stack([torch.rand(h.shape[1:], generator=g, device=h.device) for g in generators])
        h = h * (u >= dropout) / (1.0 - dropout)
    for i, (w, b) in enumerate(layers):
        h = torch.baddbmm(b[:, None, :], h, w)
        if i < len(layers) - 1:
            h = torch.relu(h)
    return h


def train_heads(
    head: str,
    X_train: np.ndarray,
    y_train: np.ndarray,
    *,
    n_classes: int,
    seeds: list[int] | np.ndarray,
    config: HeadConfig | None = None,
    device: str = "cpu",
    precision: str = "auto",
) -> TrainedHeads:
    """Train one neural head for a batch of training sets of the same size.

    A thin layer over :func:`repalign.transfer.grid.train_head_problems` (which also takes
    training sets of different sizes).

    Parameters
    ----------
    head : {"mlp1", "mlp2"}
    X_train : ndarray, shape (batch, n_train, d)
        Training features of every seed, already preprocessed (see
        :func:`standardize_features`).
    y_train : ndarray of int, shape (batch, n_train)
    n_classes : int
    seeds : sequence of int, length batch
        Seed of every problem: initialisation, shuffling and dropout masks derive from it.
    config : HeadConfig, optional
        Default :func:`default_config`.
    device : str
        Torch device.
    precision : {"auto", "float32", "bfloat16"}
        Precision of the matrix products (see :mod:`repalign.transfer.grid`).

    Returns
    -------
    TrainedHeads
    """
    from .grid import HeadProblem, train_head_problems

    torch = optional_import("torch", extra="torch", purpose="The neural few-shot heads")
    check_option("head", head, NEURAL_HEADS)
    cfg = (config or default_config(head)).validate()
    X = np.asarray(X_train, dtype=np.float32)
    y = np.asarray(y_train, dtype=np.int64)
    if X.ndim != 3 or y.shape != X.shape[:2]:
        raise InputError(f"X_train must be (batch, n, d) and y_train (batch, n); got {X.shape} and {y.shape}.")
    seeds = [int(s) for s in seeds]
    if len(seeds) != X.shape[0]:
        raise InputError(f"seeds: {len(seeds)} seeds for a batch of {X.shape[0]}.")
    B, n, d = X.shape
    problems = [HeadProblem(rows=np.arange(b * n, (b + 1) * n), labels=y[b], seed=s) for b, s in enumerate(seeds)]
    fits = train_head_problems(head, X.reshape(B * n, d), problems, n_classes=n_classes, config=cfg,
                               device=device, precision=precision)
    layers = [(torch.stack([f.layers[k][0] for f in fits]), torch.stack([f.layers[k][1] for f in fits]))
              for k in range(len(fits[0].layers))]
    return TrainedHeads(head=head, layers=layers, config=cfg, steps=fits[0].steps,
                        final_loss=np.array([f.final_loss for f in fits]))


def with_overrides(config: HeadConfig, **overrides: Any) -> HeadConfig:
    """``config`` with some fields replaced (unknown names are an error)."""
    unknown = sorted(set(overrides) - set(HeadConfig.__dataclass_fields__))
    if unknown:
        raise InputError(f"unknown head settings {unknown}; valid: {', '.join(HeadConfig.__dataclass_fields__)}.")
    return replace(config, **overrides).validate()

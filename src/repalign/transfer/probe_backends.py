"""Array backends of the linear probe: the solver is written once against this small interface
(numpy on the CPU, torch on a GPU or when asked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option, optional_import

__all__ = ["BACKENDS", "BatchLogisticFit", "ops_for"]


class _NumpyOps:
    name = "numpy"

    def __init__(self) -> None:
        self.f64 = np.float64
        self.f32 = np.float32

    def asarray(self, a: Any, dtype: Any = None) -> np.ndarray:
        return np.asarray(a, dtype=dtype if dtype is not None else self.f64)

    def to_numpy(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    def mask(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=bool)

    def cast(self, a: np.ndarray, dtype: Any) -> np.ndarray:
        return a.astype(dtype, copy=False)

    def centred(self, a: np.ndarray, mu: np.ndarray, dtype: Any) -> np.ndarray:
        """``a - mu[:, None, :]`` in ``dtype``, without a temporary in ``a``'s precision."""
        out = np.empty(a.shape, dtype=dtype)
        np.subtract(a, mu[:, None, :], out=out, casting="same_kind")
        return out

    def zeros(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return np.zeros(shape, dtype=dtype if dtype is not None else self.f64)

    def one_hot(self, y: np.ndarray, k: int) -> np.ndarray:
        out = np.zeros((*y.shape, k), dtype=self.f64)
        np.put_along_axis(out, y[..., None], 1.0, axis=-1)
        return out

    def labels(self, y: Any) -> np.ndarray:
        return np.asarray(y, dtype=np.int64)

    def sum(self, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        return a.sum(axis=axis, keepdims=keepdims)

    def amax(self, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        return a.max(axis=axis, keepdims=keepdims)

    def mean(self, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        return a.mean(axis=axis, keepdims=keepdims)

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)

    def t(self, a: np.ndarray) -> np.ndarray:
        return np.swapaxes(a, -1, -2)

    def eigh(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.linalg.eigh(a)

    def eigh_sym(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Batched eigh through LAPACK's divide and conquer (``?syevd``), in ``a``'s precision."""
        import scipy.linalg

        pairs = [scipy.linalg.eigh(m, driver="evd", check_finite=False) for m in a]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def diag_embed(self, a: np.ndarray) -> np.ndarray:
        out = np.zeros((*a.shape, a.shape[-1]), dtype=a.dtype)
        idx = np.arange(a.shape[-1])
        out[..., idx, idx] = a
        return out

    def take_label(self, logits: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.take_along_axis(logits, y[..., None], axis=-1)[..., 0]

    def item_all(self, a: np.ndarray) -> bool:
        return bool(np.all(a))

    def synchronize(self) -> None:
        return None


class _TorchOps:
    name = "torch"

    def __init__(self, device: str) -> None:
        self.torch = optional_import("torch", extra="torch", purpose="The linear probe on a GPU")
        self.device = self.torch.device(device)
        self.f64 = self.torch.float64
        self.f32 = self.torch.float32

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        return self.torch.as_tensor(np.asarray(a), dtype=dtype if dtype is not None else self.f64, device=self.device)

    def to_numpy(self, a: Any) -> np.ndarray:
        return a.detach().to("cpu").numpy()

    def mask(self, a: np.ndarray) -> Any:
        return self.torch.as_tensor(np.asarray(a, dtype=bool), device=self.device)

    def cast(self, a: Any, dtype: Any) -> Any:
        return a.to(dtype)

    def centred(self, a: Any, mu: Any, dtype: Any) -> Any:
        return (a - mu[:, None, :]).to(dtype)

    def zeros(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        return self.torch.zeros(shape, dtype=dtype if dtype is not None else self.f64, device=self.device)

    def one_hot(self, y: Any, k: int) -> Any:
        return self.torch.nn.functional.one_hot(y, k).to(self.f64)

    def labels(self, y: Any) -> Any:
        return self.torch.as_tensor(np.asarray(y, dtype=np.int64), device=self.device)

    def sum(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return a.sum() if axis is None else a.sum(dim=axis, keepdim=keepdims)

    def amax(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return a.max() if axis is None else a.amax(dim=axis, keepdim=keepdims)

    def mean(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return a.mean() if axis is None else a.mean(dim=axis, keepdim=keepdims)

    def exp(self, a: Any) -> Any:
        return self.torch.exp(a)

    def log(self, a: Any) -> Any:
        return self.torch.log(a)

    def sqrt(self, a: Any) -> Any:
        return self.torch.sqrt(a)

    def abs(self, a: Any) -> Any:
        return self.torch.abs(a)

    def where(self, c: Any, a: Any, b: Any) -> Any:
        return self.torch.where(c, a, b)

    def maximum(self, a: Any, b: Any) -> Any:
        return self.torch.clamp(a, min=b) if not hasattr(b, "shape") else self.torch.maximum(a, b)

    def t(self, a: Any) -> Any:
        return a.transpose(-1, -2)

    def eigh(self, a: Any) -> tuple[Any, Any]:
        return self.torch.linalg.eigh(a)

    def eigh_sym(self, a: Any) -> tuple[Any, Any]:
        return self.torch.linalg.eigh(a)

    def diag_embed(self, a: Any) -> Any:
        return self.torch.diag_embed(a)

    def take_label(self, logits: Any, y: Any) -> Any:
        return logits.gather(-1, y[..., None])[..., 0]

    def item_all(self, a: Any) -> bool:
        return bool(a.all().item())

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)


BACKENDS: tuple[str, ...] = ("numpy", "torch")


def ops_for(device: str, backend: str | None = None) -> Any:
    """numpy on ``"cpu"`` unless ``backend="torch"``; torch on every other device."""
    if backend is not None:
        check_option("backend", backend, BACKENDS)
        if backend == "numpy" and device != "cpu":
            raise InputError(f"backend 'numpy' runs on the CPU only, not on device {device!r}.")
    if device == "cpu" and backend != "torch":
        return _NumpyOps()
    return _TorchOps(device)


@dataclass
class BatchLogisticFit:
    """Solutions of a batch of problems, as arrays with a leading batch axis.

    ``coef`` has shape (batch, n_features, n_classes) (transposed with respect to
    scikit-learn, for batched products), ``intercept`` (batch, n_classes); the rest has
    one entry per problem.
    """

    coef: np.ndarray
    intercept: np.ndarray
    objective: np.ndarray
    grad_max: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    n_hvp: int
    info: dict[str, Any] = field(default_factory=dict)

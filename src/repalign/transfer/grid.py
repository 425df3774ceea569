"""The neural heads of a whole few-shot grid trained as one batched program.

:func:`train_head_problems` trains one head (``mlp1`` or ``mlp2``) on many independent
problems at once: every (model, shots, seed) training set of a grid. Their parameters
are stacked along a leading problem axis and every step is a handful of batched matrix
products, with a hand-written backward pass and AdamW, so the Python and autograd
overhead of one small fit is paid once per step for the whole grid instead of once per
fit and step.

* **Ragged sizes by masking.** Problems have different training-set sizes (1 shot: one
  example per class; 50 shots: fifty), hence different mini-batch sizes and numbers of
  steps. Every step gathers a (problems x largest batch x d) block; rows past a problem's
  own batch have weight 0 in its loss. Problems are ordered by their number of steps
  (longest first), so the problems still training are always a prefix of the stack and a
  finished one costs nothing more.
* **Independent problems.** Every problem has its own generators for initialisation (the
  CPU torch generator of :func:`repalign.transfer.heads.train_heads`), shuffling and
  dropout masks, and its own learning-rate schedule (cosine over its own number of steps),
  so a problem's result does not depend on which other problems share the program
  (tested against one problem alone).
* **Precision.** Parameters, optimiser state, softmax and loss are float32; the matrix
  products take ``precision`` (``"bfloat16"`` on CPUs with native bf16 matrix units and on
  CUDA, float32 elsewhere: ``"auto"``), see ``docs/fewshot.md`` for the measurement that
  bf16 does not move accuracy.
* **No host-device round trips in the loop.** Mini-batch indices are built on the host
  ahead of the step; the loss, its finiteness and the last loss per problem stay on the
  device until training ends.
* **Dropout masks.** On the CPU a problem's masks come from its own SFC64 stream (16-bit
  uniform integers: an entry is dropped when below ``round(p * 65536)``, so ``p = 0.8`` is
  applied as 52429 / 65536 = 0.80000305); on other devices from a per-problem device
  generator (``torch.rand``). Kept inputs are scaled by ``1 / (1 - p)`` as in
  ``torch.nn.Dropout``.

Torch is imported inside functions only.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InputError
from .._validation import check_option, optional_import

__all__ = ["NEURAL_HEADS", "PRECISIONS", "HeadProblem", "ProblemResult", "resolve_precision", "train_head_problems"]

log = logging.getLogger(__name__)

#: The neural heads of the protocol (the linear probe is :mod:`repalign.transfer.probe`).
NEURAL_HEADS: tuple[str, ...] = ("mlp1", "mlp2")

PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")
_U16 = 65536


@dataclass(frozen=True)
class HeadProblem:
    """One training problem of a grid.

    Attributes
    ----------
    rows : ndarray of int
        Rows of the design matrix that train this problem (in the problem's order).
    labels : ndarray of int
        Class code of every training row.
    seed : int
        Seed of the problem (with ``len(rows)`` and the head it keys the generators).
    """

    rows: np.ndarray
    labels: np.ndarray
    seed: int


@dataclass
class ProblemResult:
    """The trained parameters of one problem (float32 CPU or device tensors) and diagnostics."""

    layers: list[tuple[Any, Any]]
    steps: int
    final_loss: float
    finite: bool


def resolve_precision(precision: str, device: Any) -> str:
    """``"auto"`` -> bfloat16 on CUDA and on CPUs with native bf16 matrix support, else float32."""
    check_option("precision", precision, PRECISIONS)
    if precision != "auto":
        return precision
    import torch

    if torch.device(device).type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    if torch.device(device).type == "cpu":
        try:
            native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            native = False
        # bf16 products are fast only with AMX or AVX512-BF16; elsewhere they are emulated.
        return "bfloat16" if native and torch.backends.cpu.get_cpu_capability().startswith("AVX512") else "float32"
    return "float32"


def _mix(*parts: int) -> int:
    """A 63-bit seed from integers (stable across runs and platforms)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint32).view(np.uint64)[0] >> 1)


class _Stream:
    """Mini-batches of one problem: a fresh permutation of its rows every epoch."""

    def __init__(self, n: int, batch: int, seed_key: list[int]) -> None:
        self.n, self.batch = n, batch
        self.per_epoch = math.ceil(n / batch)
        self.rng = np.random.default_rng(seed_key)
        self.order: np.ndarray | None = None
        self.pos = 0

    def next(self) -> np.ndarray:
        if self.order is None or self.pos >= self.n:
            self.order = self.rng.permutation(self.n)
            self.pos = 0
        rows = self.order[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return rows


def _init_layer(torch: Any, fan_in: int, fan_out: int, gen: Any) -> tuple[Any, Any]:
    """PyTorch's default ``nn.Linear`` initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    w = (torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * bound
    b = (torch.rand(fan_out, generator=gen) * 2 - 1) * bound
    return w, b


class _Optimizer:
    """AdamW / Adam / SGD (momentum 0.9) on stacked parameters, with the update rules of
    ``torch.optim`` (AdamW and Adam through its fused kernels, tested against ``torch.optim.AdamW``).

    Problems are ordered by their number of steps, so problems with the same schedule are
    contiguous segments of the stack: each segment gets its own (cosine) learning rate.
    """

    def __init__(self, torch: Any, params: list[Any], cfg: Any, steps: np.ndarray) -> None:
        self.torch, self.params, self.kind = torch, params, cfg.optimizer
        self.lr, self.wd, self.cosine = float(cfg.lr), float(cfg.weight_decay), bool(cfg.cosine)
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params] if self.kind != "sgd" else None
        bounds = np.flatnonzero(np.diff(steps)) + 1
        starts = np.concatenate([[0], bounds])
        stops = np.concatenate([bounds, [steps.size]])
        self.segments = [(int(a), int(b), int(steps[a])) for a, b in zip(starts, stops)]
        self.counts = [torch.zeros((), dtype=torch.float32, device=params[0].device) for _ in self.segments]

    def rate(self, t: int, total: int) -> float:
        """Learning rate of step ``t`` (0-based) of ``total``: ``torch``'s CosineAnnealingLR to zero."""
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * t / total)) if self.cosine else self.lr

    def step(self, grads: list[Any], t: int) -> None:
        """Update every problem still training at step ``t`` (0-based); ``grads`` cover the active prefix."""
        torch = self.torch
        for k, (a, b, total) in enumerate(self.segments):
            if total <= t:
                break
            lr = self.rate(t, total)
            ps = [p[a:b] for p in self.params]
            gs = [g[a:b] for g in grads]
            ms = [m[a:b] for m in self.m]
            if self.kind == "sgd":
                for p, g, m in zip(ps, gs, ms):
                    if self.wd:
                        g = g + self.wd * p
                    if t == 0:
                        m.copy_(g)
                    else:
                        m.mul_(0.9).add_(g)
                    p.sub_(lr * m)
                continue
            self.counts[k] += 1
            vs = [v[a:b] for v in self.v]  # type: ignore[union-attr]
            fused = torch._fused_adamw_ if self.kind == "adamw" else torch._fused_adam_
            fused(ps, gs, ms, vs, [], [self.counts[k]] * len(ps), lr=lr, beta1=0.9, beta2=0.999,
                  weight_decay=self.wd, eps=1e-8, amsgrad=False, maximize=False)


def train_head_problems(
    head: str,
    design: np.ndarray,
    problems: Sequence[HeadProblem],
    *,
    n_classes: int,
    config: Any,
    device: str = "cpu",
    precision: str = "auto",
    on_step: Callable[[int, int], None] | None = None,
) -> list[ProblemResult]:
    """Train ``head`` on every problem in one batched program.

    Parameters
    ----------
    head : {"mlp1", "mlp2"}
    design : ndarray, shape (n_rows, d)
        Preprocessed features; the problems' ``rows`` index into it.
    problems : sequence of HeadProblem
    n_classes : int
    config : HeadConfig
    device : str
        Torch device.
    precision : {"auto", "float32", "bfloat16"}
        Precision of the matrix products (see the module docstring).
    on_step : callable(done, total), optional
        Called after every step of the program (progress).

    Returns
    -------
    list of ProblemResult
        In the order of ``problems``.
    """
    torch = optional_import("torch", extra="torch", purpose="The neural few-shot heads")
    check_option("head", head, NEURAL_HEADS)
    cfg = config.validate()
    if not problems:
        return []
    dev = torch.device(device)
    prec = resolve_precision(precision, dev)
    pdt = torch.bfloat16 if prec == "bfloat16" else torch.float32
    X = np.ascontiguousarray(design, dtype=np.float32)
    if X.ndim != 2:
        raise InputError(f"design: expected (n_rows, d), got shape {X.shape}.")
    d, K = X.shape[1], int(n_classes)
    head_tag = NEURAL_HEADS.index(head) + 1
    sizes = np.array([p.rows.size for p in problems])
    batches = np.minimum(int(cfg.batch_size), sizes)
    per_epoch = -(-sizes // batches)
    steps = np.maximum(int(cfg.epochs), -(-int(cfg.min_steps) // per_epoch)) * per_epoch
    order = np.argsort(-steps, kind="stable")  # longest first: the active problems are a prefix
    probs = [problems[i] for i in order]
    sizes, batches, steps = sizes[order], batches[order], steps[order]
    P, bmax, T = len(probs), int(batches.max()), int(steps.max())

    init_gens = [torch.Generator().manual_seed(_mix(p.seed, p.rows.size, head_tag, 0)) for p in probs]
    widths = [d, K] if head == "mlp1" else [d, int(cfg.hidden), K]
    params: list[Any] = []
    for fan_in, fan_out in itertools.pairwise(widths):
        pairs = [_init_layer(torch, fan_in, fan_out, g) for g in init_gens]
        params += [torch.stack([w for w, _ in pairs]).to(dev), torch.stack([b for _, b in pairs]).to(dev)]
    opt = _Optimizer(torch, params, cfg, steps)
    streams = [_Stream(int(n), int(b), [p.seed, int(n), head_tag, 1]) for p, n, b in zip(probs, sizes, batches)]
    cpu = dev.type == "cpu"
    if cpu:
        drop_gens = [np.random.SFC64(np.random.SeedSequence([p.seed, p.rows.size, head_tag, 2])) for p in probs]
        threshold = np.uint16(round(cfg.dropout * _U16)) if cfg.dropout > 0 else None
    else:
        drop_gens = [torch.Generator(device=dev).manual_seed(_mix(p.seed, p.rows.size, head_tag, 2)) for p in probs]
    scale = 1.0 / (1.0 - cfg.dropout)
    # the design once on the device, scaled for dropout, in the products' precision
    Xd = torch.as_tensor(X * np.float32(scale if cfg.dropout > 0 else 1.0), device=dev).to(pdt)
    rows_of = [np.asarray(p.rows, dtype=np.int64) for p in probs]
    labels_of = [np.asarray(p.labels, dtype=np.int64) for p in probs]
    last_loss = torch.zeros(P, device=dev)
    finite = torch.ones(P, dtype=torch.bool, device=dev)
    idx = np.zeros((P, bmax), dtype=np.int64)
    ys = np.zeros((P, bmax), dtype=np.int64)
    wts = np.zeros((P, bmax), dtype=np.float32)
    keep = np.zeros((P, bmax, d), dtype=bool)
    for t in range(T):
        A = int(np.sum(steps > t))
        wts[:A] = 0.0
        for j in range(A):
            r = streams[j].next()
            idx[j, :r.size] = rows_of[j][r]
            ys[j, :r.size] = labels_of[j][r]
            wts[j, :r.size] = 1.0 / r.size
            if cpu and threshold is not None:
                u = drop_gens[j].random_raw(int(batches[j]) * d // 4 + 1).view(np.uint16)[:int(batches[j]) * d]
                np.greater_equal(u.reshape(int(batches[j]), d), threshold, out=keep[j, :int(batches[j])])
        it = torch.as_tensor(idx[:A].reshape(-1), device=dev)
        xb = Xd.index_select(0, it).view(A, bmax, d)
        if cfg.dropout > 0:
            if cpu:
                if pdt == torch.bfloat16:
                    # multiply the bit patterns by 0/1: a dropped entry becomes +0.0
                    np.multiply(xb.view(torch.int16).numpy(), keep[:A], out=xb.view(torch.int16).numpy())
                else:
                    np.multiply(xb.numpy(), keep[:A], out=xb.numpy())
            else:
                mask = torch.zeros((A, bmax, d), dtype=pdt, device=dev)
                for j in range(A):
                    u = torch.rand(int(batches[j]), d, generator=drop_gens[j], device=dev)
                    mask[j, :int(batches[j])] = (u >= cfg.dropout).to(pdt)
                xb = xb * mask
        yb = torch.as_tensor(ys[:A], device=dev)
        wb = torch.as_tensor(wts[:A], device=dev)
        loss, grads = _loss_and_grads(torch, head, xb, yb, wb, [p[:A] for p in params], pdt, K)
        opt.step(grads, t)
        last_loss[:A] = loss
        finite[:A] &= torch.isfinite(loss)
        if on_step is not None:
            on_step(t + 1, T)
    finite_np = finite.cpu().numpy() & np.array([all(bool(torch.isfinite(p[j]).all()) for p in params)
                                                 for j in range(P)])
    loss_np = last_loss.cpu().numpy()
    out: list[ProblemResult | None] = [None] * P
    for j, i in enumerate(order):
        layers = [(params[2 * k][j], params[2 * k + 1][j]) for k in range(len(params) // 2)]
        out[i] = ProblemResult(layers=layers, steps=int(steps[j]), final_loss=float(loss_np[j]), finite=bool(finite_np[j]))
    return out  # type: ignore[return-value]


def _loss_and_grads(torch: Any, head: str, xb: Any, yb: Any, wb: Any, params: list[Any], pdt: Any,
                    K: int) -> tuple[Any, list[Any]]:
    """Per-problem weighted cross-entropy of a batch and the gradients of its sum (by hand)."""
    low = [p.to(pdt) for p in params]
    if head == "mlp1":
        z = torch.baddbmm(low[1][:, None, :], xb, low[0]).float()
        hidden = None
    else:
        hidden = torch.relu(torch.baddbmm(low[1][:, None, :], xb, low[0]))
        z = torch.baddbmm(low[3][:, None, :], hidden, low[2]).float()
    lse = torch.logsumexp(z, dim=-1)
    loss = ((lse - z.gather(-1, yb[..., None])[..., 0]) * wb).sum(1)
    dz = torch.exp(z - lse[..., None])
    dz.scatter_add_(-1, yb[..., None], -torch.ones_like(yb[..., None], dtype=dz.dtype))
    dz.mul_(wb[..., None])
    dz_low = dz.to(pdt)
    if head == "mlp1":
        return loss, [torch.bmm(xb.transpose(1, 2), dz_low).float(), dz.sum(1)]
    gW2 = torch.bmm(hidden.transpose(1, 2), dz_low).float()
    dpre = torch.ops.aten.threshold_backward(torch.bmm(dz_low, low[2].transpose(1, 2)), hidden, 0)  # ReLU'
    gW1 = torch.bmm(xb.transpose(1, 2), dpre).float()
    return loss, [gW1, dpre.sum(1, dtype=torch.float32), gW2, dz.sum(1)]

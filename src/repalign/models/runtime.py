"""Where and how a model runs: the device, the DataLoader, the progress bar.

One module shared by feature extraction, few-shot heads and robustness evaluation, so a
device name means the same everywhere and is checked the same way. Importing it imports
no torch; the functions that need torch import it when called.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from .._errors import InputError

log = logging.getLogger(__name__)

__all__ = [
    "DEVICES", "resolve_device", "torch_device", "default_num_workers", "make_loader", "progress_bar", "borrowed",
    "input_dtype",
]

#: Device choices besides explicit torch device strings such as ``cuda:1``.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def _torch(purpose: str) -> Any:
    from .._validation import optional_import

    return optional_import("torch", extra="torch", purpose=purpose)


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(device: str | None = "auto", *, allow_mps: bool = True) -> str:
    """The canonical name of the device to run on, checked against this machine.

    Parameters
    ----------
    device : str or None, default "auto"
        ``auto``/``None``/``""``: CUDA if torch sees a GPU, else Apple MPS (when
        ``allow_mps``), else ``cpu``. Otherwise a torch device name (``cpu``, ``cuda``,
        ``cuda:1``, ``mps``), refused when this machine does not have it.
    allow_mps : bool, default True
        Whether ``auto`` may pick Apple's MPS (few-shot heads run in float64, which MPS
        lacks, so they pass ``False``).

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``. ``auto`` and ``cpu`` work without
        torch installed (they give ``"cpu"``); pass the result to :func:`torch_device` for
        a ``torch.device``.

    Raises
    ------
    InputError
        Not a device name, or a device this machine lacks (the message says which work).

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("gpu")
    Traceback (most recent call last):
    ...
    repalign._errors.InputError: --device 'gpu': not a device name (auto, cpu, cuda, mps, or e.g. 'cuda:1').
    """
    name = "auto" if device is None else str(device).strip().lower()
    if name in ("", "auto"):
        try:
            import torch
        except ImportError:
            return "cpu"
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if allow_mps and _mps_available(torch) else "cpu"
    if name == "cpu":
        return "cpu"
    torch = _torch(f"Running on device {name!r}")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise InputError(f"--device {device!r}: not a device name ({', '.join(DEVICES)}, or e.g. 'cuda:1').") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {device!r}: CUDA is not available on this machine; use 'auto' or 'cpu'.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(
                f"--device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                f"numbered from 0; use 'cuda' or 'cuda:0'."
            )
    elif dev.type == "mps":
        if not _mps_available(torch):
            raise InputError(f"--device {device!r}: Apple MPS is not available on this machine; use 'auto' or 'cpu'.")
    elif dev.type != "cpu":
        raise InputError(f"--device {device!r}: repalign runs on {', '.join(DEVICES[1:])} devices, not {dev.type!r}.")
    return str(dev)


def torch_device(device: str | None = "auto", *, allow_mps: bool = True) -> Any:
    """:func:`resolve_device` as a ``torch.device``."""
    return _torch("Running a model").device(resolve_device(device, allow_mps=allow_mps))


def default_num_workers(device: Any, n_items: int | None = None, batch_size: int | None = None) -> int:
    """DataLoader worker processes decoding images while the model runs.

    The loader workers of :func:`repalign._threads.thread_plan` (which sizes them with the
    torch and BLAS threads from the cores this process may use, or ``--threads``): beside
    a GPU up to 8; on the CPU one per eight threads of the budget (none on small machines,
    where a core given to the model pays more than overlapping the decoding). None for a
    single batch, where there is nothing to overlap and starting a process only costs.
    """
    from .._threads import thread_plan

    if n_items is not None and batch_size is not None and n_items <= batch_size:
        return 0
    on_cpu = str(getattr(device, "type", device)).split(":")[0] == "cpu"
    return thread_plan(loader=True, gpu=not on_cpu).loader_workers


def make_loader(
    dataset: Any, *, batch_size: int, device: Any, num_workers: int = 0, collate_fn: Callable[..., Any] | None = None,
) -> Any:
    """A ``torch.utils.data.DataLoader`` in dataset order, with pinned memory for CUDA and a
    deep prefetch when workers decode (so the device waits on them as little as possible)."""
    torch = _torch("Loading stimuli")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InputError(f"batch_size={batch_size!r}: must be a positive integer.")
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 0:
        raise InputError(f"num_workers={num_workers!r}: must be a non-negative integer.")
    is_cuda = str(getattr(device, "type", device)).startswith("cuda")
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=is_cuda,
        prefetch_factor=4 if num_workers else None,
        collate_fn=collate_fn,
    )


def progress_bar(total: int, desc: str, enabled: bool | None = None, *, unit: str = "image") -> Any:
    """Progress of a run over ``total`` items: :func:`repalign._progress.progress` (a bar on a
    terminal, rate-limited lines on a pipe, silenced by ``-q`` or ``enabled=False``)."""
    from .._progress import progress

    return progress(total=total, desc=desc, unit=unit, enabled=enabled)


def input_dtype(module: Any) -> Any:
    """The floating dtype a module computes in (its first floating parameter or buffer; float32
    if it has none), so that a ``.double()`` or ``.half()`` model gets its own dtype as input."""
    torch = _torch("Running a model")
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def _home_device(module: Any) -> Any:
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return None


@contextlib.contextmanager
def borrowed(loaded: Any, device: Any, *, channels_last: bool = False) -> Iterator[Any]:
    """The model's module in ``eval()`` mode on ``device`` for a run; yields the module.

    A module repalign built stays that way. A module the caller passed in
    (``loaded.borrowed``) is given back as it came: every submodule's train/eval flag and
    the device (and memory format) of its weights are restored, so extraction never
    leaves a user's model in another mode or on another device.
    """
    torch = _torch("Running a model")
    module = loaded.module
    restore = bool(getattr(loaded, "borrowed", False))
    modes = [(m, m.training) for m in module.modules()] if restore else []
    home = _home_device(module) if restore else None
    module.eval()
    module.to(device)
    if channels_last:
        module.to(memory_format=torch.channels_last)
    try:
        yield module
    finally:
        if restore:
            if channels_last:
                module.to(memory_format=torch.contiguous_format)
            if home is not None and torch.device(device) != home:
                module.to(home)
            for m, mode in modes:
                m.training = mode

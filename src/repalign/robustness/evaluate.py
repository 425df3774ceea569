"""Top-1 / top-5 accuracy of an ImageNet classifier on an ImageNet-A, -R or -Sketch folder.

Folders are laid out as the datasets ship: one sub-folder per class, named by its WordNet id
(``imagenet-a/n01498041/0.000116_digital clock _ digital clock_0.865662.jpg``). Labels are
the classes' indices among the 1,000 ImageNet-1k classes (sorted WordNet ids, timm's order),
never the position of a folder among the folders present; that mistake, and scoring
ImageNet-A/-R over all 1,000 logits, are the classic sources of wrong numbers.

For ImageNet-A and -R the logits are restricted to the dataset's 200 classes before ranking
(:func:`masked_topk_correct`), as the datasets' authors evaluate them; ImageNet-Sketch and
ImageNet-1k use all 1,000.

torch (and timm for preprocessing and the class list) are imported only when used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._validation import check_option, optional_import, preview
from ._classes import IMAGENET_A_WNIDS, IMAGENET_R_WNIDS

log = logging.getLogger(__name__)

__all__ = [
    "EVAL_DATASETS",
    "IMAGE_EXTENSIONS",
    "RobustnessResult",
    "imagenet_wnids",
    "class_indices",
    "scan_class_folder",
    "masked_topk_correct",
    "load_classifier",
    "evaluate_folder",
]

#: Datasets :func:`evaluate_folder` knows, and their class subsets (``None``: all 1,000).
EVAL_DATASETS: dict[str, tuple[str, ...] | None] = {
    "imagenet-a": IMAGENET_A_WNIDS,
    "imagenet-r": IMAGENET_R_WNIDS,
    "imagenet-sketch": None,
    "imagenet": None,
}
#: Column prefix of each dataset in the results schema.
RESULT_PREFIX: dict[str, str] = {
    "imagenet-a": "imagenet_a",
    "imagenet-r": "imagenet_r",
    "imagenet-sketch": "sketch",
    "imagenet": "imagenet",
}
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")


def imagenet_wnids() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k WordNet ids in class-index order (from timm's ``ImageNetInfo``)."""
    data = optional_import("timm.data", extra="torch", purpose="The ImageNet class list")
    names = tuple(str(s) for s in data.ImageNetInfo("imagenet-1k").label_names())
    if len(names) != 1000 or len(set(names)) != 1000:  # pragma: no cover - a broken timm install
        raise InputError(f"timm's ImageNet-1k class list has {len(names)} entries; expected 1,000 unique ids.")
    return names


def class_indices(dataset: str) -> np.ndarray | None:
    """ImageNet-1k indices of a dataset's class subset (sorted), or ``None`` for all 1,000.

    Examples
    --------
    >>> idx = class_indices("imagenet-a")
    >>> len(idx), idx[:3].tolist()
    (200, [6, 11, 13])
    """
    dataset = check_option("dataset", dataset, list(EVAL_DATASETS))
    subset = EVAL_DATASETS[dataset]
    if subset is None:
        return None
    position = {w: i for i, w in enumerate(imagenet_wnids())}
    unknown = [w for w in subset if w not in position]
    if unknown:  # pragma: no cover - guarded by the tests of the embedded lists
        raise InputError(f"{dataset}: class ids not among the ImageNet-1k classes: {preview(unknown)}.")
    return np.array(sorted(position[w] for w in subset), dtype=np.int64)


def _check_folder(root: Path) -> None:
    if root.is_file():
        raise InputError(f"{root}: is a file; expected a folder with one sub-folder per class, named by WordNet id.")
    if not root.is_dir():
        raise DataNotFoundError(f"{root}: no such folder (expected one sub-folder per class, named by WordNet id).")


def scan_class_folder(folder: str | os.PathLike[str], dataset: str) -> tuple[list[Path], np.ndarray, list[str]]:
    """Image files, their ImageNet-1k labels, and the class folders found, of a dataset folder.

    Raises :class:`InputError` for a sub-folder that is not a class of ``dataset`` (naming
    it) and :class:`DataNotFoundError` when there is no image at all.
    """
    dataset = check_option("dataset", dataset, list(EVAL_DATASETS))
    root = Path(folder)
    _check_folder(root)
    all_ids = imagenet_wnids()
    position = {w: i for i, w in enumerate(all_ids)}
    allowed = set(EVAL_DATASETS[dataset] or all_ids)
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    bad = [p.name for p in class_dirs if p.name not in allowed]
    if bad:
        what = "ImageNet-1k classes" if EVAL_DATASETS[dataset] is None else f"the 200 classes of {dataset}"
        raise InputError(f"{root}: sub-folder(s) {preview(bad)} are not {what}.")
    files: list[Path] = []
    labels: list[int] = []
    for d in class_dirs:
        for f in sorted(d.rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS:
                files.append(f)
                labels.append(position[d.name])
    if not files:
        raise DataNotFoundError(f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) in class sub-folders.")
    expected = len(EVAL_DATASETS[dataset] or all_ids)
    if len(class_dirs) < expected:
        log.warning("%s: %d of the %d classes of %s have a folder", root, len(class_dirs), expected, dataset)
    return files, np.asarray(labels, dtype=np.int64), [d.name for d in class_dirs]


def masked_topk_correct(
    logits: Any, labels: Any, indices: Any | None = None, ks: Sequence[int] = (1, 5)
) -> dict[int, int]:
    """How many rows have their label among the top-k logits, logits restricted to ``indices``.

    Works on numpy arrays and torch tensors. ``labels`` are ImageNet-1k indices; with
    ``indices`` (a class subset), only those logits compete and a label outside the subset
    is an error. Ties between logits are broken toward the lower class index.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[0.0, 5.0, 1.0, 2.0]])   # global argmax is class 1
    >>> masked_topk_correct(logits, [3], indices=[0, 2, 3], ks=(1,))
    {1: 1}
    >>> masked_topk_correct(logits, [3], ks=(1,))
    {1: 0}
    """
    is_torch = type(logits).__module__.startswith("torch")
    if is_torch:
        torch = optional_import("torch", extra="torch", purpose="Scoring torch logits")
        logits_np = logits.detach().float().cpu().numpy()
        labels_np = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    else:
        logits_np = np.asarray(logits, dtype=float)
        labels_np = np.asarray(labels)
    labels_np = labels_np.astype(np.int64).reshape(-1)
    if logits_np.ndim != 2 or logits_np.shape[0] != labels_np.shape[0]:
        raise InputError(
            f"logits must be (n, classes) with one label per row; got {logits_np.shape} and {labels_np.shape[0]} labels."
        )
    n_classes = logits_np.shape[1]
    if indices is None:
        subset = np.arange(n_classes)
    else:
        subset = np.asarray(indices, dtype=np.int64).reshape(-1)
        if subset.size == 0 or subset.min() < 0 or subset.max() >= n_classes or len(np.unique(subset)) != subset.size:
            raise InputError(f"indices must be distinct class indices in [0, {n_classes}).")
    if labels_np.size and (labels_np.min() < 0 or labels_np.max() >= n_classes):
        raise InputError(f"labels must be class indices in [0, {n_classes}).")
    lookup = np.full(n_classes, -1, dtype=np.int64)
    lookup[subset] = np.arange(subset.size)
    local = lookup[labels_np]
    if (local < 0).any():
        raise InputError(f"{int((local < 0).sum())} label(s) are not in the class subset the logits are restricted to.")
    sub = logits_np[:, subset]
    # rank of the true class: logits strictly greater, plus equal ones at a lower index
    true = sub[np.arange(sub.shape[0]), local][:, None]
    cols = np.arange(subset.size)[None, :]
    rank = (sub > true).sum(axis=1) + ((sub == true) & (cols < local[:, None])).sum(axis=1)
    out = {}
    for k in ks:
        if int(k) < 1:
            raise InputError(f"k must be at least 1, got {k}.")
        out[int(k)] = int((rank < int(k)).sum())
    return out


@dataclass(frozen=True)
class RobustnessResult:
    """Accuracy (percent) of one model on one dataset folder."""

    dataset: str
    top1: float
    top5: float
    n_images: int
    n_classes_found: int
    n_classes_scored: int
    folder: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_columns(self) -> dict[str, float]:
        """The result as results-schema columns, e.g. ``{"imagenet_a_top1": ..., ...}``."""
        prefix = RESULT_PREFIX[self.dataset]
        return {f"{prefix}_top1": self.top1, f"{prefix}_top5": self.top5}


def load_classifier(spec: Any, *, pretrained: bool = True) -> tuple[Any, Callable[[Any], Any] | None]:
    """A torch classifier and its preprocessing, from a module or any repalign model id.

    A ``torch.nn.Module`` is returned as is (preprocessing: None, i.e. timm's evaluation
    transform is derived later). A string goes through the model registry
    (:func:`repalign.models.load_model`): ``timm:<arch>[.<tag>]``, ``paper:<name>``,
    ``torchvision:<name>``, ``efficientnet-lite:lite0``, ``python:...``, with the model's own
    preprocessing.
    """
    torch = optional_import("torch", extra="torch", purpose="Evaluating a classifier")
    if isinstance(spec, torch.nn.Module):
        return spec, None
    if isinstance(spec, str):
        from ..models import load_model

        loaded = load_model(spec, pretrained=pretrained)
        if loaded.module is None or "logits" not in loaded.layers:
            raise InputError(f"model {spec!r} is not an ImageNet classifier (it has no logits layer).")
        return loaded.module, loaded.transform
    raise InputError(f"model must be a torch.nn.Module or a model id such as 'timm:resnet50.a1_in1k'; got {spec!r}.")


class _Images:
    """A minimal map-style dataset: RGB images through a transform, with their labels."""

    def __init__(self, files: list[Path], labels: np.ndarray, transform: Callable[[Any], Any]):
        self.files, self.labels, self.transform = files, labels, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        from ..data.images import load_image

        return self.transform(load_image(self.files[i])), int(self.labels[i])


def _default_transform(model: Any) -> Callable[[Any], Any]:
    tdata = optional_import("timm.data", extra="torch", purpose="Preprocessing images")
    config = tdata.resolve_data_config({}, model=model)
    return tdata.create_transform(**config)


def evaluate_folder(
    model: Any,
    folder: str | os.PathLike[str],
    *,
    dataset: str,
    transform: Callable[[Any], Any] | None = None,
    batch_size: int = 64,
    device: str | None = None,
    num_workers: int = 0,
    pretrained: bool = True,
) -> RobustnessResult:
    """Top-1 and top-5 accuracy (percent) of a 1,000-class ImageNet classifier on a folder.

    Parameters
    ----------
    model : torch.nn.Module or str
        The classifier (``eval()`` is called), or a model id of :mod:`repalign.models`
        (``timm:<arch>[.<tag>]``, ``paper:<name>``, ``efficientnet-lite:lite0``, ...).
    folder : path
        One sub-folder per class, named by WordNet id.
    dataset : {"imagenet-a", "imagenet-r", "imagenet-sketch", "imagenet"}
        Decides the class subset the logits are restricted to (200 classes for -A and -R).
    transform : callable, optional
        PIL image -> tensor. Default: the model's own preprocessing (for a model id), else
        timm's evaluation transform for the module's pretrained config.
    batch_size, num_workers : int
        DataLoader settings.
    device : str, optional
        ``auto`` (default): CUDA if available, else CPU; see
        :func:`repalign.models.runtime.resolve_device`.

    Returns
    -------
    RobustnessResult
    """
    dataset = check_option("dataset", dataset, list(EVAL_DATASETS))
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}.")
    if isinstance(num_workers, bool) or int(num_workers) < 0:
        raise InputError(f"num_workers must be a whole number >= 0 (CLI: --workers), got {num_workers}.")
    torch = optional_import("torch", extra="torch", purpose="Evaluating a classifier")
    from ..models.runtime import make_loader, torch_device

    # That the folder exists and the device is valid is checked before the model is built (minutes for a
    # large download); its contents after, so that a wrong model argument is reported first.
    _check_folder(Path(folder))
    dev = torch_device(device, allow_mps=False)
    net, own_transform = load_classifier(model, pretrained=pretrained)
    files, labels, found = scan_class_folder(folder, dataset)
    subset = class_indices(dataset)
    net = net.to(dev).eval()
    tf = transform or own_transform or _default_transform(net)
    loader = make_loader(_Images(files, labels, tf), batch_size=int(batch_size), device=dev, num_workers=int(num_workers))
    correct = {1: 0, 5: 0}
    seen = 0
    with torch.inference_mode():
        for images, target in loader:
            logits = net(images.to(dev))
            if logits.ndim != 2 or logits.shape[1] != 1000:
                raise InputError(
                    f"the model must output 1,000 ImageNet logits per image; got shape {tuple(logits.shape)}."
                )
            got = masked_topk_correct(logits, target, subset, ks=(1, 5))
            correct[1] += got[1]
            correct[5] += got[5]
            seen += int(target.shape[0])
    result = RobustnessResult(
        dataset=dataset,
        top1=100.0 * correct[1] / seen,
        top5=100.0 * correct[5] / seen,
        n_images=seen,
        n_classes_found=len(found),
        n_classes_scored=1000 if subset is None else int(subset.size),
        folder=str(Path(folder)),
    )
    log.info("%s on %s: top-1 %.2f%%, top-5 %.2f%% (%d images)", dataset, folder, result.top1, result.top5, seen)
    return result

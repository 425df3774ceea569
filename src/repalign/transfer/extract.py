"""Few-shot features straight from a model id and an image set, through the feature cache.

:func:`image_set_features` loads a labelled image set (CIFAR-100, an ImageFolder, ...),
optionally keeps the first ``max_per_class`` images of each class (in id order), and embeds
them with :func:`repalign.models.extract_features`, whose cache is keyed on the image
content, so a second run loads no model.

In-memory images (the CIFAR python release) are written once as lossless PNG files under
the data folder (:func:`materialize_images`), so that they have stable paths and content
hashes like any image file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError
from ..models.stimuli import subset_per_class
from .datasets import ImageSet, load_image_set

__all__ = ["image_set_features", "materialize_images", "subset_per_class"]

log = logging.getLogger(__name__)


def materialize_images(images: ImageSet, *, folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """One image file per example of ``images``: its own files, or PNGs written once.

    PNGs go to ``<data dir>/images/<name>-<digest>/`` where the digest covers the pixels and
    ids, written to a temporary folder and renamed into place (atomic), so a half-written
    folder is never used.
    """
    if images.paths is not None:
        return list(images.paths)
    if images.pixels is None:
        raise InputError(f"{images.name}: the image set has neither files nor pixels.")
    from PIL import Image

    from .._paths import data_dir

    h = hashlib.sha256()
    h.update("\n".join(images.ids).encode())
    h.update(np.ascontiguousarray(images.pixels).tobytes())
    base = Path(folder) if folder is not None else data_dir() / "images"
    target = base / f"{images.name}-{h.hexdigest()[:16]}"
    names = [f"{i:06d}.png" for i in range(len(images.ids))]
    if not target.is_dir():
        tmp = base / f".{target.name}.{os.getpid()}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        for name, pixels in zip(names, images.pixels):
            Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode="RGB").save(tmp / name, format="PNG")
        try:
            os.rename(tmp, target)
        except OSError:  # another process got there first: use its (identical) folder
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("%s: wrote %d images as PNG to %s", images.name, len(names), target)
    return [target / name for name in names]


def image_set_features(
    model: str,
    dataset: str | os.PathLike[str],
    *,
    max_per_class: int | None = None,
    download: bool = False,
    **extract_kwargs: Any,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str], dict[str, Any]]:
    """Embed a labelled image set with a model.

    ``download`` lets ``"cifar100"`` be downloaded into the data folder when it is not there
    (:func:`repalign.transfer.datasets.load_cifar100`).

    Returns
    -------
    features : ndarray (n, d)
    labels : ndarray of int (n,)
    ids : list of str
    classes : list of str
    metadata : dict
        The extraction's metadata (model config with weight hash, stimulus fingerprint).
    """
    from ..models import extract_features

    images = load_image_set(dataset, download=download)
    keep = subset_per_class(images.ids, images.labels, max_per_class)
    paths = materialize_images(images)
    pairs = [(images.ids[i], paths[i]) for i in keep]
    feats = extract_features(model, pairs, **extract_kwargs)
    return np.asarray(feats.features), images.labels[keep], [images.ids[i] for i in keep], list(images.classes), feats.metadata

"""Labelled image sets for few-shot transfer: CIFAR-100 and ImageFolder layouts.

Sources
-------
* The official CIFAR-100 python release (``cifar-100-python/test`` and ``meta``), given as
  that folder, as a torchvision root that holds it (torchvision keeps the same files
  under ``<root>/cifar-100-python/``), or as the ``cifar-100-python.tar.gz`` archive.
  Downloaded when asked (``download=True``) through :func:`repalign.data.fetch.fetch`,
  checked against the publisher's MD5 as torchvision records it, and extracted with
  :func:`repalign.data.fetch.extract_archive` (members checked before anything is written).
* Any ImageFolder-style set, ``<root>/<class>/<image>`` (for example the CIFAR-10 test
  JPEGs of ``../shared/data/cifar10/test``).

The CIFAR files are Python pickles. They are **never** read with :func:`pickle.load`:
:class:`RestrictedUnpickler` resolves only the three numpy names such a file needs to
rebuild its ``uint8`` image array, and refuses every other global, so a crafted file cannot
call anything. The decoded content is then checked (keys, dtype, shape, label range).
"""

from __future__ import annotations

import io
import logging
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataNotFoundError, InputError
from .._validation import check_option, preview
from ..data.datasets.cifar100 import CIFAR100_ARCHIVE  # defined with the dataset's card (data fetch cifar100)
from ..data.fetch import check_hash, extract_archive, fetch, file_hash

__all__ = [
    "CIFAR100_ARCHIVE",
    "CIFAR100_FILE_MD5",
    "ImageSet",
    "RestrictedUnpickler",
    "load_cifar100",
    "load_image_folder",
    "load_image_set",
    "read_cifar_pickle",
]

log = logging.getLogger(__name__)

#: MD5 of the extracted files of the official release, as recorded by torchvision
#: (``CIFAR100.train_list``, ``test_list``, ``meta``). A local file that differs is used,
#: with a warning that it is not the official file.
CIFAR100_FILE_MD5: dict[str, str] = {
    "train": "16019d7e3df5f24257cddd939b257f8d",
    "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
    "meta": "7973b15100ade9c7d40fb424638fde48",
}

_FOLDER = "cifar-100-python"
_IMAGE_SHAPE = (32, 32, 3)


class _NumpyArrayMarker:
    """Stands in for :class:`numpy.ndarray` inside a restricted unpickle; cannot be called."""

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise pickle.UnpicklingError("numpy.ndarray may only appear as the first argument of _reconstruct")


_NDARRAY = _NumpyArrayMarker()


def _safe_reconstruct(cls: object, shape: object, dtype_code: object) -> np.ndarray:
    """The only form numpy's pickles use: ``_reconstruct(ndarray, (0,), b'b')``."""
    if cls is not _NDARRAY or not isinstance(shape, tuple) or shape != (0,):
        raise pickle.UnpicklingError(f"refusing _reconstruct{(cls, shape, dtype_code)!r}: not an ndarray stub")
    if dtype_code not in (b"b", "b"):
        raise pickle.UnpicklingError(f"refusing _reconstruct with type code {dtype_code!r}")
    return np.ndarray((0,), dtype=np.uint8)


def _safe_dtype(code: object, align: object = False, copy: object = True) -> np.dtype:
    """``numpy.dtype`` restricted to plain numeric and byte types (no object dtype)."""
    if not isinstance(code, (str, bytes)):
        raise pickle.UnpicklingError(f"refusing numpy.dtype({code!r})")
    text = code.decode("latin1") if isinstance(code, bytes) else code
    dt = np.dtype(text)
    if dt.kind not in "biuf" or dt.hasobject:
        raise pickle.UnpicklingError(f"refusing numpy.dtype({text!r}): only numeric types are allowed")
    return dt


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for the CIFAR python release that can rebuild numeric arrays and nothing else.

    Only these globals resolve (each to a checked stand-in, never to a general callable):
    ``numpy.core.multiarray._reconstruct`` (also under numpy 2's ``numpy._core``),
    ``numpy.ndarray`` and ``numpy.dtype``. Everything else, including every builtin,
    raises :class:`pickle.UnpicklingError`. Dicts, lists, strings and numbers are built by
    pickle opcodes and need no globals.
    """

    _ALLOWED: dict[tuple[str, str], Any] = {
        ("numpy.core.multiarray", "_reconstruct"): _safe_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _safe_reconstruct,
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): _safe_dtype,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}") from None

    def persistent_load(self, pid: object) -> Any:
        raise pickle.UnpicklingError("refusing a persistent id")


def read_cifar_pickle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read one file of the CIFAR python release with :class:`RestrictedUnpickler`.

    Strings are decoded as latin-1 (as torchvision does for these Python 2 pickles), so
    keys are ``str``.

    Raises
    ------
    InputError
        If the file is not such a pickle, needs any other global, or is not a dict.
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: file not found.")
    data = p.read_bytes()
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise InputError(f"{p}: not a readable CIFAR python-release file ({exc}).") from exc
    if not isinstance(obj, dict):
        raise InputError(f"{p}: expected a dict at the top of the pickle, found {type(obj).__name__}.")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


@dataclass
class ImageSet:
    """A labelled set of images for the few-shot protocol.

    Attributes
    ----------
    ids : list of str
        Stimulus id of every image (unique), e.g. ``"cifar100-test/00042"`` or a path
        relative to the ImageFolder root.
    labels : ndarray of int64
        Class code of every image, an index into ``classes``.
    classes : list of str
        Class names.
    name : str
        Dataset name used in result tables (``"cifar100"``, or the folder's name).
    pixels : ndarray of uint8, shape (n, H, W, 3), optional
        In-memory images (CIFAR).
    paths : list of Path, optional
        Image files (ImageFolder).
    meta : dict
        Provenance (source path, whether files match the official release).
    """

    ids: list[str]
    labels: np.ndarray
    classes: list[str]
    name: str
    pixels: np.ndarray | None = None
    paths: list[Path] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, i: int) -> Any:
        """Image ``i`` as an RGB :class:`PIL.Image.Image`."""
        if self.pixels is not None:
            from PIL import Image

            return Image.fromarray(self.pixels[i], mode="RGB")
        if self.paths is None:  # pragma: no cover - construction guarantees one of them
            raise InputError(f"{self.name}: the image set has neither pixels nor paths.")
        from ..data.images import load_image

        return load_image(self.paths[i])

    def subset(self, per_class: int, *, offset: int = 0) -> ImageSet:
        """The images ``offset .. offset+per_class-1`` of every class (in id order)."""
        if per_class < 1 or offset < 0:
            raise InputError(f"subset: per_class must be >= 1 and offset >= 0, got {per_class} and {offset}.")
        order = np.lexsort((np.asarray(self.ids), self.labels))
        keep: list[int] = []
        for k in range(len(self.classes)):
            rows = order[self.labels[order] == k]
            if rows.size < offset + per_class:
                raise InputError(f"subset: class {self.classes[k]!r} has {rows.size} images, fewer than "
                                 f"offset + per_class = {offset + per_class}.")
            keep.extend(rows[offset:offset + per_class].tolist())
        idx = np.asarray(keep, dtype=np.int64)
        return ImageSet(
            ids=[self.ids[i] for i in idx], labels=self.labels[idx], classes=list(self.classes), name=self.name,
            pixels=None if self.pixels is None else self.pixels[idx],
            paths=None if self.paths is None else [self.paths[i] for i in idx],
            meta={**self.meta, "subset": {"per_class": per_class, "offset": offset}},
        )


def _check_release_file(path: Path, key: str) -> bool:
    official = check_hash(path, "md5:" + CIFAR100_FILE_MD5[key])
    if not official:
        log.warning("%s does not match the MD5 of the official CIFAR-100 release; using it as given.", path)
    return official


def _find_release_folder(root: Path) -> Path | None:
    for candidate in (root, root / _FOLDER):
        if (candidate / "meta").is_file() and ((candidate / "test").is_file() or (candidate / "train").is_file()):
            return candidate
    return None


def _resolve_cifar100(root: str | os.PathLike[str] | None, download: bool) -> Path:
    from .._paths import data_dir

    if root is not None:
        given = Path(root).expanduser()
        if given.is_file():
            if not given.name.endswith((".tar.gz", ".tgz")):
                raise InputError(f"{given}: expected the cifar-100-python folder, a folder holding it, "
                                 "or the cifar-100-python.tar.gz archive.")
            official = check_hash(given, CIFAR100_ARCHIVE.known_hash or "")
            if not official:
                log.warning("%s does not match the publisher's MD5 of cifar-100-python.tar.gz; extracting it anyway.", given)
            # Keyed by content, not name: a replaced archive of the same name is extracted again.
            dest = data_dir() / "cifar-100" / ("official" if official else f"local-{file_hash(given)[:16]}")
            found = _find_release_folder(dest)
            if found is None:
                extract_archive(given, dest)
                found = _find_release_folder(dest)
            if found is None:
                raise InputError(f"{given}: the archive does not contain cifar-100-python/meta and test.")
            return found
        if not given.is_dir():
            raise DataNotFoundError(f"{given}: no such folder or archive.")
        found = _find_release_folder(given)
        if found is None:
            raise DataNotFoundError(
                f"{given}: found neither meta and test files nor a cifar-100-python folder holding them "
                "(the layout of the official python release and of torchvision's CIFAR100 root)."
            )
        return found
    dest = data_dir() / "cifar-100" / "official"
    found = _find_release_folder(dest)
    if found is not None:
        return found
    if not download:
        raise DataNotFoundError(
            f"CIFAR-100 is not in the data folder ({dest}). Pass the folder of the python release "
            f"(or torchvision's root), the archive, or allow downloading it (download=True; CLI: "
            f"`repalign data fetch cifar100`, or --download with `repalign fewshot MODEL --images cifar100`) "
            f"from {CIFAR100_ARCHIVE.url}."
        )
    archive = fetch(CIFAR100_ARCHIVE)
    extract_archive(archive, dest)
    found = _find_release_folder(dest)
    if found is None:  # pragma: no cover - the official archive has this layout
        raise InputError(f"{archive}: unexpected layout after extraction.")
    return found


def load_cifar100(
    root: str | os.PathLike[str] | None = None,
    *,
    split: str = "test",
    download: bool = False,
) -> ImageSet:
    """The CIFAR-100 images of one split (default: the test set the paper uses).

    Parameters
    ----------
    root : path-like, optional
        The ``cifar-100-python`` folder, a folder holding it (torchvision's root), or the
        ``cifar-100-python.tar.gz`` archive. Default: the data folder
        (:func:`repalign._paths.data_dir`), downloading into it when ``download`` is true.
    split : {"test", "train"}
    download : bool
        Download the official archive when it is not in the data folder.

    Returns
    -------
    ImageSet
        Images as ``uint8`` arrays of shape (n, 32, 32, 3), fine labels, the 100 fine class
        names, ids ``"cifar100-<split>/<index:05d>"`` (the row of the image in the file).
    """
    check_option("split", split, ["test", "train"])
    folder = _resolve_cifar100(root, download)
    data_path, meta_path = folder / split, folder / "meta"
    if not data_path.is_file():
        raise DataNotFoundError(f"{folder}: no {split!r} file.")
    official = _check_release_file(data_path, split) & _check_release_file(meta_path, "meta")
    meta = read_cifar_pickle(meta_path)
    names = meta.get("fine_label_names")
    if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
        raise InputError(f"{meta_path}: no list of strings under 'fine_label_names'.")
    entry = read_cifar_pickle(data_path)
    missing = [k for k in ("data", "fine_labels") if k not in entry]
    if missing:
        raise InputError(f"{data_path}: missing keys {missing}; keys are {preview(sorted(entry))}.")
    pixels = entry["data"]
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3072:
        raise InputError(f"{data_path}: 'data' must be a uint8 array of shape (n, 3072), got "
                         f"{getattr(pixels, 'dtype', type(pixels).__name__)} {getattr(pixels, 'shape', '')}.")
    labels = np.asarray(entry["fine_labels"])
    if labels.ndim != 1 or labels.shape[0] != pixels.shape[0] or labels.dtype.kind not in "iu":
        raise InputError(f"{data_path}: 'fine_labels' must hold one integer per image "
                         f"({pixels.shape[0]} images, got {labels.shape} of {labels.dtype}).")
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise InputError(f"{data_path}: labels outside 0..{len(names) - 1}.")
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    ids = [f"cifar100-{split}/{i:05d}" for i in range(images.shape[0])]
    log.info("CIFAR-100 %s: %d images, %d classes, from %s%s", split, images.shape[0], len(names), folder,
             "" if official else " (not the official files)")
    return ImageSet(ids=ids, labels=labels.astype(np.int64), classes=list(names), name="cifar100", pixels=images,
                    meta={"source": str(folder), "split": split, "official_release": bool(official)})


def load_image_folder(root: str | os.PathLike[str], *, name: str | None = None) -> ImageSet:
    """An ImageFolder-style set: one sub-folder per class, image files inside.

    Classes are the sub-folder names in sorted order; ids are ``<class>/<file name>``.
    Hidden entries are skipped; an empty class folder is an error.
    """
    from ..data.images import list_images

    base = Path(root).expanduser()
    if not base.is_dir():
        raise DataNotFoundError(f"{base}: no such folder.")
    classes = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise InputError(f"{base}: an ImageFolder needs at least two class sub-folders, found {len(classes)}.")
    ids: list[str] = []
    paths: list[Path] = []
    labels: list[int] = []
    for k, cls in enumerate(classes):
        files = list_images(base / cls)
        if not files:
            raise InputError(f"{base / cls}: class folder without images.")
        for f in files:
            ids.append(f"{cls}/{f.name}")
            paths.append(f)
            labels.append(k)
    return ImageSet(ids=ids, labels=np.asarray(labels, dtype=np.int64), classes=classes, name=name or base.name,
                    paths=paths, meta={"source": str(base), "layout": "imagefolder"})


def load_image_set(reference: str | os.PathLike[str], *, download: bool = False) -> ImageSet:
    """Resolve a dataset reference: ``"cifar100"`` (data folder, optional download), a CIFAR
    python-release folder or archive, or an ImageFolder root.
    """
    text = os.fspath(reference)
    if text.lower() in ("cifar100", "cifar-100"):
        return load_cifar100(None, download=download)
    path = Path(text).expanduser()
    if path.is_file() or (path.is_dir() and _find_release_folder(path) is not None):
        return load_cifar100(path)
    if path.is_dir():
        return load_image_folder(path)
    raise DataNotFoundError(f"{text}: not 'cifar100', a CIFAR-100 python-release folder or archive, or an image folder.")

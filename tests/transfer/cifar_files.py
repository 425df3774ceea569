"""Write small files in the exact format of the CIFAR-100 python release.

The official files are protocol-2 pickles written by Python 2's cPickle: strings are
``SHORT_BINSTRING``/``BINSTRING`` opcodes and the image array is rebuilt with the globals
``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``. Python 3's
pickler cannot write that (it pickles bytes through ``_codecs.encode``), so the opcodes are
emitted here directly.
"""

from __future__ import annotations

import hashlib
import struct
import tarfile
from pathlib import Path

import numpy as np

PROTO2 = b"\x80\x02"


def _str(s: str | bytes) -> bytes:
    b = s.encode("latin1") if isinstance(s, str) else s
    return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)


def _int(i: int) -> bytes:
    if 0 <= i < 256:
        return b"K" + bytes([i])
    if 0 <= i < 65536:
        return b"M" + struct.pack("<H", i)
    return b"J" + struct.pack("<i", i)


def _uint8_array(a: np.ndarray) -> bytes:
    assert a.dtype == np.uint8 and a.ndim == 2
    dtype = (b"cnumpy\ndtype\n" + _str("u1") + _int(0) + _int(1) + b"\x87R"
             + b"(" + _int(3) + _str("|") + b"NNN" + b"J\xff\xff\xff\xff" + b"J\xff\xff\xff\xff" + _int(0) + b"tb")
    return (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + _int(0) + b"\x85" + _str("b") + b"\x87R"
            + b"(" + _int(1) + _int(a.shape[0]) + _int(a.shape[1]) + b"\x86" + dtype + b"\x89"
            + _str(np.ascontiguousarray(a).tobytes()) + b"tb")


def _value(v: object) -> bytes:
    if isinstance(v, np.ndarray):
        return _uint8_array(v)
    if isinstance(v, (str, bytes)):
        return _str(v)
    if isinstance(v, int):
        return _int(v)
    if isinstance(v, list):
        return b"]" + ((b"(" + b"".join(_value(x) for x in v) + b"e") if v else b"")
    raise TypeError(type(v))


def py2_pickle(d: dict[str, object]) -> bytes:
    """A dict pickled the way Python 2's cPickle (protocol 2) writes it."""
    return PROTO2 + b"}(" + b"".join(_str(k) + _value(v) for k, v in d.items()) + b"u."


def write_cifar100(root: Path, *, per_class: int = 3, n_classes: int = 100, seed: int = 0) -> dict[str, object]:
    """Write ``root/cifar-100-python/{test,meta}`` with random images; returns what was written."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    labels = rng.permutation(np.repeat(np.arange(n_classes), per_class)).tolist()
    data = rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)
    names = [f"class_{k:02d}" for k in range(n_classes)]
    test = {
        "filenames": [f"img_{i}.png" for i in range(len(labels))],
        "batch_label": "testing batch 1 of 1",
        "fine_labels": labels,
        "coarse_labels": [k // 5 for k in labels],
        "data": data,
    }
    (folder / "test").write_bytes(py2_pickle(test))
    (folder / "meta").write_bytes(py2_pickle({"fine_label_names": names,
                                               "coarse_label_names": [f"super_{k}" for k in range(20)]}))
    return {"folder": folder, "labels": np.asarray(labels), "data": data, "names": names}


def make_archive(root: Path, out: Path) -> str:
    """Pack ``root/cifar-100-python`` as ``out`` (.tar.gz); returns its MD5."""
    with tarfile.open(out, "w:gz") as tf:
        tf.add(root / "cifar-100-python", arcname="cifar-100-python")
    return hashlib.md5(out.read_bytes()).hexdigest()

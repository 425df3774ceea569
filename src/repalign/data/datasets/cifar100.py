"""CIFAR-100 (Krizhevsky 2009), the transfer image set of the few-shot evaluation: card and adapter.

Not a human dataset: its role is ``transfer``. ``repalign data fetch cifar100`` downloads the
publisher's python release, checks the publisher's MD5 and extracts it where the few-shot
loader looks (``<data dir>/cifar-100/official/cifar-100-python/``), so that
``repalign fewshot FEATURES --images cifar100`` finds it. The images are read by
:mod:`repalign.transfer.datasets` (a restricted unpickler; never :func:`pickle.load`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..._errors import InputError
from ..adapters import Dataset, DatasetAdapter, DatasetIndex, OpenDataset
from ..fetch import RemoteFile

#: The CIFAR-100 python release. The MD5 is the publisher's checksum of the archive as
#: torchvision records it (``torchvision.datasets.CIFAR100.tgz_md5``); no SHA-256 is
#: published, so none is claimed. (:mod:`repalign.transfer.datasets` re-exports it.)
CIFAR100_ARCHIVE = RemoteFile(
    filename="cifar-100-python.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    known_hash="md5:eb9058c3a382ffc7106e4002c42a8d85",
    hash_source="publisher's MD5 of the archive, as recorded by torchvision (torchvision.datasets.CIFAR100.tgz_md5)",
    size=169001437,
)

_RELEASE = "cifar-100-python"

CARD = Dataset(
    name="cifar100",
    title="CIFAR-100: 60,000 32x32 colour images in 100 classes (transfer task)",
    citation="Krizhevsky, A. (2009). Learning multiple layers of features from tiny images. Technical report, "
    "University of Toronto.",
    licence="Distributed by the authors for research use from https://www.cs.toronto.edu/~kriz/cifar.html; "
    "repalign downloads it from there and does not redistribute it.",
    stimuli="100 classes of 600 images each (500 train, 100 test per class), 32x32 RGB; the few-shot "
    "evaluation uses the 10,000 test images.",
    layout="cifar-100-python/ with meta, test and train (the python release; torchvision's CIFAR100 root "
    "holds the same folder).",
    obtain="repalign data fetch cifar100 (the publisher's archive, checked against the publisher's MD5).",
    parts=("test", "train"),
    kind="images",
    remote=(CIFAR100_ARCHIVE,),
    role="transfer",
)


class Cifar100Adapter(DatasetAdapter):
    dataset = CARD

    def _release(self, folder: Path) -> Path | None:
        for candidate in (folder, folder / _RELEASE):
            if (candidate / "meta").is_file():
                return candidate
        return None

    def is_own_folder(self, folder: Path) -> bool:
        return self._release(folder) is not None

    def default_folder(self) -> Path:
        from ..._paths import data_dir

        return data_dir() / "cifar-100" / "official"  # where repalign.transfer.datasets looks

    def index(self, root: Path) -> DatasetIndex:
        release = self._release(root) or root / _RELEASE
        parts = {p: (release / p, release / "meta") for p in self.dataset.parts if (release / p).is_file()}
        problems = {p: f"not found: expected {release / p}" for p in self.dataset.parts if p not in parts}
        return DatasetIndex(self.name, root, parts, problems, (root, release) if release.is_dir() else (root,))

    def refuse_reference(self, part: str) -> Exception | None:
        return InputError(
            f"cifar100:{part}: CIFAR-100 is a transfer image set, not human data to align with; use it with "
            "repalign fewshot FEATURES --images cifar100."
        )

    def load_part(self, index: DatasetIndex, part: str) -> Any:
        raise self.refuse_reference(part)  # type: ignore[misc]

    def scan(self, opened: OpenDataset) -> Any:
        index = opened.index
        return ImageSetScan(self.name, opened.root, {p: str(f[0]) for p, f in index.parts.items()}, dict(index.problems))

    def summary(self, scan: Any) -> dict[str, Any]:
        if not scan.parts:
            raise InputError(f"{scan.root}: no CIFAR-100 release files ({'; '.join(scan.problems.values())}).")
        return {"parts": list(scan.parts), "problems": dict(scan.problems)}

    def install(self, downloaded: list[tuple[RemoteFile, Path]], target: Path) -> None:
        from ..fetch import extract_archive

        if self._release(target) is not None:
            return  # extracted before from the same verified archive (fetch checked its MD5)
        for _, path in downloaded:
            extract_archive(path, target)


class ImageSetScan:
    """What a local copy of an image set holds (for ``repalign data info``)."""

    def __init__(self, dataset: str, root: Path, parts: dict[str, str], problems: dict[str, str]) -> None:
        self.dataset, self.root, self.parts, self.problems = dataset, root, parts, problems

    def lines(self) -> list[str]:
        out = [f"{part}: {path}" for part, path in self.parts.items()]
        out += [f"{part}: unavailable: {why}" for part, why in self.problems.items()]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), "parts": dict(self.parts), "problems": dict(self.problems)}


ADAPTER = Cifar100Adapter()

"""Fixtures for the model tests: a dozen real Peterson images, small timm models, torch seeds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")


@pytest.fixture(autouse=True)
def _own_cache_and_few_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feature cache per test (entries are content-addressed, so tests would share hits),
    and one torch thread: the CI machine has two cores shared by two test workers."""
    monkeypatch.setenv("REPALIGN_CACHE", str(tmp_path / "feature-cache"))
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def animals_dir(shared_data: Path) -> Path:
    return shared_data / "peterson2018" / "images" / "animals"


@pytest.fixture(scope="session")
def animal_pairs(animals_dir: Path) -> list[tuple[str, Path]]:
    """The first 12 Peterson animal images as (file name, path) pairs."""
    paths = sorted(animals_dir.glob("*.png"))[:12]
    assert len(paths) == 12
    return [(p.name, p) for p in paths]


@pytest.fixture
def image_folder(tmp_path: Path, animal_pairs: list[tuple[str, Path]]) -> Path:
    """A writable copy of the 12 images (for tests that change a stimulus)."""
    folder = tmp_path / "stimuli"
    folder.mkdir()
    for name, path in animal_pairs:
        shutil.copyfile(path, folder / name)
    return folder

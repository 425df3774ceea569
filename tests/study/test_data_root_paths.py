"""A dataset opened through a relative data root stays readable after the working directory changes."""

from __future__ import annotations

from pathlib import Path

from repalign.study.config import config_from_dict
from repalign.study.plan import make_plan


def _plan(root: str, out: Path):
    return make_plan(config_from_dict({
        "name": "r", "output": str(out), "models": ["efficientnet-lite:lite0"],
        "human": {"datasets": ["peterson2018"], "data_root": root},
    }))


def test_a_relative_data_root_opened_from_another_folder_is_not_reused(tmp_path, monkeypatch, shared_data):
    checkout = tmp_path / "work" / "repalign"
    checkout.mkdir(parents=True)
    (tmp_path / "work" / "shared").symlink_to(shared_data.parent, target_is_directory=True)
    monkeypatch.chdir(checkout)
    _plan("../shared/data", tmp_path / "a")  # memoises the dataset opened through a relative path
    monkeypatch.chdir(tmp_path)  # where ../shared/data is something else (nothing)
    target = _plan(str(shared_data / "peterson2018"), tmp_path / "b").human_targets[0]
    assert target.with_images == ("animals", "fruits")
    paths = [Path(path) for _, path in target.scan.parts["animals"].stimulus_images()]
    assert len(paths) == 120 and all(p.is_file() for p in paths)

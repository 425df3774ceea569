"""Every bad input to the data commands: exit code 2, ONE ``error:`` line naming the input, no traceback,
and only flags and commands that exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from repalign import Representation
from repalign.cli import main
from tests.data.conftest import _own_data_dir, make_folders_copy  # noqa: F401 - the fixture isolates the registry


def _copy(tmp: Path) -> Path:
    make_folders_copy(tmp / "data" / "peterson2018", np.random.default_rng(0), n=5, images=(), halves=(),
                      domains=("animals",))
    return tmp / "data"


def _features(tmp: Path, ids) -> str:
    path = tmp / "f.npz"
    Representation.from_features(list(ids), np.random.default_rng(1).normal(size=(len(ids), 3))).to_npz(path)
    return str(path)


def _animal_ids(root: Path) -> list[str]:
    from repalign.data import load_reference

    return list(load_reference("peterson2018:animals", data_root=root).ids)


def _lee(tmp: Path, payload: bytes) -> Path:
    (tmp / "lee").mkdir(parents=True)
    (tmp / "lee" / "colour.mat").write_bytes(payload)
    return tmp


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Path], list[str]]
    expect: tuple[str, ...]  # substrings of the one error line


CASES = [
    Case("unknown-domain", lambda t: ["align", "peterson2018:animal", _features(t, "abc"), "--data-root", str(_copy(t))],
         ("peterson2018:animal", "Did you mean 'animals'")),
    Case("unknown-dataset", lambda t: ["data", "info", "peterson"], ("'peterson'", "peterson2018")),
    Case("missing-data-root", lambda t: ["data", "info", "peterson2018", "--data-root", str(t / "absent")],
         ("absent", "does not exist")),
    Case("no-local-copy", lambda t: ["data", "fetch", "things"], ("things", "repalign data add things PATH")),
    Case("no-split-halves", lambda t: ["data", "ceiling", "peterson2018:animals", "--data-root", str(_copy(t))],
         ("peterson2018:animals", "no split-half matrices")),
    Case("transfer-set-as-human-data", lambda t: ["align", "cifar100:test", "cifar100:test"],
         ("cifar100:test", "repalign fewshot FEATURES --images cifar100")),
    Case("empty-copy-registered", lambda t: ["data", "add", "peterson2018", str(t)], ("no readable peterson2018 matrix",)),
    Case("lee-file-not-matlab", lambda t: ["align", "lee:colour", _features(t, "abc"), "--data-root", str(_lee(t, b"junk"))],
         ("colour.mat", "not a readable MATLAB file")),
    Case("lee-unknown-matrix", lambda t: ["align", "lee:colours", _features(t, "abc"), "--data-root", str(_lee(t, b""))],
         ("lee matrix 'colours'", "Did you mean 'colour'")),
    Case("intersect-too-few", lambda t: ["align", "peterson2018:animals", _features(t, [*_animal_ids(_copy(t))[:2], "x", "y"]),
                                         "--intersect", "--data-root", str(t / "data")], ("2",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_data_input(case, tmp_path, capsys):
    argv = case.argv(tmp_path)
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (argv, out, err)
    assert len(lines) == 1 and " error: " in lines[0], err
    assert "Traceback" not in err
    for text in case.expect:
        assert text in lines[0], (text, lines[0])
    assert "--download" not in err and "--root/" not in err  # only real flags

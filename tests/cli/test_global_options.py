"""Global options (-v, -q, --threads) and the one-line error contract of ``repalign``."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from repalign import _progress, _threads
from repalign._errors import InputError
from repalign.cli import main
from tests.conftest import REPO_ROOT


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replace ``repalign align``'s handler; it records the global state it runs under."""
    import repalign.cli.align as align

    state: dict = {}

    def handler(args):
        state.update(quiet=_progress.is_quiet(), threads=_threads.thread_override(),
                     omp=os.environ.get("OMP_NUM_THREADS"), verbose=args.verbose)
        exc = state.get("raise")
        if exc is not None:
            raise exc
        return 0

    monkeypatch.setattr(align, "run", handler)
    return state


@pytest.mark.parametrize("argv", [["-q", "--threads", "3", "align"], ["align", "-q", "--threads", "3"]])
def test_global_options_before_or_after_the_command(seen: dict, argv: list[str], monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(argv) == 0
    assert seen["quiet"] is True and seen["threads"] == 3 and seen["omp"] == "3"
    # restored after the command: in-process callers (tests, notebooks) are not changed
    assert not _progress.is_quiet() and _threads.thread_override() is None
    assert os.environ["OMP_NUM_THREADS"] == "1"


def test_threads_from_the_environment(seen: dict, monkeypatch, capsys) -> None:
    monkeypatch.setenv("REPALIGN_THREADS", "2")
    assert main(["align"]) == 0 and seen["threads"] == 2
    monkeypatch.setenv("REPALIGN_THREADS", "lots")
    assert main(["align"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["repalign align: error: $REPALIGN_THREADS='lots': must be a whole number of threads >= 1"]


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_bad_threads_is_a_usage_error(bad: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["align", "--threads", bad])
    assert exc.value.code == 2
    assert "argument --threads" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/runs/x.csv"),
         "/runs/x.csv: No space left on device; free some space or write somewhere else"),
        (OSError(errno.EROFS, "Read-only file system", "/mnt/ro/x.npz"),
         "/mnt/ro/x.npz: Read-only file system; write somewhere else"),
        (PermissionError(errno.EACCES, "Permission denied", "/srv/x"),
         "/srv/x: Permission denied; check the permissions or write somewhere else"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f.txt/x.csv"),
         "/f.txt/x.csv: Not a directory; a file is in the way of a folder on that path"),
        (InputError("a.csv: not square\n(3 rows, 4 columns)"), "a.csv: not square (3 rows, 4 columns)"),
    ],
)
def test_input_and_os_errors_are_one_line_exit_2(seen: dict, capsys, exc: Exception, expected: str) -> None:
    seen["raise"] = exc
    assert main(["align"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"repalign align: error: {expected}"]
    assert "Traceback" not in err
    assert main(["align", "-v"]) == 2  # -v: the traceback, then the same line
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.strip().endswith(expected)


def test_a_bug_is_one_line_exit_1_with_the_traceback_under_v(seen: dict, capsys) -> None:
    seen["raise"] = ZeroDivisionError("division by zero")
    assert main(["align"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "repalign align: error: unexpected ZeroDivisionError: division by zero (rerun with -v for the traceback)"
    ]
    assert main(["-v", "align"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_real_unwritable_output_is_one_error_line(tmp_path: Path) -> None:
    """A real command writing where it cannot (a file in the way, a read-only folder)."""
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(2), 4)
    feats = tmp_path / "f.npz"
    np.savez(feats, ids=np.array([f"s{i}" for i in range(8)]), features=rng.normal(size=(8, 3)),
             labels=np.array(["a", "b"])[codes])
    (tmp_path / "file.txt").write_text("in the way")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    targets = [tmp_path / "file.txt" / "out.csv"]
    if os.geteuid() != 0:  # root writes into read-only folders anyway
        targets.append(ro / "out.csv")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    try:
        for out in targets:
            proc = subprocess.run(
                [sys.executable, "-m", "repalign", "fewshot", str(feats), "--shots", "1", "--heads", "linear",
                 "--seeds", "1", "--out", str(out)],
                capture_output=True, text=True, env=env, timeout=300,
            )
            errors = [line for line in proc.stderr.splitlines() if "error:" in line]
            assert proc.returncode == 2, proc.stderr
            # it names the output, or the file in the way of its folder
            assert len(errors) == 1 and (str(out) in errors[0] or str(out.parent) in errors[0]), proc.stderr
            assert "Traceback" not in proc.stderr
    finally:
        ro.chmod(0o700)


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    proc = subprocess.run(
        f"{sys.executable} -m repalign models list | head -c 1", shell=True, capture_output=True, text=True,
        env=env, timeout=120,
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr

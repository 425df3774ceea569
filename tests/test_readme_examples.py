"""Every ``console`` example in README.md and docs/*.md runs as written.

Each ``$ repalign ...`` line (with ``\\`` continuations) of a ```console block is one test
case, run in a fresh folder laid out like a checkout (``configs/`` and ``../shared/data``
reachable as the examples expect), on inputs generated here for the file names the
examples use (:data:`MAKERS`) or on ``../shared/data`` through the ``shared_data`` fixture.
A case passes when the command exits 0 without a traceback (and prints what :data:`EXPECT`
says it prints).

Only commands that need a GPU or the network are skipped, each with its reason in
:data:`SKIPS`, keyed by the command as written (without its ``# comment``). A new console
example runs automatically; one that cannot run here must be added to :data:`SKIPS` with a
reason, and one that needs an input file gets a maker in :data:`MAKERS`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT, SHARED_DATA

DOC_FILES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]

#: Commands that cannot run on a CPU-only machine without internet, and why.
SKIPS: dict[str, str] = {
    "repalign extract timm:convnext_tiny.fb_in1k images/ --out convnext.npz --device cuda --bf16":
        "needs a CUDA GPU (--device cuda)",
    "repalign fewshot efficientnet-lite:lite0 --images cifar100 --download":
        "needs the network: CIFAR-100 is not in ../shared/data and must be downloaded",
    "repalign study my.yaml --executor ray --address auto":
        "needs the network: connects to a running Ray cluster (--address auto)",
    "repalign study my_study.yaml --executor ray --address auto":
        "needs the network: connects to a running Ray cluster (--address auto)",
    "repalign data fetch lee": "needs the network: downloads the Lee collection from OSF",
    "repalign data fetch cifar100": "needs the network: downloads CIFAR-100 from its publisher",
    "repalign align lee:colour colour_features.npz":
        "needs the network: the Lee collection comes from `repalign data fetch lee`",
}

#: Commands that take minutes on two cores: they still run in CI (marked slow).
SLOW: dict[str, str] = {
    "repalign study": "the built-in study runs 27 models through the whole pipeline",
}

#: Text a command's stdout must contain (the figure its comment in the docs promises).
EXPECT: dict[str, str] = {
    "repalign align ../shared/data/things/test_triplets.tsv things:spose --data-root ../shared/data "
    "--metric odd-one-out --similarity dot": "0.6299",
    "repalign align things:test things:spose --data-root ../shared/data --metric odd-one-out --similarity dot":
        "0.6299",
    "repalign align model_a.npz model_b.npz --metric cka,cka-debiased --bootstrap 200": "cka-debiased  0.6790",
}

#: Seconds one command may take (the slow ones get more).
TIMEOUT_S = 600
SLOW_TIMEOUT_S = 1800


# -- reading the examples -------------------------------------------------------------
def console_commands() -> list[tuple[str, int, str]]:
    """``(file, line, command)`` for every ``$ ...`` line of every ```console block."""
    return [
        (doc.relative_to(REPO_ROOT).as_posix(), line, text)
        for doc in DOC_FILES
        for line, text in parse_console(doc.read_text(encoding="utf-8"))
    ]


def parse_console(markdown: str) -> list[tuple[int, str]]:
    """``(line, command)`` of the ``$ ...`` lines of the ```console blocks, continuations joined."""
    found = []
    lines = markdown.splitlines()
    inside = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith("```"):
            inside = line.strip() == "```console"
            pending = None
            continue
        if not inside:
            continue
        if pending is not None:  # a continuation of the previous line
            start, text = pending
            text += " " + line.strip()
        elif line.startswith("$ "):
            start, text = number, line[2:].strip()
        else:
            continue  # output shown in the block
        if text.endswith("\\"):
            pending = (start, text[:-1].rstrip())
            continue
        pending = None
        found.append((start, text))
    return found


def command_key(text: str) -> str:
    """The command without its comment, words separated by one space (the table keys)."""
    return shlex.join(shlex.split(text, comments=True))


def _cases() -> list[pytest.param]:
    seen: dict[str, str] = {}
    params = []
    for doc, line, text in console_commands():
        key = command_key(text)
        where = f"{doc}:{line}"
        if key in seen:  # the same command in two places runs once
            continue
        seen[key] = where
        marks = [pytest.mark.slow] if key in SLOW else []
        params.append(pytest.param(key, id=where, marks=marks))
    return params


# -- inputs the examples name -----------------------------------------------------------
def _ids(n: int, prefix: str = "s") -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(n)]


def _human_csv(cwd: Path, shared: Callable[[], Path]) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 5))
    sim = np.corrcoef(x)
    ids = _ids(12)
    rows = [",".join(["", *ids])] + [",".join([i, *(f"{v:.6f}" for v in r)]) for i, r in zip(ids, sim)]
    (cwd / "human.csv").write_text("\n".join(rows) + "\n")


def _model_features(cwd: Path, shared: Callable[[], Path]) -> None:
    rng = np.random.default_rng(1)
    np.savez(cwd / "model_features.npz", ids=np.array(_ids(12)), features=rng.normal(size=(12, 5)))


def _animals_features(name: str, n: int | None = None) -> Callable[[Path, Callable[[], Path]], None]:
    """Features for the Peterson animals images (as `repalign extract ... --out lite0.npz` writes)."""

    def make(cwd: Path, shared: Callable[[], Path]) -> None:
        header = (shared() / "peterson2018" / "similarity" / "animals.csv").read_text().splitlines()[0]
        ids = [c.strip() for c in header.split(",")[1:]][:n]
        rng = np.random.default_rng(2)
        np.savez(cwd / name, ids=np.array(ids), features=rng.normal(size=(len(ids), 16)))

    return make


def _lite0_cifar10(cwd: Path, shared: Callable[[], Path]) -> None:
    """lite0_cifar10.npz as the README's ImageFolder extract command writes it (real lite0, labels stored)."""
    data = shared()  # the command itself names no shared data: skip (never fail) without it, else link it
    if not (cwd.parent / "shared").exists():
        (cwd.parent / "shared").symlink_to(data.parent, target_is_directory=True)
    _repalign(["extract", "efficientnet-lite:lite0", "../shared/data/cifar10/test", "--max-per-class", "20",
               "--out", "lite0_cifar10.npz", "-q"], cwd, timeout=TIMEOUT_S, check=True)


def _feats_and_labels(cwd: Path, shared: Callable[[], Path]) -> None:
    rng = np.random.default_rng(4)
    codes = np.repeat(np.arange(3), 10)
    x = rng.normal(size=(30, 4)) + 3 * np.eye(3, 4)[codes]
    ids = _ids(30)
    feats = ["id," + ",".join(f"f{j}" for j in range(4))]
    feats += [",".join([i, *(f"{v:.6f}" for v in r)]) for i, r in zip(ids, x)]
    (cwd / "feats.csv").write_text("\n".join(feats) + "\n")
    labels = ["id,label"] + [f"{i},{['ant', 'bee', 'cow'][c]}" for i, c in zip(ids, codes)]
    (cwd / "labels.csv").write_text("\n".join(labels) + "\n")


def _results_csv(cwd: Path, shared: Callable[[], Path]) -> None:
    """A results table in the schema of docs/architecture.md (one row per model)."""
    rng = np.random.default_rng(5)
    n = 24
    pearson = rng.uniform(0.2, 0.7, n)
    top1 = rng.uniform(60, 85, n)
    rows = ["model,pearson,triplet,imagenet_top1,imagenet_a_top1,imagenet_a_top5"]
    for i in range(n):
        a1 = 0.5 * top1[i] - 30 + 20 * pearson[i] + rng.normal(0, 2)
        rows.append(f"timm:m{i:02d},{pearson[i]:.4f},{0.5 + pearson[i] / 3:.4f},{top1[i]:.2f},{a1:.2f},{a1 + 15:.2f}")
    (cwd / "results.csv").write_text("\n".join(rows) + "\n")


def _study_yaml(name: str, output: str) -> Callable[[Path, Callable[[], Path]], None]:
    def make(cwd: Path, shared: Callable[[], Path]) -> None:
        (cwd / name).write_text(
            f"name: my-study\noutput: {output}\nmodels: [zoo]\nhuman: {{datasets: [zoo]}}\n"
            "transfer:\n  - {name: zoo, dataset: zoo, shots: [1, 5], heads: [linear], seeds: 2}\n"
            "zoo: {n_classes: 4, n_per_class: 12, models_per_family: 2, seed: 0}\n"
        )

    return make


def _study_run(output: str) -> Callable[[Path, Callable[[], Path]], None]:
    def make(cwd: Path, shared: Callable[[], Path]) -> None:
        _study_yaml("setup.yaml", output)(cwd, shared)
        _repalign(["study", "setup.yaml", "-q"], cwd, timeout=TIMEOUT_S, check=True)

    return make


def _images(cwd: Path, shared: Callable[[], Path]) -> None:
    from PIL import Image

    (cwd / "images").mkdir()
    for i in range(3):
        Image.new("RGB", (40, 40), (60 * i, 90, 200)).save(cwd / "images" / f"img{i}.png")


def _lite0_layers(cwd: Path, shared: Callable[[], Path]) -> None:
    """lite0_layers.npz as the README's multi-layer extract command writes it."""
    _repalign(["extract", "efficientnet-lite:lite0", "peterson2018:animals", "--data-root", "../shared/data/peterson2018",
               "--layers", "_blocks.?,_blocks.??", "--out", "lite0_layers.npz", "-q"], cwd, timeout=TIMEOUT_S, check=True)


def _cka_pair(cwd: Path, shared: Callable[[], Path]) -> None:
    """model_a.npz and model_b.npz exactly as the CKA example of docs/metrics.md writes them."""
    rng = np.random.default_rng(0)
    ids = np.array([f"s{i}" for i in range(50)])
    x = rng.normal(size=(50, 20))
    np.savez(cwd / "model_a.npz", ids=ids, features=x)
    np.savez(cwd / "model_b.npz", ids=ids, features=x @ rng.normal(size=(20, 30)) + 3 * rng.normal(size=(50, 30)))


#: Input file -> function writing it into the working folder (``shared()`` gives ../shared/data).
MAKERS: dict[str, Callable[[Path, Callable[[], Path]], None]] = {
    "lite0_layers.npz": _lite0_layers,
    "human.csv": _human_csv,
    "model_a.npz": _cka_pair,
    "model_b.npz": _cka_pair,
    "model_features.npz": _model_features,
    "lite0.npz": _animals_features("lite0.npz"),
    "model.npz": _animals_features("model.npz"),
    "subset.npz": _animals_features("subset.npz", n=30),
    "lite0_cifar10.npz": _lite0_cifar10,
    "feats.csv": _feats_and_labels,
    "labels.csv": _feats_and_labels,
    "results.csv": _results_csv,
    "images/": _images,
    "my.yaml": _study_yaml("my.yaml", "runs/my-study"),
    "my_study.yaml": _study_yaml("my_study.yaml", "runs/my_study"),
    "runs/my-study": _study_run("runs/my-study"),
    "runs/my_study": _study_run("runs/my_study"),
}

#: Flags whose value a command writes (never generated beforehand).
OUTPUT_FLAGS = ("--out",)


def _needs_shared_data(argv: list[str]) -> bool:
    return any("shared/data" in a or a.startswith("configs/") or re.match(r"^(peterson2018|things):", a) for a in argv)


# -- running ----------------------------------------------------------------------------
def _repalign(argv: list[str], cwd: Path, *, timeout: float, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "REPALIGN_PROGRESS_INTERVAL": "30"}
    proc = subprocess.run(
        [sys.executable, "-m", "repalign", *argv], cwd=cwd, capture_output=True, text=True, env=env,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"setup `repalign {shlex.join(argv)}` failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def _workdir(tmp_path: Path, shared: Callable[[], Path], argv: list[str]) -> Path:
    """A folder laid out like a checkout: configs/ inside, ../shared/data beside it."""
    cwd = tmp_path / "repalign"
    cwd.mkdir()
    (cwd / "configs").symlink_to(REPO_ROOT / "configs", target_is_directory=True)
    # Configs name ../shared/data too, so link it whenever it exists; skip only when needed.
    if _needs_shared_data(argv) or (SHARED_DATA / "README.md").is_file():
        (tmp_path / "shared").symlink_to(shared().parent, target_is_directory=True)
    return cwd


@pytest.mark.parametrize("command", _cases())
def test_console_example_runs(command: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if command in SKIPS:
        pytest.skip(SKIPS[command])
    argv = shlex.split(command)
    assert argv[0] == "repalign", f"only repalign commands can be run: {command!r}"
    args = argv[1:]

    def shared() -> Path:
        return request.getfixturevalue("shared_data")  # skips (never fails) when absent

    cwd = _workdir(tmp_path, shared, args)
    outputs = {args[i + 1] for i, a in enumerate(args[:-1]) if a in OUTPUT_FLAGS}
    made: set[Callable] = set()
    for arg in args:
        maker = MAKERS.get(arg)
        if maker is not None and arg not in outputs and maker not in made:
            made.add(maker)
            maker(cwd, shared)
    timeout = SLOW_TIMEOUT_S if command in SLOW else TIMEOUT_S
    proc = _repalign(args, cwd, timeout=timeout)
    report = f"`{command}` exited {proc.returncode}\n--- stderr ---\n{proc.stderr[-4000:]}\n--- stdout ---\n{proc.stdout[-2000:]}"
    assert proc.returncode == 0, report
    assert "Traceback" not in proc.stderr, report
    if command in EXPECT:
        assert EXPECT[command] in proc.stdout, report


def test_console_blocks_are_parsed() -> None:
    text = (
        "Intro\n\n```console\n$ repalign align a.csv \\\n      b.npz --json   # a comment\noutput line\n"
        "$ repalign data list\n```\n\n```python\n$ not a command\n```\n"
    )
    assert parse_console(text) == [(4, "repalign align a.csv b.npz --json   # a comment"), (7, "repalign data list")]
    assert command_key(parse_console(text)[0][1]) == "repalign align a.csv b.npz --json"
    assert command_key("repalign analyze r.csv --outcome 'imagenet_a_*'") == "repalign analyze r.csv --outcome 'imagenet_a_*'"


def test_the_tables_name_only_commands_the_docs_show() -> None:
    commands = [command_key(text) for _, _, text in console_commands()]
    assert len(commands) >= 20
    stale = set(SKIPS) | set(SLOW) | set(EXPECT)
    assert stale <= set(commands), f"tables name commands no doc shows any more: {sorted(stale - set(commands))}"

"""Every bad input gets exit code 2, ONE ``error:`` line naming the input, and no traceback.

A table of bad inputs across every command (issue 12). Each case builds its files in
``tmp_path``, runs the command line in-process (stderr captured) and asserts:

* the exit code is 2 and no exception escapes (an escaping exception is a traceback);
* stderr holds exactly one line containing ``error:`` and no ``Traceback``;
* the error line names the input (each case lists the text it must contain);
* every ``--flag`` the message recommends exists on that sub-command.

Cases whose fix belongs to another area carry ``xfail(strict=True, reason="owner: ...")``:
they turn into failures the moment they are fixed, and whoever fixed them removes the mark.
A second, shorter table holds awkward but valid inputs that must give the right answer.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import signal
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from repalign import Representation
from repalign.cli import build_parser, main

#: Seconds one case may run before it counts as a hang (the YAML alias bomb hung for minutes).
CASE_TIMEOUT_S = 20

IDS = [f"s{i}" for i in range(8)]


# -- builders of inputs -------------------------------------------------------------------


def _features(n: int = 8, d: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def _feature_npz(folder: Path, name: str = "feats.npz", seed: int = 0) -> Path:
    path = folder / name
    Representation.from_features(IDS, _features(seed=seed), name=name).to_npz(path)
    return path


def _similarity(seed: int = 0) -> np.ndarray:
    x = _features(seed=seed)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = u @ u.T
    np.fill_diagonal(sim, 1.0)  # exactly 1, as a human similarity matrix stores it
    return sim


def _matrix_csv(path: Path, matrix: np.ndarray, row_ids: list[str], col_ids: list[str] | None = None) -> Path:
    col_ids = row_ids if col_ids is None else col_ids
    lines = [",".join(["", *col_ids])]
    lines += [",".join([r, *(repr(float(v)) for v in row)]) for r, row in zip(row_ids, matrix)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _labelled_npz(folder: Path, name: str = "labelled.npz") -> Path:
    rng = np.random.default_rng(0)
    n_classes, per_class = 3, 6
    labels = np.repeat([f"class{c}" for c in range(n_classes)], per_class)
    centres = rng.normal(size=(n_classes, 4)) * 3
    feats = centres[np.repeat(np.arange(n_classes), per_class)] + rng.normal(size=(n_classes * per_class, 4))
    ids = np.array([f"img{i}" for i in range(labels.size)])
    path = folder / name
    np.savez(path, ids=ids, features=feats, labels=labels)
    return path


def _images(folder: Path, n: int = 4) -> Path:
    from PIL import Image

    root = folder / "stimuli"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, size=(16, 16, 3), dtype=np.uint8)).save(root / f"img{i}.png")
    return root


_MODEL_FILE = """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 4)

    def forward(self, x):
        {body}

def transform(image):
    import numpy as np
    return torch.as_tensor(np.asarray(image.resize((8, 8)), dtype="float32")).permute(2, 0, 1) / 255

def build():
    return Net(), transform
"""


def _model_file(folder: Path, body: str) -> Path:
    path = folder / "user_model.py"
    path.write_text(_MODEL_FILE.replace("{body}", body))
    return path


def _study_yaml(folder: Path, text: str) -> Path:
    path = folder / "study.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _alias_bomb(folder: Path) -> Path:
    # 7 levels of 9 aliases: about 5e6 leaves once expanded, from 400 bytes of YAML.
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 7):
        prev = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([prev] * 9)}]")
    lines.append("name: *a6")
    path = folder / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _truncated(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path


def _tar_gz(folder: Path) -> Path:
    import io
    import tarfile

    path = folder / "cifar-100-python.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        payload = os.urandom(200_000)  # incompressible, so truncation cuts real members
        info = tarfile.TarInfo("cifar-100-python/test")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    return _truncated(path)


# -- the table --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: ``build(tmp_path)`` writes the files and returns the argv."""

    id: str
    build: Callable[[Path], list[str]]
    names: tuple[str, ...]  # text the error line must contain (the input it names)
    owner: str | None = None  # another helper's area: strict xfail until they fix it
    needs_torch: bool = False


def _case_csv_header_mismatch(tmp: Path) -> list[str]:
    cols = list(IDS)
    cols[3] = "S3"  # one header id differs from its row id by case only
    return ["align", str(_matrix_csv(tmp / "human.csv", _similarity(), IDS, cols)), str(_feature_npz(tmp))]


def _case_csv_missing_column(tmp: Path) -> list[str]:
    sim = _similarity()
    keep = [i for i in range(len(IDS)) if i != 5]
    path = _matrix_csv(tmp / "human.csv", sim[:, keep], IDS, [IDS[i] for i in keep])
    return ["align", str(path), str(_feature_npz(tmp))]


def _case_zero_diagonal_similarity(tmp: Path) -> list[str]:
    counts = np.random.default_rng(1).integers(1, 20, size=(8, 8)).astype(float)
    counts = counts + counts.T
    np.fill_diagonal(counts, 0)  # co-occurrence counts: self-pairs blanked
    return ["align", str(_matrix_csv(tmp / "counts.csv", counts, IDS)), str(_feature_npz(tmp))]


def _case_nan_cell(tmp: Path) -> list[str]:
    sim = _similarity()
    sim[1, 2] = sim[2, 1] = np.nan
    return ["align", str(_matrix_csv(tmp / "nan_cell.csv", sim, IDS)), str(_feature_npz(tmp))]


def _case_nan_diagonal(tmp: Path) -> list[str]:
    sim = _similarity()
    sim[4, 4] = np.nan
    return ["align", str(_matrix_csv(tmp / "nan_diag.csv", sim, IDS)), str(_feature_npz(tmp))]


def _case_triplets_zero_based_without_zero(tmp: Path) -> list[str]:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(30):  # a 0-based file over items 0..7 that happens never to use item 0
        i, j, k = rng.choice(np.arange(1, 8), size=3, replace=False)
        rows.append(f"{i}\t{j}\t{k}\t{rng.integers(1, 4)}")
    path = tmp / "triplets.tsv"
    path.write_text("\n".join(rows) + "\n")
    items = tmp / "items.txt"
    items.write_text("\n".join(IDS) + "\n")
    return ["align", str(path), str(_feature_npz(tmp)), "--metric", "odd-one-out", "--items", str(items)]


def _case_triplets_choice_without_zero(tmp: Path) -> list[str]:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(30):  # 1-based items 1..8, but a choice column coded 0/1/2 in which 0 never occurs
        i, j, k = rng.choice(np.arange(1, 9), size=3, replace=False)
        rows.append(f"{i}\t{j}\t{k}\t{rng.integers(1, 3)}")
    path = tmp / "choices.tsv"
    path.write_text("\n".join(rows) + "\n")
    items = tmp / "items.txt"
    items.write_text("\n".join(IDS) + "\n")
    return ["align", str(path), str(_feature_npz(tmp)), "--metric", "odd-one-out", "--items", str(items)]


def _case_truncated_npz(tmp: Path) -> list[str]:
    return ["align", str(_truncated(_feature_npz(tmp, "cut.npz"))), str(_feature_npz(tmp))]


def _case_complex_npz(tmp: Path) -> list[str]:
    path = tmp / "complex.npz"
    np.savez(path, ids=np.array(IDS), features=_features() + 1j * _features(seed=1))
    return ["align", str(path), str(_feature_npz(tmp))]


def _case_missing_input(tmp: Path) -> list[str]:
    return ["align", str(tmp / "absent.npz"), str(_feature_npz(tmp))]


def _case_ids_do_not_match(tmp: Path) -> list[str]:
    other = tmp / "other.npz"
    Representation.from_features([f"t{i}" for i in range(8)], _features(seed=2)).to_npz(other)
    return ["align", str(_feature_npz(tmp)), str(other)]


def _case_unknown_metric(tmp: Path) -> list[str]:
    return ["align", str(_feature_npz(tmp, "a.npz")), str(_feature_npz(tmp, "b.npz", 1)), "--metric", "pearsn"]


def _case_cka_on_matrices(tmp: Path) -> list[str]:
    human = _matrix_csv(tmp / "human.csv", _similarity(), IDS)
    return ["align", str(human), str(_feature_npz(tmp)), "--metric", "cka"]


def _case_negative_bootstrap(tmp: Path) -> list[str]:
    return ["align", str(_feature_npz(tmp, "a.npz")), str(_feature_npz(tmp, "b.npz", 1)), "--bootstrap", "-5"]


def _case_align_confidence_2(tmp: Path) -> list[str]:
    return ["align", str(_feature_npz(tmp, "a.npz")), str(_feature_npz(tmp, "b.npz", 1)),
            "--bootstrap", "10", "--confidence", "2"]


def _case_constant_similarity(tmp: Path) -> list[str]:
    sim = np.full((8, 8), 0.5)
    np.fill_diagonal(sim, 1.0)
    return ["align", str(_matrix_csv(tmp / "flat.csv", sim, IDS)), str(_feature_npz(tmp))]


def _case_example_dir_is_a_file(tmp: Path) -> list[str]:
    blocker = tmp / "blocker"
    blocker.write_text("in the way")
    return ["align", "--example", "--example-dir", str(blocker)]


def _case_fewshot_confidence_2(tmp: Path) -> list[str]:
    return ["fewshot", str(_labelled_npz(tmp)), "--heads", "linear", "--shots", "1", "--seeds", "1",
            "--confidence", "2"]


def _case_fewshot_shots_float(tmp: Path) -> list[str]:
    return ["fewshot", str(_labelled_npz(tmp)), "--heads", "linear", "--shots", "1.5"]


def _case_fewshot_invalid_device(tmp: Path) -> list[str]:
    return ["fewshot", str(_labelled_npz(tmp)), "--heads", "linear", "--shots", "1", "--seeds", "1",
            "--device", "tpu9"]


def _case_fewshot_out_file_in_the_way(tmp: Path) -> list[str]:
    blocker = tmp / "blocker"
    blocker.write_text("in the way")
    return ["fewshot", str(_labelled_npz(tmp)), "--heads", "linear", "--shots", "1", "--seeds", "1",
            "--out", str(blocker / "fewshot.parquet")]


def _case_fewshot_truncated_archive(tmp: Path) -> list[str]:
    return ["fewshot", "python:absent_model.py:build", "--images", str(_tar_gz(tmp)), "--heads", "linear"]


def _case_extract_missing_python_file(tmp: Path) -> list[str]:
    return ["extract", f"python:{tmp / 'absent.py'}:build", str(_images(tmp)), "--out", str(tmp / "f.npz")]


def _case_extract_model_raises(tmp: Path) -> list[str]:
    model = _model_file(tmp, 'raise RuntimeError("user model failed")')
    return ["extract", f"python:{model}:build", str(_images(tmp)), "--out", str(tmp / "f.npz"), "--device", "cpu"]


def _case_extract_one_row_per_batch(tmp: Path) -> list[str]:
    model = _model_file(tmp, "return self.lin(x.mean(dim=(2, 3)))[:1]")
    return ["extract", f"python:{model}:build", str(_images(tmp)), "--out", str(tmp / "f.npz"), "--device", "cpu"]


def _case_extract_two_rows_per_item(tmp: Path) -> list[str]:
    model = _model_file(tmp, "y = self.lin(x.mean(dim=(2, 3)))\n        return torch.cat([y, y])")
    return ["extract", f"python:{model}:build", str(_images(tmp)), "--out", str(tmp / "f.npz"), "--device", "cpu"]


def _case_extract_out_file_in_the_way(tmp: Path) -> list[str]:
    model = _model_file(tmp, "return self.lin(x.mean(dim=(2, 3)))")
    blocker = tmp / "blocker"
    blocker.write_text("in the way")
    return ["extract", f"python:{model}:build", str(_images(tmp)), "--out", str(blocker / "f.npz"),
            "--device", "cpu"]


def _case_yaml_duplicate_keys(tmp: Path) -> list[str]:
    config = _study_yaml(tmp, """\
        name: dup
        name: dup-again
        models: [zoo:toy]
        """)
    return ["study", str(config), "--dry-run"]


def _case_yaml_alias_bomb(tmp: Path) -> list[str]:
    return ["study", str(_alias_bomb(tmp)), "--dry-run"]


def _case_study_missing_config(tmp: Path) -> list[str]:
    return ["study", str(tmp / "absent.yaml"), "--dry-run"]


def _case_analyze_confidence_2(tmp: Path) -> list[str]:
    rng = np.random.default_rng(0)
    path = tmp / "results.csv"
    rows = ["model,pearson,fewshot_linear_1"] + [f"m{i},{rng.random()},{rng.random()}" for i in range(12)]
    path.write_text("\n".join(rows) + "\n")
    return ["analyze", str(path), "--alignment", "pearson", "--outcome", "fewshot_linear_1", "--confidence", "2"]


def _case_analyze_unknown_column(tmp: Path) -> list[str]:
    path = tmp / "results.csv"
    path.write_text("model,pearson,fewshot_linear_1\nm0,0.1,20\nm1,0.2,30\nm2,0.3,35\nm3,0.4,50\nm4,0.5,40\n")
    return ["analyze", str(path), "--alignment", "pearsonn", "--outcome", "fewshot_linear_1"]


def _case_bootstrap_float(tmp: Path) -> list[str]:
    return ["align", str(_feature_npz(tmp, "a.npz")), str(_feature_npz(tmp, "b.npz", 1)), "--bootstrap", "1.5"]


def _case_cka_debiased_too_few(tmp: Path) -> list[str]:
    ids = ["s0", "s1", "s2"]
    for name, seed in (("a3.npz", 0), ("b3.npz", 1)):
        Representation.from_features(ids, _features(3, 4, seed)).to_npz(tmp / name)
    return ["align", str(tmp / "a3.npz"), str(tmp / "b3.npz"), "--metric", "cka-debiased"]


def _case_cka_constant_features(tmp: Path) -> list[str]:
    Representation.from_features(IDS, np.ones((8, 4)) + np.arange(4)).to_npz(tmp / "flat.npz")
    return ["align", str(tmp / "flat.npz"), str(_feature_npz(tmp)), "--metric", "cka", "--similarity", "dot"]


def _case_unknown_dataset_part(tmp: Path) -> list[str]:
    return ["align", "peterson2018:animalz", str(_feature_npz(tmp)), "--data-root", str(tmp)]


def _case_unknown_dataset(tmp: Path) -> list[str]:
    return ["data", "info", "peterson2019"]


def _case_analyze_missing_table(tmp: Path) -> list[str]:
    return ["analyze", str(tmp / "absent.csv"), "--alignment", "pearson", "--outcome", "fewshot_linear_1"]


def _case_report_missing_run(tmp: Path) -> list[str]:
    return ["report", str(tmp / "absent_run")]


def _case_fewshot_heads_unknown(tmp: Path) -> list[str]:
    return ["fewshot", str(_labelled_npz(tmp)), "--heads", "linaer", "--shots", "1"]


def _case_fewshot_labels_missing(tmp: Path) -> list[str]:
    return ["fewshot", str(_feature_npz(tmp)), "--heads", "linear", "--shots", "1"]


IO, DATA, MODELS, FEWSHOT, STUDY, REPORT = "io", "data", "models", "fewshot", "study", "report"

CASES: list[Case] = [
    # Matrix files (labelled CSV): never re-read as something else, never a misleading cause.
    Case("csv-header-id-mismatch", _case_csv_header_mismatch, ("human.csv", "S3")),
    Case("csv-missing-column", _case_csv_missing_column, ("human.csv", "s5")),
    Case("csv-nan-cell", _case_nan_cell, ("nan_cell.csv", "NaN")),
    Case("csv-nan-diagonal", _case_nan_diagonal, ("nan_diag.csv", "NaN")),
    Case("npz-truncated", _case_truncated_npz, ("cut.npz",)),
    Case("npz-complex-features", _case_complex_npz, ("complex.npz", "complex")),
    Case("input-missing", _case_missing_input, ("absent.npz",)),
    # Triplet files: the index base and the choice coding are never guessed silently.
    Case("triplets-0-based-without-0", _case_triplets_zero_based_without_zero, ("triplets.tsv", "--index-base")),
    Case("triplets-choice-without-0", _case_triplets_choice_without_zero, ("choices.tsv",)),
    # Metrics and options (the core).
    Case("ids-do-not-match", _case_ids_do_not_match, ("feats.npz", "other.npz", "--intersect")),
    Case("metric-unknown", _case_unknown_metric, ("pearsn", "pearson")),
    Case("cka-on-matrices", _case_cka_on_matrices, ("human.csv", "cka", "features")),
    Case("bootstrap-negative", _case_negative_bootstrap, ("bootstrap", "-5")),
    Case("align-confidence-2", _case_align_confidence_2, ("confidence", "2")),
    Case("similarity-constant", _case_constant_similarity, ("flat.csv", "equal")),
    Case("bootstrap-float", _case_bootstrap_float, ("--bootstrap", "1.5")),
    Case("cka-debiased-3-stimuli", _case_cka_debiased_too_few, ("cka-debiased", "3")),
    Case("cka-constant-features", _case_cka_constant_features, ("flat.npz", "cka")),
    # Dataset references.
    Case("reference-unknown-part", _case_unknown_dataset_part, ("animalz",)),
    Case("dataset-unknown", _case_unknown_dataset, ("peterson2019",)),
    Case("analyze-table-missing", _case_analyze_missing_table, ("absent.csv",)),
    Case("report-run-missing", _case_report_missing_run, ("absent_run",)),
    Case("fewshot-heads-unknown", _case_fewshot_heads_unknown, ("linaer", "linear")),
    Case("fewshot-labels-missing", _case_fewshot_labels_missing, ("feats.npz", "label")),
    Case("align-example-dir-is-a-file", _case_example_dir_is_a_file, ("blocker",)),
    # Few-shot.
    Case("fewshot-confidence-2", _case_fewshot_confidence_2, ("--confidence", "2")),
    Case("fewshot-shots-1.5", _case_fewshot_shots_float, ("--shots", "1.5")),
    Case("fewshot-invalid-device", _case_fewshot_invalid_device, ("--device", "tpu9")),
    Case("fewshot-out-file-in-the-way", _case_fewshot_out_file_in_the_way, ("blocker",)),
    Case("fewshot-truncated-tar-gz", _case_fewshot_truncated_archive, ("cifar-100-python.tar.gz",)),
    # User models (python: source).
    Case("extract-python-file-missing", _case_extract_missing_python_file, ("absent.py",), needs_torch=True),
    Case("extract-user-model-raises", _case_extract_model_raises, ("user_model.py", "user model failed"),
         needs_torch=True),
    Case("extract-one-row-per-batch", _case_extract_one_row_per_batch, ("user_model.py", "batch"),
         needs_torch=True),
    Case("extract-two-rows-per-item", _case_extract_two_rows_per_item, ("user_model.py", "batch"),
         needs_torch=True),
    Case("extract-out-file-in-the-way", _case_extract_out_file_in_the_way, ("blocker",), needs_torch=True),
    # Study configs.
    Case("yaml-duplicate-keys", _case_yaml_duplicate_keys, ("study.yaml", "name")),
    Case("yaml-alias-bomb", _case_yaml_alias_bomb, ("bomb.yaml", "alias")),
    Case("study-config-missing", _case_study_missing_config, ("absent.yaml",)),
    # Statistics.
    Case("analyze-confidence-2", _case_analyze_confidence_2, ("confidence", "2")),
    Case("analyze-unknown-column", _case_analyze_unknown_column, ("pearsonn",)),
]


def _param(case: Case) -> object:
    marks = []
    if case.owner is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=f"owner: {case.owner}"))
    return pytest.param(case, id=case.id, marks=marks)


# -- running one command ------------------------------------------------------------------


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def _on_alarm(signum: int, frame: object) -> None:
    raise TimeoutError(f"the command ran longer than {CASE_TIMEOUT_S} s")


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Outcome:
    """Run ``repalign ARGV`` in-process; an exception escaping ``main`` is a traceback (test fails)."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors exit here, with their one error line
            code = exc.code if isinstance(exc.code, int) else 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    out, err = capsys.readouterr()
    return Outcome(int(code), out, err)


def _subcommand_flags(argv: list[str]) -> set[str]:
    """Every option string of the (sub-)sub-command ``argv`` names, plus the global ones."""
    parser = build_parser()
    flags = {s for a in parser._actions for s in a.option_strings}
    for word in argv:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or word not in sub.choices:
            break
        parser = sub.choices[word]
        flags |= {s for a in parser._actions for s in a.option_strings}
    return flags


def check_one_error_line(argv: list[str], outcome: Outcome, names: tuple[str, ...]) -> None:
    assert "Traceback" not in outcome.stderr, outcome.stderr
    error_lines = [line for line in outcome.stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1, f"expected one error line, got:\n{outcome.stderr}"
    assert outcome.code == 2, f"exit code {outcome.code}; stderr:\n{outcome.stderr}"
    line = error_lines[0]
    for name in names:
        assert name in line, f"the error does not name {name!r}: {line}"
    known = _subcommand_flags(argv)
    recommended = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line))
    assert recommended <= known, f"the error recommends flags that do not exist: {sorted(recommended - known)}"


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_gives_one_error_line(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if case.needs_torch:
        pytest.importorskip("torch")
    argv = case.build(tmp_path)
    capsys.readouterr()
    outcome = run_cli(argv, capsys)
    check_one_error_line(argv, outcome, case.names)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        argv = ["fewshot", str(_labelled_npz(tmp_path)), "--heads", "linear", "--shots", "1", "--seeds", "1",
                "--out", str(folder / "fewshot.parquet")]
        check_one_error_line(argv, run_cli(argv, capsys), ("ro",))
    finally:
        folder.chmod(0o700)


# -- awkward but valid inputs: the right answer, not an error ------------------------------


def _align_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    outcome = run_cli([*argv, "--json"], capsys)
    assert outcome.code == 0, outcome.stderr
    assert "error:" not in outcome.stderr
    return json.loads(outcome.stdout)


@pytest.mark.parametrize("scale", [1e300, 1e308, 1e-300, 1e-310])
def test_scaled_similarity_matrix_gives_the_unscaled_scores(tmp_path, capsys, scale):
    sim = _similarity(seed=3)
    feats = _feature_npz(tmp_path)
    plain = _align_json(["align", str(_matrix_csv(tmp_path / "plain.csv", sim, IDS)), str(feats),
                         "--metric", "pearson,spearman,kendall,triplet"], capsys)
    scaled = _align_json(["align", str(_matrix_csv(tmp_path / "scaled.csv", sim * scale, IDS)), str(feats),
                          "--metric", "pearson,spearman,kendall,triplet"], capsys)
    for metric in ("pearson", "spearman", "kendall", "triplet"):
        assert scaled[metric] == pytest.approx(plain[metric], abs=1e-12), metric


def test_zero_diagonal_matrix_is_read_as_dissimilarity_with_a_warning(tmp_path, capsys, caplog):
    """Ambiguous by nature (co-occurrence counts look like distances): the guess is said on stderr."""
    argv = _case_zero_diagonal_similarity(tmp_path)
    with caplog.at_level("WARNING"):
        out = _align_json(argv, capsys)
    assert out["a"]["kind"] == "dissimilarity"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("counts.csv" in w and "--kind-a" in w for w in warnings), warnings


def test_float_cosine_diagonal_is_a_similarity(tmp_path, capsys):
    sim = _similarity(seed=4)
    sim[np.diag_indices(8)] = 1.0 + np.array([0, 2.2e-16, -1.1e-16, 0, 2.2e-16, 0, -1.1e-16, 0])
    out = _align_json(["align", str(_matrix_csv(tmp_path / "cos.csv", sim, IDS)), str(_feature_npz(tmp_path))],
                      capsys)
    assert out["a"]["kind"] == "similarity"


def test_gzip_is_not_mistaken_for_npz(tmp_path, capsys):
    """A gzip file named .npz is refused with one line, not a zipfile traceback."""
    path = tmp_path / "fake.npz"
    path.write_bytes(gzip.compress(b"not an npz"))
    argv = ["align", str(path), str(_feature_npz(tmp_path))]
    check_one_error_line(argv, run_cli(argv, capsys), ("fake.npz",))


def test_json_output_refuses_non_finite_values(capsys):
    """NaN never reaches --json: the writer refuses with one line naming the key, printing nothing."""
    from repalign import RepalignError
    from repalign.cli._common import print_json

    with pytest.raises(RepalignError, match=r"\$\.ci\.pearson\[1\] is nan"):
        print_json({"pearson": 0.5, "ci": {"pearson": [0.1, np.float32("nan")]}})
    assert capsys.readouterr().out == ""

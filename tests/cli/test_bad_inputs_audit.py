"""Bad and awkward inputs found by the audit of issue 12, beyond the first table (test_bad_inputs.py).

The same contract: a bad input is exit code 2 and ONE ``error:`` line naming the input and
recommending only flags that exist, with no traceback; an awkward but valid input gives the
right answer (checked against scipy or a brute-force loop); a guess that may change a
result is a warning. The Python API raises :class:`repalign.InputError` (never a bare
numpy, pandas or ``TypeError``) for the same inputs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import repalign as ra
from repalign import InputError, Representation
from tests.cli.test_bad_inputs import (
    IDS,
    _feature_npz,
    _features,
    _matrix_csv,
    _similarity,
    check_one_error_line,
    run_cli,
)

# -- builders --------------------------------------------------------------------------


def _labelled(tmp: Path, name: str = "lab.npz", scale: float = 1.0, labels: np.ndarray | None = None) -> Path:
    rng = np.random.default_rng(0)
    classes = np.repeat(["a", "b", "c"], 8)
    x = rng.normal(size=(3, 4))[np.repeat(np.arange(3), 8)] * 3 + rng.normal(size=(24, 4))
    path = tmp / name
    np.savez(path, ids=np.array([f"img{i}" for i in range(24)]), features=x * scale,
             labels=classes if labels is None else labels)
    return path


def _ratings(tmp: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = ["participant,stim_a,stim_b,rating"]
    rows += [f"p{p},s{a},s{b},{rng.integers(0, 10)}" for p in range(4) for a in range(5) for b in range(a + 1, 5)]
    path = tmp / "ratings.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _one_stimulus(tmp: Path) -> list[str]:
    return ["align", str(_matrix_csv(tmp / "one.csv", np.ones((1, 1)), ["s0"])), str(_feature_npz(tmp))]


def _zero_feature_row(tmp: Path) -> list[str]:
    x = _features()
    x[4] = 0.0
    path = tmp / "zero_row.csv"
    path.write_text("id,f0,f1,f2,f3,f4\n" + "".join(f"{i},{','.join(map(str, r.tolist()))}\n" for i, r in zip(IDS, x)))
    return ["align", str(_matrix_csv(tmp / "h.csv", _similarity(), IDS)), str(path)]


def _complex_mat(tmp: Path) -> list[str]:
    import scipy.io

    scipy.io.savemat(tmp / "cplx.mat", {"sim": _similarity() + 1j * np.eye(8), "ids": np.array(IDS, dtype=object)})
    return ["align", str(tmp / "cplx.mat"), str(_feature_npz(tmp))]


def _mat_ids_wrong_length(tmp: Path) -> list[str]:
    import scipy.io

    scipy.io.savemat(tmp / "ids7.mat", {"sim": _similarity(), "ids": np.array(IDS[:7], dtype=object)})
    return ["align", str(tmp / "ids7.mat"), str(_feature_npz(tmp))]


def _semicolon_csv(tmp: Path) -> list[str]:
    path = _matrix_csv(tmp / "semi.csv", _similarity(), IDS)
    path.write_text(path.read_text().replace(",", ";"))  # Excel in a European locale
    return ["align", str(path), str(_feature_npz(tmp))]


def _two_features(tmp: Path) -> list[str]:
    return [str(_feature_npz(tmp, "a.npz")), str(_feature_npz(tmp, "b.npz", 1))]


def _items_without_triplets(tmp: Path) -> list[str]:
    items = tmp / "items.txt"
    items.write_text("\n".join(IDS) + "\n")
    return ["align", *_two_features(tmp), "--items", str(items)]


def _halves_same_file(tmp: Path) -> list[str]:
    half = _matrix_csv(tmp / "half.csv", _similarity(), IDS)
    return ["data", "ceiling", "--halves", str(half), str(half)]


def _halves_other_stimuli(tmp: Path) -> list[str]:
    first = _matrix_csv(tmp / "first.csv", _similarity(), IDS)
    second = _matrix_csv(tmp / "second.csv", _similarity(1), [f"t{i}" for i in range(8)])
    return ["data", "ceiling", "--halves", str(first), str(second)]


def _data_root_is_a_file(tmp: Path) -> list[str]:
    readme = tmp / "README.md"
    readme.write_text("not a folder")
    return ["align", "peterson2018:animals", str(_feature_npz(tmp)), "--data-root", str(readme)]


def _fewshot_empty_label(tmp: Path) -> list[str]:
    labels = tmp / "labels.csv"
    labels.write_text("id,label\n" + "".join(f"img{i},{'' if i == 3 else 'abc'[i % 3]}\n" for i in range(24)))
    feats = tmp / "feats.npz"
    np.savez(feats, ids=np.array([f"img{i}" for i in range(24)]), features=np.random.default_rng(0).normal(size=(24, 4)))
    return ["fewshot", str(feats), "--labels", str(labels), "--heads", "linear", "--shots", "1", "--seeds", "1"]


def _parquet(tmp: Path, name: str, edit: Callable[[object], None]) -> Path:
    import pandas as pd

    pytest.importorskip("pyarrow")
    df = pd.DataFrame(_features(), columns=[f"f{j}" for j in range(5)])
    df.insert(0, "id", IDS)
    edit(df)
    df.to_parquet(tmp / name)
    return tmp / name


def _truncated_parquet(tmp: Path) -> list[str]:
    path = _parquet(tmp, "cut.parquet", lambda df: None)
    path.write_bytes(path.read_bytes()[:200])
    return ["align", str(_matrix_csv(tmp / "h.csv", _similarity(), IDS)), str(path)]


def _parquet_case(name: str, edit: Callable[[object], None]) -> Callable[[Path], list[str]]:
    return lambda tmp: ["align", str(_matrix_csv(tmp / "h.csv", _similarity(), IDS)), str(_parquet(tmp, name, edit))]


def _set(column: str, row: int, value: object) -> Callable[[object], None]:
    def edit(df) -> None:
        df[column] = df[column].astype(object)
        df.loc[row, column] = value
    return edit


def _constant_covariate(tmp: Path) -> list[str]:
    rng = np.random.default_rng(0)
    path = tmp / "results.csv"
    path.write_text("model,pearson,acc,cov\n" + "".join(f"m{i},{rng.random()},{rng.random()},1\n" for i in range(12)))
    return ["analyze", str(path), "--alignment", "pearson", "--outcome", "acc", "--covariate", "cov", "--k", "3"]


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], list[str]]
    names: tuple[str, ...]


CASES = [
    # Matrix and table files.
    Case("csv-one-stimulus", _one_stimulus, ("one.csv", "1 stimulus", "at least 3")),
    Case("features-zero-row-names-the-file", _zero_feature_row, ("zero_row.csv", "s4", "--similarity")),
    Case("mat-complex", _complex_mat, ("cplx.mat", "complex")),
    Case("mat-ids-wrong-length", _mat_ids_wrong_length, ("ids7.mat", "'ids' has 7", "8 rows")),
    Case("csv-semicolon-separated", _semicolon_csv, ("semi.csv", "semicolon")),
    Case("items-without-a-triplet-metric", _items_without_triplets, ("--items", "odd-one-out")),
    # Bootstrap and seeds.
    Case("bootstrap-1", lambda t: ["align", *_two_features(t), "--bootstrap", "1"], ("--bootstrap 1", "2 resamples")),
    Case("bootstrap-huge", lambda t: ["align", *_two_features(t), "--bootstrap", str(10**20)], ("--bootstrap",)),
    Case("bootstrap-3-stimuli", lambda t: ["align", str(_tiny(t, "a3.npz", 0)), str(_tiny(t, "b3.npz", 1)),
                                           "--bootstrap", "100"], ("3 stimuli", "zero width", "--bootstrap 0")),
    Case("seed-negative", lambda t: ["align", *_two_features(t), "--bootstrap", "50", "--seed", "-1"],
         ("--seed", "-1")),
    Case("ceiling-seed-negative", lambda t: ["data", "ceiling", "--ratings", str(_ratings(t)), "--seed", "-3"],
         ("--seed", "-3")),
    # Dataset references and --data-root.
    Case("reference-name-case", lambda t: ["align", "Peterson2018:animals", str(_feature_npz(t))],
         ("Peterson2018", "peterson2018:animals")),
    Case("reference-name-typo", lambda t: ["align", "peterson2108:animals", str(_feature_npz(t))],
         ("peterson2108", "peterson2018:animals")),
    Case("reference-empty-part", lambda t: ["align", "peterson2018:", str(_feature_npz(t))],
         ("peterson2018:", "repalign data info peterson2018")),
    Case("reference-empty-name", lambda t: ["align", ":animals", str(_feature_npz(t))], (":animals", "NAME:PART")),
    Case("reference-spaces", lambda t: ["align", "peterson2018: animals", str(_feature_npz(t))],
         ("peterson2018: animals", "'peterson2018:animals'")),
    Case("reference-unknown-dataset", lambda t: ["align", "mydata:cond1", str(_feature_npz(t))],
         ("mydata:cond1", "not a known dataset")),
    Case("data-root-is-a-file", _data_root_is_a_file, ("README.md", "not a folder")),
    # Noise ceilings.
    Case("ceiling-halves-same-file", _halves_same_file, ("half.csv", "same file")),
    Case("ceiling-halves-other-stimuli", _halves_other_stimuli, ("first.csv", "second.csv", "same stimuli")),
    # Few-shot.
    Case("fewshot-features-1e200", lambda t: ["fewshot", str(_labelled(t, scale=1e200)), "--heads", "linear",
                                              "--shots", "1", "--seeds", "1"], ("lab", "--probe-standardize")),
    Case("fewshot-empty-label", _fewshot_empty_label, ("labels.csv", "img3", "empty label")),
    Case("fewshot-parquet-missing-label", lambda t: ["fewshot", str(_parquet(t, "lab.parquet", _labels_with_none)),
                                                     "--heads", "linear", "--shots", "1", "--seeds", "1"],
         ("lab.parquet", "s0", "empty label")),
    Case("fewshot-seeds-huge", lambda t: ["fewshot", str(_labelled(t)), "--heads", "linear", "--shots", "1",
                                          "--seeds", str(10**12)], ("--seeds", "at most")),
    # Matching ids.
    Case("ids-differ-in-case-and-extension", lambda t: ["align", str(_feature_npz(t)), str(_upper_npz(t))],
         ("feats.npz", "upper.npz", "without letter case and file extension", "'s0' and 'S0.PNG'")),
    Case("extract-zoo-with-a-reference", lambda t: ["extract", "zoo:noise-00", "peterson2018:animals", "--out",
                                                    str(t / "z.npz")], ("zoo:noise-00", "peterson2018:animals")),
    # Parquet feature tables.
    Case("parquet-truncated", _truncated_parquet, ("cut.parquet", "not a valid Parquet file")),
    Case("parquet-nan-cell", _parquet_case("nan.parquet", _set("f1", 3, float("nan"))), ("nan.parquet", "NaN", "s3")),
    Case("parquet-missing-id", _parquet_case("noid.parquet", _set("id", 0, None)), ("noid.parquet", "no stimulus id")),
    # Statistics.
    Case("analyze-constant-covariate", _constant_covariate, ("'cov'", "constant", "--covariate")),
]


def _upper_npz(tmp: Path) -> Path:
    path = tmp / "upper.npz"
    Representation.from_features([f"S{i}.PNG" for i in range(8)], _features(seed=1)).to_npz(path)
    return path


def _labels_with_none(df) -> None:
    df["label"] = [None, "a", "b", "a", "b", "a", "b", "a"]


def _tiny(tmp: Path, name: str, seed: int) -> Path:
    Representation.from_features(["s0", "s1", "s2"], _features(3, 4, seed)).to_npz(tmp / name)
    return tmp / name


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_error_line(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = case.build(tmp_path)
    capsys.readouterr()
    check_one_error_line(argv, run_cli(argv, capsys), case.names)


# -- awkward but valid: the right answer ---------------------------------------------------


def _expected_pearson(sim: np.ndarray, feats: np.ndarray) -> float:
    u = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    iu = np.triu_indices(sim.shape[0], 1)
    return float(stats.pearsonr(sim[iu], (u @ u.T)[iu])[0])


def _write(path: Path, sim: np.ndarray, rows: list[str], cols: list[str], sep: str = ",", newline: str = "\n",
           bom: bool = False) -> Path:
    lines = [sep.join(["", *cols])] + [sep.join([r, *(repr(float(v)) for v in row)]) for r, row in zip(rows, sim)]
    path.write_bytes((("\ufeff" if bom else "") + newline.join(lines) + newline).encode())
    return path


VALID_TABLES = {
    "bom-crlf-tsv": {"name": "m.tsv", "sep": "\t", "newline": "\r\n", "bom": True},
    "space-separated-txt": {"name": "m.txt", "sep": " "},
    "whitespace-around-ids": {"name": "ws.csv", "pad": True},
    "numeric-ids": {"name": "num.csv", "ids": [str(i) for i in range(8)]},
    "leading-zero-ids": {"name": "lead.csv", "ids": [f"{i:03d}" for i in range(8)]},
    "quoted-id-with-comma": {"name": "q.csv", "ids": ['"a,b"', *IDS[1:]], "model_ids": ["a,b", *IDS[1:]]},
}


@pytest.mark.parametrize("variant", list(VALID_TABLES))
def test_awkward_labelled_matrices_give_the_scipy_value(variant, tmp_path, capsys):
    spec = VALID_TABLES[variant]
    ids = spec.get("ids", IDS)
    rows = [f" {i} " for i in ids] if spec.get("pad") else ids
    sim, feats = _similarity(3), _features()
    path = _write(tmp_path / spec["name"], sim, rows, rows, spec.get("sep", ","), spec.get("newline", "\n"),
                  spec.get("bom", False))
    model = tmp_path / "model.npz"
    Representation.from_features(spec.get("model_ids", ids), feats).to_npz(model)
    out = run_cli(["align", str(path), str(model), "--metric", "pearson", "--json"], capsys)
    assert out.code == 0, out.stderr
    assert json.loads(out.stdout)["pearson"] == pytest.approx(_expected_pearson(sim, feats), abs=1e-12)


def test_triplet_duplicates_count_each_time(tmp_path, capsys):
    """Repeated trials are trials: the accuracy is the brute-force mean over every row."""
    rng = np.random.default_rng(0)
    rows = [[*rng.choice(np.arange(1, 9), 3, replace=False), int(rng.integers(1, 4))] for _ in range(30)]
    rows[0][:3] = [8, 1, 2]  # proves 1-based numbering
    rows += rows[:7]
    path = tmp_path / "t.tsv"
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    items = tmp_path / "items.txt"
    items.write_text("\n".join(IDS) + "\n")
    feats = _features()
    model = _feature_npz(tmp_path)
    u = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    sim = u @ u.T
    hits = []
    for i, j, k, choice in rows:
        i, j, k = i - 1, j - 1, k - 1
        hits.append(int(np.argmax([sim[j, k], sim[i, k], sim[i, j]])) == choice - 1)
    out = run_cli(["align", str(path), str(model), "--metric", "odd-one-out", "--items", str(items), "--json"], capsys)
    assert out.code == 0, out.stderr
    assert json.loads(out.stdout)["odd-one-out"] == pytest.approx(np.mean(hits), abs=1e-12)


def test_things_file_with_text_participant_ids_is_not_a_header(tmp_path, capsys):
    """A headerless THINGS row is four numbers and a participant id that may be text ("p17")."""
    rng = np.random.default_rng(1)
    rows = [[*rng.choice(np.arange(1, 9), 3, replace=False), int(rng.integers(1, 4))] for _ in range(30)]
    rows[0][:3] = [8, 1, 2]
    plain, texted = tmp_path / "plain.tsv", tmp_path / "texted.tsv"
    plain.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    texted.write_text("".join("\t".join(map(str, [*r, f"p{i % 3}", "extra"])) + "\n" for i, r in enumerate(rows)))
    items = tmp_path / "items.txt"
    items.write_text("\n".join(IDS) + "\n")
    model = _feature_npz(tmp_path)
    scores = []
    for path in (plain, texted):
        out = run_cli(["align", str(path), str(model), "--metric", "odd-one-out", "--items", str(items), "--json"],
                      capsys)
        assert out.code == 0, out.stderr
        scores.append(json.loads(out.stdout))
    assert scores[0]["odd-one-out"] == scores[1]["odd-one-out"]
    assert scores[1]["n_triplets"] == 30


def test_parquet_bool_columns_are_numbers_as_in_npz(tmp_path):
    x = _features() > 0
    npz = tmp_path / "b.npz"
    np.savez(npz, ids=np.array(IDS), features=x)
    path = _parquet(tmp_path, "b.parquet", lambda df: [df.__setitem__(f"f{j}", x[:, j]) for j in range(5)])
    assert np.array_equal(ra.load_representation(path).values, ra.load_representation(npz).values)


def test_extract_zoo_model_writes_its_features(tmp_path, capsys):
    """It wrote the .npz, then crashed printing it (KeyError 'precision', exit 1)."""
    out = run_cli(["extract", "zoo:noise-00", "zoo", "--out", str(tmp_path / "z.npz")], capsys)
    assert out.code == 0, out.stderr
    assert ra.load_representation(tmp_path / "z.npz").kind == "features"


def test_few_bootstrap_resamples_are_a_warning(tmp_path, capsys, caplog):
    with caplog.at_level(logging.WARNING):
        out = run_cli(["align", *_two_features(tmp_path), "--bootstrap", "10", "--json"], capsys)
    assert out.code == 0, out.stderr
    assert any("10 resamples" in r.getMessage() and "--bootstrap" in r.getMessage() for r in caplog.records)


def test_identical_halves_are_a_warning(tmp_path, caplog):
    from repalign.evaluation.ceilings import noise_ceiling

    half = Representation.from_similarity(IDS, _similarity(), name="half")
    copy = Representation.from_similarity(IDS, _similarity(), name="copy")
    with caplog.at_level(logging.WARNING):
        noise_ceiling(half, copy, metrics="pearson")
    assert any("identical values" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("how", ["standardize", "l2", "center"])
@pytest.mark.parametrize("scale", [1e-300, 1e-20, 1e20, 1e200])
def test_scale_free_probe_preprocessing_is_scale_free(how, scale):
    """standardize / l2 / center: features times any power of ten give the same accuracies (they gave
    exact chance at 1e-20 and 1e154, or a LinAlgError, before)."""
    from repalign.transfer.protocol import run_fewshot

    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c"], 12)
    x = rng.normal(size=(3, 4))[np.repeat(np.arange(3), 12)] * 3 + rng.normal(size=(36, 4))
    plain = run_fewshot(x, labels, shots=[1, 5], heads="linear", seeds=2, probe_standardize=how, progress=False)
    scaled = run_fewshot(x * scale, labels, shots=[1, 5], heads="linear", seeds=2, probe_standardize=how,
                         progress=False)
    np.testing.assert_allclose(scaled.table["accuracy"], plain.table["accuracy"], atol=1e-9)


def test_a_probe_that_never_left_its_start_is_a_failed_fit():
    """C = 1e12 on a 1-shot problem: the Newton line search failed at once and the zero model's exact
    chance (33.33%) was reported as the accuracy; scikit-learn reaches 75.76% on the same split."""
    from repalign.transfer.protocol import run_fewshot

    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c"], 12)
    x = rng.normal(size=(3, 4))[np.repeat(np.arange(3), 12)] * 3 + rng.normal(size=(36, 4))
    table = run_fewshot(x, labels, shots=[1, 5], heads="linear", seeds=2, C=1e12, progress=False).table
    stalled = table[(table["shots"] == 1) & (table["seed"] == 0)]
    assert (stalled["status"] == "failed").all() and stalled["accuracy"].isna().all()
    assert stalled["error"].str.contains("no progress from its starting point").all()
    assert (table.loc[table["status"] == "ok", "accuracy"] > 100 / 3).all()


# -- the Python API: InputError, never a bare numpy/pandas/TypeError --------------------------


def _pair() -> tuple[Representation, Representation]:
    return Representation.from_features(IDS, _features()), Representation.from_features(IDS, _features(seed=1))


API_CASES: dict[str, tuple[Callable[[], object], str]] = {
    "compare-metrics-None": (lambda: ra.compare(*_pair(), metrics=None), "metric"),
    "compare-bootstrap-1": (lambda: ra.compare(*_pair(), bootstrap=1), "2 resamples"),
    "compare-bootstrap-huge": (lambda: ra.compare(*_pair(), bootstrap=10**20), "at most"),
    "compare-seed-negative": (lambda: ra.compare(*_pair(), bootstrap=20, seed=-1), "seed"),
    "compare-seed-float": (lambda: ra.compare(*_pair(), bootstrap=20, seed=1.5), "seed"),
    "compare-seed-text": (lambda: ra.compare(*_pair(), bootstrap=20, seed="x"), "seed"),
    "sampled-triplets-seed-negative": (lambda: ra.sampled_triplet_agreement(*_pair(), n_triplets=10, seed=-2), "seed"),
    "ids-None": (lambda: Representation.from_features(None, _features()), "ids"),
    "id-None": (lambda: Representation.from_features([None, *IDS[1:]], _features()), "missing"),
    "id-NaN": (lambda: Representation.from_features([float("nan"), *IDS[1:]], _features()), "missing"),
    "symmetrize-text": (lambda: Representation.from_similarity(IDS, _similarity(), symmetrize="no"), "symmetrize"),
    "reference-name-case": (lambda: ra.load_representation("Peterson2018:animals", data_root="."), "peterson2018"),
    "select-a-string": (lambda: _pair()[0].select("s0"), "not the single string"),
    "reference-empty-part": (lambda: ra.load_representation("peterson2018:", data_root="."), "names a part"),
}


@pytest.mark.parametrize("case", list(API_CASES))
def test_python_api_raises_input_error(case):
    call, text = API_CASES[case]
    with pytest.raises(InputError, match=text):
        call()


def test_robustness_checks_folder_and_device_before_building_the_model(tmp_path, monkeypatch):
    """A missing folder or a bad --device is reported at once, not after minutes of model download."""
    pytest.importorskip("torch")
    from repalign.robustness import evaluate as evaluate_module

    def no_model(*args, **kwargs):
        raise AssertionError("the model was built before the folder and the device were checked")

    monkeypatch.setattr(evaluate_module, "load_classifier", no_model)
    with pytest.raises(ra.DataNotFoundError, match="no such folder"):
        evaluate_module.evaluate_folder("timm:resnet18", tmp_path / "absent", dataset="imagenet-a")
    blocker = tmp_path / "file.npz"
    blocker.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        evaluate_module.evaluate_folder("timm:resnet18", blocker, dataset="imagenet-a")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="not a device name"):
        evaluate_module.evaluate_folder("timm:resnet18", tmp_path / "folder", dataset="imagenet-a", device="gpu")
    with pytest.raises(InputError, match="--workers"):
        evaluate_module.evaluate_folder("timm:resnet18", tmp_path / "folder", dataset="imagenet-a", num_workers=-1)

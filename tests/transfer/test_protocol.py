"""run_fewshot: table schema, summary, intervals, and that evaluation data never reaches training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from repalign import InputError
from repalign.transfer import fits
from repalign.transfer.heads import HeadConfig, standardize_features
from repalign.transfer.protocol import RESULT_COLUMNS, run_fewshot, t_interval
from repalign.transfer.splits import make_splits

FAST = HeadConfig(epochs=5, min_steps=20, hidden=16, batch_size=32)


def _data(rng: np.random.Generator, n_classes: int = 4, per_class: int = 12, d: int = 10):
    labels = np.repeat([f"c{k}" for k in range(n_classes)], per_class)
    codes = np.repeat(np.arange(n_classes), per_class)
    X = rng.normal(size=(labels.size, d)) + 3.0 * np.eye(n_classes, d)[codes] + 5.0
    return X, labels


def test_table_schema_and_records(rng: np.random.Generator) -> None:
    X, labels = _data(rng)
    res = run_fewshot(X, labels, shots=[1, 3], heads="linear,mlp1,mlp2", seeds=3, head_config=FAST,
                      model="m", dataset="toy")
    assert tuple(res.table.columns) == RESULT_COLUMNS
    assert len(res.table) == 3 * 2 * 3
    assert set(res.table["model"]) == {"m"} and set(res.table["dataset"]) == {"toy"}
    assert res.table["accuracy"].between(0, 100).all()
    assert res.table.dtypes["shots"] == np.int64 and res.table.dtypes["accuracy"] == np.float64
    records = res.records()
    assert [(r["head"], r["shots"]) for r in records] == [(h, n) for h in ("linear", "mlp1", "mlp2") for n in (1, 3)]
    for r in records:
        assert set(r) == {"head", "shots", "mean", "interval", "accuracies"}
        assert len(r["accuracies"]) == 3 and r["mean"] == pytest.approx(np.mean(r["accuracies"]))
        lo, hi = r["interval"]
        assert lo <= r["mean"] <= hi
    assert set(res.wide()) == {f"fewshot_{h}_{n}" for h in ("linear", "mlp1", "mlp2") for n in (1, 3)}
    # accuracies are percentages of the whole evaluation set (all remaining examples)
    assert set(res.details["n_eval"]) == {48 - 4, 48 - 12}


def test_t_interval_matches_scipy() -> None:
    values = [61.2, 63.5, 60.1, 62.8, 64.0]
    lo, hi = t_interval(values, 0.95)
    ref = stats.t.interval(0.95, df=4, loc=np.mean(values), scale=stats.sem(values))
    assert (lo, hi) == pytest.approx(ref)
    assert t_interval([50.0]) is None


def test_single_seed_has_no_interval(rng: np.random.Generator) -> None:
    X, labels = _data(rng)
    res = run_fewshot(X, labels, shots=[2], heads="linear", seeds=1)
    assert res.records()[0]["interval"] is None


def test_probe_accuracy_equals_sklearn_on_each_split(rng: np.random.Generator) -> None:
    import warnings

    from sklearn.linear_model import LogisticRegression

    X, labels = _data(rng, n_classes=3, per_class=10, d=6)
    res = run_fewshot(X, labels, shots=[2, 5], heads="linear", seeds=2)
    codes = np.unique(labels, return_inverse=True)[1]
    for s in make_splits(labels, shots=[2, 5], seeds=2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = LogisticRegression(C=1.0, max_iter=10000, tol=1e-10).fit(X[s.train], codes[s.train])
        expected = 100 * np.mean(clf.predict(X[s.test]) == codes[s.test])
        got = res.table.query(f"shots == {s.shots} and seed == {s.seed}")["accuracy"].item()
        assert got == pytest.approx(expected)


def test_training_sees_only_training_rows(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    X, labels = _data(rng)
    seen: list[tuple[str, np.ndarray]] = []
    real_probe, real_heads = fits.fit_logistic_batch, fits.train_head_problems

    def spy_probe(Xtr, ytr, **kw):
        seen.append(("linear", np.array(Xtr)))
        return real_probe(Xtr, ytr, **kw)

    def spy_heads(head, design, problems, **kw):
        # the whole grid is one program: what each problem trains on is design[rows]
        seen.append((head, [np.array(design)[p.rows] for p in problems]))
        return real_heads(head, design, problems, **kw)

    monkeypatch.setattr(fits, "fit_logistic_batch", spy_probe)
    monkeypatch.setattr(fits, "train_head_problems", spy_heads)
    run_fewshot(X, labels, shots=[1, 4], heads="linear,mlp1", seeds=2, head_config=FAST)
    splits = {(s.seed, s.shots): s for s in make_splits(labels, shots=[1, 4], seeds=2)}
    probe_calls = [x for h, x in seen if h == "linear"]
    head_calls = [x for h, x in seen if h == "mlp1"]
    head_calls = [np.stack(head_calls[0][i:i + 2]) for i in (0, 2)]  # problems (shots 1: seeds 0, 1), (shots 4: seeds 0, 1)
    # probe: one seed per call on CPU, shot counts in order, raw training rows exactly
    for x, key in zip(probe_calls, [(0, 1), (0, 4), (1, 1), (1, 4)]):
        np.testing.assert_array_equal(x[0], X[splits[key].train])
    # heads: all seeds per call, standardised (in float32) with statistics of the training rows only
    for x, n in zip(head_calls, [1, 4]):
        raw = np.stack([X[splits[(seed, n)].train] for seed in (0, 1)])
        np.testing.assert_allclose(x, standardize_features(raw, None, FAST.standardize)[0], rtol=1e-5, atol=1e-5)


def test_evaluation_rows_cannot_change_training(rng: np.random.Generator) -> None:
    # Replace the features of every evaluation row by garbage: every fitted model (its final
    # training loss) stays identical, and only the accuracies change.
    X, labels = _data(rng)
    split = make_splits(labels, shots=[3], seeds=[0])[0]
    garbage = X.copy()
    garbage[split.test] = rng.normal(scale=100.0, size=(split.test.size, X.shape[1]))
    kw = dict(shots=[3], heads="linear,mlp1,mlp2", seeds=[0], head_config=FAST)
    a, b = run_fewshot(X, labels, **kw), run_fewshot(garbage, labels, **kw)
    np.testing.assert_array_equal(a.details["final_loss"].to_numpy(), b.details["final_loss"].to_numpy())


def test_input_errors(rng: np.random.Generator) -> None:
    X, labels = _data(rng)
    with pytest.raises(InputError, match="different numbers"):
        run_fewshot(X[:-1], labels)
    with pytest.raises(InputError, match="Valid options"):
        run_fewshot(X, labels, heads="linear,svm")
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InputError, match="row 3, column 2"):
        run_fewshot(bad, labels, shots=[1], heads="linear")
    with pytest.raises(InputError, match="at least 13"):
        run_fewshot(X, labels, shots=[12], heads="linear")


def test_summary_frame(rng: np.random.Generator) -> None:
    X, labels = _data(rng)
    res = run_fewshot(X, labels, shots=[1], heads="linear", seeds=2)
    summary = res.summary()
    assert isinstance(summary, pd.DataFrame)
    assert list(summary.columns) == ["head", "shots", "mean", "ci_low", "ci_high", "n_seeds", "accuracies"]


def test_many_models_in_one_pass_equal_separate_runs():
    from repalign.transfer import run_fewshot_many

    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 8)
    zoo = {
        "a": rng.normal(size=(32, 6)) + 2 * np.eye(4, 6)[labels],
        "b": rng.normal(size=(32, 6)) + 1 * np.eye(4, 6)[labels],
        "c": rng.normal(size=(32, 3)) + 2 * np.eye(4, 3)[labels],  # another feature dimension
    }
    kwargs = {"shots": [1, 3], "heads": "linear,mlp1,mlp2", "seeds": 2}
    many = run_fewshot_many(zoo, labels, dataset="d", **kwargs).table
    assert list(many["model"].unique()) == ["a", "b", "c"]
    for name, X in zoo.items():
        one = run_fewshot(X, labels, model=name, dataset="d", **kwargs).table
        got = many[many["model"] == name].sort_values(["head", "shots", "seed"]).reset_index(drop=True)
        want = one.sort_values(["head", "shots", "seed"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)


def test_the_fits_progress_names_its_model(monkeypatch, capsys):
    monkeypatch.setenv("REPALIGN_PROGRESS", "plain")
    monkeypatch.setenv("REPALIGN_PROGRESS_INTERVAL", "0")
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 6)
    X = rng.normal(size=(18, 4)) + labels[:, None]
    run_fewshot(X, labels, shots=[1], heads="linear", seeds=2, model="timm:resnet18", progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1].startswith("timm:resnet18: few-shot fits: 2/2 (100%) done in")
    run_fewshot(X, labels, shots=[1], heads="linear", seeds=1, progress=True)  # no model: the plain label
    assert capsys.readouterr().err.splitlines()[-1].startswith("few-shot fits: 1/1 (100%) done in")

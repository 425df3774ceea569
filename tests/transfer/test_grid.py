"""The batched grid trainer: torch.optim's update rules, independent problems, failures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repalign import InputError
from repalign.transfer.grid import HeadProblem, _mix, resolve_precision, train_head_problems
from repalign.transfer.heads import HeadConfig
from repalign.transfer.protocol import run_fewshot
from repalign.transfer.splits import make_splits

torch = pytest.importorskip("torch")


def _data(rng: np.random.Generator, n_classes: int = 4, per_class: int = 12, d: int = 16):
    y = np.repeat(np.arange(n_classes), per_class)
    X = rng.normal(size=(y.size, d)) + 2.0 * rng.normal(size=(n_classes, d))[y]
    return X.astype(np.float32), y


@pytest.mark.parametrize("optimizer", ["adamw", "adam", "sgd"])
def test_updates_equal_torch_optim(rng: np.random.Generator, optimizer: str) -> None:
    # Without dropout and with the whole set as the batch, a problem is a plain PyTorch loop:
    # nn.Linear initialised from the problem's generator, torch.optim, CosineAnnealingLR.
    X, y = _data(rng)
    cfg = HeadConfig(dropout=0.0, optimizer=optimizer, lr=0.05, epochs=7, min_steps=0, batch_size=64,
                     weight_decay=0.01, standardize="none")
    fit = train_head_problems("mlp1", X, [HeadProblem(np.arange(y.size), y, seed=3)], n_classes=4, config=cfg,
                              precision="float32")[0]
    gen = torch.Generator().manual_seed(_mix(3, y.size, 1, 0))
    bound = 1 / math.sqrt(16)
    w = ((torch.rand(16, 4, generator=gen) * 2 - 1) * bound).requires_grad_(True)
    b = ((torch.rand(4, generator=gen) * 2 - 1) * bound).requires_grad_(True)
    opt = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}.get(optimizer)
    opt = opt([w, b], lr=0.05, weight_decay=0.01) if opt else torch.optim.SGD([w, b], lr=0.05, momentum=0.9,
                                                                               weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7)
    xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(7):
        loss = torch.nn.functional.cross_entropy(xt @ w + b, yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    np.testing.assert_allclose(fit.layers[0][0].numpy(), w.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fit.layers[0][1].numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert fit.steps == 7 and fit.finite
    assert fit.final_loss == pytest.approx(float(loss.detach()), rel=1e-4)


@pytest.mark.parametrize("precision", ["float32", "auto"])
def test_ragged_problems_do_not_depend_on_each_other(rng: np.random.Generator, precision: str) -> None:
    # Different sizes (hence batch sizes and numbers of steps) in one program: each problem's
    # parameters equal those of a program holding it alone.
    X, y = _data(rng, per_class=20)
    cfg = HeadConfig(hidden=8, epochs=3, min_steps=10, batch_size=16, lr=1e-2, standardize="none")
    small = HeadProblem(np.arange(0, 80, 10), y[np.arange(0, 80, 10)], seed=1)  # 8 rows: 1 step per epoch
    big = HeadProblem(np.arange(60), y[:60], seed=2)  # 60 rows: 4 steps per epoch
    both = train_head_problems("mlp2", X, [big, small], n_classes=4, config=cfg, precision=precision)
    alone = train_head_problems("mlp2", X, [small], n_classes=4, config=cfg, precision=precision)
    assert both[0].steps == 12 and both[1].steps == 10
    for (w1, b1), (w2, b2) in zip(both[1].layers, alone[0].layers):
        np.testing.assert_allclose(w1.numpy(), w2.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b1.numpy(), b2.numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_keeps_a_fifth_scaled_by_five(rng: np.random.Generator) -> None:
    # identity-like check through the gradient: with lr 0 nothing moves, and the CPU mask
    # threshold is round(0.8 * 65536) / 65536
    assert round(0.8 * 65536) / 65536 == pytest.approx(0.8, abs=1e-5)
    X, y = _data(rng)
    cfg = HeadConfig(epochs=2, min_steps=0, batch_size=64, standardize="none")
    fit = train_head_problems("mlp1", X, [HeadProblem(np.arange(y.size), y, seed=0)], n_classes=4, config=cfg)[0]
    assert fit.finite and np.isfinite(fit.final_loss)


def test_precision_choice() -> None:
    assert resolve_precision("float32", "cpu") == "float32"
    assert resolve_precision("auto", "cpu") in ("float32", "bfloat16")
    with pytest.raises(InputError, match="Valid options"):
        resolve_precision("float16", "cpu")


def test_diverged_training_is_a_failure_not_chance(rng: np.random.Generator) -> None:
    X, y = _data(rng, per_class=10)
    bad = HeadConfig(lr=1e6, epochs=5, min_steps=20, hidden=8, standardize="none", optimizer="sgd")
    res = run_fewshot(X, y, shots=[2], heads="linear,mlp2", seeds=2, head_config=bad)
    mlp = res.table[res.table["head"] == "mlp2"]
    assert list(res.table.columns[-2:]) == ["status", "error"]
    assert (mlp["status"] == "failed").all() and mlp["accuracy"].isna().all()
    assert mlp["error"].str.contains("diverged").all()
    assert (res.table[res.table["head"] == "linear"]["status"] == "ok").all()
    rec = {r["head"]: r for r in res.records()}
    assert rec["mlp2"]["mean"] is None and rec["mlp2"]["failed_seeds"] == [0, 1]
    assert rec["linear"]["mean"] is not None and "failed_seeds" not in rec["linear"]
    assert len(res.failures) == 2


def test_intervals_stay_inside_0_100(rng: np.random.Generator) -> None:
    from repalign.transfer.summary import t_interval

    lo, hi = t_interval([2.0, 60.0], 0.95, bounds=(0.0, 100.0))
    assert lo == 0.0 and hi == 100.0
    X, y = _data(rng, per_class=6)
    res = run_fewshot(X, y, shots=[1], heads="linear", seeds=2)
    for r in res.records():
        assert 0.0 <= r["interval"][0] <= r["mean"] <= r["interval"][1] <= 100.0
    assert "clipped to [0, 100]" in res.settings["interval"]


@pytest.mark.parametrize("shots", [[1.5], True, [True], "5", [2, 2.5]])
def test_shot_counts_must_be_whole_numbers(shots: object) -> None:
    with pytest.raises(InputError, match="shots"):
        make_splits(np.repeat([0, 1], 10), shots=shots, seeds=1)  # type: ignore[arg-type]


def test_whole_float_shots_are_accepted() -> None:
    assert [s.shots for s in make_splits(np.repeat([0, 1], 10), shots=[2.0], seeds=1)] == [2]


def test_errors_name_classes_by_the_users_labels(rng: np.random.Generator) -> None:
    labels = np.array(["ant"] * 3 + ["bee"] * 9 + ["cow"] * 9)
    X = rng.normal(size=(labels.size, 3))
    with pytest.raises(InputError, match=r"\['ant'\]|ant") as info:
        run_fewshot(X, labels, shots=[4], heads="linear", seeds=1)
    assert "'0'" not in str(info.value) and "[0]" not in str(info.value)


def test_bad_confidence_is_refused_before_any_fit(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    from repalign.transfer import protocol

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("a fit ran")

    monkeypatch.setattr(protocol, "_fit_all", boom)
    X, y = _data(rng)
    for bad in (2.0, 0.0, 1.0, -0.5, True):
        with pytest.raises(InputError, match="confidence"):
            run_fewshot(X, y, shots=[1], heads="linear", seeds=2, confidence=bad)


def test_sklearn_probe_is_scikit_learns_logistic_regression(rng: np.random.Generator) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = _data(rng)
    res = run_fewshot(X, y, shots=[3], heads="linear", seeds=1, probe="sklearn")
    split = make_splits(y, shots=[3], seeds=[0])[0]
    ref = LogisticRegression(C=1.0, max_iter=1000).fit(X[split.train], y[split.train])
    expected = 100 * np.mean(ref.predict(X[split.test]) == y[split.test])
    assert res.table["accuracy"].iloc[0] == pytest.approx(expected)
    assert res.settings["probe"] == "sklearn"

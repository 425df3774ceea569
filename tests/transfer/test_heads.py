"""Neural heads: they learn, dropout is on only in training, batching seeds changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from repalign import InputError
from repalign.transfer.heads import HeadConfig, standardize_features, train_heads, with_overrides

torch = pytest.importorskip("torch")

FAST = HeadConfig(epochs=40, min_steps=60, batch_size=64, lr=3e-3)


def _separable(rng: np.random.Generator, n_seeds: int, per_class: int, n_classes: int = 10, d: int = 32):
    means = rng.normal(scale=5.0, size=(n_classes, d))
    y = np.tile(np.repeat(np.arange(n_classes), per_class), (n_seeds, 1))
    X = means[y] + rng.normal(size=(*y.shape, d))
    return X, y, means


@pytest.mark.parametrize("head", ["mlp1", "mlp2"])
def test_heads_learn_far_above_chance(rng: np.random.Generator, head: str) -> None:
    X, y, means = _separable(rng, 2, 8)
    trained = train_heads(head, X, y, n_classes=10, seeds=[0, 1], config=with_overrides(FAST, hidden=64))
    yt = np.tile(np.repeat(np.arange(10), 20), (2, 1))
    Xt = means[yt] + rng.normal(size=(*yt.shape, 32))
    pred = trained.logits(torch.as_tensor(Xt, dtype=torch.float32)).argmax(-1).numpy()
    acc = (pred == yt).mean(axis=1)
    assert np.all(acc > 0.8), acc  # chance is 0.1


def test_dropout_only_in_training(rng: np.random.Generator) -> None:
    from repalign.transfer.heads import _forward

    X, y, _ = _separable(rng, 1, 4)
    trained = train_heads("mlp1", X, y, n_classes=10, seeds=[3], config=FAST)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    a, b = trained.logits(Xt), trained.logits(Xt)
    assert torch.equal(a, b)  # evaluation is deterministic: no dropout
    w, bias = trained.layers[0]
    np.testing.assert_allclose(a.numpy(), (Xt @ w + bias[:, None, :]).numpy(), rtol=1e-5, atol=1e-5)
    # the training pass drops about 80% of the inputs and rescales the rest by 1/(1-p)
    gens = [torch.Generator().manual_seed(0)]
    ones = torch.ones(1, 2000, 32)
    identity = [(torch.eye(32)[None], torch.zeros(1, 32))]
    dropped = _forward(ones, identity, dropout=0.8, generators=gens, training=True)
    kept = dropped != 0
    assert abs(kept.float().mean().item() - 0.2) < 0.01
    np.testing.assert_allclose(dropped[kept].numpy(), 5.0, rtol=1e-6)
    assert torch.equal(_forward(ones, identity, dropout=0.8, generators=None, training=False), ones)


def test_seed_batching_is_exactly_separate_runs(rng: np.random.Generator) -> None:
    X, y, _ = _separable(rng, 3, 3)
    together = train_heads("mlp2", X, y, n_classes=10, seeds=[5, 6, 7], config=with_overrides(FAST, hidden=16))
    alone = train_heads("mlp2", X[1:2], y[1:2], n_classes=10, seeds=[6], config=with_overrides(FAST, hidden=16))
    for (w_all, b_all), (w_one, b_one) in zip(together.layers, alone.layers):
        np.testing.assert_allclose(w_all[1].numpy(), w_one[0].numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(b_all[1].numpy(), b_one[0].numpy(), rtol=1e-4, atol=1e-5)
    again = train_heads("mlp2", X, y, n_classes=10, seeds=[5, 6, 7], config=with_overrides(FAST, hidden=16))
    for (w1, _), (w2, _) in zip(together.layers, again.layers):
        assert torch.equal(w1, w2)  # reproducible from the seeds


def test_optimizers_and_schedules_run(rng: np.random.Generator) -> None:
    X, y, _ = _separable(rng, 1, 2, n_classes=3, d=8)
    for opt in ("adam", "sgd", "adamw"):
        cfg = HeadConfig(optimizer=opt, epochs=2, min_steps=3, cosine=opt != "sgd", lr=1e-2)
        trained = train_heads("mlp1", X, y, n_classes=3, seeds=[0], config=cfg)
        assert trained.steps == 3 and np.isfinite(trained.final_loss).all()


def test_standardize_uses_training_rows_only() -> None:
    train = np.array([[[0.0, 5.0], [2.0, 5.0]]])
    test = np.array([[[100.0, -3.0]]])
    tr, te = standardize_features(train, test, "standardize")
    np.testing.assert_allclose(tr[0], [[-1, 0], [1, 0]])
    np.testing.assert_allclose(te[0], [[99, -8]])  # constant feature: centred, not divided by 0
    tr, te = standardize_features(train, test, "l2")
    np.testing.assert_allclose(np.linalg.norm(te, axis=-1), 1.0)
    tr, te = standardize_features(train, test, "center")  # centred rows have mean squared norm 1
    np.testing.assert_allclose(tr[0], [[-1, 0], [1, 0]])
    np.testing.assert_allclose(te[0], [[99, -8]])
    two = np.stack([train[0], 3 * train[0]])  # statistics per seed
    np.testing.assert_allclose(standardize_features(two, None, "center")[0][1], [[-1, 0], [1, 0]])


def test_config_errors() -> None:
    with pytest.raises(InputError, match="Valid options"):
        HeadConfig(optimizer="rmsprop").validate()
    with pytest.raises(InputError, match="dropout"):
        HeadConfig(dropout=1.0).validate()
    with pytest.raises(InputError, match="unknown head settings"):
        with_overrides(HeadConfig(), depth=3)
    with pytest.raises(InputError, match="Valid options"):
        train_heads("mlp3", np.zeros((1, 2, 2)), np.zeros((1, 2), int), n_classes=2, seeds=[0])

"""Few-shot splits: sizes, disjointness, balance, nesting, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repalign import InputError
from repalign.transfer.splits import PAPER_SHOTS, FewShotSplit, check_split, encode_labels, make_splits


def _labels(n_classes: int = 100, per_class: int = 100, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(n_classes), per_class))


def test_paper_protocol_sizes_and_disjointness() -> None:
    labels = _labels()  # CIFAR-100 test set shape: 100 classes x 100 images
    splits = make_splits(labels)  # paper defaults
    assert [(s.seed, s.shots) for s in splits] == [(seed, n) for seed in range(5) for n in PAPER_SHOTS]
    for s in splits:
        assert s.train.size == 100 * s.shots
        assert s.test.size == 10000 - 100 * s.shots  # ALL remaining examples
        assert np.intersect1d(s.train, s.test).size == 0
        assert np.array_equal(np.sort(np.concatenate([s.train, s.test])), np.arange(10000))
        assert np.all(np.bincount(labels[s.train], minlength=100) == s.shots)
        assert np.all(np.bincount(labels[s.test], minlength=100) == 100 - s.shots)


def test_deterministic_and_seed_dependent() -> None:
    labels = _labels(10, 30)
    a = make_splits(labels, shots=[1, 5], seeds=3)
    b = make_splits(labels, shots=[1, 5], seeds=3)
    for x, y in zip(a, b):
        assert np.array_equal(x.train, y.train) and np.array_equal(x.test, y.test)
    trains = {tuple(np.sort(s.train)) for s in a if s.shots == 5}
    assert len(trains) == 3  # three seeds, three different draws
    # a seed's draw does not depend on which other seeds are requested
    only2 = make_splits(labels, shots=[1, 5], seeds=[2])
    assert np.array_equal(only2[1].train, a[5].train)


def test_nested_across_shot_counts() -> None:
    splits = make_splits(_labels(20, 50), shots=[1, 5, 10, 20, 40], seeds=2)
    for seed in range(2):
        per = [s for s in splits if s.seed == seed]
        for small, large in zip(per, per[1:]):
            assert set(small.train) <= set(large.train)


def test_ids_make_splits_independent_of_row_order() -> None:
    labels = np.repeat(np.arange(5), 8)
    ids = np.array([f"img{i:03d}" for i in range(labels.size)])
    perm = np.random.default_rng(1).permutation(labels.size)
    a = make_splits(labels, shots=[3], seeds=2, ids=ids)
    b = make_splits(labels[perm], shots=[3], seeds=2, ids=ids[perm])
    for x, y in zip(a, b):
        assert set(ids[x.train]) == set(ids[perm][y.train])


def test_string_labels_and_encoding() -> None:
    codes, classes = encode_labels(["b", "a", "b", "c"])
    assert classes == ["a", "b", "c"] and codes.tolist() == [1, 0, 1, 2]
    codes, classes = encode_labels(np.array([3.0, 1.0, 3.0]))
    assert classes == ["1", "3"] and codes.tolist() == [1, 0, 1]
    with pytest.raises(InputError, match="whole numbers"):
        encode_labels([0.5, 1.0])


def test_errors_name_the_problem() -> None:
    labels = np.repeat(np.arange(3), 5)
    with pytest.raises(InputError, match="at least 6 examples"):
        make_splits(labels, shots=[5])
    with pytest.raises(InputError, match="at least 1"):
        make_splits(labels, shots=[0])
    with pytest.raises(InputError, match="repeated seeds"):
        make_splits(labels, shots=[1], seeds=[1, 1])
    with pytest.raises(InputError, match="ids"):
        make_splits(labels, shots=[1], ids=["a"] * 15)


def test_check_split_catches_overlap_and_imbalance() -> None:
    codes = np.repeat(np.arange(2), 3)
    with pytest.raises(InputError, match="both"):
        check_split(FewShotSplit(1, 0, np.array([0, 3]), np.array([0, 1, 2, 4, 5])), codes)
    with pytest.raises(InputError, match="class-balanced"):
        check_split(FewShotSplit(1, 0, np.array([0, 1]), np.array([2, 3, 4, 5])), codes)
    with pytest.raises(InputError, match="cover"):
        check_split(FewShotSplit(1, 0, np.array([0, 3]), np.array([1, 2, 4])), codes)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=2, max_value=12), min_size=2, max_size=6),
    seed=st.integers(min_value=0, max_value=2**31),
    data=st.data(),
)
def test_property_any_class_sizes(counts: list[int], seed: int, data: st.DataObject) -> None:
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))
    max_shots = min(counts) - 1
    shots = sorted(set(data.draw(st.lists(st.integers(1, max_shots), min_size=1, max_size=3))))
    for s in make_splits(labels, shots=shots, seeds=[seed % 1000]):
        assert np.all(np.bincount(labels[s.train], minlength=len(counts)) == s.shots)
        assert s.train.size + s.test.size == labels.size and np.intersect1d(s.train, s.test).size == 0

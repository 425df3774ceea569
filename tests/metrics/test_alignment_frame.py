"""Alignment.to_frame(): one tidy row per metric with fixed columns."""

from __future__ import annotations


from repalign import Representation
from repalign.metrics import ALIGNMENT_FRAME_COLUMNS, compare


def test_to_frame_rows_match_the_result(rng):
    ids = [f"s{i}" for i in range(12)]
    x = rng.normal(size=(12, 4))
    a = Representation.from_features(ids, x)
    b = Representation.from_features(ids, x + rng.normal(size=x.shape))
    res = compare(a, b, metrics="pearson,triplet,cka", bootstrap=20, seed=1)
    frame = res.to_frame()
    assert tuple(frame.columns) == ALIGNMENT_FRAME_COLUMNS
    assert frame["metric"].tolist() == ["pearson", "triplet", "cka"]
    for row in frame.itertuples():
        assert row.value == res[row.metric]
        assert (row.ci_low, row.ci_high) == res.intervals[row.metric]
        assert row.n_stimuli == 12 and row.n_bootstrap == 20 and row.confidence == 0.95


def test_to_frame_without_bootstrap_has_missing_intervals(rng):
    ids = list("abcdef")
    a = Representation.from_features(ids, rng.normal(size=(6, 3)))
    frame = compare(a, a).to_frame()
    assert frame["ci_low"].isna().all() and (frame["n_bootstrap"] == 0).all()

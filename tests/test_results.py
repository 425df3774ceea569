"""The results schema: column names both ways, long <-> wide, the domain columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repalign import InputError
from repalign.results import (
    alignment_column,
    alignment_long,
    alignment_wide,
    classify_columns,
    domain_columns,
    fewshot_column,
    fewshot_long,
    fewshot_wide,
    fill_from_long,
    model_family,
    parse_column,
    partial_aggregates,
)

_word = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    metric=st.sampled_from(["pearson", "spearman", "kendall", "triplet", "cka", "cka-debiased", "odd-one-out"]),
    domain=_word,
)
def test_alignment_names_parse_back(metric, domain):
    agg, per = alignment_column(metric), alignment_column(metric, f"data:{domain}")
    assert parse_column(agg).kind == "alignment" and parse_column(agg).metric == agg
    info = parse_column(per)
    assert (info.kind, info.metric, info.domain) == ("domain_alignment", agg, domain)
    low = parse_column(f"{per}_ci_low")
    assert (low.kind, low.of) == ("interval", per)


@settings(max_examples=60, deadline=None)
@given(head=st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True), shots=st.integers(1, 500), task=st.none() | _word)
def test_fewshot_names_parse_back(head, shots, task):
    info = parse_column(fewshot_column(head, shots, task))
    assert (info.kind, info.head, info.shots, info.task) == ("fewshot", head, shots, task)


def test_classify_and_bad_names():
    cols = classify_columns(
        ["model", "triplet", "pearson", "pearson_fruits", "imagenet_top1", "sketch_top1", "imagenet_a_top1",
         "human_domains", "n_domains", "param_count", "pearson_ci_low", "pearson_ci_high", "cifar10_fewshot_linear_5",
         "fewshot_mlp2_1", "fewshot_linear_1", "notes"]
    )
    assert cols.alignment == ["pearson", "triplet"] and cols.per_domain == {"pearson": ["pearson_fruits"]}
    assert cols.robustness == ["imagenet_a_top1", "sketch_top1"] and cols.covariates == ["imagenet_top1", "param_count"]
    assert cols.intervals == {"pearson": ("pearson_ci_low", "pearson_ci_high")} and cols.other == ["notes"]
    assert list(cols.fewshot[None]) == ["linear", "mlp2"] and cols.fewshot["cifar10"] == {"linear": [(5, "cifar10_fewshot_linear_5")]}
    with pytest.raises(InputError, match="column suffix"):
        alignment_column("pearson", "peterson2018:two words")
    with pytest.raises(InputError, match="below"):
        domain_columns(["a", "b"], 1)


def _long_alignment(rng, models=("m0", "m1", "m2")):
    rows = []
    for m in models:
        for d in ("peterson2018:animals", "peterson2018:fruits"):
            for metric in ("pearson", "triplet", "cka-debiased"):
                rows.append((m, d, metric, float(rng.uniform(0, 1))))
    return pd.DataFrame(rows, columns=["model", "dataset", "metric", "value"])


def test_alignment_long_wide_round_trip(rng):
    long = _long_alignment(rng)
    wide = alignment_wide(long, n_available={"peterson2018": 6})
    assert wide["n_domains"].tolist() == [2, 2, 2] and wide["n_domains_available"].tolist() == [6, 6, 6]
    assert wide["human_domains"].iloc[0] == "peterson2018:animals;peterson2018:fruits"
    expect = long.assign(metric=long.metric.str.replace("-", "_")).groupby(["model", "metric"])["value"].mean()
    for (m, metric), value in expect.items():
        assert wide.set_index("model").loc[m, metric] == pytest.approx(value, abs=1e-15)
    back = alignment_long(wide).assign(metric=lambda f: f.metric)
    want = long.assign(metric=long.metric.str.replace("-", "_"))
    key = ["model", "dataset", "metric"]
    pd.testing.assert_frame_equal(
        back.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True)
    )
    assert partial_aggregates(wide).all()
    full = alignment_wide(long)  # without the dataset's size: the domains present are all it has
    assert not partial_aggregates(full).any()


def test_alignment_wide_refuses_clashing_domains():
    long = pd.DataFrame({"model": ["a", "a"], "dataset": ["x:animals", "y:animals"], "metric": "pearson", "value": [0.1, 0.2]})
    with pytest.raises(InputError, match="share a domain name"):
        alignment_wide(long)


def test_fewshot_long_wide_round_trip(rng):
    rows = [
        (m, "cifar10", h, n, s, float(rng.uniform(10, 90)))
        for m in ("b", "a")
        for h in ("mlp1", "linear")
        for n in (5, 1)
        for s in range(3)
    ]
    long = pd.DataFrame(rows, columns=["model", "dataset", "head", "shots", "seed", "accuracy"])
    wide, dataset, seeds = fewshot_wide(long)
    assert (dataset, seeds) == ("cifar10", 3) and wide["model"].tolist() == ["b", "a"]
    assert list(wide.columns) == ["model", "fewshot_linear_1", "fewshot_linear_5", "fewshot_mlp1_1", "fewshot_mlp1_5"]
    means = long.groupby(["model", "head", "shots"])["accuracy"].mean()
    back = fewshot_long(wide).set_index(["model", "head", "shots"])["accuracy"]
    np.testing.assert_allclose(back.loc[means.index].to_numpy(), means.to_numpy(), rtol=0, atol=1e-12)
    tagged, _, _ = fewshot_wide(long, task="cifar10")
    assert "cifar10_fewshot_linear_1" in tagged.columns


def test_fill_from_long_keeps_existing_columns():
    results = pd.DataFrame({"model": ["a", "b"], "pearson": [0.5, 0.6]})
    derived = pd.DataFrame({"model": ["b", "a"], "pearson": [9.0, 9.0], "triplet": [0.7, 0.8]})
    merged, added = fill_from_long(results, derived, what="alignment table")
    assert added == ["triplet"] and merged["pearson"].tolist() == [0.5, 0.6] and merged["triplet"].tolist() == [0.8, 0.7]


def test_model_family():
    assert model_family("paper:gluon_resnet50_v1b") == "resnet"
    assert model_family("timm:vit_base_patch16_224.augreg_in21k") == "vit"

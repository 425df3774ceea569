"""analyze(): the tidy frame is the nested records flattened; errors="skip" keeps the reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from repalign import InputError
from repalign.stats import FRAME_COLUMNS, RECORD_KEYS, analyze, quadratic_band, quadratic_regression


def _table(rng, n=40):
    top1 = rng.uniform(60, 85, n)
    df = pd.DataFrame({"model": [f"m{i}" for i in range(n)], "pearson": rng.uniform(0.1, 0.5, n), "imagenet_top1": top1})
    df["acc"] = 0.5 * top1 + 30 * (df["pearson"] - 0.3) ** 2 + rng.normal(0, 1, n)
    df.loc[2, "imagenet_top1"] = np.nan
    return df


def test_frame_is_the_records_flattened(rng):
    df = _table(rng)
    frame = analyze(df, "pearson", "acc", covariates="imagenet_top1", k=4)
    records = analyze(df, "pearson", "acc", covariates="imagenet_top1", k=4, as_frame=False)
    assert tuple(frame.columns) == FRAME_COLUMNS and len(frame) == 1 and tuple(records[0]) == RECORD_KEYS
    row, rec = frame.iloc[0], records[0]
    assert row["covariates"] == "imagenet_top1" and row["n"] == rec["n"] == 39
    for key in ("pearson", "spearman", "partial", "z2", "z2_partial"):
        for field in ("r", "ci_low", "ci_high", "p_val"):
            assert row[f"{key}_{field}"] == rec[key][field]
    assert row["quadratic_b2"] == rec["quadratic"]["b2"] and row["two_lines_breakpoint"] == rec["two_lines"]["breakpoint"]
    assert row["groups_high_models"] == rec["groups"]["high"]["models"] and row["groups_k"] == 4


def test_skip_mode_keeps_reasons_and_equal_numbers(rng):
    df = _table(rng, n=12)
    with pytest.raises(InputError, match="smaller k"):
        analyze(df, "pearson", "acc", k=5)
    lenient = analyze(df, "pearson", "acc", k=5, errors="skip", as_frame=False)[0]
    assert lenient["groups"] is None and "smaller k" in lenient["skipped"]["groups"]
    strict = analyze(df, "pearson", "acc", k=3, as_frame=False)[0]
    assert lenient["pearson"] == strict["pearson"] and lenient["quadratic"] == strict["quadratic"]
    frame = analyze(df, "pearson", "acc", k=5, errors="skip")
    assert np.isnan(frame.loc[0, "groups_high_mean"]) and "groups" in frame.loc[0, "skipped"]


def test_quadratic_band_is_the_tested_fit(rng):
    df = _table(rng)
    band = quadratic_band(df, "pearson", "acc", points=7)
    q = quadratic_regression(df, "pearson", "acc").iloc[0]
    x = band["x"].to_numpy()
    center = df["pearson"].mean()
    # the fitted parabola's curvature is the tested b2
    second = np.polyfit(x - center, band["fit"].to_numpy(), 2)[0]
    assert second == pytest.approx(q["b2"], rel=1e-9)
    assert x[0] == pytest.approx(df["pearson"].min()) and x[-1] == pytest.approx(df["pearson"].max())

"""timm results tables: parsing quirks on generated files, and the real 2022-07/2025-10 tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from repalign import DataNotFoundError, InputError
from repalign.robustness import (
    TIMM_TABLES,
    join_timm_results,
    legacy_timm_name,
    load_timm_results,
    read_timm_table,
)


def _write(folder: Path, name: str, text: str) -> None:
    (folder / TIMM_TABLES[name]).write_text(text)


@pytest.fixture
def timm_folder(tmp_path: Path) -> Path:
    # 2025-style columns (img_size second), a quoted thousands separator, a model at two sizes
    _write(
        tmp_path,
        "imagenet",
        "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation\n"
        'giant.m30m,560,89.79,10.21,98.99,1.01,"1,014.45",1.0,bicubic\n'
        "tiny.a1,288,77.0,23.0,93.7,6.3,3.70,0.95,bicubic\n"
        "tiny.a1,224,75.6,24.4,92.9,7.1,3.70,0.875,bicubic\n"
        "only_in_1k,224,70.0,30.0,90.0,10.0,5.0,0.875,bilinear\n",
    )
    # 2022-style column order, a typo in a derived column, a model missing, one extra
    _write(
        tmp_path,
        "imagenet_a",
        "model,top1,top1_err,top5,top5_err,param_count,img_size,crop_pct,interpolation,top1_diff,top5_diff,rank_diff\n"
        'giant.m30m,80.1,19.9,95.0,5.0,"1,014.45",560,1.0,bicubic,-9.0,-3.0,-1g\n'
        "tiny.a1,7.5,92.5,34.7,65.3,3.70,288,0.95,bicubic,-70,-60,+1\n"
        "tiny.a1,5.2,94.8,28.9,71.1,3.70,224,0.875,bicubic,-70,-60,+2\n"
        "only_in_a,0.5,99.5,2.3,97.7,30.0,224,0.875,bicubic,,,\n",
    )
    return tmp_path


def test_read_timm_table_parses_quirks(timm_folder, caplog):
    t = read_timm_table(timm_folder / TIMM_TABLES["imagenet"])
    assert t.columns[:5].tolist() == ["model", "img_size", "top1", "top5", "param_count"]
    assert t.loc[0, "param_count"] == pytest.approx(1014.45)
    a = read_timm_table(timm_folder / TIMM_TABLES["imagenet_a"])
    assert np.isnan(a.loc[0, "rank_diff"]) and "rank_diff" in caplog.text
    assert a.loc[1, "rank_diff"] == 1.0


def test_load_picks_one_size_per_model_consistently(timm_folder):
    wide = load_timm_results(timm_folder)
    assert wide.columns.tolist() == [
        "model", "imagenet_top1", "imagenet_top5", "imagenet_a_top1", "imagenet_a_top5",
        "param_count", "img_size", "crop_pct", "interpolation",
    ]  # fmt: skip
    rows = wide.set_index("model")
    assert rows.loc["tiny.a1", "imagenet_top1"] == 75.6 and rows.loc["tiny.a1", "imagenet_a_top1"] == 5.2
    assert rows.loc["tiny.a1", "img_size"] == 224
    assert np.isnan(rows.loc["only_in_1k", "imagenet_a_top1"])
    assert np.isnan(rows.loc["only_in_a", "imagenet_top1"]) and rows.loc["only_in_a", "param_count"] == 30.0
    big = load_timm_results(timm_folder, img_size="max").set_index("model")
    assert big.loc["tiny.a1", "imagenet_a_top1"] == 7.5 and big.loc["tiny.a1", "img_size"] == 288
    only_a = load_timm_results(timm_folder, datasets=["imagenet_a"])
    assert "imagenet_top1" not in only_a.columns


def test_bad_tables_raise(tmp_path):
    with pytest.raises(DataNotFoundError):
        load_timm_results(tmp_path)
    with pytest.raises(DataNotFoundError, match="results-sketch.csv"):
        _write(tmp_path, "imagenet", "model,top1,top5\na,1,2\n")
        load_timm_results(tmp_path, datasets=["sketch"])
    with pytest.raises(InputError, match="Valid options"):
        load_timm_results(tmp_path, datasets=["imagenet-a"])
    cases = {
        "model,top5\na,2\n": "missing column",
        "model,top1,top5\na,x1,2\n": "non-numbers",
        "model,top1,top5\na,101,2\n": "percentage",
        "model,top1,top5\na,1,2\na,3,4\n": "appear twice",
        "model,top1,top5,param_count\na,1,2,big\n": "param_count",
    }
    for text, message in cases.items():
        _write(tmp_path, "imagenet", text)
        with pytest.raises(InputError, match=message):
            read_timm_table(tmp_path / TIMM_TABLES["imagenet"])


def test_join_with_mapping_callable_and_clash(timm_folder):
    wide = load_timm_results(timm_folder)
    frame = pd.DataFrame({"model": ["paper_tiny", "paper_giant", "unknown"], "pearson": [0.1, 0.2, 0.3]})
    res = join_timm_results(frame, wide, names={"paper_tiny": "tiny.a1", "paper_giant": "giant.m30m"})
    assert res.unmatched == ["unknown"] and res.n_matched == 2
    assert res.table["imagenet_top1"].tolist()[:2] == [75.6, 89.79]
    assert res.table["pearson"].tolist() == [0.1, 0.2, 0.3]
    by_call = join_timm_results(frame, wide, names=lambda n: {"paper_tiny": "tiny.a1"}.get(n))
    assert by_call.unmatched == ["paper_giant", "unknown"]
    clash = frame.assign(imagenet_top1=1.0)
    with pytest.raises(InputError, match="overwrite"):
        join_timm_results(clash, wide, names={})
    assert (
        join_timm_results(clash, wide, names={"paper_tiny": "tiny.a1"}, overwrite=True).table.loc[0, "imagenet_top1"]
        == 75.6
    )
    with pytest.raises(InputError, match="mapping, a callable"):
        join_timm_results(frame, wide, names=3)


def test_legacy_name():
    assert legacy_timm_name("xcit_large_24_p8_384.dist") == "xcit_large_24_p8_384_dist"
    assert legacy_timm_name("resmlp_12_distilled_224") == "resmlp_12_distilled_224"


def test_all_paper_models_join_the_2022_tables(shared_data):
    names = (shared_data / "paper_models.txt").read_text().split()
    assert len(names) == 489
    wide = load_timm_results(shared_data / "timm_results" / "2022-07")
    assert len(wide) == 668 and not wide.drop(columns="interpolation").isna().any().any()
    res = join_timm_results(names, wide)
    assert res.unmatched == [], f"paper names without a 2022-07 row: {res.unmatched}"
    table = res.table
    assert len(table) == 489 and table["timm_model"].notna().all()
    assert sum(n.endswith(".dist") for n in names) == sum(
        table["timm_model"].str.endswith("_dist") & table["model"].str.endswith(".dist")
    )
    row = table.set_index("model").loc["xcit_tiny_12_p16_224.dist"]
    assert row["timm_model"] == "xcit_tiny_12_p16_224_dist"
    # every robustness column of the paper is present for every paper model
    for col in ("imagenet_top1", "imagenet_a_top1", "imagenet_a_top5", "imagenet_r_top1", "sketch_top5"):
        assert table[col].between(0, 100).all()


def test_the_2025_tables_load(shared_data):
    wide = load_timm_results(shared_data / "timm_results" / "2025-10").set_index("model")
    assert len(wide) == 1267  # 1,266 models in the ImageNet table, 1 only in ImageNet-A
    # a quoted "1,014.45" parameter count, a model at two sizes, and models missing per set
    assert wide.loc["eva_giant_patch14_560.m30m_ft_in22k_in1k", "param_count"] == pytest.approx(1014.45)
    assert wide.loc["convnext_atto.d2_in1k", "img_size"] == 224
    assert wide.loc["convnext_atto.d2_in1k", "imagenet_top1"] == pytest.approx(75.672)
    assert np.isnan(wide.loc["resnet50.tv_in1k", "imagenet_a_top1"])
    assert np.isnan(wide.loc["resmlp_24_224.fb_dino", "imagenet_top1"])

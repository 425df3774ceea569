"""``repalign models list|resolve``."""

from __future__ import annotations

import json

import pytest

from repalign.cli import main

pytest.importorskip("timm")


def test_resolve_prints_pinned_ids(capsys):
    assert main(["models", "resolve", "resnet50", "paper:xcit_nano_12_p8_224.dist", "tf_efficientnet_b0_ns"]) == 0
    out = capsys.readouterr().out
    assert "timm:resnet50.a1_in1k" in out and "timm:xcit_nano_12_p8_224.fb_dist_in1k" in out
    assert "timm:tf_efficientnet_b0.ns_jft_in1k" in out


def test_resolve_reports_unresolvable_names_with_exit_2(capsys):
    assert main(["models", "resolve", "--json", "resnet50", "resnt50", "paper:gluon_xception65"]) == 2
    rows = json.loads(capsys.readouterr().out)
    assert [r["model_id"] for r in rows] == ["timm:resnet50.a1_in1k", "", ""]
    assert "did you mean resnet50" in rows[1]["note"] and rows[2]["method"] == "unresolved"


def test_resolve_paper_prints_the_whole_table(capsys):
    assert main(["models", "resolve", "--paper"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["paper", "name", "timm"] and "2022-07 results name" in lines[0]
    assert len(lines) == 2 + 489
    assert main(["models", "resolve", "--paper", "--json", "adv_inception_v3"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["timm_name"] == "inception_v3.tf_adv_in1k" and row["results_2022_name"] == "adv_inception_v3"


def test_list(capsys):
    assert main(["models", "list", "resnet50.a1*"]) == 0
    assert capsys.readouterr().out.split() == ["timm:resnet50.a1_in1k", "timm:resnet50.a1h_in1k"]
    assert main(["models", "list", "--paper", "xcit_nano*", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 6 and all(r["model_id"].startswith("timm:xcit_nano") for r in rows)
    assert main(["models", "list", "--sources"]) == 0
    out = capsys.readouterr().out
    for prefix in ("timm:", "torchvision:", "open_clip:", "hf:", "sentence-transformers:", "python:",
                   "efficientnet-lite:", "paper:"):
        assert prefix in out
    assert main(["models", "list", "--source", "nope"]) == 2
    assert "Valid options: timm" in capsys.readouterr().err

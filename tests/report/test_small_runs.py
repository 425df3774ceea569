"""A study of one or two models gets its compact report too (issue 14: "small studies get a
compact per-model report"). Before, a column needed numbers for three models to be shown, so
a two-model study's report failed with "no alignment column (...); name them with alignments="
although every model had its alignment."""

from __future__ import annotations

from html import unescape

import pandas as pd
import pytest

from repalign.report import build_report


@pytest.mark.parametrize("n_models", [1, 2])
def test_one_or_two_models_get_a_compact_report(tmp_path, n_models):
    models = ["timm:resnet18", "efficientnet-lite:lite0"][:n_models]
    results = pd.DataFrame({"model": models, "pearson": [0.08, 0.64][:n_models], "triplet": [0.52, 0.65][:n_models],
                            "fewshot_linear_1": [13.3, 35.6][:n_models]})
    results.to_csv(tmp_path / "results.csv", index=False)
    out = build_report(tmp_path / "results.csv", tmp_path / "report")
    text = unescape(out.html.read_text(encoding="utf-8"))
    assert "compact report" in text
    for model in models:
        assert model in text
    assert "0.640" in text or n_models == 1

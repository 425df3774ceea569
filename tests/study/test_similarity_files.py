"""A study keeps each model's similarity matrices beside the human ones, so its report can
show them side by side (issue 14: "the human and model similarity matrices side by side").

Before, nothing wrote ``RUN_DIR/similarity/*.npz``: the report's similarity section existed
but a study's report never had one.
"""

from __future__ import annotations

import numpy as np
import pytest

from repalign import load_representation
from repalign.report.overview import SIMILARITY_KEYS, load_similarity
from repalign.study.config import load_config
from repalign.study.plan import run_study
from repalign.study.store import unit_key

from .test_study import TINY, mini_data, write_config  # noqa: F401 - mini_data is a fixture

MODELS = [TINY[0], TINY[2]]  # two random-weight timm models


def test_a_study_writes_the_similarity_matrices_and_its_report_shows_them(mini_data, tmp_path):  # noqa: F811
    pytest.importorskip("timm")
    out = tmp_path / "run"
    cfg = write_config(tmp_path / "s.yaml", mini_data, out, MODELS, transfer=[],
                       analysis={"covariate": None, "report": True})
    run_study(load_config(cfg))
    files = sorted((out / "similarity").glob("*.npz"))
    assert [f.name for f in files] == sorted(f"{unit_key(m['id'])}__mini_animals.npz" for m in MODELS)
    human = load_representation(mini_data / "mini" / "similarity" / "animals.csv")
    for entry in load_similarity(out):
        assert set(SIMILARITY_KEYS) <= set(entry) and entry["dataset"] == "mini:animals"
        assert list(entry["ids"]) == list(human.ids)
        np.testing.assert_allclose(entry["human"], human.values, rtol=1e-6)
        assert entry["similarity"].shape == (12, 12)
        np.testing.assert_allclose(np.diag(entry["similarity"]), 1.0, rtol=1e-5)  # cosine similarity
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="figure_similarity_mini_animals"' in html
    # the unit's own copy is a table of the unit (atomic, checked by the store like the others)
    assert (out / "units" / unit_key(MODELS[0]["id"]) / "similarity.parquet").is_file()

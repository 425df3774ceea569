"""`repalign align --metric cka,cka-debiased`: from the registry to the CLI, with intervals."""

from __future__ import annotations

import json

import numpy as np

from repalign import Representation
from repalign.cli import main
from repalign.metrics.cka import linear_cka, linear_cka_debiased


def test_align_cka_json(tmp_path, capsys, rng):
    ids = [f"s{i}" for i in range(15)]
    x = rng.normal(size=(15, 6))
    y = x @ rng.normal(size=(6, 9)) + rng.normal(size=(15, 9))
    Representation.from_features(ids, x).to_npz(tmp_path / "a.npz")
    Representation.from_features(ids[::-1], y[::-1]).to_npz(tmp_path / "b.npz")
    code = main(["align", str(tmp_path / "a.npz"), str(tmp_path / "b.npz"), "--metric", "cka,cka-debiased,pearson",
                 "--bootstrap", "40", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["cka"] == linear_cka(x, y) and out["cka-debiased"] == linear_cka_debiased(x, y)
    assert set(out["ci"]) == {"cka", "cka-debiased", "pearson"}
    assert 0.0 <= out["ci"]["cka"][0] <= out["ci"]["cka"][1] <= 1.0


def test_align_help_lists_cka(capsys):
    try:
        main(["align", "--help"])
    except SystemExit:
        pass
    assert "cka-debiased" in capsys.readouterr().out

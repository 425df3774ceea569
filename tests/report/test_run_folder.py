"""What a study run folder adds to the report: provenance, similarity matrices, layer curves,
partial-domain marks; and one report per run folder."""

from __future__ import annotations

import json
from html import unescape

import numpy as np
import pandas as pd
import pytest

from repalign import InputError
from repalign.results import domain_columns
from repalign.study.store import unit_key

from .conftest import make_run

pytest.importorskip("matplotlib")
pytest.importorskip("plotly")

from repalign.report import build_report, default_output_folder, load_run, write_report  # noqa: E402


def _study_folder(tmp_path, n_models=8):
    folder = make_run(tmp_path / "run", n_models=n_models)
    results = pd.read_parquet(folder / "results.parquet")
    cells = [domain_columns(["peterson2018:animals", "peterson2018:fruits"], 6)] * (n_models - 1)
    cells.append(domain_columns([f"peterson2018:{d}" for d in ("animals", "automobiles", "fruits", "furniture", "various", "vegetables")], 6))
    results = pd.concat([results, pd.DataFrame(cells)], axis=1)
    results.to_parquet(folder / "results.parquet")
    manifest = {
        "name": "tiny", "fingerprint": "f" * 16, "config": {"analysis": {"k": 2}, "models": ["m"]},
        "argv": ["repalign", "study", "run", "tiny.yaml"], "created": 1.7e9, "updated": 1.7e9 + 60,
        "versions": {"repalign": "0.1.0", "numpy": "2.0", "torch": "2.3", "timm": "1.0"},
        "machine": {"hostname": "lab-node-7", "cpus": 16}, "units": list(results["model"]),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    rng = np.random.default_rng(0)
    ids = np.array([f"img{i:02d}.png" for i in range(6)])
    human = np.corrcoef(rng.normal(size=(6, 5)))
    (folder / "similarity").mkdir()
    for i, model in enumerate(results["model"]):
        unit = folder / "units" / unit_key(model)
        unit.mkdir(parents=True)
        record = {"unit_id": model, "model": model, "seconds": 1.5 + i, "finished": 1.7e9 + i,
                  "model_config": {"weights": "file", "weights_sha256": f"{i:064x}", "weights_file": f"/w/{model}.pth"},
                  "human": {"peterson2018": {"stimulus_fingerprints": {"animals": "abcdef0123456789ff"}}}}
        (unit / "record.json").write_text(json.dumps(record))
        if i < 4:
            np.savez(folder / "similarity" / f"{unit_key(model)}__animals.npz", model=np.array(model),
                     dataset=np.array("peterson2018:animals"), ids=ids, human=human,
                     similarity=np.corrcoef(rng.normal(size=(6, 5))))
    layers = pd.DataFrame([(results["model"][0], f"blocks.{d}", d, m, 0.1 * d + (0.05 if m == "spearman" else 0))
                           for d in range(5) for m in ("pearson", "spearman")], columns=["model", "layer", "depth", "metric", "value"])
    layers.to_parquet(folder / "alignment_layers.parquet")
    pd.DataFrame({"dataset": ["peterson2018:animals"] * 2, "domain": "animals", "metric": ["pearson", "spearman"],
                  "lower": [0.913, 0.818], "upper": [0.978, 0.950], "corrected": np.nan, "n_stimuli": 120,
                  "note": ""}).to_parquet(folder / "ceilings.parquet")
    return folder, results


def _spec(html: str, key: str) -> dict:
    return json.loads(html.split(f'data-target="{key}-plot">')[1].split("</script>")[0])


def test_provenance_similarity_layers_and_partial_marks(tmp_path):
    folder, results = _study_folder(tmp_path)
    out = write_report(folder)
    assert out.folder == folder / "report" and out.settings["k"] == 2  # the study's analysis setting
    html = out.html.read_text(encoding="utf-8")
    shown = unescape(html)
    for text in ("Provenance", "ffffffffffffffff", "repalign study run tiny.yaml", "lab-node-7", "torch 2.3", "timm 1.0",
                 "2023-11-14 22:13:20 UTC", '"models": [', "Units of work"):
        assert text in shown, text
    units = pd.read_csv(out.tables["table_units"]["csv"], dtype=str)
    assert units["weights_sha256"].tolist() == [f"{i:064x}" for i in range(len(results))]
    assert units["stimuli"].str.contains("peterson2018/animals: abcdef0123456789").all()
    # the similarity matrices of the most, median and least aligned of the four models with files
    assert 'id="figure_similarity_peterson2018_animals"' in html
    spec = _spec(html, "figure_similarity_peterson2018_animals")
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert titles[0] == "<b>human</b>" and len(titles) == 4
    scores = load_run(folder).results.set_index("model")["pearson"].iloc[:4].sort_values()
    assert scores.index[-1] in titles[1] and scores.index[0] in titles[3]
    assert np.allclose(np.array(spec["data"][0]["z"], dtype=float), np.round(np.corrcoef(np.random.default_rng(0).normal(size=(6, 5))), 4))
    assert 'id="figure_layers"' in html and "blocks.4" in html
    assert "Human data: noise ceilings" in html and "0.913–0.978" in html
    # seven models average 2 of the dataset's 6 domains: marked, with which
    assert html.count('class="partial-mark"') == 7 * 3 and "mean over 2 of 6 domains: peterson2018:animals, peterson2018:fruits" in html
    assert "2 / 6" in html and "6 / 6" in html
    # one report per run folder: a second call rewrites the same folder with the same settings
    again = write_report(folder)
    assert again.folder == out.folder and again.settings == out.settings
    chosen = build_report(folder, tmp_path / "other", k=2, similarity_models=[results["model"][1]])
    picked = _spec(chosen.html.read_text(encoding="utf-8"), "figure_similarity_peterson2018_animals")["layout"]["annotations"]
    assert len(picked) == 2 and results["model"][1] in picked[1]["text"]
    with pytest.raises(InputError, match="no similarity matrices for model"):
        build_report(folder, tmp_path / "bad", k=2, similarity_models=["nope"])


def test_bad_similarity_file_is_named(tmp_path):
    folder, _ = _study_folder(tmp_path)
    np.savez(folder / "similarity" / "broken.npz", model=np.array("x"), ids=np.array(["a"]))
    with pytest.raises(InputError, match="broken.npz: missing array"):
        build_report(folder, k=2)


def test_a_report_in_the_run_folder_is_rewritten_there(tmp_path):
    folder = make_run(tmp_path / "demo_like", n_models=12)
    first = build_report(folder, folder, k=3, covariate="none", title="Kept")
    assert default_output_folder(folder) == folder
    second = write_report(folder)
    assert second.folder == folder and second.settings == first.settings
    assert "<title>Kept</title>" in second.html.read_text(encoding="utf-8") and not (folder / "report").exists()

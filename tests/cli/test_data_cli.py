"""``repalign data ...`` and ``repalign align`` with dataset references and triplets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from repalign.cli import main
from repalign.data.peterson import DOMAINS
from tests.data.conftest import _own_data_dir, make_folders_copy  # noqa: F401 - the fixture isolates the registry


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_info_on_the_shared_copy_lists_six_domains_with_images(capsys, shared_data):
    code, out, _ = run(capsys, "data", "info", "peterson2018", "--root", str(shared_data / "peterson2018"))
    assert code == 0
    for domain in DOMAINS:
        line = next(line for line in out.splitlines() if line.startswith(domain + " "))
        assert line.split()[1] == "120"
        assert ("yes (120)" in line) == (domain in ("animals", "fruits"))
        assert ("no (matrix only)" in line) == (domain not in ("animals", "fruits"))
    assert "6 domains readable (120 stimuli each); images for 2 (animals, fruits); matrix only:" in out
    info = run_json(capsys, "data", "info", "peterson2018", "--root", str(shared_data / "peterson2018"))
    domains = info["local"]["domains"]
    assert [d["domain"] for d in domains] == list(DOMAINS)
    assert all(d["n_stimuli"] == 120 for d in domains)
    assert [d["domain"] for d in domains if d["has_images"]] == ["animals", "fruits"]
    assert info["citation"].startswith("Peterson, J. C., Abbott") and info["remote_files"] == []


def test_info_without_a_local_copy_still_describes_and_explains(capsys):
    code, out, _ = run(capsys, "data", "info", "things")
    assert code == 0 and "Hebart" in out and "local:    none. dataset 'things' is not available locally" in out
    code, _, err = run(capsys, "data", "info", "peterson2018", "--root", "/nonexistent")
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "data", "info", "peterson")
    assert code == 2 and "Did you mean 'peterson2018'" in err


def test_list_add_info_verify(capsys, tmp_path, rng):
    root = tmp_path / "copy"
    make_folders_copy(root, rng, n=4, images=("animals",), halves=())
    listing = run_json(capsys, "data", "list")
    assert [d["name"] for d in listing["datasets"]] == ["peterson2018", "things", "lee", "cifar100"]
    assert listing["datasets"][0]["local"] is None and listing["datasets"][0]["download"] == "manual (see info)"
    code, out, _ = run(capsys, "data", "add", "peterson2018", str(root))
    assert code == 0 and "registered peterson2018" in out and "10 files hashed (sha256)" in out
    code, out, _ = run(capsys, "data", "list")
    assert f"{root.resolve()} (registered)" in out
    code, out, _ = run(capsys, "data", "info", "peterson2018", "--verify")
    assert code == 0 and "verification: intact" in out
    (root / "similarity" / "fruits.csv").write_text("changed")
    code, out, _ = run(capsys, "data", "info", "peterson2018", "--verify")
    assert code == 1 and "verification: 1 files changed or missing since registration" in out
    assert "fruits       -" in out and "unavailable:" in out
    code, _, err = run(capsys, "data", "add", "peterson2018", str(tmp_path / "nope"))
    assert code == 2 and "not a folder" in err


def test_fetch_without_verified_files_gives_one_clear_message(capsys, tmp_path, rng):
    code, _, err = run(capsys, "data", "fetch", "peterson2018")
    assert code == 2
    assert err.count("error:") == 1 and "Put its files at" in err and "repalign data add peterson2018 PATH" in err
    root = tmp_path / "copy"
    make_folders_copy(root, rng, n=4, images=(), halves=(), domains=("animals",))
    code, out, _ = run(capsys, "data", "fetch", "peterson2018", "--root", str(root))
    assert code == 0 and f"available at {root}" in out


def test_ceiling_from_reference_halves_and_ratings(capsys, tmp_path, rng):
    root = tmp_path / "copy"
    make_folders_copy(root, rng, n=8, images=(), halves=("animals",), domains=("animals", "fruits"))
    out = run_json(capsys, "data", "ceiling", "peterson2018:animals", "--data-root", str(root), "--metric", "pearson,kendall")
    assert out["method"] == "halves" and set(out) >= {"pearson", "kendall", "split_half_reliability"}
    assert out["pearson"]["lower"] <= out["pearson"]["corrected"] <= out["pearson"]["upper"]
    code, text, _ = run(capsys, "data", "ceiling", "peterson2018:animals", "--data-root", str(root))
    assert code == 0 and "split-half reliability: r = " in text and "triplet" in text
    halves = [str(root / "split_halves" / f"animals_{h}_half.csv") for h in ("first", "second")]
    by_files = run_json(capsys, "data", "ceiling", "--halves", *halves, "--metric", "pearson")
    assert by_files["pearson"]["lower"] == out["pearson"]["lower"]
    code, _, err = run(capsys, "data", "ceiling", "peterson2018:fruits", "--data-root", str(root))
    assert code == 2 and "no split-half matrices" in err
    rows = [(f"p{p}", f"s{i}", f"s{j}", float(rng.integers(0, 10))) for p in range(4) for i in range(4) for j in range(i + 1, 4)]
    pd.DataFrame(rows, columns=["participant", "stim_a", "stim_b", "rating"]).to_csv(tmp_path / "r.csv", index=False)
    rat = run_json(capsys, "data", "ceiling", "--ratings", str(tmp_path / "r.csv"), "--n-splits", "3", "--metric", "spearman")
    assert rat["method"] == "ratings" and rat["spearman"]["n_splits"] == 3 and rat["n_participants"] == 4
    code, _, err = run(capsys, "data", "ceiling")
    assert code == 2 and "give exactly one of" in err


def test_ceiling_of_things_triplets(capsys, shared_data):
    out = run_json(capsys, "data", "ceiling", "things:test", "--data-root", str(shared_data / "things"))
    assert out["n_repeated"] == 1000 and out["upper"] == 0.672


# -- repalign align with dataset references ----------------------------------------------


def test_align_accepts_a_dataset_reference_and_reports_the_ceiling(capsys, tmp_path, rng):
    root = tmp_path / "copy"
    mats = make_folders_copy(root, rng, n=8, images=(), halves=("animals",), domains=("animals",))
    ids = pd.read_csv(root / "similarity" / "animals.csv", index_col=0).index.tolist()
    feats = pd.DataFrame(rng.normal(size=(8, 5)), index=ids).rename_axis("stimulus")
    feats.iloc[:, 0] = mats["animals"][:, 0]
    feats.to_csv(tmp_path / "model.csv")
    out = run_json(capsys, "align", "peterson2018:animals", str(tmp_path / "model.csv"), "--data-root", str(root))
    assert set(out) >= {"n_stimuli", "pearson", "spearman", "triplet", "similarity", "ties", "a", "b", "noise_ceiling"}
    assert out["a"] == {"path": "peterson2018:animals", "kind": "similarity", "n_stimuli": 8}
    assert out["noise_ceiling"]["pearson"]["lower"] <= out["noise_ceiling"]["pearson"]["upper"]
    code, text, _ = run(capsys, "align", "peterson2018:animals", str(tmp_path / "model.csv"), "--data-root", str(root))
    assert code == 0 and "noise ceiling [lower, upper]" in text
    # without split halves: no ceiling key, the lead's keys unchanged
    (root / "split_halves" / "animals_first_half.csv").unlink()
    (root / "split_halves" / "animals_second_half.csv").unlink()
    out = run_json(capsys, "align", "peterson2018:animals", str(tmp_path / "model.csv"), "--data-root", str(root))
    assert "noise_ceiling" not in out


def test_align_reference_errors(capsys, tmp_path):
    code, _, err = run(capsys, "align", "peterson2018:animals", "model.csv")
    assert code == 2 and "dataset 'peterson2018' is not available locally" in err


def test_align_odd_one_out_reference_figure(capsys, shared_data):
    root = shared_data / "things"
    out = run_json(capsys, "align", str(root / "test_triplets.tsv"), "things:spose", "--data-root", str(root),
                   "--metric", "odd-one-out", "--similarity", "dot")
    assert out["odd-one-out"] == 0.6299 and out["n_triplets"] == 20000 and out["n_tied"] == 0
    assert out["a"]["format"] == "odd-one-out" and out["b"]["n_stimuli"] == 1854
    assert out["noise_ceiling"]["upper"] == 0.672


def test_align_odd_one_out_on_user_files(capsys, tmp_path, rng):
    ids = ["cat", "dog", "car", "bus"]
    pd.DataFrame(np.array([[1, 0.1], [0.9, 0.2], [0, 1], [0.1, 0.9]]), index=ids).rename_axis("id").to_csv(tmp_path / "m.csv")
    (tmp_path / "t.csv").write_text("item1,item2,item3,odd\ncat,dog,car,car\ncar,bus,dog,dog\ncat,bus,car,cat\n")
    code, text, _ = run(capsys, "align", str(tmp_path / "t.csv"), str(tmp_path / "m.csv"), "--metric", "odd-one-out")
    assert code == 0 and "odd-one-out  1.0000" in text and "3 triplets scored" in text
    (tmp_path / "n.tsv").write_text("1\t2\t3\t3\n3\t4\t2\t3\n")
    (tmp_path / "items.txt").write_text("\n".join(ids))
    out = run_json(capsys, "align", str(tmp_path / "n.tsv"), str(tmp_path / "m.csv"), "--metric", "odd-one-out",
                   "--items", str(tmp_path / "items.txt"))
    assert out["odd-one-out"] == 1.0 and "noise_ceiling" not in out
    (tmp_path / "apn.csv").write_text("anchor,positive,negative\ncat,dog,car\ncar,bus,cat\n")
    out = run_json(capsys, "align", str(tmp_path / "apn.csv"), str(tmp_path / "m.csv"), "--metric", "anchor-triplet")
    assert out["anchor-triplet"] == 1.0
    code, _, err = run(capsys, "align", str(tmp_path / "apn.csv"), str(tmp_path / "m.csv"), "--metric", "odd-one-out")
    assert code == 2 and "holds anchor triplets, whose metric is 'anchor-triplet'" in err
    code, _, err = run(capsys, "align", str(tmp_path / "t.csv"), str(tmp_path / "m.csv"), "--metric", "odd-one-out,pearson")
    assert code == 2 and "a triplet accuracy is computed alone" in err
    code, _, err = run(capsys, "align", str(tmp_path / "n.tsv"), str(tmp_path / "m.csv"), "--metric", "odd-one-out")
    assert code == 2 and "give the item list (items=..., CLI: --items FILE)" in err

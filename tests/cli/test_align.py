"""`repalign align`: output shape, JSON keys, exit codes and messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from repalign import Representation
from repalign.cli import main


@pytest.fixture
def pair(tmp_path, rng):
    ids = [f"s{i}" for i in range(10)]
    x = rng.normal(size=(10, 6))
    Representation.from_features(ids, x).to_npz(tmp_path / "a.npz")
    Representation.from_features(ids[::-1], x[::-1] + 0.3 * rng.normal(size=x.shape)).to_npz(tmp_path / "b.npz")
    return tmp_path / "a.npz", tmp_path / "b.npz"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_required_keys(pair, capsys):
    code, out, _ = run(capsys, "align", *pair, "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("n_stimuli", "pearson", "spearman", "triplet"):
        assert key in data
    assert data["n_stimuli"] == 10 and data["ties"] == "half" and data["similarity"] == "cosine"


def test_all_metrics_with_bootstrap(pair, capsys):
    code, out, _ = run(capsys, "align", *pair, "--metric", "pearson,spearman,kendall,triplet",
                       "--bootstrap", "30", "--similarity", "euclidean", "--ties", "exclude", "--json")
    data = json.loads(out)
    assert code == 0 and set(data["ci"]) == {"pearson", "spearman", "kendall", "triplet"}
    assert data["similarity"] == "euclidean" and data["ties"] == "exclude"


def test_table_output(pair, capsys):
    code, out, _ = run(capsys, "align", *pair, "--bootstrap", "20")
    assert code == 0
    assert "10 stimuli compared" in out and "triplet" in out and "95% CI" in out


def test_kind_override_flips_the_sign(tmp_path, capsys, rng):
    ids = [f"s{i}" for i in range(8)]
    x = rng.normal(size=(8, 3))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    lines = [",".join(["", *ids])] + [",".join([i, *map(str, r)]) for i, r in zip(ids, d)]
    (tmp_path / "d.csv").write_text("\n".join(lines))
    Representation.from_features(ids, x).to_npz(tmp_path / "f.npz")
    _, out, _ = run(capsys, "align", tmp_path / "d.csv", tmp_path / "f.npz", "--similarity", "euclidean", "--json")
    assert json.loads(out)["triplet"] == 1.0  # detected as dissimilarity
    _, out, _ = run(capsys, "align", tmp_path / "d.csv", tmp_path / "f.npz", "--similarity", "euclidean",
                    "--kind-a", "similarity", "--json")
    assert json.loads(out)["triplet"] == 0.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.csv", "b.npz"], "missing.csv: no such file"),
        (["a.npz"], "needs two inputs"),
        (["a.npz", "b.npz", "--metric", "pearsn"], "Did you mean 'pearson'"),
        (["a.npz", "c.npz"], "do not match"),
    ],
)
def test_bad_input_exits_2_with_message(pair, tmp_path, capsys, args, message, rng):
    Representation.from_features([f"t{i}" for i in range(10)], rng.normal(size=(10, 2))).to_npz(tmp_path / "c.npz")
    argv = [str(tmp_path / a) if a.endswith((".csv", ".npz")) else a for a in args]
    code, out, err = run(capsys, "align", *argv)
    assert code == 2 and out == ""
    assert message in err and err.startswith("repalign align: error:")


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["align", "a", "b", "--ties", "sometimes"])
    assert exc.value.code == 2


def test_example_runs_offline(tmp_path, capsys):
    code, out, _ = run(capsys, "align", "--example", "--example-dir", tmp_path / "ex", "--json")
    assert code == 0 and json.loads(out)["n_stimuli"] == 60
    assert (tmp_path / "ex" / "human_similarity.npz").is_file()


def test_intersect_flag(tmp_path, capsys, rng):
    Representation.from_features([f"s{i}" for i in range(10)], rng.normal(size=(10, 3))).to_npz(tmp_path / "a.npz")
    Representation.from_features([f"s{i}" for i in range(4, 14)], rng.normal(size=(10, 3))).to_npz(tmp_path / "b.npz")
    code, out, _ = run(capsys, "align", tmp_path / "a.npz", tmp_path / "b.npz", "--intersect", "--json")
    assert code == 0 and json.loads(out)["n_stimuli"] == 6

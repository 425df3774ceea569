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


def test_report_written_line_comes_after_the_progress_line(tmp_path, monkeypatch, caplog, capsys):
    import logging

    from repalign import _progress

    monkeypatch.setenv(_progress.MODE_ENV, "plain")
    monkeypatch.setenv(_progress.INTERVAL_ENV, "0")
    pd.DataFrame({"model": ["a", "b"], "pearson": [0.1, 0.2]}).to_csv(tmp_path / "results.csv", index=False)
    order = []
    real_write = _progress.Progress._emit

    def emit(self, now, *, final):
        real_write(self, now, final=final)
        if final:
            order.append("progress done")

    monkeypatch.setattr(_progress.Progress, "_emit", emit)
    handler = logging.Handler()
    handler.emit = lambda record: order.append(record.getMessage()) if "report written" in record.getMessage() else None
    logging.getLogger("repalign").addHandler(handler)
    caplog.set_level(logging.INFO, logger="repalign")
    try:
        build_report(tmp_path / "results.csv", tmp_path / "report")
    finally:
        logging.getLogger("repalign").removeHandler(handler)
    assert order[-1].startswith("report written to") and "progress done" in order[:-1], order


def test_fewshot_cells_carry_their_interval_over_seeds(tmp_path):
    """Few-shot cells of the model table name their 95% Student-t interval over seeds (hover)."""
    from repalign.transfer.summary import t_interval

    results = pd.DataFrame({"model": ["a", "b", "c"], "pearson": [0.1, 0.2, 0.3]})
    results.to_csv(tmp_path / "results.csv", index=False)
    rows = [(m, "cifar10", "linear", 1, s, acc) for m, accs in (("a", (10.0, 14.0, 12.0)), ("b", (20.0, 30.0, 25.0)),
                                                                 ("c", (40.0, 40.0, 41.0))) for s, acc in enumerate(accs)]
    pd.DataFrame(rows, columns=["model", "dataset", "head", "shots", "seed", "accuracy"]).to_csv(tmp_path / "fewshot.csv", index=False)
    html = unescape(build_report(tmp_path, tmp_path / "report").html.read_text(encoding="utf-8"))
    lo, hi = t_interval([20.0, 30.0, 25.0], bounds=(0.0, 100.0))
    assert f'title="95% CI {lo:.2f}–{hi:.2f} over 3 seeds"' in html
    assert "hover a few-shot cell for its 95% CI over seeds" in html


def test_a_small_run_s_explorer_names_its_points_on_the_page():
    """With a dozen models or fewer the explorer writes each model's name beside its point (as the
    static figure does); a larger run keeps hover only, where labels would pile up."""
    from repalign.report.interactive import explorer_plot
    from repalign.report.overview import color_models

    for n, labelled in ((3, True), (30, False)):
        frame = pd.DataFrame({"model": [f"timm:model_{i}" for i in range(n)], "pearson": [i / n for i in range(n)],
                              "fewshot_linear_1": [10.0 + i for i in range(n)]})
        colors, palette, _ = color_models(frame)
        data, _ = explorer_plot(frame, ["pearson"], ["fewshot_linear_1"], colors=colors, palette=palette)
        modes = {t["mode"] for t in data}
        assert modes == ({"markers+text"} if labelled else {"markers"}), (n, modes)
        if labelled:  # the label is the id without its source; hover still names the full id
            assert all(t["texttemplate"] == "%{customdata}" and "%{text}" in t["hovertemplate"] for t in data)
            assert sorted(s for t in data for s in t["customdata"]) == sorted(f"model_{i}" for i in range(n))
            assert sorted(s for t in data for s in t["text"]) == sorted(frame["model"])

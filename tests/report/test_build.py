"""The report: files written, self-contained HTML, numbers equal to the statistics module."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from repalign import InputError
from repalign.stats import correlation_table

pytest.importorskip("matplotlib")

from repalign.report import build_report, load_run  # noqa: E402
from repalign.report.render import Table, table_latex, table_markdown  # noqa: E402

from .conftest import make_run  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report(built_report):
    return built_report


def _without_bundle(text: str) -> str:
    """The page without the inlined Plotly library (whose source mentions URLs it never fetches here)."""
    start = text.index('<script id="plotly-bundle">')
    return text[:start] + text[text.index("</script>", start) + len("</script>") :]


def test_files_and_self_contained_html(report):
    folder, out = report
    assert out.folder == folder / "report" and out.n_models == 60
    text = out.html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>Test report</title>" in text
    # nothing is fetched: the library is inlined (one copy), and outside it no external URL in
    # src/href, no script with a src, no stylesheet link (the browser test checks the requests)
    assert text.count('<script id="plotly-bundle">') == 1 and "plotly.js v" in text
    page = _without_bundle(text)
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", page)
    assert "<link" not in page and not re.search(r"<script[^>]*\ssrc=", text)
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts.count(' id="report-script"') == 1
    assert all(t == ' id="report-script"' or t.startswith(' type="application/json" class="plot-spec"') for t in scripts)
    # every interactive figure on the page has a PNG twin on disk (five analysis figures and the explorer)
    assert sorted(re.findall(r'data-target="([^"]+)-plot"', text)) == sorted(out.figures) and len(out.figures) == 6
    for key, path in out.figures.items():
        assert path.read_bytes().startswith(PNG_MAGIC) and f'id="{key}"' in text and f'data-target="{key}-plot"' in text
    for heading in (
        "Few-shot transfer",
        "Robustness",
        "Is the relationship U-shaped?",
        "Do the alignment metrics agree?",
        "Models",
        "Provenance",
    ):
        assert heading in text
    # every model is named on the page (the table), and the table is sortable
    assert all(f"model_{i:03d}" in page for i in range(60)) and 'class="models"' in page


def test_figures_need_no_pyplot():
    """No pyplot, so no global backend or figure state is touched (checked in a fresh
    interpreter: other test dependencies import pyplot themselves)."""
    code = (
        "import sys; from repalign.report.figures import new_figure, to_png; "
        "fig = new_figure(2, 1); fig.subplots().plot([0, 1]); png = to_png(fig); "
        "print(png[:4] == b'\\x89PNG', 'matplotlib.pyplot' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "MPLBACKEND": ""}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.stdout.split() == ["True", "False"], res.stderr[-2000:]


def test_tables_match_the_statistics(report):
    folder, out = report
    frame = load_run(folder).results
    outcomes = [
        "imagenet_a_top1",
        "imagenet_a_top5",
        "imagenet_r_top1",
        "imagenet_r_top5",
        "sketch_top1",
        "sketch_top5",
    ]
    expect = correlation_table(frame, ["pearson", "spearman", "triplet"], outcomes, covariates="imagenet_top1")
    written = pd.read_csv(out.tables["table_partial"]["csv"])
    pd.testing.assert_frame_equal(
        written[["alignment", "outcome", "n", "r", "p_val"]],
        expect[["alignment", "outcome", "n", "r", "p_val"]],
        check_exact=False,
        rtol=1e-12,
    )
    html = out.html.read_text(encoding="utf-8")
    first = expect.iloc[0]
    assert f"{first.r:.3f}".replace("-", "−") in html
    tex = out.tables["table_partial"]["tex"].read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "ImageNet-A top-1" in tex and "$\\rho$" in tex
    groups = pd.read_csv(out.tables["table_groups_1"]["csv"])
    assert set(groups["group"]) == {"high", "mid", "low"} and groups["models"].str.count(";").eq(4).all()
    md = out.markdown.read_text(encoding="utf-8")
    for key in out.figures:
        assert f"(figures/{key}.png)" in md
    assert "| Pearson ρ | Spearman ρ | Triplet |" in md


def test_single_table_defaults_and_skips(tmp_path):
    folder = make_run(tmp_path / "run", n_models=20)
    results = load_run(folder).results
    single = tmp_path / "results.csv"
    results.drop(columns=[c for c in results.columns if c.startswith("fewshot_")]).to_csv(single, index=False)
    out = build_report(single, k=7)  # 3 x 7 > 20 models: the groups are left out, with a note
    assert out.folder == tmp_path / "results_report"
    assert any("high/mid/low" in n and "smaller k" in n for n in out.notes)
    html = out.html.read_text(encoding="utf-8")
    assert 'class="skipped"' in html and "Few-shot transfer" not in html
    assert "figure_scatter" in out.figures  # falls back to ImageNet-A top-1
    nocov = build_report(single, tmp_path / "nocov", covariate="none", outcomes="imagenet_a_*", alignments="pearson")
    assert "table_partial" not in nocov.tables and "table_metrics" not in nocov.tables
    with pytest.raises(InputError, match="alignment: no column given"):
        build_report(single, tmp_path / "x", alignments=[])
    bare = tmp_path / "bare.csv"
    results[["model", "imagenet_a_top1"]].to_csv(bare, index=False)
    with pytest.raises(InputError, match="no alignment column"):
        build_report(bare, tmp_path / "z")
    with pytest.raises(InputError, match="covariate 'nope'"):
        build_report(single, tmp_path / "y", covariate="nope")


def test_renderers_escape():
    cells = pd.DataFrame({"a_b": ["1 & 2", "50%"]}, index=["x|y", "<z>"])
    t = Table("t", "Table 9", "T_itle", "cap $", cells, cells, pd.DataFrame({"a_b": [True, False]}), notes=["n ~ 1"])
    tex = table_latex(t)
    assert "1 \\& 2" in tex and "50\\%" in tex and "a\\_b" in tex and "\\textbf{1 \\& 2}" in tex and "cap \\$" in tex
    md = table_markdown(t)
    assert "x\\|y" in md and "**1 & 2**" in md
    from repalign.report.render import table_html

    assert "&lt;z&gt;" in table_html(t) and 'class="sig"' in table_html(t)

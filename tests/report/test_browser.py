"""Render the report in a real headless browser (Debian's chromium, driven by Playwright) and
check what it drew, that its interactive parts respond, and that it fetches nothing.

Skipped, with the reason, when the ``playwright`` package or a chromium binary is missing.
CI installs them with ``pip install playwright`` and ``apt-get update && apt-get install -y chromium``
(no browser download: Playwright drives the system chromium through ``executable_path``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("plotly")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

BROWSER = os.environ.get("REPALIGN_CHROMIUM") or next(
    (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome", "chrome") if shutil.which(b)), None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BROWSER is None, reason="no chromium binary (apt-get install -y chromium, or set REPALIGN_CHROMIUM)"),
]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _open(browser, html: Path, shots: Path | None = None):
    """The page, after every plot is drawn; the URLs it requested and the errors it raised."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(html.as_uri())
    page.wait_for_function(
        "document.querySelectorAll('.plot').length === document.querySelectorAll('.plot[data-rendered]').length",
        timeout=60_000,
    )
    return page, requests, errors


def test_report_renders_responds_and_fetches_nothing(browser, built_report, tmp_path):
    _, out = built_report
    page, requests, errors = _open(browser, out.html)
    assert errors == []
    assert requests == [out.html.as_uri()]  # the page itself and nothing else
    n_plots = page.eval_on_selector_all(".plot", "e => e.length")
    assert n_plots >= 6 and page.eval_on_selector_all(".plot .main-svg", "e => e.length") >= n_plots
    for text in ("Summary", "Few-shot transfer", "Robustness", "Provenance", "Table 1.", "Figure 1."):
        assert page.get_by_text(text, exact=False).count() > 0

    # hover: the scatter names the model under the pointer
    point = page.locator("#figure_scatter-plot .scatterlayer .trace .points path").first
    point.scroll_into_view_if_needed()
    point.hover(force=True)
    page.wait_for_selector("#figure_scatter-plot .hoverlayer .hovertext", timeout=5_000)
    hover = page.text_content("#figure_scatter-plot .hoverlayer")
    assert "model_" in hover

    # click a legend entry: the trace is hidden (Plotly's legend toggling)
    plot = "#figure_fewshot_partial-plot"
    before = page.eval_on_selector(plot, "e => e.data.filter(t => t.visible === 'legendonly').length")
    page.locator(f"{plot} .legend .traces").first.click()
    page.wait_for_function(
        f"document.querySelector('{plot}').data.some(t => t.visible === 'legendonly')", timeout=5_000
    )
    assert before == 0

    # the model table sorts on a click and filters on typing
    table = "#models-table"
    page.locator(f"{table} thead th", has_text="Triplet").first.click()
    values = page.eval_on_selector_all(
        f"{table} tbody tr", "rows => rows.map(r => Number(r.cells[Array.from(r.parentNode.parentNode.tHead.rows[0].cells)"
        ".findIndex(c => c.textContent.trim().startsWith('Triplet'))].getAttribute('data-v')))",
    )
    assert values == sorted(values) and len(values) == 60
    page.fill(f"{table}-filter", "model_00")
    assert page.inner_text(f"{table}-count") == "10"
    assert page.eval_on_selector_all(f"{table} tbody tr:not([hidden])", "e => e.length") == 10

    shots = Path(os.environ.get("REPALIGN_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "report.png"), full_page=True)
    import numpy as np
    from PIL import Image

    with Image.open(shots / "report.png") as img:
        pixels = np.asarray(img.convert("RGB"), dtype=int)
    # a rendered page, not a blank one: text, and the figures' Okabe-Ito blue (#0072B2)
    assert (pixels.sum(axis=2) < 200).sum() > 2000
    blue = np.abs(pixels - np.array([0, 114, 178])).max(axis=2) < 30
    assert blue.sum() > 500
    page.close()


def test_compact_report_in_the_browser(browser, tmp_path):
    from repalign.report import build_report

    from .conftest import make_run

    folder = make_run(tmp_path / "small", n_models=4)
    out = build_report(folder)
    page, requests, errors = _open(browser, out.html)
    assert errors == [] and requests == [out.html.as_uri()]
    text = page.inner_text("main")
    assert "compact report" in text and "left out" not in text.lower()
    assert all(f"model_{i:03d}" in text for i in range(4))
    page.close()


def test_explorer_menu_and_hover_name_the_columns(browser, built_report):
    """Picking another outcome from the explorer's y menu redraws it, and the tooltip names the
    model and the two columns shown (not a bare x / y)."""
    _, out = built_report
    page, _, errors = _open(browser, out.html)
    plot = "#figure_explorer-plot"
    page.locator(f"{plot} .updatemenu-header-group").nth(1).click()
    page.wait_for_timeout(600)  # the list fades in; a long one scrolls inside the plot, so pick an entry near its top
    page.locator(f"{plot} .updatemenu-dropdown-button", has_text="5-shot, linear probe").first.click()
    page.wait_for_function(f"document.querySelector('{plot}').layout.yaxis.title.text === '5-shot, linear probe (%)'", timeout=5_000)
    page.wait_for_timeout(600)  # the points move to their new places
    point = page.locator(f"{plot} .scatterlayer .trace .points path").nth(3)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(f"{plot} .hoverlayer .hovertext", timeout=5_000)
    hover = page.text_content(f"{plot} .hoverlayer")
    assert "model_" in hover and "Pearson ρ:" in hover and "5-shot, linear probe (%):" in hover
    assert errors == []
    page.close()


def test_similarity_panel_titles_clear_the_toolbar(browser, tmp_path):
    """The plot toolbar (shown on hover, top right) must not cover the last panel's title: it hid
    'timm:resnet18' in a three-model study's similarity figure."""
    from repalign.report import build_report

    from .test_run_folder import _study_folder

    folder, _ = _study_folder(tmp_path)
    out = build_report(folder, tmp_path / "report", k=2)
    page, _, errors = _open(browser, out.html)
    assert errors == []
    plot = page.locator("#figure_similarity_peterson2018_animals .plot")
    plot.hover()
    bar = plot.locator(".modebar").bounding_box()
    titles = [t.bounding_box() for t in plot.locator(".annotation-text").all()]
    assert bar is not None and len(titles) == 4
    for box in titles:
        apart = (box["y"] >= bar["y"] + bar["height"] or box["y"] + box["height"] <= bar["y"]
                 or box["x"] >= bar["x"] + bar["width"] or box["x"] + box["width"] <= bar["x"])
        assert apart, (box, bar)
    page.close()

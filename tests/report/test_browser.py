"""Render the report in a real headless browser (Debian's chromium) and check what it drew.

Skipped when no chromium binary is found. CI installs it with
``apt-get update && apt-get install -y chromium``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

BROWSER = next(
    (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome", "chrome") if shutil.which(b)), None
)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium/chrome binary on PATH")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
]

# Appended to a *copy* of the page (the report itself has no script): after the load event,
# record how many images decoded and what the page says, so --dump-dom can report them.
PROBE = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 100 && i.naturalHeight > 50; });
  var b = document.body;
  b.setAttribute("data-images", String(imgs.length));
  b.setAttribute("data-decoded", String(ok.length));
  b.setAttribute("data-width", String(document.querySelector("main").getBoundingClientRect().width | 0));
  b.setAttribute("data-tables", String(document.querySelectorAll("table").length));
});
</script></body>"""


def _chromium(args: list[str], profile: Path) -> str:
    proc = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_report_renders_in_chromium(tmp_path, built_report):
    _, out = built_report
    page = out.html.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE, 1), encoding="utf-8")
    dom = _chromium(["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], tmp_path / "profile1")
    attrs = dict(re.findall(r'data-(images|decoded|width|tables)="(\d+)"', dom))
    assert attrs, dom[:500]
    assert int(attrs["images"]) == len(out.figures) == int(attrs["decoded"])
    assert int(attrs["tables"]) >= 6 and int(attrs["width"]) > 600
    for text in ("Summary", "Few-shot transfer", "Robustness", "Table 1.", "Figure 1."):
        assert text in dom
    shot = tmp_path / "shot.png"
    _chromium(["--window-size=1200,2400", f"--screenshot={shot}", out.html.as_uri()], tmp_path / "profile2")
    import numpy as np
    from PIL import Image

    with Image.open(shot) as img:
        pixels = np.asarray(img.convert("RGB"), dtype=int)
    # a rendered page, not a blank one: text, and the figures' Okabe-Ito blue (#0072B2) lines
    assert (pixels.sum(axis=2) < 200).sum() > 2000  # dark (text) pixels
    blue = np.abs(pixels - np.array([0, 114, 178])).max(axis=2) < 30
    assert blue.sum() > 500

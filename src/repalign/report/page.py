"""The report page from Jinja2 templates (``templates/``): layout apart from the numbers.

``report.html.j2`` (with ``macros.html.j2``, ``report.css``, ``report.js``) makes the one
self-contained HTML file: CSS, the report's script and the Plotly bundle are inlined, so
the page opens offline and fetches nothing. ``report.md.j2`` makes the Markdown twin.
Jinja2 comes with the ``plot`` extra (imported when a page is rendered).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from .._validation import optional_import

__all__ = ["plotly_bundle", "render_html", "render_macro", "render_markdown"]


@functools.lru_cache(maxsize=2)
def _environment(html: bool) -> Any:
    jinja2 = optional_import("jinja2", extra="plot", purpose="Rendering the report page")
    return jinja2.Environment(
        loader=jinja2.PackageLoader("repalign.report", "templates"),
        autoescape=html,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def _asset(name: str) -> str:
    return resources.files("repalign.report").joinpath("templates", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def plotly_bundle() -> str:
    """The minified plotly.js shipped inside the ``plotly`` Python package (no download).

    Examples
    --------
    >>> "plotly.js" in plotly_bundle()[:200]  # doctest: +SKIP
    True
    """
    optional_import("plotly", extra="plot", purpose="Interactive report figures")
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def render_macro(name: str, item: Any) -> str:
    """One item's HTML through its template macro (e.g. ``render_macro("table", t)``)."""
    module = _environment(True).get_template("macros.html.j2").module
    return str(getattr(module, name)(item))


def render_html(context: dict[str, Any], *, interactive: bool) -> str:
    """The whole page. ``interactive``: inline the Plotly bundle (needed when the page has plots)."""
    from markupsafe import Markup

    env = _environment(True)
    values = dict(context)
    values["css"] = Markup(_asset("report.css"))
    # The script and the bundle are code, not text: inlined as they are.
    values["script"] = Markup(_asset("report.js"))
    values["plotly_js"] = Markup(plotly_bundle()) if interactive else ""
    return env.get_template("report.html.j2").render(**values)


def render_markdown(context: dict[str, Any], markdown_table: Any) -> str:
    """The Markdown twin; ``markdown_table(table)`` renders one table."""
    text = _environment(False).get_template("report.md.j2").render(**context, markdown_table=markdown_table)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text

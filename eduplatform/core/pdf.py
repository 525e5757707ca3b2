"""PDF exports of printed layouts — forms, base tables (基表), review records — with WeasyPrint.

The PDF is the page's printed layout: an HTML template (usually extending
``core/print_document.html``) styled by the one print stylesheet ``core/static/core/print.css``, the
same file the browser uses when the page is printed. Every page repeats the document's title,
region, period and version (``@page`` margin boxes); a wide table goes on a landscape page
(``class="print-wide"``), or the whole document with ``landscape=True``.

Fonts: the CJK text is set in Noto Sans CJK SC (Debian's ``fonts-noto-cjk``, installed by
``scripts/install-system-packages.sh``) and WeasyPrint embeds the subset of every font it uses, so
the file reads the same on a computer without those fonts. WeasyPrint needs Pango
(``libpango-1.0-0``, ``libpangoft2-1.0-0``), installed by the same script.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

PRINT_CSS = "core/print.css"
LANDSCAPE = "@page { size: A4 landscape; }"


@cache
def _print_css_path() -> str:
    found = finders.find(PRINT_CSS)
    if not found:
        raise FileNotFoundError(PRINT_CSS)
    return str(Path(found))


def render_document(template_name: str, context: dict, *, landscape: bool = False):
    """The laid-out document (``weasyprint.Document``: its pages, their sizes) — what ``render_pdf``
    writes; tests read page sizes and text from it."""
    # Imported here: WeasyPrint loads Pango when imported, and only the PDF exports need it.
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    html = render_to_string(template_name, {**context, "landscape": landscape})
    fonts = FontConfiguration()
    stylesheets = [CSS(filename=_print_css_path(), font_config=fonts)]
    if landscape:
        stylesheets.append(CSS(string=LANDSCAPE, font_config=fonts))
    # base_url: relative links (images, static files) resolve against the static files on disk.
    return HTML(string=html, base_url=str(Path(_print_css_path()).parent)).render(
        stylesheets=stylesheets, font_config=fonts)


def render_pdf(template_name: str, context: dict, *, landscape: bool = False) -> bytes:
    """The template rendered with ``context`` as a PDF (bytes starting with ``%PDF``), fonts embedded."""
    return render_document(template_name, context, landscape=landscape).write_pdf()

"""PDF exports (core/pdf.py, WeasyPrint): a real PDF, its CJK font embedded, its title on it, and
a table too wide for portrait on a landscape page — the 基表 page's 导出PDF and the generic layout."""

from __future__ import annotations

import re
import zlib

from django.utils import timezone

from eduplatform.core import pdf
from eduplatform.stats.basetables.basic import BaseTable, Finding
from eduplatform.stats.snapshots import take_snapshot

COUNTY_A = "440106000000"  # 天河区 in tests/world.py


def inflated(content: bytes) -> bytes:
    """The PDF with every compressed stream (object streams: fonts, outline, metadata) inflated."""
    parts = [content]
    for match in re.finditer(rb"stream\r?\n", content):
        try:
            parts.append(zlib.decompressobj().decompress(content[match.end():]))
        except zlib.error:
            continue
    return b"".join(parts)


def embedded_fonts(content: bytes) -> set[str]:
    """Names of the fonts embedded (a subset prefix ABCDEF+ before the name, a font file present)."""
    raw = inflated(content)
    assert re.search(rb"/FontFile[23]?\s", raw), "no font file embedded"
    return {name.decode() for name in re.findall(rb"/BaseFont\s*/[A-Z]{6}\+([^\s/<>\[\]]+)", raw)}


def pdf_string(text: str) -> bytes:
    """How WeasyPrint writes a non-ASCII string (title, outline): UTF-16 with its byte-order mark, in hex."""
    return b"<" + ("\ufeff" + text).encode("utf-16-be").hex().encode() + b">"


def page_text(document) -> str:
    """The text laid out on the document's pages (WeasyPrint's boxes)."""
    found: list[str] = []

    def walk(box) -> None:
        if getattr(box, "text", None):
            found.append(box.text)
        for child in getattr(box, "children", ()):
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    return "".join(found)


def _tables() -> list[BaseTable]:
    narrow = BaseTable("基础基311", "学生数", ["合计", "男", "女"], [("合计", [312, 160, 152])])
    ages = [f"{a}岁" for a in range(5, 25)]
    wide = BaseTable("基础基313", "学生年龄情况", ["合计", *ages], [("合计", [21] + [1] * 20)])
    return [narrow, wide]


CONTEXT = {"print_title": "基础基表 · 天河区", "print_region": "天河区", "print_period": "统计时点 2026-09-01",
           "print_version": "2026学年教育统计，第 2 版", "wide_columns": 8,
           "findings": [Finding("V1 合计 = 男 + 女", True, "")]}


def test_a_pdf_embeds_its_cjk_font_and_says_its_title_region_period_and_version():
    content = pdf.render_pdf("stats/base_tables_pdf.html", {**CONTEXT, "tables": _tables()})
    assert content.startswith(b"%PDF-")
    assert any(name.startswith("Noto-Sans-CJK") for name in embedded_fonts(content)), embedded_fonts(content)
    assert pdf_string("基础基表 · 天河区") in inflated(content)  # the document's title (metadata, outline)
    text = page_text(pdf.render_document("stats/base_tables_pdf.html", {**CONTEXT, "tables": _tables()}))
    for said in ("基础基表 · 天河区", "统计时点 2026-09-01", "第 2 版", "学生年龄情况", "312"):
        assert said in text, said


def test_a_wide_table_prints_on_a_landscape_page_and_a_narrow_one_in_portrait():
    narrow, wide = _tables()
    document = pdf.render_document("stats/base_tables_pdf.html", {**CONTEXT, "tables": [narrow, wide]})
    sizes = [(page.width, page.height) for page in document.pages]
    assert sizes[0][0] < sizes[0][1]  # the header, the findings and 311: A4 portrait
    assert sizes[-1][0] > sizes[-1][1]  # 313 with 21 columns: A4 landscape
    assert round(sizes[-1][0] * 0.75) == 842 and round(sizes[-1][1] * 0.75) == 595  # CSS px → pt: A4
    # The whole document in landscape when asked.
    everything = pdf.render_document("stats/base_tables_pdf.html", {**CONTEXT, "tables": [narrow]}, landscape=True)
    assert all(page.width > page.height for page in everything.pages)


def test_the_base_table_page_prints_and_exports_a_pdf(client, world):
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    client.force_login(world.user("county_a_stat"))
    url = f"/statistics/snapshots/{snapshot.pk}/tables/?region={COUNTY_A}"
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200, page[-3000:]
    assert 'id="print"' in page and 'id="export-pdf"' in page and "&format=pdf\"" in page
    assert 'data-testid="print-header"' in page and "core/print.css" in page
    assert f"第 {snapshot.version} 版" in page

    response = client.get(url + "&format=pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and "filename*=UTF-8''" in response["Content-Disposition"]
    assert any(name.startswith("Noto-Sans-CJK") for name in embedded_fonts(response.content))
    assert pdf_string("基础基表 · 天河区") in inflated(response.content)

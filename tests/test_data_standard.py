"""The data standard is generated from the resource registry, the code tables and the OpenAPI
document: public, free of records, and never written twice — a field added to a resource definition
shows in the page, the workbook and the PDF without touching anything else."""

from __future__ import annotations

import dataclasses
import io

import pytest
from django.test import Client
from python_calamine import CalamineWorkbook

from eduplatform.core import pdf
from eduplatform.exchange import resources as registry
from eduplatform.exchange import standard as data_standard
from eduplatform.exchange.resources import ResourceField
from tests.test_pdf import page_text
from tests.world import LEAK_MARKER_B

NEW_FIELD = ResourceField("boarding_capacity_xyz", "寄宿床位数（测试新增）", "code", required=True,
                          code_table="gender_gbt2261_1", personal=True, help="测试用的说明文字", example="7")


@pytest.fixture
def statistics_with_a_new_field():
    """The statistics resource as registered, with one more field; the registry restored after."""
    original = registry.get("statistics")
    registry._RESOURCES["statistics"] = dataclasses.replace(original, fields=(*original.fields, NEW_FIELD))
    yield
    registry._RESOURCES["statistics"] = original


def test_the_page_is_public_lists_every_resource_and_holds_no_records(world):
    response = Client().get("/exchange/standard/")
    assert response.status_code == 200
    body = response.content.decode()
    for resource in registry.all_resources():
        assert f'id="resource-{resource.key}"' in body
        for f in resource.fields:
            assert f"<code>{f.name}</code>" in body and f.label in body
    assert LEAK_MARKER_B not in body and world.school_a1.name not in body
    # Every example request the standard promises: a token, a list, the change feed.
    assert "grant_type=client_credentials" in body and "/api/v1/changes?resources=" in body
    if any(r.writable for r in registry.all_resources()):  # the batch upsert example, once records are writable
        assert "Idempotency-Key" in body


def test_a_field_added_to_a_resource_shows_in_the_page_the_workbook_and_the_pdf(db, statistics_with_a_new_field):
    body = Client().get("/exchange/standard/").content.decode()
    section = body[body.index('id="resource-statistics"'):]
    section = section[:section.index("</table>")]
    assert "<code>boarding_capacity_xyz</code>" in section and "寄宿床位数（测试新增）" in section
    assert 'href="/exchange/standard/codes/gender_gbt2261_1/"' in section  # its code table, linked to the values
    assert "是（脱敏）" in section and "测试用的说明文字" in section
    # The code table it refers to is listed, and its page (public) shows the values.
    assert "statistics.boarding_capacity_xyz" in body
    codes = Client().get("/exchange/standard/codes/gender_gbt2261_1/")
    assert codes.status_code == 200 and "男" in codes.content.decode()

    workbook = Client().get("/exchange/standard/?format=xlsx")
    assert workbook.status_code == 200
    with CalamineWorkbook.from_filelike(io.BytesIO(workbook.content)) as book:
        rows = book.get_sheet_by_name("字段").to_python()
        codes = book.get_sheet_by_name("代码").to_python()
    assert ["statistics", "boarding_capacity_xyz", "寄宿床位数（测试新增）", "代码", "是", "gender_gbt2261_1", "是", "是",
            "测试用的说明文字", "7"] in rows
    assert any(r[0] == "gender_gbt2261_1" for r in codes)

    standard = data_standard.build()
    text = page_text(pdf.render_document("exchange/standard/document.html", {
        "standard": standard, "print_title": standard.title, "print_region": "广东省"}))
    assert "boarding_capacity_xyz" in text and "寄宿床位数（测试新增）" in text
    download = Client().get("/exchange/standard/?format=pdf")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")


def test_the_fingerprint_changes_with_the_definitions(db):
    before = data_standard.build().fingerprint
    original = registry.get("statistics")
    registry._RESOURCES["statistics"] = dataclasses.replace(original, fields=(*original.fields, NEW_FIELD))
    try:
        assert data_standard.build().fingerprint != before
    finally:
        registry._RESOURCES["statistics"] = original
    assert data_standard.build().fingerprint == before


def test_routes_come_from_the_openapi_document(db):
    standard = data_standard.build()
    codes = next(r for r in standard.resources if r.key == "codes")
    assert {(x.method, x.path) for x in codes.routes} == {("GET", "/api/v1/codes"), ("GET", "/api/v1/codes/{table_key}")}
    statistics = next(r for r in standard.resources if r.key == "statistics")
    assert ("GET", "/api/v1/statistics/live") in {(x.method, x.path) for x in statistics.routes}

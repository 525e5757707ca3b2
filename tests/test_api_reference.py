"""Read-only API resources: code tables with ETag/304, and statistics (live figures, snapshots, 基表)
read through the pages' selectors, in the pages' scope."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from eduplatform.standards.models import Code
from eduplatform.stats import basetables, selectors
from eduplatform.stats.snapshots import take_snapshot

COUNTY_A, COUNTY_B = "440106000000", "440104000000"


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_code_tables_answer_with_an_etag_and_304_while_unchanged(world):
    client = client_of(world.user("county_a_stat"))
    tables = client.get("/api/v1/codes")
    assert tables.status_code == 200
    listed = {t["table"]: t for t in tables.json()}
    assert listed["gender_gbt2261_1"]["codes"] == Code.objects.filter(table__key="gender_gbt2261_1").count()
    again = client.get("/api/v1/codes", HTTP_IF_NONE_MATCH=tables["ETag"])
    assert again.status_code == 304 and again.content == b""

    gender_gbt2261_1 = client.get("/api/v1/codes/gender_gbt2261_1")
    assert gender_gbt2261_1.status_code == 200
    assert {c["code"]: c["name"] for c in gender_gbt2261_1.json()["codes"]}["1"].startswith("男")
    tag = gender_gbt2261_1["ETag"]
    assert client.get("/api/v1/codes/gender_gbt2261_1", HTTP_IF_NONE_MATCH=tag).status_code == 304
    assert client.get("/api/v1/codes/gender_gbt2261_1", HTTP_IF_NONE_MATCH='"other"').status_code == 200
    # A changed table is a new tag: the client's copy is refreshed.
    code = Code.objects.filter(table__key="gender_gbt2261_1", code="9").first() or Code.objects.filter(table__key="gender_gbt2261_1").last()
    code.name += "（修订）"
    code.save()
    changed = client.get("/api/v1/codes/gender_gbt2261_1", HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200 and changed["ETag"] != tag

    missing = client.get("/api/v1/codes/no_such_table")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert Client().get("/api/v1/codes").status_code == 401


def test_live_figures_are_the_pages_figures_in_the_readers_scope(world):
    user = world.user("county_a_stat")
    client = client_of(user)
    live = client.get("/api/v1/statistics/live")
    assert live.status_code == 200
    body = live.json()
    assert body["region_code"] == COUNTY_A and body["snapshot_id"] is None
    from eduplatform.orgs.models import Region

    rows, total = selectors.region_overview(user, Region.objects.get(code=COUNTY_A))
    assert [r["name"] for r in body["rows"]] == [r.label for r in rows]
    assert body["total"]["figures"] == {k: float(total.cells.get(k, 0)) for k, *_ in selectors.OVERVIEW_COLUMNS}
    # Another county is not in reach; the province reads it.
    refused = client.get("/api/v1/statistics/live", {"region": COUNTY_B})
    assert refused.status_code == 403 and refused.json()["code"] == "scope.outside"
    assert "天河区" in refused.json()["detail"]  # names the caller's jurisdiction
    assert client.get("/api/v1/statistics/live", {"region": "449999999999"}).status_code == 404
    assert client_of(world.user("province")).get("/api/v1/statistics/live", {"region": COUNTY_B}).status_code == 200
    # The security auditor reads no records: refused, saying which right is missing.
    auditor = client_of(world.user("auditor")).get("/api/v1/statistics/live")
    assert auditor.status_code == 403 and "records.view" in auditor.json()["detail"]


def test_snapshots_and_their_base_tables_in_scope(world):
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    user = world.user("county_a_stat")
    client = client_of(user)
    listed = client.get("/api/v1/statistics/snapshots").json()
    assert [s["id"] for s in listed] == [snapshot.pk] and listed[0]["signed_off"] is False

    figures = client.get(f"/api/v1/statistics/snapshots/{snapshot.pk}/figures")
    assert figures.status_code == 200 and figures.json()["snapshot_id"] == snapshot.pk

    tables = client.get(f"/api/v1/statistics/snapshots/{snapshot.pk}/base-tables", {"series": "basic"})
    assert tables.status_code == 200
    from eduplatform.orgs.models import Region

    expected = basetables.generate(user, Region.objects.get(code=COUNTY_A), snapshot, series="basic")
    assert [t["code"] for t in tables.json()["tables"]] == [t.code for t in expected]
    assert tables.json()["series_name"] == "基础基"
    # A school of another county, or another county, is not found for this reader.
    assert client.get(f"/api/v1/statistics/snapshots/{snapshot.pk}/base-tables",
                      {"school": world.school_b1.school_code}).status_code == 404
    assert client.get(f"/api/v1/statistics/snapshots/{snapshot.pk}/base-tables",
                      {"region": COUNTY_B}).status_code == 403
    assert client.get("/api/v1/statistics/snapshots/999999/figures").status_code == 404

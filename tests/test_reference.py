"""Code tables and divisions: complete, idempotent, updated in place when a CSV changes."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from eduplatform.orgs.loading import load_divisions
from eduplatform.orgs.models import Region, RegionLevel
from eduplatform.standards.loading import load_code_tables, read_catalog
from eduplatform.standards.models import Code, CodeTable

REFERENCE = Path(settings.DATA_DIR) / "reference"


def csv_rows_per_table() -> Counter:
    counts: Counter = Counter()
    for entry in read_catalog(REFERENCE):
        with (REFERENCE / entry["file"]).open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        counts[entry["table"]] = sum(1 for r in rows if r.get("table", entry["table"]) == entry["table"])
    return counts


@pytest.mark.django_db
def test_the_province_has_21_cities_122_counties_and_1757_towns():
    levels = Counter(Region.objects.values_list("level", flat=True))
    assert levels == {RegionLevel.PROVINCE: 1, RegionLevel.CITY: 21, RegionLevel.COUNTY: 122, RegionLevel.TOWN: 1757}


@pytest.mark.django_db
def test_dongguan_towns_sit_directly_under_the_city():
    town = Region.objects.get(code="441900401000")  # 松山湖
    assert town.parent.code == "441900000000"
    assert town.path == "44/4419/441900401/"


@pytest.mark.django_db
def test_every_code_table_has_as_many_codes_as_its_csv_has_rows():
    expected = csv_rows_per_table()
    actual = Counter({t.key: t.codes.count() for t in CodeTable.objects.all()})
    assert actual == expected
    # Every CSV file in data/reference (but the divisions, the catalog and the synonyms) is in the catalog.
    files = {p.name for p in REFERENCE.glob("*.csv")} - {"gd_divisions.csv", "catalog.csv", "code_synonyms.csv"}
    assert files == {e["file"] for e in read_catalog(REFERENCE)}


@pytest.mark.django_db
def test_codes_keep_leading_zeros_and_letters():
    assert Code.objects.get(table__key="ethnicity", code="01").name == "汉族"
    assert Code.objects.get(table__key="id_type", code="A").name.startswith("护照")


@pytest.mark.django_db
def test_loading_twice_changes_nothing():
    before = (Code.objects.count(), Region.objects.count(), list(Code.objects.order_by("pk").values_list("pk", "name")))
    codes = load_code_tables()
    regions = load_divisions()
    assert not codes.changed
    assert (regions.created, regions.updated) == (0, 0)
    assert before == (Code.objects.count(), Region.objects.count(), list(Code.objects.order_by("pk").values_list("pk", "name")))


@pytest.mark.django_db
def test_a_changed_csv_updates_codes_in_place_and_never_duplicates(tmp_path):
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE, folder)
    path = folder / "ethnicity.csv"
    text = path.read_text(encoding="utf-8").replace("01,汉族,HA,", "01,汉族（修订）,HA,")
    path.write_text(text, encoding="utf-8")
    count = Code.objects.filter(table__key="ethnicity").count()
    report = load_code_tables(folder)
    assert report.codes_updated == 1 and report.codes_created == 0
    assert Code.objects.filter(table__key="ethnicity").count() == count
    assert Code.objects.get(table__key="ethnicity", code="01").name == "汉族（修订）"

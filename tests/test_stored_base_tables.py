"""基表 generated with the snapshot: the tables and findings stored for every region (province, city,
county, town) and every school of each series of the demo province equal ``basetables.generate`` and
``check`` computed on the fly, and the page reads them (who may read them:
test_stored_base_tables_scope.py)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from eduplatform.orgs.models import Region
from eduplatform.stats import basetables
from eduplatform.stats.basetables import HIGHER, VOCATIONAL, stored
from eduplatform.stats.models import BaseTableRun, SnapshotSchool, StoredBaseTables
from tests.test_base_tables import demo  # noqa: F401 (the module's demo province and its snapshot)

pytestmark = pytest.mark.django_db


def test_stored_tables_of_every_region_and_school_equal_the_tables_computed_on_the_fly(demo):  # noqa: F811
    officer, snapshot = demo.officer, demo.snapshot
    run = stored.store(snapshot)
    assert (run.status, run.done) == (BaseTableRun.DONE, run.total)
    assert run.subjects == StoredBaseTables.objects.filter(snapshot=snapshot).count()
    regions = {r.path: r for r in Region.objects.all()}
    seen: dict[str, set[str]] = {}
    for key in basetables.SERIES:
        for row in StoredBaseTables.objects.filter(snapshot=snapshot, series=key):
            tables, findings = stored.decode(row.content)
            if row.school_id is None:
                region = regions[row.region_path]
                seen.setdefault(key, set()).add(region.level)
                expected = basetables.generate(officer, region, snapshot, series=key)
                assert tables == expected, (key, region.name)
                assert findings == basetables.check(expected, officer, region, snapshot, series=key), (key, region.name)
            else:
                province = regions[stored.PROVINCE_PATH]
                expected = basetables.generate(officer, province, snapshot, school_id=row.school_id, series=key)
                assert tables == expected, (key, row.school_id)
                assert findings == basetables.check(expected, officer, province, snapshot, school_id=row.school_id,
                                                    series=key), (key, row.school_id)
    # Every level of the tree, in each series, and every school of the snapshot once, in its series.
    assert seen["basic"] == {"province", "city", "county", "town"}
    assert {"province", "city", "county"} <= seen[VOCATIONAL] and {"province", "city"} <= seen[HIGHER]
    schools = dict(SnapshotSchool.objects.filter(snapshot=snapshot).values_list("school_id", "stage_mask"))
    kept = dict(StoredBaseTables.objects.filter(snapshot=snapshot, school_id__isnull=False)
                .values_list("school_id", "series"))
    assert kept == {school: basetables.series_of_school(mask) for school, mask in schools.items()}
    # A second run (a retried job) leaves the same rows.
    before = dict(StoredBaseTables.objects.filter(snapshot=snapshot).values_list("pk", "content"))
    stored.store(snapshot)
    assert dict(StoredBaseTables.objects.filter(snapshot=snapshot).values_list("pk", "content")) == before


def test_the_page_reads_the_stored_tables_for_a_reader_who_sees_the_whole_region(client, demo):  # noqa: F811
    snapshot, county = demo.snapshot, demo.regions["county"]
    StoredBaseTables.objects.filter(snapshot=snapshot).delete()
    client.force_login(demo.officer)
    url = reverse("stats:base_tables", args=(snapshot.pk,))
    computed = client.get(url, {"region": county.code})
    assert computed.context["kept"] is False
    stored.store(snapshot)
    with CaptureQueriesContext(connection) as queries:
        kept = client.get(url, {"region": county.code})
    assert kept.context["kept"] is True and 'data-kept="yes"' in kept.content.decode()
    assert kept.context["tables"] == computed.context["tables"]
    assert kept.context["findings"] == computed.context["findings"]
    # A read, not the grouped queries over the snapshot's roll-ups.
    assert not [q for q in queries if "stats_snapshotstudent" in q["sql"] or "stats_snapshotstaff" in q["sql"]]
    # The stored content is what the page shows: a (tampered) stored cell appears on the page.
    row = StoredBaseTables.objects.get(snapshot=snapshot, series="basic", region_path=county.path, school_id=None)
    tables, findings = stored.decode(row.content)
    tables[0].rows[0][1][0] = 987654
    row.content = stored.encode(tables, findings)
    row.save()
    cache.clear()  # the page cache knows stored tables never change: this one was altered behind its back
    assert "987,654" in client.get(url, {"region": county.code}).content.decode()

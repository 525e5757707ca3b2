"""Who gets the 基表 stored with a snapshot: a reader limited to stages never (its tables are computed
without the other stages), a county only its own regions and schools, a school user only its own
school; taking a snapshot queues their generation for the worker."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from eduplatform.orgs.models import Region
from eduplatform.stats import basetables
from eduplatform.stats.basetables import HIGHER, VOCATIONAL, stored
from eduplatform.stats.models import BaseTableRun, StoredBaseTables
from eduplatform.stats.snapshots import take_snapshot
from tests.test_base_tables_by_level import COUNTY_A, levels  # noqa: F401 (county A with every series)

pytestmark = pytest.mark.django_db


def test_a_stage_limited_reader_never_gets_a_stored_table_with_other_stages_figures(client, world, levels):  # noqa: F811
    snapshot = levels.snapshot
    stored.store(snapshot)
    province, k12 = world.user("province"), world.user("k12_officer")
    for code in (COUNTY_A, "440100000000", "440000000000"):
        region = Region.objects.get(code=code)
        assert stored.read(province, region, snapshot, school_id=None, series=VOCATIONAL) is not None
        assert stored.read(k12, region, snapshot, school_id=None, series=VOCATIONAL) is None
        assert stored.read(k12, region, snapshot, school_id=world.school_a1.pk, series="basic") is None
    # The stored 中职基 tables count the vocational school's students; the K-12 officer's page does not.
    kept = {t.code: t for t in stored.read(province, Region.objects.get(code=COUNTY_A), snapshot, school_id=None,
                                               series=VOCATIONAL)[0]}
    assert kept["中职基311"].cell("合计", "合计") == 7
    client.force_login(k12)
    page = client.get(reverse("stats:base_tables", args=(snapshot.pk,)), {"region": COUNTY_A, "series": VOCATIONAL})
    assert page.status_code == 200 and page.context["kept"] is False
    shown = {t.code: t for t in page.context["tables"]}
    assert shown["中职基311"].cell("合计", "合计") == 0
    assert page.context["tables"] == basetables.generate(k12, Region.objects.get(code=COUNTY_A), snapshot,
                                                         series=VOCATIONAL)


def test_narrower_readers_get_only_what_they_may_see(client, world, levels):  # noqa: F811
    snapshot = levels.snapshot
    stored.store(snapshot)
    gz, tianhe = Region.objects.get(code="440100000000"), Region.objects.get(code=COUNTY_A)
    county_user, clerk = world.user("county_a_stat"), world.user("clerk_a1")
    # A county statistician: its county's tables, not the city's (which hold other counties' schools).
    assert stored.read(county_user, tianhe, snapshot, school_id=None, series="basic") is not None
    assert stored.read(county_user, gz, snapshot, school_id=None, series="basic") is None
    assert stored.read(world.user("county_b_stat"), tianhe, snapshot, school_id=world.school_a1.pk,
                       series="basic") is None
    # A school user: its own school's tables only, whatever it asks for.
    own = stored.read(clerk, tianhe, snapshot, school_id=None, series="basic")
    assert own is not None and own[0] == basetables.generate(clerk, tianhe, snapshot, series="basic")
    assert stored.read(clerk, tianhe, snapshot, school_id=world.college_a.pk, series=HIGHER) is None
    client.force_login(clerk)
    page = client.get(reverse("stats:base_tables", args=(snapshot.pk,)))
    assert page.context["kept"] is True
    assert dict(page.context["tables"][0].rows)["学校标识码"] == [world.school_a1.school_code]


def test_taking_a_snapshot_queues_the_generation_for_the_worker(world, django_capture_on_commit_callbacks, monkeypatch):
    from eduplatform.stats import tasks

    queued = []
    monkeypatch.setattr(tasks, "store_base_tables", SimpleNamespace(enqueue=queued.append))
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    assert queued == [snapshot.pk]
    assert BaseTableRun.objects.get(snapshot=snapshot).status == BaseTableRun.QUEUED
    stored.run_queued(snapshot.pk)  # what the worker does
    run = BaseTableRun.objects.get(snapshot=snapshot)
    assert run.status == BaseTableRun.DONE and run.subjects == StoredBaseTables.objects.filter(snapshot=snapshot).count()
    stored.run_queued(snapshot.pk)  # a second delivery of the job finds it done
    assert BaseTableRun.objects.get(snapshot=snapshot).finished_at == run.finished_at

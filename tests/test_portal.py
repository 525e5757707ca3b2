"""The public portal: published census figures by city and stage, open to everyone, with counts of
1–4 suppressed (and totals that would give a suppressed count away)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.portal import public
from eduplatform.stats.snapshots import publish_snapshot, record_census_signoff, take_snapshot
from eduplatform.students import services
from tests.census_support import signed_off_and_published
from tests.students_support import second_primary_in_county_a, student_row
from tests.test_rollups import committed


def _enrol(world, capture, school, seqs):
    county = world.user("county_a_stat")
    for seq in seqs:
        committed(capture, lambda seq=seq: services.enrol_student(actor=county, school=school, data=student_row(seq)))


def test_small_counts_are_suppressed_with_the_totals_that_would_reveal_them(client, world,
                                                                           django_capture_on_commit_callbacks):
    officer = world.user("province")
    _enrol(world, django_capture_on_commit_callbacks, world.school_a1, range(1, 4))  # 3 pupils in Guangzhou
    snapshot = take_snapshot(actor=officer, census_date=timezone.localdate())
    assert client.get("/public/").content.decode().count("尚无已公布的统计数据") == 1  # not yet published
    signed_off_and_published(snapshot, actor=officer)

    table = public.city_table(snapshot)
    guangzhou = next(r for r in table.rows if r.city == "广州市")
    primary = table.columns.index("小学")
    assert guangzhou.cells[primary] is None  # 3 → suppressed
    assert table.total.cells[primary] is None  # the province total (3) would give it away
    page = client.get("/public/").content.decode()  # anonymous
    assert "广州市" in page and '<td class="num">*</td>' in page and ">3<" not in page

    # A later version with 8 pupils is shown instead, in full.
    _enrol(world, django_capture_on_commit_callbacks, second_primary_in_county_a(), range(10, 15))
    signed_off_and_published(take_snapshot(actor=officer, census_date=timezone.localdate()), actor=officer)
    table = public.city_table(public.published_for(timezone.localdate().year))
    assert next(r for r in table.rows if r.city == "广州市").cells[primary] == 8 and table.total.cells[primary] == 8
    csv_text = client.get(f"/public/{timezone.localdate().year}.csv").content.decode("utf-8")
    assert csv_text.startswith("\ufeff地级市,") and "广州市," in csv_text and "全省," in csv_text


def test_only_the_province_office_publishes_and_only_once(world):
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    record_census_signoff(actor=world.user("province"), snapshot=snapshot)
    with pytest.raises(NotPermitted):
        publish_snapshot(actor=world.user("city_stat"), snapshot=snapshot)
    publish_snapshot(actor=world.user("province"), snapshot=snapshot)
    with pytest.raises(RecordInvalid):
        publish_snapshot(actor=world.user("province"), snapshot=snapshot)


def test_a_year_without_a_published_snapshot_is_not_found(client, world):
    take_snapshot(actor=world.user("province"), census_date=timezone.localdate())  # taken, not published
    assert client.get(f"/public/{timezone.localdate().year}/").status_code == 404
    assert client.get(f"/public/{timezone.localdate().year}.csv").status_code == 404


def test_publishing_from_the_snapshot_page(client, world):
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    record_census_signoff(actor=world.user("province"), snapshot=snapshot)
    client.force_login(world.user("county_a_stat"))
    assert 'id="publish"' not in client.get(f"/statistics/snapshots/{snapshot.pk}/").content.decode()
    assert client.post(f"/statistics/snapshots/{snapshot.pk}/publish/").status_code == 403
    client.force_login(world.user("province"))
    assert 'id="publish"' in client.get(f"/statistics/snapshots/{snapshot.pk}/").content.decode()
    client.post(f"/statistics/snapshots/{snapshot.pk}/publish/", {"confirmed": "yes"})
    snapshot.refresh_from_db()
    assert snapshot.published_at is not None and "已公布" in client.get(f"/statistics/snapshots/{snapshot.pk}/").content.decode()

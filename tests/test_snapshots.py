"""Census snapshots: the roll-ups frozen at the census date, versioned, never changed afterwards."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Region
from eduplatform.stats import selectors
from eduplatform.stats.models import FROZEN, Snapshot
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services
from eduplatform.students.models import EventKind
from tests.facilities_support import building_row
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.test_rollups import committed

COUNTY_A = "440106000000"


def frozen_rows(snapshot: Snapshot) -> tuple[list, ...]:
    return tuple(
        sorted(frozen.objects.filter(snapshot=snapshot).values_list(
            *[f.name for f in frozen._meta.fields if f.name not in ("id", "snapshot")]))
        for _live, frozen in FROZEN
    )


def overview_total(actor, snapshot=None) -> dict:
    return selectors.region_overview(actor, Region.objects.get(code=COUNTY_A), snapshot)[1].cells


def _write_some(world, capture, seq: int, **student):
    from eduplatform.facilities import services as facilities
    from eduplatform.staff import services as staff

    county = world.user("county_a_stat")
    enrolment = committed(capture, lambda: services.enrol_student(actor=county, school=world.school_a1,
                                                                 data=student_row(seq, **student)))
    committed(capture, lambda: staff.hire(actor=county, unit=world.school_a1, data=staff_row(seq)))
    committed(capture, lambda: facilities.create_building(actor=county, school=world.school_a1,
                                                          data=building_row(seq)))
    return enrolment


def test_a_snapshot_keeps_its_figures_whatever_changes_later(world, django_capture_on_commit_callbacks):
    province = world.user("province")
    _write_some(world, django_capture_on_commit_callbacks, 1)
    snapshot = take_snapshot(actor=province, census_date=timezone.localdate())
    frozen, figures = frozen_rows(snapshot), overview_total(province, snapshot)
    assert figures == overview_total(province)  # taken from the live figures as they stood
    assert figures["students"] == 1 and figures["staff"] == 1 and snapshot.totals["students"] == 1

    enrolment = _write_some(world, django_capture_on_commit_callbacks, 2)
    committed(django_capture_on_commit_callbacks, lambda: services.apply_event(
        actor=world.user("county_a_stat"), enrolment=enrolment, kind=EventKind.DEATH, on=timezone.localdate(),
        reason="检查"))
    live = overview_total(province)
    assert live["staff"] == 2 and live["floor_area"] > figures["floor_area"]  # the live figures moved on …
    assert frozen_rows(snapshot) == frozen and overview_total(province, snapshot) == figures  # … the snapshot did not


def test_versions_of_one_census_date_stand_side_by_side(world, django_capture_on_commit_callbacks):
    province, day = world.user("province"), timezone.localdate()
    _write_some(world, django_capture_on_commit_callbacks, 3)
    first = take_snapshot(actor=province, census_date=day)
    _write_some(world, django_capture_on_commit_callbacks, 4)
    second = take_snapshot(actor=province, census_date=day, title="复核版")
    assert (first.version, second.version) == (1, 2)
    assert overview_total(province, first)["students"] == 1 and overview_total(province, second)["students"] == 2


def test_only_the_province_office_takes_snapshots_and_never_ahead_of_the_census_date(world):
    today = timezone.localdate()
    for user in ("county_a_stat", "k12_officer", "clerk_a1"):
        with pytest.raises(NotPermitted):
            take_snapshot(actor=world.user(user), census_date=today)
    with pytest.raises(RecordInvalid) as caught:
        take_snapshot(actor=world.user("province"), census_date=today + dt.timedelta(days=1))
    assert caught.value.problems[0].field == "census_date" and "尚未到来" in caught.value.problems[0].message
    assert not Snapshot.objects.exists()


def test_snapshot_pages_compare_with_live_figures_within_scope(client, world, django_capture_on_commit_callbacks):
    _write_some(world, django_capture_on_commit_callbacks, 5)
    client.force_login(world.user("province"))
    response = client.post("/statistics/snapshots/", {"census_date": timezone.localdate().isoformat(), "title": "年报"})
    snapshot = Snapshot.objects.get()
    assert response["Location"] == f"/statistics/snapshots/{snapshot.pk}/"
    _write_some(world, django_capture_on_commit_callbacks, 6)  # one more student, teacher and building since

    client.force_login(world.user("county_a_stat"))
    assert 'data-testid="snapshot-form"' not in client.get("/statistics/snapshots/").content.decode()
    assert client.post("/statistics/snapshots/", {"census_date": "2026-09-01"}).status_code == 403
    page = client.get(f"/statistics/snapshots/{snapshot.pk}/").content.decode()
    assert "年报" in page and "越秀" not in page
    assert client.get(f"/statistics/snapshots/{snapshot.pk}/?region=440104000000").status_code == 404
    book = CalamineWorkbook.from_filelike(io.BytesIO(
        client.get(f"/statistics/snapshots/{snapshot.pk}/?format=xlsx").content))
    rows = {r[0]: r[1:] for r in book.get_sheet_by_index(0).to_python()}
    assert rows["名称"][:3] == ["在校生", "在校生（实时数据）", "在校生（差额）"]
    assert rows["天河区"][:3] == [1, 2, -1]  # snapshot 1, live 2: one more student since the snapshot


def test_the_scheduled_command_takes_a_snapshot_as_the_named_officer(world):
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("take_snapshot", "--user", "province", stdout=out)
    assert "已生成" in out.getvalue() and Snapshot.objects.get().taken_by.startswith("province")
    with pytest.raises(CommandError, match="只有省级统计部门"):
        call_command("take_snapshot", "--user", "county_a_stat")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("take_snapshot", "--user", "province", "--date", "2026/09/01")


def test_base_table_page_prints_checks_and_downloads_a_sheet_per_table(client, world, django_capture_on_commit_callbacks):
    from eduplatform.stats.rollup import school_year_of

    # A first grader who entered this school year (招生 = 一年级, V3), in a school with its own coordinates (V10).
    _write_some(world, django_capture_on_commit_callbacks, 8, entered_on=f"{school_year_of(timezone.localdate())}-09")
    for n, school in enumerate((world.school_a2, world.college_a)):
        committed(django_capture_on_commit_callbacks, lambda s=school, n=n: orgs.update_school(
            actor=world.user("county_a_stat"), school=s, data={"longitude": f"113.{n + 4}"}))
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    client.force_login(world.user("county_a_stat"))
    page = client.get(f"/statistics/snapshots/{snapshot.pk}/tables/").content.decode()
    assert 'data-code="基础基311"' in page and 'data-holds="no"' not in page and "data-print" in page
    assert 'data-holds="unknown"' in page and "不可核验" in page and 'data-testid="school-picker"' in page
    assert client.get(f"/statistics/snapshots/{snapshot.pk}/tables/?region=440104000000").status_code == 404
    book = CalamineWorkbook.from_filelike(io.BytesIO(
        client.get(f"/statistics/snapshots/{snapshot.pk}/tables/?format=xlsx").content))
    assert book.sheet_names == ["基础基111", "基础基211", "基础基212", "基础基213", "基础基311", "基础基312", "基础基313",
                                "基础基314", "基础基315", "基础基411", "基础基4211", "基础基422", "基础基423", "基础基424",
                                "基础基512", "基础基522"]
    students = book.get_sheet_by_name("基础基311").to_python()
    assert students[0][:2] == ["项目", "合计"] and students[1][:2] == ["合计", 1]
    # One school's tables: its 111 is its identity (the code stays text), in the page and the workbook.
    url = f"/statistics/snapshots/{snapshot.pk}/tables/?school={world.school_a1.school_code}"
    page = client.get(url).content.decode()
    assert "学校（机构）基本情况" in page and "<td>2144000001</td>" in page and "天河测试小学" in page
    identity = CalamineWorkbook.from_filelike(io.BytesIO(client.get(url + "&format=xlsx").content))
    assert ["学校标识码", "2144000001"] in identity.get_sheet_by_name("基础基111").to_python()
    assert client.get(f"/statistics/snapshots/{snapshot.pk}/tables/?school={world.school_b1.school_code}").status_code == 404


def test_the_snapshot_list_charts_the_trend_of_the_latest_version_of_each_census_date(client, world):
    import json
    import re

    officer = world.user("province")
    take_snapshot(actor=officer, census_date=dt.date(2025, 9, 1))
    take_snapshot(actor=officer, census_date=dt.date(2025, 9, 1))
    take_snapshot(actor=officer, census_date=timezone.localdate())
    client.force_login(officer)
    page = client.get("/statistics/snapshots/").content.decode()
    trend = json.loads(re.search(r'<script id="trend-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert trend["labels"] == ["2025-09-01", f"{timezone.localdate():%Y-%m-%d}"]
    assert trend["students"] == [0, 0] and 'id="trend-chart"' in page


def test_a_snapshot_counts_the_new_school_year_even_for_schools_nobody_touched(
        world, django_capture_on_commit_callbacks):
    """On 1 September 本学年 rolls over without any record changing: a snapshot must not copy rows
    computed in the previous school year, and ``rebuild_rollups --stale`` refreshes the live ones."""
    from django.core.management import call_command

    from eduplatform.stats.models import SnapshotStudent, StudentRollup
    from eduplatform.stats.rollup import recompute_schools, school_year_of, stale_schools

    today = timezone.localdate()
    entered = dt.date(school_year_of(today), 9, 1)  # entered this school year: a new entrant now
    _write_some(world, django_capture_on_commit_callbacks, 1, entered_on=f"{entered:%Y-%m}")
    # The school's rows as last recomputed one year earlier (before this year's 1 September).
    last_year = dt.date(school_year_of(today) - 1, 10, 1)
    recompute_schools([world.school_a1.pk], today=last_year)
    assert set(StudentRollup.objects.values_list("school_year", flat=True)) == {school_year_of(last_year)}
    assert stale_schools(today) == {world.school_a1.pk}

    snapshot = take_snapshot(actor=world.user("province"), census_date=today)
    rows = SnapshotStudent.objects.filter(snapshot=snapshot)
    assert {r.school_year for r in rows} == {school_year_of(today)}
    assert sum(r.new_entrants for r in rows) == 1  # counted for this school year, not last year's
    assert stale_schools(today) == set()  # the live rows were brought up to date as well

    recompute_schools([world.school_a1.pk], today=last_year)
    out = io.StringIO()
    call_command("rebuild_rollups", "--stale", stdout=out)
    assert "已重算 1 所学校" in out.getvalue() and stale_schools(today) == set()

"""The pivot over the roll-ups: its figures equal counts taken directly from the records, each live
figure's link opens a record list of exactly that many records, drill-down stays in scope, and the
export holds the table shown. A small demo province is generated once for the module."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.accounts.models import User
from eduplatform.demo.province import DEMO_COUNTY, OTHER_COUNTY
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.staff.models import StaffMember
from eduplatform.stats import pivot as pivots
from eduplatform.stats.rollup import recompute_schools, school_year_of
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services
from eduplatform.students.models import Enrolment
from tests.students_support import student_row

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _exact_list_counts(settings):
    # The lists' counts are compared with the figures: counted exactly, however many rows (core.paging).
    settings.LIST_EXACT_COUNT_LIMIT = 10**9


@pytest.fixture(scope="module")
def province(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("generate_demo", "--scale", "0.002", "--students", "0.02", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


def client_of(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def pivot_of(username: str, **params) -> tuple[pivots.Pivot, object]:
    response = client_of(username).get("/statistics/pivot/", params)
    assert response.status_code == 200, response.content[:300]
    return response.context["table"], response


def as_grid(table: pivots.Pivot) -> dict[tuple[str, str], object]:
    return {(row.label, label): value for row in table.rows
            for (_v, label), value in zip(table.columns, row.cells, strict=True) if value}


def test_province_students_by_city_and_stage_equal_the_register(province):
    table, _ = pivot_of("province", subject="students", rows="area", cols="stage", measure="enrolled")
    cities = {r.path: r.name for r in Region.objects.filter(level="city")}
    expected = Counter()
    for path, stage in Enrolment.objects.filter(is_active=True).values_list("region_path", "stage"):
        city = cities.get(path[:8], "广东省直属")
        expected[(city, pivots.STAGE.labels()[stage])] += 1
    assert as_grid(table) == dict(expected)
    assert table.grand_total == sum(expected.values())


def test_student_ages_and_sexes_of_a_county_equal_the_register(province):
    county = Region.objects.get(code=DEMO_COUNTY)
    table, _ = pivot_of("province", region=DEMO_COUNTY, subject="students", rows="age", cols="gender",
                        measure="enrolled")
    year = school_year_of(timezone.localdate())
    expected = Counter()
    for birth, gender in Enrolment.objects.filter(is_active=True, region_path__startswith=county.path).values_list(
            "student__birth_date", "student__gender"):
        age = year - (birth.year + (1 if birth.month >= 9 else 0))  # age on 31 August of the school year
        expected[(f"{age}岁", {"1": "男", "2": "女"}[gender])] += 1
    assert as_grid(table) == dict(expected)


def _list_count(client: Client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    count = response.context["page"].count
    assert count.exact, url
    return count.value


@pytest.mark.parametrize("measure", ["enrolled", "minority", "migrant", "left_behind", "boarding", "new_entrants",
                                     "graduates", "suspended", "disabled"])
def test_every_student_figure_opens_exactly_the_records_it_counts(province, measure):
    client = client_of("gz_stat")
    for rows, cols in (("area", "grade"), ("age", "gender"), ("level", "stage")):
        response = client.get("/statistics/pivot/", {"subject": "students", "rows": rows, "cols": cols,
                                                     "measure": measure})
        table = response.context["table"]
        cells = [(value, href) for _row, _drill, links in response.context["body"] for value, href in links if value]
        cells += [(value, href) for value, href in response.context["total_cells"] if value]
        if measure in ("enrolled", "minority", "new_entrants"):  # demo data has these in every county
            assert cells, f"no {measure} figures to check"
        for value, href in random.Random(measure).sample(cells, min(len(cells), 6)):
            assert href, f"figure {value} of {measure} has no link"
            assert _list_count(client, href) == value, href
        assert table.snapshot is None


@pytest.mark.parametrize("rows,cols,measure", [
    ("area", "title_grade", "staff"), ("age_band", "gender", "staff"), ("establishment", "education_level", "staff"),
    ("teaching_stage", "post_category", "staff"), ("area", "age_band", "backbone"), ("area", "gender", "qualified"),
    ("post_category", "gender", "head_teachers"), ("subject", "teaching_stage", "staff"),
])
def test_every_staff_figure_opens_exactly_the_people_it_counts(province, rows, cols, measure):
    client = client_of("th_stat")
    response = client.get("/statistics/pivot/", {"subject": "staff", "rows": rows, "cols": cols, "measure": measure})
    cells = [(value, href) for _row, _drill, links in response.context["body"] for value, href in links if value]
    if measure == "staff":
        assert cells
    for value, href in random.Random(rows + cols).sample(cells, min(len(cells), 8)):
        assert href and _list_count(client, href) == value, href


@pytest.mark.parametrize("measure", ["classes", "students"])
def test_every_class_figure_opens_exactly_the_classes_it_counts(province, measure):
    client = client_of("province")
    for rows, cols in (("area", "size_band"), ("grade", "size_band"), ("stage", "")):
        response = client.get("/statistics/pivot/", {"subject": "classes", "rows": rows, "cols": cols,
                                                     "measure": measure})
        cells = [(value, href) for _row, _drill, links in response.context["body"] for value, href in links if value]
        assert cells, "the demo province has classes"
        for value, href in random.Random(rows).sample(cells, min(len(cells), 6)):
            listed = client.get(href)
            assert listed.status_code == 200
            found = (listed.context["page"].count.value if measure == "classes"
                     else listed.context["students_in_classes"])
            assert found == value, href


# The building list's totals (facilities.selectors.FloorAreaTotals) for each roll-up measure.
LIST_TOTAL_OF = {"total_area": "total", "teaching_area": "teaching", "admin_area": "admin", "living_area": "living",
                 "other_area": "other", "dangerous_area": "dangerous", "rented_area": "rented",
                 "buildings": "buildings"}


@pytest.mark.parametrize("measure", sorted(LIST_TOTAL_OF))
def test_every_floor_area_figure_opens_the_buildings_that_sum_to_it(province, measure):
    client = client_of("province")
    for region in ("", DEMO_COUNTY):
        response = client.get("/statistics/pivot/", {"subject": "buildings", "measure": measure, "region": region})
        cells = [(value, href) for _row, _drill, links in response.context["body"] for value, href in links if value]
        cells += [(value, href) for value, href in response.context["total_cells"] if value]
        if measure in ("total_area", "teaching_area", "buildings"):
            assert cells, "the demo province has buildings"
        for value, href in cells[:8]:
            totals = client.get(href).context["totals"]
            assert getattr(totals, LIST_TOTAL_OF[measure]) == value, href


def test_students_by_level_equal_the_register(province):
    table, _ = pivot_of("province", subject="students", rows="level", cols="", measure="enrolled")
    labels = {"": "（不分层次）", "1": "专科", "2": "本科", "3": "硕士", "4": "博士", "5": "中职"}
    expected = Counter(labels[level] for level in Enrolment.objects.filter(is_active=True).values_list("level", flat=True))
    assert {row.label: row.cells[0] for row in table.rows} == dict(expected)
    assert expected["本科"] > 0  # the demo's colleges have undergraduates


def test_staff_figures_equal_the_staff_register(province):
    table, _ = pivot_of("province", region=DEMO_COUNTY, subject="staff", rows="post_category", cols="gender",
                        measure="staff")
    county = Region.objects.get(code=DEMO_COUNTY)
    labels = dict(pivots.BY_KEY["staff"].dimension("post_category").labels())
    expected = Counter((labels.get(p, p), {"1": "男", "2": "女"}[g]) for p, g in StaffMember.objects.filter(
        is_active=True, unit_kind=OrgKind.SCHOOL, region_path__startswith=county.path).values_list(
        "post_category", "gender"))
    assert as_grid(table) == dict(expected)


def test_drill_down_goes_from_county_to_town_to_a_school_by_grade(province):
    client = client_of("th_stat")
    response = client.get("/statistics/pivot/", {"subject": "students", "rows": "area", "cols": "gender"})
    towns = [(row, drill) for row, drill, _l in response.context["body"] if drill]
    assert towns and all("region=4401" in drill for _r, drill in towns)
    row, drill = max(towns, key=lambda t: t[0].total)
    response = client.get("/statistics/pivot/" + drill)
    assert response.context["table"].area_label == "学校"
    schools = [(row, d) for row, d, _l in response.context["body"] if d]
    school_row, school_drill = schools[0]
    assert "school=" in school_drill
    response = client.get("/statistics/pivot/" + school_drill)
    table = response.context["table"]
    assert table.row_dimension.key == "grade" and table.school is not None
    assert table.grand_total == school_row.total
    assert table.grand_total == Enrolment.objects.filter(is_active=True, school=table.school).count()


def test_the_pivot_stays_inside_the_jurisdiction(province):
    client = client_of("ft_stat")
    table = client.get("/statistics/pivot/", {"subject": "students"}).context["table"]
    other = Region.objects.get(code=OTHER_COUNTY)
    assert table.grand_total == Enrolment.objects.filter(is_active=True, region_path__startswith=other.path).count()
    assert client.get("/statistics/pivot/", {"region": DEMO_COUNTY}).status_code == 404
    county = Region.objects.get(code=DEMO_COUNTY)
    foreign = Organization.objects.filter(kind=OrgKind.SCHOOL, region_path__startswith=county.path).first()
    assert client.get("/statistics/pivot/", {"school": foreign.school_code}).status_code == 404
    # The record list refuses a region outside the jurisdiction instead of showing an empty list.
    assert client.get("/students/", {"region": DEMO_COUNTY}).status_code == 404
    assert client.get("/staff/", {"region": DEMO_COUNTY}).status_code == 404


def test_the_export_holds_the_table_shown_with_its_totals(province):
    client = client_of("province")
    params = {"subject": "classes", "rows": "grade", "cols": "size_band", "measure": "classes"}
    table = client.get("/statistics/pivot/", params).context["table"]
    response = client.get("/statistics/pivot/", {**params, "format": "xlsx"})
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    sheet = book.get_sheet_by_name("数据透视").to_python()
    headers, data = table.table()
    assert sheet[0] == headers
    assert sheet[1:] == data
    assert sheet[-1][0] == "合计" and sheet[-1][-1] == table.grand_total > 0
    about = dict(book.get_sheet_by_name("说明").to_python()[1:])
    assert about["统计对象"] == "班级" and about["范围"] == "广东省"


def test_a_snapshot_pivot_is_frozen_and_has_no_record_links(province):
    officer = User.objects.get(username="province")
    snapshot = take_snapshot(actor=officer, census_date=min(dt.date(2026, 9, 1), timezone.localdate()))
    params = {"region": DEMO_COUNTY, "subject": "students", "rows": "area", "cols": "stage"}
    frozen, response = pivot_of("province", snapshot=snapshot.pk, **params)
    assert all(href is None for _r, _d, links in response.context["body"] for _v, href in links)
    live, _ = pivot_of("province", **params)
    assert as_grid(frozen) == as_grid(live)  # nothing changed since it was taken
    school = Enrolment.objects.filter(is_active=True, grade="11", region_path__startswith="44/4401/440106/").first().school
    services.enrol_student(actor=User.objects.get(username="th_stat"), school=school, data=student_row(991))
    recompute_schools([school.pk])  # what the commit would trigger; the module's data is never committed
    assert pivot_of("province", snapshot=snapshot.pk, **params)[0].grand_total == frozen.grand_total
    assert pivot_of("province", **params)[0].grand_total == live.grand_total + 1


@pytest.mark.parametrize(("username", "params"), [
    ("province", {"rows": "area", "cols": "stage"}),
    ("province", {"rows": "grade", "cols": "gender"}),
    ("province", {"rows": "age", "cols": "area", "measure": "minority"}),
    ("k12", {"rows": "area", "cols": "level"}),
    ("gz_stat", {"rows": "area", "cols": "grade", "measure": "new_entrants"}),
])
def test_a_live_student_pivot_of_a_city_or_the_province_sums_the_county_rollup(province, monkeypatch, username,
                                                                                params):
    """Read from the county roll-up (a few thousand rows for the province instead of millions), it
    gives exactly the cells the per-school roll-up gives."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    params = {"subject": "students", "measure": "enrolled", **params}
    with CaptureQueriesContext(connection) as queries:
        fast, _ = pivot_of(username, **params)
    assert any("stats_studentcountyrollup" in q["sql"] for q in queries.captured_queries)
    assert not any("stats_studentrollup" in q["sql"] for q in queries.captured_queries)
    monkeypatch.setattr(pivots, "_county_rollup_answers", lambda *args: False)
    with CaptureQueriesContext(connection) as queries:
        reference, _ = pivot_of(username, **params)
    assert any("stats_studentrollup" in q["sql"] for q in queries.captured_queries)
    assert fast.grand_total > 0
    assert as_grid(fast) == as_grid(reference)
    assert [label for _v, label in fast.columns] == [label for _v, label in reference.columns]


def test_a_town_or_school_pivot_still_reads_the_school_rollup(province):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    town = Region.objects.get(code=DEMO_COUNTY).children.first()
    with CaptureQueriesContext(connection) as queries:
        table, _ = pivot_of("province", region=town.code, subject="students", rows="area", cols="stage")
    assert any("stats_studentrollup" in q["sql"] for q in queries.captured_queries)
    assert table.area_label == "学校"


# --------------------------------------------------------------------------------------------
# Filters and labelled bands (issue 18): each filtered figure recounted from the register


def _enrolments_where(**school_filter) -> int:
    return Enrolment.objects.filter(is_active=True, **{f"school__{k}": v for k, v in school_filter.items()}).count()


@pytest.mark.parametrize(("filters", "school_filter"), [
    ({"sponsor": "民办"}, {"sponsor_code__startswith": "999"}),
    ({"urban_rural": "乡村"}, {"urban_rural_code__startswith": "2"}),
    ({"urban_rural": "城区"}, {"urban_rural_code__startswith": "11"}),
    ({"school_type": "211"}, {"school_type_code": "211"}),
])
def test_a_school_attribute_filter_counts_the_students_of_those_schools(province, filters, school_filter):
    table, response = pivot_of("province", subject="students", rows="area", cols="stage", measure="enrolled",
                               **filters)
    assert table.grand_total == _enrolments_where(**school_filter)
    assert table.filters.by_school and all(href is None for _v, href in response.context["total_cells"])


def test_a_stage_filter_counts_the_stage_and_its_figures_open_their_records(province):
    client = client_of("gz_stat")
    response = client.get("/statistics/pivot/", {"subject": "students", "rows": "area", "cols": "gender",
                                                 "measure": "enrolled", "stage": "4"})
    table = response.context["table"]
    city = Region.objects.get(code="440100000000")
    assert table.grand_total == Enrolment.objects.filter(is_active=True, stage=4,
                                                          region_path__startswith=city.path).count() > 0
    for value, href in [(v, h) for _r, _d, links in response.context["body"] for v, h in links if v][:4]:
        assert "stage=4" in href and _list_count(client, href) == value


def test_the_size_class_dimension_counts_the_large_classes_of_the_register_and_opens_them(province):
    from django.db.models import Count, Q

    from eduplatform.students.models import SchoolClass

    client = client_of("province")
    year = school_year_of(timezone.localdate())
    response = client.get("/statistics/pivot/", {"subject": "classes", "rows": "size_class", "cols": "",
                                                 "measure": "classes", "region": DEMO_COUNTY})
    table = response.context["table"]
    county = Region.objects.get(code=DEMO_COUNTY)
    in_county = Counter("超大班额" if n >= 66 else "大班额" if n >= 56 else "55人及以下" for n in (
        SchoolClass.objects.filter(school_year=year, region_path__startswith=county.path)
        .annotate(size=Count("enrolments", filter=Q(enrolments__is_active=True))).filter(size__gt=0)
        .values_list("size", flat=True)))
    assert {row.value: row.cells[0] for row in table.rows} == dict(in_county)
    assert in_county["大班额"] and in_county["超大班额"], "the demo county plants 大班额 and 超大班额 classes"
    for row, _drill, links in response.context["body"]:
        (value, href), = links
        assert client.get(href).context["page"].count.value == value, row.label

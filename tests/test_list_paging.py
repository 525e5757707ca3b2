"""Keyset paging of the record lists (core.paging, issue 13): following 下一页 walks every row once
in the list's order with the filters kept, 上一页 and 首页 lead back, a tampered cursor starts
again at the first page, large results show an estimated or roll-up count instead of counting the
whole scope, and a name is found by a middle substring through the trigram index on PostgreSQL."""

from __future__ import annotations

import base64
import html
import re

import pytest
from django.db import connection

from eduplatform.core import paging
from eduplatform.stats.rollup import recompute_schools
from eduplatform.students import selectors, services
from eduplatform.students.models import Enrolment, Student

from .students_support import student_row

pytestmark = pytest.mark.django_db

NEXT = re.compile(r'<a class="page-link" href="([^"]*)" data-testid="page-next">下一页</a>')
PREVIOUS = re.compile(r'<a class="page-link" href="([^"]*)" data-testid="page-previous">上一页</a>')
FIRST = re.compile(r'<a class="page-link" href="([^"]*)" data-testid="page-first">首页</a>')


def _enrol(world, school, seq: int, **overrides) -> Enrolment:
    return services.enrol_student(actor=world.user("clerk_a1" if school == world.school_a1 else "clerk_b1"),
                                  school=school, data=student_row(seq, **overrides))


def _link(pattern: re.Pattern, page: str) -> str | None:
    found = pattern.search(page)
    return html.unescape(found.group(1)) if found else None


def _ids(response) -> list[int]:
    return [e.pk for e in response.context["page"]]


@pytest.fixture
def roll(world, settings):
    """Eleven students in one school (grades and names mixed, two classes), one elsewhere; pages of 3."""
    settings.LIST_PAGE_SIZE = 3
    names = ["王五", "李四", "张三", "赵六", "王五", "钱七", "孙八", "周九", "吴十", "郑一", "王二"]
    for seq, name in enumerate(names, start=1):
        _enrol(world, world.school_a1, seq, name=name, grade="二年级" if seq % 3 == 0 else "一年级",
               class_number=str(1 + seq % 2))
    _enrol(world, world.school_b1, 99, name="外县学生")
    return names


def _walk(client, url: str) -> tuple[list[int], list[str]]:
    """Follow 下一页 from ``url`` to the end: the rows seen and the links followed."""
    seen, links = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        seen += _ids(response)
        url = _link(NEXT, response.content.decode())
        if url:
            assert "after=" in url
            links.append(url)
            url = "/students/" + url
    return seen, links


def test_next_links_walk_every_row_once_in_order_with_the_filters_kept(client, world, roll):
    client.force_login(world.user("county_a_stat"))
    expected = list(selectors.enrolments_in_scope(world.user("county_a_stat")).values_list("pk", flat=True))
    assert len(expected) == 11
    everyone, links = _walk(client, "/students/")
    assert everyone == expected  # every row once, in the list's order, across four pages
    assert len(links) == 3
    # A filter is kept by every link and narrows every page.
    girls = list(selectors.enrolments_in_scope(world.user("county_a_stat"), gender="2").values_list("pk", flat=True))
    seen, links = _walk(client, "/students/?gender=2&status=active")
    assert seen == girls and len(girls) == 5
    assert links and all("gender=2" in link and "status=active" in link for link in links)
    # The order within a school is grade, class, name (then the record), as documented.
    by_pk = {e.pk: (e.grade, e.school_class.number, e.student.name) for e in
             Enrolment.objects.filter(pk__in=expected).select_related("student", "school_class")}
    assert [by_pk[pk] for pk in everyone] == sorted(by_pk[pk] for pk in expected)


def test_previous_and_first_links_lead_back(client, world, roll):
    client.force_login(world.user("county_a_stat"))
    first = client.get("/students/")
    assert _link(PREVIOUS, first.content.decode()) is None and _link(FIRST, first.content.decode()) is None
    second = client.get("/students/" + _link(NEXT, first.content.decode()))
    third = client.get("/students/" + _link(NEXT, second.content.decode()))
    back = client.get("/students/" + _link(PREVIOUS, third.content.decode()))
    assert _ids(back) == _ids(second)
    again = client.get("/students/" + _link(PREVIOUS, back.content.decode()))
    assert _ids(again) == _ids(first)
    assert _link(PREVIOUS, again.content.decode()) is None  # back on the first page
    home = client.get("/students/" + _link(FIRST, third.content.decode()))
    assert _ids(home) == _ids(first)


def test_a_tampered_or_foreign_cursor_starts_again_at_the_first_page(client, world, roll):
    client.force_login(world.user("county_a_stat"))
    first = client.get("/students/")
    cursor = re.search(r"after=([^&\"]+)", _link(NEXT, first.content.decode())).group(1)
    # The cursor holds the last row's key, name included, unreadable (the URL reaches access logs).
    last = first.context["page"].rows[-1]
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert last.student.name.encode() not in raw and last.region_path.encode() not in raw
    foreign = paging.encode_cursor(["44/", 1, "11", 0, "x", 1], "staff")  # another list's cursor
    for bad in ["garbage", cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"), cursor[:10], foreign,
                "%00", "a" * 5000]:
        for name in ("after", "before"):
            response = client.get("/students/", {name: bad})
            assert response.status_code == 200, bad
            assert _ids(response) == _ids(first)
            assert "分页位置无效或已过期" in response.content.decode()


def test_a_large_list_shows_the_roll_up_figure_unfiltered_and_an_estimate_filtered(client, world, roll, settings):
    settings.LIST_EXACT_COUNT_LIMIT = 4
    recompute_schools([world.school_a1.pk, world.school_b1.pk])
    client.force_login(world.user("county_a_stat"))
    response = client.get("/students/")
    count = response.context["page"].count
    # Above the limit and unfiltered: the roll-ups' exact figure, said to come from them.
    assert (count.value, count.exact, count.source) == (11, True, paging.SOURCE_ROLLUP)
    assert "据统计汇总" in response.content.decode()
    # Filtered: no exact count of the whole result; PostgreSQL's estimate ("约") or a lower bound.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE students_enrolment; ANALYZE students_student")
    response = client.get("/students/", {"gender": "1"})
    count = response.context["page"].count
    assert not count.exact
    label = response.content.decode()
    assert ("约 " in label) if count.value is not None else ("超过 4" in label)
    # Small results are counted exactly.
    settings.LIST_EXACT_COUNT_LIMIT = 100
    response = client.get("/students/", {"gender": "1"})
    assert (response.context["page"].count.value, response.context["page"].count.exact) == (6, True)


def test_count_labels():
    assert paging.RowCount(27_463_210, exact=False).label == "约 2,746 万"
    assert paging.RowCount(9_876, exact=False).label == "约 9,876"
    assert paging.RowCount(None, exact=False, at_least=10_000).label == "超过 1 万"
    assert paging.RowCount(1_234).label == "1,234"


def test_count_labels_in_english():
    from django.utils import translation

    with translation.override("en"):
        assert paging.RowCount(27_463_210, exact=False).label == "about 27.5 million"
        assert paging.RowCount(None, exact=False, at_least=10_000).label == "over 10,000"
        assert paging.RowCount(None, exact=False).label == "not counted"
        assert paging.RowCount(5, source=paging.SOURCE_ROLLUP).source_label != "统计汇总"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_middle_substring_finds_a_name_through_the_trigram_index(client, world):
    _enrol(world, world.school_a1, 1, name="欧阳明华丽")
    _enrol(world, world.school_a1, 2, name="司马相如")
    client.force_login(world.user("county_a_stat"))
    page = client.get("/students/", {"q": "阳明华"}).content.decode()
    assert "欧阳明华丽" in page and "司马相如" not in page
    # The search condition is one the trigram index answers (not only a scan).
    query = Student.objects.filter(name__icontains="阳明华").values("pk")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "student_name_trgm" in plan, plan


def test_one_or_two_characters_find_a_name_on_both_databases(client, world):
    _enrol(world, world.school_a1, 1, name="欧阳明华丽")
    _enrol(world, world.school_a1, 2, name="司马相如")
    client.force_login(world.user("county_a_stat"))
    for text in ("阳明", "丽"):
        page = client.get("/students/", {"q": text}).content.decode()
        assert "欧阳明华丽" in page and "司马相如" not in page, text


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_rare_pair_of_characters_is_found_through_the_grams_index(world):
    from eduplatform.core.search import GramsContain, name_contains

    _enrol(world, world.school_a1, 1, name="欧阳明华丽")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE students_student")
    condition = name_contains("name", "阳明", Student)
    assert any(isinstance(child, GramsContain) for child in condition.flatten()), condition
    assert list(Student.objects.filter(condition).values_list("name", flat=True)) == ["欧阳明华丽"]
    sql, params = Student.objects.filter(condition).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "student_name_grams" in plan, plan


def test_a_large_building_list_takes_its_count_and_totals_from_the_roll_up(client, world, settings):
    from eduplatform.facilities import selectors as facilities
    from eduplatform.facilities import services as facility_services

    from .facilities_support import building_row

    for seq, (area, condition) in enumerate([("3000", "10"), ("2900.5", "30"), ("2800", "10")], start=1):
        facility_services.create_building(actor=world.user("county_a_stat"), school=world.school_a1,
                                          data=building_row(seq, total_area=area, condition=condition))
    recompute_schools([world.school_a1.pk])
    client.force_login(world.user("county_a_stat"))
    small = client.get("/facilities/")
    assert small.context["page"].count.source == ""  # counted from the rows
    expected = facilities.totals_of(facilities.buildings_in_scope(world.user("county_a_stat")))
    assert small.context["totals"] == expected and expected.buildings == 3
    settings.LIST_EXACT_COUNT_LIMIT = 2
    large = client.get("/facilities/")
    assert (large.context["page"].count.value, large.context["page"].count.source) == (3, paging.SOURCE_ROLLUP)
    assert large.context["totals"] == expected  # the roll-up's sums, by the same rule
    filtered = client.get("/facilities/", {"condition": "dangerous"})
    assert filtered.context["page"].count.source != paging.SOURCE_ROLLUP  # a filter: not what the roll-up counts

"""Every figure of issue 12 item 5 follows one national definition (``stats.definitions``) and is the
same number wherever it is shown: the live page, the snapshot page and list, the 基表, the exports,
the indicator page and map, and the public portal — for the same snapshot.

County A of the test world gets staff with 代课 and 兼任 teachers, classes of several stages and sizes
(a 大班额 primary class, a 超大班额 junior class, kindergarten classes), transfers in during the
school year (the "December transfer-in"), a vocational school and a 民办 primary school. Each figure
is recounted here straight from the raw records — staff members, enrolments, their events and
classes — by the definitions of DOMAIN.md written out again in this file, never through the roll-ups
or ``stats.definitions``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections import Counter, defaultdict
from html.parser import HTMLParser

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import OrgKind, Region
from eduplatform.orgs.stages import Stage
from eduplatform.staff import services as staff_services
from eduplatform.staff.codes import HEADCOUNT_CATEGORIES
from eduplatform.staff.models import StaffMember
from eduplatform.stats import basetables, definitions
from eduplatform.stats.rollup import school_year_of
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import approvals
from eduplatform.students import services as students
from eduplatform.students.grades import BY_CODE
from eduplatform.students.models import Enrolment, EventKind, SchoolClass, StudentEvent
from tests.census_support import signed_off_and_published
from tests.staff_support import staff_row
from tests.students_support import make_id, student_row
from tests.test_rollups import committed
from tests.world import TOWN_A, TOWN_A2, school_row

pytestmark = pytest.mark.django_db

COUNTY_A = "440106000000"
GUANGZHOU = "广州市"
# DOMAIN §2.2 (基础基411): 教职工 = 专任教师 1 + 行政人员 2 + 教辅人员 3 + 工勤人员 4 + 校办企业职工 5;
# 代课教师 6 and 兼任教师 7 are counted on their own.
HEADCOUNT = {"1", "2", "3", "4", "5"}
GRADE_BY_NAME = {g.name: g for g in BY_CODE.values()}
TEACHING_STAGE = {Stage.PRIMARY: "2", Stage.JUNIOR: "3", Stage.PRESCHOOL: "1", Stage.VOCATIONAL: "6"}


# --------------------------------------------------------------------------------------------
# Reading what a person sees


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (the first text of each cell), by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id") or attrs.get("data-testid") or f"t{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append(next((t for t in self._cell if t), ""))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data.strip())


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def row_of(table: list[list[str]], label: str) -> dict[str, str]:
    """The row whose first cell is ``label``, keyed by the header row's labels."""
    header = table[0]
    row = next(r for r in table[1:] if r and r[0] == label)
    return dict(zip(header, row, strict=False))


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def sheet(content: bytes, name: str | None = None) -> list[list[object]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return (book.get_sheet_by_name(name) if name else book.get_sheet_by_index(0)).to_python()


def xlsx_row(rows: list[list[object]], label: str) -> dict[str, object]:
    header = [str(h) for h in rows[0]]
    row = next(r for r in rows[1:] if r and r[0] == label)
    return dict(zip(header, row, strict=False))


# --------------------------------------------------------------------------------------------
# The records


@pytest.fixture
def county_a(world, django_capture_on_commit_callbacks):
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    today = timezone.localdate()
    year = school_year_of(today)
    this_september, last_september = f"{year}-09", f"{year - 1}-09"
    junior, vocational, private, receiving = orgs.register_schools(actor=None, rows=[
        school_row("3144000001", "天河测试初级中学", "311", TOWN_A),
        school_row("3644000001", "天河测试职业学校", "365", TOWN_A2),
        school_row("2144000021", "天河民办测试小学", "211", TOWN_A, sponsor_code="999"),
        school_row("2144000022", "天河转入测试小学", "211", TOWN_A2),
    ])
    seq = iter(range(5000, 9000))

    def enrol(school, grade: str, entered: str, class_number: str = "1", person: tuple[int, str] | None = None,
              **extra):
        n = next(seq) if person is None else person[0]
        birth = dt.date(year - GRADE_BY_NAME[person[1] if person else grade].typical_age, 3, 1)
        return students.enrol_student(actor=county, school=school, data=student_row(
            n, grade=grade, entered_on=entered, class_number=class_number, birth_date=birth.isoformat(),
            id_number=make_id(birth, n % 400, female=n % 2 == 0), gender="女" if n % 2 == 0 else "男", **extra))

    def many(school, grade: str, count: int, class_number: str, entered: str = this_september, **extra):
        committed(capture, lambda: [enrol(school, grade, entered, class_number, **extra) for _ in range(count)])

    many(world.school_a1, "一年级", 56, "1")  # 大班额 (56–65)
    many(world.school_a1, "一年级", 3, "2")
    many(world.school_a1, "二年级", 4, "1", entered=last_september)
    many(junior, "初一", 66, "1")  # 超大班额 (≥ 66)
    many(world.school_a2, "小班", 58, "1")  # kindergarten classes: not in the 大班额 denominator
    many(world.school_a2, "中班", 20, "1", entered=last_september)
    many(private, "一年级", 6, "1")
    many(vocational, "中职一年级", 7, "1", major="数控技术应用", programme_length="3", level="5")
    # Two pupils of school A1 — one entered primary this September, one last year — move to another
    # school during the school year (the "December transfer-in"): registrations entered today that
    # follow an earlier one in the same stage.
    first_grader = committed(capture, lambda: enrol(world.school_a1, "一年级", this_september, "2"))
    second_grader = committed(capture, lambda: enrol(world.school_a1, "二年级", last_september))
    many(receiving, "一年级", 5, "1")
    # A pupil who finished primary school last school year registers at the junior school: the same
    # person again, but the first registration in 初中 — an entrant.
    leaver = committed(capture, lambda: enrol(world.school_a1, "六年级", f"{year - 6}-09", "1"))
    committed(capture, lambda: students.apply_event(actor=county, enrolment=leaver, kind=EventKind.GRADUATE,
                                                    on=dt.date(year, 7, 1), reason="小学毕业"))
    again = committed(capture, lambda: enrol(junior, "初一", this_september, "1",
                                             person=(int(leaver.student.name.removeprefix("测试学生")), "六年级")))
    assert again.student_id == leaver.student_id and again.stage == Stage.JUNIOR
    for enrolment, grade in ((second_grader, "12"), (first_grader, "11")):
        request = committed(capture, lambda e=enrolment, g=grade: approvals.apply_transfer(
            actor=county, to_school=receiving, enrolment=e, to_grade=g, effective_on=today, reason="随父母工作调动"))
        confirm, review = request.steps.order_by("order")
        committed(capture, lambda s=confirm: approvals.decide(actor=world.user("clerk_a1"), step=s, approve=True))
        committed(capture, lambda s=review: approvals.decide(actor=world.user("county_a_reviewer"), step=s,
                                                               approve=True))

    staff_seq = iter(range(700, 900))

    def hire(unit, count: int, **row):
        committed(capture, lambda: [staff_services.hire(actor=county, unit=unit, data=staff_row(next(staff_seq), **row))
                                    for _ in range(count)])

    hire(world.school_a1, 4, post_category="1", teaching_stage="2")
    hire(world.school_a1, 2, post_category="2", teaching_stage="", subjects="")
    hire(world.school_a1, 5, post_category="6", teaching_stage="2")  # 代课教师
    hire(world.school_a1, 5, post_category="7", teaching_stage="2")  # 兼任教师
    hire(junior, 3, post_category="1", teaching_stage="3")
    hire(junior, 1, post_category="1", teaching_stage="", subjects="数学")  # 任课学段 blank, junior-only school
    hire(world.school_a2, 6, post_category="1", teaching_stage="1")
    hire(private, 1, post_category="1", teaching_stage="2")
    hire(vocational, 9, post_category="1", teaching_stage="6")
    hire(receiving, 1, post_category="1", teaching_stage="2")
    # Higher education: 4 本科, 2 硕士, 1 博士; 1 专任教师 and 2 兼任 (聘请校外) teachers.
    for level, count in (("2", 4), ("3", 2), ("4", 1)):
        many(world.college_a, "大学一年级", count, "1", major="计算机科学与技术", programme_length="4", level=level)
    hire(world.college_a, 1, post_category="1", teaching_stage="")
    hire(world.college_a, 2, post_category="7", teaching_stage="")
    return {"junior": junior, "vocational": vocational, "private": private, "receiving": receiving}


# --------------------------------------------------------------------------------------------
# The figures recounted from the raw records, by DOMAIN.md's definitions


def recount(today: dt.date, region_code: str = COUNTY_A) -> dict[str, object]:
    year_start = dt.date(school_year_of(today), 9, 1)
    county = Region.objects.get(code=region_code).path
    people = list(StaffMember.objects.filter(is_active=True, unit_kind=OrgKind.SCHOOL, region_path__startswith=county))
    posts = Counter(p.post_category for p in people)
    active = list(Enrolment.objects.filter(is_active=True, region_path__startswith=county).select_related("school"))
    moved_in = set(StudentEvent.objects.filter(kind=EventKind.TRANSFER_IN, occurred_on__gte=year_start)
                   .values_list("enrolment_id", flat=True))
    moved_out = StudentEvent.objects.filter(kind=EventKind.TRANSFER_OUT, occurred_on__gte=year_start,
                                            region_path__startswith=county).count()
    by_stage = Counter(e.stage for e in active)
    # 招生: registrations of the school year that are not a transfer in.
    entrants = Counter(e.stage for e in active if e.entered_on >= year_start and e.pk not in moved_in)
    transfers_in = sum(1 for e in active if e.pk in moved_in)

    # 教发〔2004〕2号: 折合在校生 = 本专科 + 硕士 × 1.5 + 博士 × 2; 教师总数 = 专任 + 聘请校外 (兼任) × 0.5.
    weights = {"1": 1, "2": 1, "3": 1.5, "4": 2}
    higher = sum(weights[e.level] for e in active if e.stage == Stage.HIGHER)
    colleges = {e.school_id for e in active if e.stage == Stage.HIGHER}
    higher_teachers = sum(1 if p.post_category == "1" else 0.5 if p.post_category == "7" else 0
                          for p in people if p.unit_id in colleges)

    def teachers(stage: Stage) -> int:
        code = TEACHING_STAGE[stage]
        return sum(1 for p in people if p.post_category == "1" and (
            p.teaching_stage == code or (p.teaching_stage == "" and p.stage_mask == stage)))

    sizes = Counter(e.school_class_id for e in active if e.school_class_id)
    classes = {c.pk: c for c in SchoolClass.objects.filter(pk__in=list(sizes), school_year=school_year_of(today))}
    compulsory = {Stage.PRIMARY: [], Stage.JUNIOR: []}
    for class_id, size in sizes.items():
        stage = BY_CODE[classes[class_id].grade].stage
        if stage in compulsory:
            compulsory[stage].append(size)
    all_sizes = compulsory[Stage.PRIMARY] + compulsory[Stage.JUNIOR]

    def share(sizes: list[int], low: int, high: int) -> float | None:
        return 100 * sum(1 for s in sizes if low <= s <= high) / len(sizes) if sizes else None

    return {
        "staff": sum(n for post, n in posts.items() if post in HEADCOUNT), "teachers": posts["1"],
        "substitute_teachers": posts["6"], "part_time_teachers": posts["7"], "students": len(active),
        "entrants": entrants, "transfers_in": transfers_in, "transfers_out": moved_out,
        "students_by_stage": by_stage, "people": people, "active": active,
        "pupil_teacher": {**{stage: by_stage[stage] / teachers(stage) if teachers(stage) else None
                             for stage in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR, Stage.VOCATIONAL)},
                          Stage.HIGHER: higher / higher_teachers if higher_teachers else None},
        "large": share(all_sizes, 56, 65), "super_large": share(all_sizes, 66, 10_000),
        "over_55": share(all_sizes, 56, 10_000), "large_primary": share(compulsory[Stage.PRIMARY], 56, 65),
        "super_large_junior": share(compulsory[Stage.JUNIOR], 66, 10_000),
    }


def test_the_headcount_of_the_base_tables_and_of_the_definitions_is_one_list():
    assert set(definitions.HEADCOUNT_POSTS) == set(HEADCOUNT_CATEGORIES) == HEADCOUNT
    assert set(dict(basetables.POSTS)) == HEADCOUNT and set(dict(basetables.OUTSIDE_HEADCOUNT)) == {"6", "7"}


def test_each_official_figure_equals_its_definition_on_every_page_export_table_and_the_portal(
        client, world, county_a):
    today = timezone.localdate()
    expected = recount(today)
    # The records are what the story says: 代课 and 兼任 exist, transfers happened this year.
    assert expected["substitute_teachers"] == 5 and expected["part_time_teachers"] == 7
    assert expected["pupil_teacher"][Stage.HIGHER] == pytest.approx(9 / 2)  # (4 + 2 × 1.5 + 2) ÷ (1 + 2 × 0.5)
    assert expected["transfers_in"] == 2 and expected["transfers_out"] == 2
    staff_keys = {"教职工": "staff", "专任教师": "teachers", "代课教师": "substitute_teachers",
                  "兼任教师": "part_time_teachers", "在校生": "students"}
    wanted = {label: expected[key] for label, key in staff_keys.items()}

    province = world.user("province")
    snapshot = take_snapshot(actor=province, census_date=today)
    signed_off_and_published(snapshot, actor=province)
    client.force_login(province)

    # Live page (and its export), snapshot page (and its export), snapshot list.
    live = row_of(tables_of(client.get(f"/statistics/?region={COUNTY_A}").content.decode())["overview-table"], "合计")
    assert {label: number(live[label]) for label in wanted} == wanted
    live_xlsx = xlsx_row(sheet(client.get(f"/statistics/?region={COUNTY_A}&table=overview&format=xlsx").content), "天河区")
    assert {label: live_xlsx[label] for label in wanted} == wanted
    page = client.get(f"/statistics/snapshots/{snapshot.pk}/?region={COUNTY_A}").content.decode()
    frozen = row_of(tables_of(page)["snapshot-table"], "合计")
    assert {label: number(frozen[label]) for label in wanted} == wanted
    frozen_xlsx = xlsx_row(sheet(client.get(f"/statistics/snapshots/{snapshot.pk}/?region={COUNTY_A}&format=xlsx")
                                 .content), "天河区")
    assert {label: frozen_xlsx[label] for label in wanted} == wanted
    listed = client.get("/statistics/snapshots/").content.decode()
    assert re.search(r'data-testid="snapshot-staff">([\d,]+)<', listed)[1] == f"{expected['staff']:,}"
    assert re.search(r'data-testid="snapshot-students">([\d,]+)<', listed)[1] == f"{expected['students']:,}"
    assert snapshot.totals["staff"] == expected["staff"]

    # 基表: 411 (教职工, 代课, 兼任) of town A (basic education only: the 基础基 series' own scope),
    # beside the same town's snapshot page; 312 (招生 by grade) and V3/V4 with the transfers in.
    town = recount(today, TOWN_A)
    town_page = row_of(tables_of(client.get(f"/statistics/snapshots/{snapshot.pk}/?region={TOWN_A}").content.decode())
                       ["snapshot-table"], "合计")
    town_table = xlsx_row(sheet(client.get(f"/statistics/snapshots/{snapshot.pk}/tables/?region={TOWN_A}&format=xlsx")
                                .content, "基础基411"), "教职工")
    assert (town_table["合计"], town_table["专任教师"], town_table["代课教师"], town_table["兼任教师"]) == (
        town["staff"], town["teachers"], town["substitute_teachers"], town["part_time_teachers"]) == tuple(
        number(town_page[label]) for label in ("教职工", "专任教师", "代课教师", "兼任教师"))
    assert town["substitute_teachers"] == 5 and town["staff"] < expected["staff"]
    book = client.get(f"/statistics/snapshots/{snapshot.pk}/tables/?region={COUNTY_A}&format=xlsx").content
    entrants_table = sheet(book, "基础基312")
    by_grade = {r[0]: r[1] for r in entrants_table[1:]}
    primary = sum(v for label, v in by_grade.items() if label in {g.name for g in BY_CODE.values() if g.stage == Stage.PRIMARY})
    assert primary == expected["entrants"][Stage.PRIMARY] and "二年级" not in by_grade  # the transfer is no entrant
    assert by_grade["初一"] == expected["entrants"][Stage.JUNIOR]
    county = Region.objects.get(code=COUNTY_A)
    findings = {f.rule: f for f in basetables.check(basetables.generate(province, county, snapshot), province, county,
                                                   snapshot)}
    assert findings["V3 小学招生数 = 一年级在校生数"].holds is True, findings["V3 小学招生数 = 一年级在校生数"].detail
    assert "其中本学年转入 1" in findings["V3 小学招生数 = 一年级在校生数"].detail
    assert findings["V4 初中招生数 = 初一在校生数"].holds is True

    # 招生, 转入, 转出 on the live page's export by stage.
    for measure, figure in (("new_entrants", sum(expected["entrants"].values())),
                            ("transfers_in", expected["transfers_in"]), ("transfers_out", expected["transfers_out"])):
        rows = sheet(client.get(f"/statistics/?region={COUNTY_A}&measure={measure}&format=xlsx").content)
        assert xlsx_row(rows, "天河区")["合计"] == figure, measure

    # Public portal: 广州市 (county A holds all its records) in the page and the CSV.
    portal = row_of(tables_of(client.get("/public/").content.decode())["portal-table"], GUANGZHOU)
    assert {label: number(portal[label]) for label in ("教职工", "专任教师", "代课教师", "兼任教师")} == {
        label: wanted[label] for label in ("教职工", "专任教师", "代课教师", "兼任教师")}
    lines = list(csv.reader(io.StringIO(client.get(f"/public/{today.year}.csv").content.decode("utf-8-sig"))))
    csv_row = dict(zip(lines[0], next(r for r in lines if r and r[0] == GUANGZHOU), strict=False))
    assert int(csv_row["教职工"]) == expected["staff"] and int(csv_row["代课教师"]) == expected["substitute_teachers"]

    # Indicators: 生师比 per stage and 大班额 over compulsory classes, live and from the snapshot,
    # on the page and in the export; the map (live, by city).
    ratios = {"生师比（幼儿园）": expected["pupil_teacher"][Stage.PRESCHOOL],
              "生师比（小学）": expected["pupil_teacher"][Stage.PRIMARY],
              "生师比（初中）": expected["pupil_teacher"][Stage.JUNIOR],
              "生师比（中职）": expected["pupil_teacher"][Stage.VOCATIONAL],
              "生师比（高等教育）": expected["pupil_teacher"][Stage.HIGHER],
              "大班额比例（义务教育）": expected["large"], "超大班额比例（义务教育）": expected["super_large"],
              "56人以上比例（义务教育）": expected["over_55"], "大班额比例（小学）": expected["large_primary"],
              "超大班额比例（初中）": expected["super_large_junior"]}
    # Compulsory classes of 56, 3, 4 (二年级), 6 (民办), 5 (receiving school) and 67 pupils: one 大班额 in six. Over
    # every stage's classes (小班 58, 中班 20, 中职 7 added) it would have been two in nine.
    assert (expected["large"], expected["over_55"]) == (pytest.approx(100 / 6), pytest.approx(200 / 6))
    for suffix in ("", f"&snapshot={snapshot.pk}"):
        html = client.get(f"/statistics/indicators/?region={COUNTY_A}{suffix}").content.decode()
        shown = {}
        for table in tables_of(html).values():
            if table and table[0][0] == "名称":
                shown.update(row_of(table, "天河区"))
        exported = xlsx_row(sheet(client.get(f"/statistics/indicators/?region={COUNTY_A}{suffix}&format=xlsx").content),
                            "天河区")
        for label, value in ratios.items():
            unit = ":1" if label.startswith("生师比") else "%"
            assert shown[label] == f"{value:.2f}{unit}", (suffix, label)
            # Shares are exported as the fraction Excel's 0.00% format shows as the page's percentage.
            assert exported[f"{label}（{unit}）"] == pytest.approx(value / 100 if unit == "%" else value), (suffix, label)
    for key, value in (("pupil_teacher_primary", ratios["生师比（小学）"]), ("large_classes", expected["large"])):
        page = client.get(f"/statistics/map/?indicator={key}").content.decode()
        data = json.loads(re.search(r'<script id="map-data" type="application/json">(.*?)</script>', page, re.S)[1])
        assert {r["name"]: r["value"] for r in data["rows"]}[GUANGZHOU] == round(value, 2), key


def test_a_school_without_a_staffing_standard_is_not_assessed_and_left_out_of_the_sums(client, world, county_a):
    """The vocational school (9 teachers, no 编制 standard) shows 不测算, not 超编 +9, and neither its
    quota nor its staff enter the county's total."""
    today = timezone.localdate()
    expected = recount(today)
    vocational = county_a["vocational"]
    pupils: dict[int, Counter] = defaultdict(Counter)
    for e in expected["active"]:
        pupils[e.school_id][e.stage] += 1
    # A standard exists for 小学, 初中, 高中 pupils and kindergarten classes; the vocational school and
    # the college have none.
    with_standard = {sid for sid, n in pupils.items() if n[Stage.PRIMARY] or n[Stage.JUNIOR] or n[Stage.SENIOR]}
    with_standard.add(world.school_a2.pk)
    assert vocational.pk not in with_standard and world.college_a.pk not in with_standard
    assessed = [p for p in expected["people"] if p.unit_id in with_standard and p.post_category in HEADCOUNT]
    kg_classes = SchoolClass.objects.filter(school=world.school_a2, school_year=school_year_of(today)).count()
    quota = sum(math.ceil(n[Stage.PRIMARY] / 19 + n[Stage.JUNIOR] / 13.5) for sid, n in pupils.items()
                if sid in with_standard and sid != world.school_a2.pk)
    quota += kg_classes * 3 + 1  # 2 teachers + 1 保育员 per class, one director up to 5 classes
    client.force_login(world.user("county_a_stat"))
    page = client.get(f"/statistics/staffing/?region={COUNTY_A}").content.decode()
    total = row_of(tables_of(page)["staffing-table"], "合计")
    assert (number(total["核定编制"]), number(total["在岗教职工"])) == (quota, len(assessed))
    town = client.get(f"/statistics/staffing/?region={TOWN_A2}").content.decode()
    row = row_of(tables_of(town)["staffing-table"], vocational.name)
    assert row["核定编制"] == "不测算" and row["超编(+)/缺编(-)"] == "—" and number(row["在岗教职工"]) == 9
    exported = xlsx_row(sheet(client.get(f"/statistics/staffing/?region={TOWN_A2}&format=xlsx").content),
                        vocational.name)
    assert exported["核定编制"] == "不测算" and "无适用的编制标准" in exported["测算过程"]


def test_a_private_school_is_funded_at_a_public_rate_only_when_the_rate_says_it_covers_private_schools(
        client, world, county_a):
    from eduplatform.funding import services as funding

    private = county_a["private"]
    province = world.user("province")
    lines = [{"stage": int(Stage.PRIMARY), "per_student": "650", "source": "测试"}]
    public_only = funding.revise_rates(actor=province, year=2024, rates=lines, basis="测试定额")
    both = funding.revise_rates(actor=province, year=2024, rates=[{**lines[0], "covers_private": "是"}],
                                basis="测试定额", note="民办学校同标准")
    pupils = Enrolment.objects.filter(school=private, is_active=True).count()
    client.force_login(world.user("county_a_stat"))

    def private_row(rate_set) -> tuple[str, str]:
        page = client.get(f"/statistics/funding/?region={TOWN_A}&rates={rate_set.pk}").content.decode()
        applies = re.search(r'data-testid="applies-to">([^<]*)<', page)[1]
        book = sheet(client.get(f"/statistics/funding/?region={TOWN_A}&rates={rate_set.pk}&format=xlsx").content,
                     "逐校测算")
        return applies, next(" ".join(str(c) for c in r) for r in book if r and r[0] == private.name)

    applies, school = private_row(public_only)
    assert applies == "办学类型：该学段所有办学类型；举办者：公办学校（不含民办）"
    assert "本定额不适用于民办学校，未计入" in school
    applies, school = private_row(both)
    assert applies == "办学类型：该学段所有办学类型；举办者：公办和民办学校"
    assert f"{pupils} × 650 = {pupils * 650:,}" in school


def test_a_rate_line_refuses_an_unknown_school_type_naming_it(world):
    from eduplatform.core.errors import RecordInvalid
    from eduplatform.funding import services as funding

    with pytest.raises(RecordInvalid) as refused:
        funding.revise_rates(actor=world.user("province"), year=2024, basis="测试", rates=[
            {"stage": int(Stage.PRIMARY), "per_student": "650", "source": "测试", "school_types": "211 9x",
             "covers_private": "也许"}])
    messages = [p.message for p in refused.value.problems]
    assert any("小学适用办学类型「9x」不是办学类型代码" in m for m in messages), messages
    assert any("小学适用于民办学校「也许」应为“是”或“否”" in m for m in messages), messages


def test_a_snapshot_taken_before_the_one_definition_lists_its_staff_summed_again_from_its_frozen_rows(
        client, world, django_capture_on_commit_callbacks):
    """Snapshots taken before issue 12 kept a 教职工 total that counted 代课 and 兼任; the list shows the
    headcount summed from their frozen rows instead, the same as their page."""
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    for seq, post in ((901, "1"), (902, "6"), (903, "7")):
        committed(capture, lambda s=seq, p=post: staff_services.hire(actor=county, unit=world.school_a1,
                                                                      data=staff_row(s, post_category=p)))
    province = world.user("province")
    snapshot = take_snapshot(actor=province, census_date=timezone.localdate())
    assert snapshot.totals["staff"] == 1 and snapshot.totals["substitute_teachers"] == 1
    # As an old snapshot kept it: every person in post, and no 代课 key.
    type(snapshot).objects.filter(pk=snapshot.pk).update(totals={"students": 0, "staff": 3, "floor_area": "0"})
    client.force_login(province)
    listed = client.get("/statistics/snapshots/").content.decode()
    assert re.search(r'data-testid="snapshot-staff">([\d,]+)<', listed)[1] == "1"

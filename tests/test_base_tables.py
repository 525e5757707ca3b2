"""The base tables (基表) of a demo county from a census snapshot equal counts taken directly from
the records, and pass the validation relationships; every school's tables, computed at once, equal
each school's own. The 基础基 tables count basic education only (schools offering neither
vocational nor higher education, students of the other stages); the demo province's 中职基 and 高基
tables equal the records too. A small demo province is generated once for the module and rolled
back afterwards."""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections import Counter
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from eduplatform.accounts.models import User
from eduplatform.assets.models import AssetHoldings
from eduplatform.demo.province import DEMO_COUNTY
from eduplatform.facilities.models import Building, LandParcel
from eduplatform.facilities.schema import use_category
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.stages import Stage
from eduplatform.staff.codes import SUBJECT_BEGINNINGS, TEACHING_SUBJECTS
from eduplatform.staff.models import StaffMember
from eduplatform.standards import codebook
from eduplatform.stats import basetables
from eduplatform.stats.models import SnapshotSchool
from eduplatform.stats.rollup import SIZE_BANDS
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from eduplatform.students.grades import BY_CODE
from eduplatform.students.models import Enrolment, EnrolmentStatus, EventKind

pytestmark = pytest.mark.django_db
CENSUS = dt.date(2026, 9, 1)
NOT_BASIC = Stage.VOCATIONAL | Stage.HIGHER


def basic_school(stage_mask: int) -> bool:
    """A school of the 基础基 series: it offers neither vocational nor higher education."""
    return not stage_mask & NOT_BASIC
GRADUATED_LAST_JULY = 3  # 高三 students of the demo county graduated in the previous school year
MADE_INCLUSIVE = 4  # primary pupils of the demo county recorded as disabled (随班就读)


def _statistician_of(school: Organization) -> User:
    """A statistician of the school's supervising bureau (the demo has accounts for a few only)."""
    from eduplatform.accounts import services as accounts
    from eduplatform.accounts.roles import Role

    bureau = school.parent
    user = User.objects.filter(username=f"stat{bureau.pk}").first()
    if user is None:
        user = accounts.create_user(actor=None, username=f"stat{bureau.pk}", password="Test@2026pass",
                                    organization=bureau, display_name="统计员")
        accounts.grant_role(actor=None, user=user, role=Role.STATISTICIAN)
    return user


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo county's and the whole province's tables (the county has only some stages at this
    scale; the province has them all), and their validation findings."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("generate_demo", "--scale", "0.002", "--students", "0.02", stdout=io.StringIO())
        officer = User.objects.get(username="province")
        census = min(CENSUS, dt.date.today())
        county = Region.objects.get(code=DEMO_COUNTY)
        # Flows the demo does not make: last school year's graduates and pupils taught in regular classes.
        active = Enrolment.objects.filter(is_active=True).select_related("school__parent", "student").order_by("pk")
        for enrolment in active.filter(grade="33")[:GRADUATED_LAST_JULY]:
            students.apply_event(actor=_statistician_of(enrolment.school), enrolment=enrolment,
                                 kind=EventKind.GRADUATE, on=dt.date(census.year, 7, 1), reason="毕业")
        for enrolment in active.filter(grade="13", region_path__startswith=county.path)[:MADE_INCLUSIVE]:
            students.update_student(actor=_statistician_of(enrolment.school), student=enrolment.student,
                                    data={"disability_type": "61"})
        snapshot = take_snapshot(actor=officer, census_date=census)  # refreshes the schools just changed
        regions = {"county": county, "province": Region.objects.get(code="440000000000")}
        tables, findings = {}, {}
        for key, region in regions.items():
            for series in basetables.SERIES:
                made = basetables.generate(officer, region, snapshot, series=series)
                tables.setdefault(key, {}).update({t.code: t for t in made})
                findings.setdefault(key, []).extend(basetables.check(made, officer, region, snapshot, series=series))
        yield SimpleNamespace(snapshot=snapshot, officer=officer, regions=regions, tables=tables, findings=findings)
        transaction.set_rollback(True)


def cells(table) -> dict[tuple[str, str], object]:
    """Every non-zero cell of a table by (row, column), totals included."""
    return {(label, column): value for label, row in table.rows for column, value in zip(table.columns, row, strict=True)
            if value}


def age_on_31_august(year: int, birth: dt.date) -> int:
    return year - birth.year - (1 if birth.month >= 9 else 0)


@pytest.mark.parametrize("where", ["county", "province"])
def test_schools_by_type_urban_rural_class_and_sponsor_equal_the_register(demo, where):
    tables, region = demo.tables[where], demo.regions[where]
    schools = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, region_path__startswith=region.path)
    urban = {"11": "城区", "12": "镇区", "2": "乡村"}
    sponsors = {"811": "教育部门", "821": "教育部门", "831": "教育部门", "812": "其他部门", "822": "其他部门",
                "832": "其他部门", "891": "地方企业", "892": "事业单位", "893": "部队", "894": "集体", "999": "民办"}
    expected: Counter = Counter()
    for s in schools:
        if not basic_school(s.stage_mask):
            continue
        area = next((label for prefix, label in urban.items() if s.urban_rural_code.startswith(prefix)), "城乡未填")
        sponsor = sponsors.get(s.sponsor_code, "举办者未填")
        for row in ("合计", codebook.code_name("school_type", s.school_type_code)):
            expected[(row, "合计")] += 1
            expected[(row, area)] += 1
            expected[(row, sponsor)] += 1
    assert schools.count() > (50 if where == "province" else 1)
    assert cells(tables["基础基111"]) == dict(expected)


@pytest.mark.parametrize("where", ["county", "province"])
def test_classes_by_size_band_equal_the_classes_of_each_tables_stages(demo, where):
    tables, region, snapshot = demo.tables[where], demo.regions[where], demo.snapshot
    sizes = (Enrolment.objects.filter(is_active=True, region_path__startswith=region.path,
                                      school_class__school_year=snapshot.school_year)
             .values("school_class_id", "school_class__grade").annotate(n=Count("pk")))
    for code, _title, stages in basetables.CLASS_TABLES:
        expected: Counter = Counter()
        for row in sizes:
            grade = BY_CODE[row["school_class__grade"]]
            if grade.stage not in stages:
                continue
            band = next(label for label, low in reversed(SIZE_BANDS) if row["n"] >= low)
            for label in (grade.name, "合计"):
                expected[(label, band)] += 1
                expected[(label, "合计")] += 1
        assert expected or where == "county", f"the demo province has classes for {code}"
        assert cells(tables[code]) == dict(expected), code


@pytest.mark.parametrize("where", ["county", "province"])
def test_students_by_grade_and_age_equal_the_register(demo, where):
    tables, region, snapshot = demo.tables[where], demo.regions[where], demo.snapshot
    year = snapshot.census_date.year
    active = Enrolment.objects.filter(is_active=True, region_path__startswith=region.path).exclude(
        stage__in=[Stage.VOCATIONAL, Stage.HIGHER]).values_list("grade", "student__birth_date", "student__gender",
                                                              "student__ethnicity")
    expected: Counter = Counter()
    for grade, birth, gender, ethnicity in active:
        name = BY_CODE[grade].name
        age = age_on_31_august(year, birth)
        for row in (name, "合计"):
            expected[(row, f"{age}岁")] += 1
            expected[(row, "合计")] += 1
            expected[(row, "其中：女")] += gender == "2"
            expected[(row, "其中：少数民族")] += ethnicity not in ("01", "")
    assert len(active) > 500
    assert cells(tables["基础基311"]) == {k: v for k, v in expected.items() if v}


def _is_final_year(grade_code: str, programme_length: int | None) -> bool:
    grade = BY_CODE[grade_code]
    if grade.stage in (Stage.VOCATIONAL, Stage.HIGHER) and programme_length:
        return grade.year >= programme_length
    return grade.next_code is None


@pytest.mark.parametrize("where", ["county", "province"])
def test_entrants_expected_and_last_years_graduates_and_special_groups_equal_the_register(demo, where):
    tables, region, snapshot = demo.tables[where], demo.regions[where], demo.snapshot
    year = snapshot.census_date.year
    start, prior_start = dt.date(snapshot.school_year, 9, 1), dt.date(snapshot.school_year - 1, 9, 1)
    finished = [EnrolmentStatus.GRADUATED, EnrolmentStatus.COMPLETED]
    records = Enrolment.objects.filter(region_path__startswith=region.path).filter(
        Q(is_active=True) | Q(status__in=finished, left_on__gte=prior_start)).values_list(
        "is_active", "status", "left_on", "entered_on", "grade", "programme_length", "stage", "student__birth_date",
        "student__gender", "student__ethnicity", "student__migrant_child", "student__left_behind",
        "student__disability_type", "school__school_type_code")
    expected = {code: Counter() for code in ("基础基312", "基础基313", "基础基314", "基础基315")}
    for (active, status, left_on, entered_on, grade, length, stage, birth, gender, ethnicity, migrant, left_behind,
         disability, school_type) in records:
        if stage & NOT_BASIC:
            continue
        name, age, female = BY_CODE[grade].name, f"{age_on_31_august(year, birth)}岁", gender == "2"
        flows = {"基础基312": active and entered_on >= start, "基础基313": active and _is_final_year(grade, length),
                 "基础基314": not active and status in finished and prior_start <= left_on < start}
        for code, counted in flows.items():
            if counted:
                for row in (name, "合计"):
                    expected[code][(row, age)] += 1
                    expected[code][(row, "合计")] += 1
                    expected[code][(row, "其中：女")] += female
                    expected[code][(row, "其中：少数民族")] += ethnicity not in ("01", "")
        if active:
            inclusive = disability != "" and stage != Stage.SPECIAL and not school_type.startswith("5")
            for row in (name, "合计"):
                expected["基础基315"][(row, "在校生")] += 1
                for column, counted in (("随迁子女", migrant), ("留守儿童", left_behind not in ("0", "")),
                                        ("随班就读", inclusive)):
                    expected["基础基315"][(row, column)] += counted
                    expected["基础基315"][(row, f"{column}：女")] += counted and female
    if where == "province":
        assert expected["基础基314"][("高三", "合计")] == GRADUATED_LAST_JULY
        assert expected["基础基313"][("初三", "合计")] > 0
        assert not any(row.startswith(("中职", "大学")) for t in ("基础基311", "基础基313")
                       for row, _cells in demo.tables[where][t].rows)
    assert expected["基础基315"][("三年级", "随班就读")] == MADE_INCLUSIVE
    assert expected["基础基315"][("合计", "随迁子女")] > 0 and expected["基础基312"][("一年级", "合计")] > 0
    for code, counts in expected.items():
        assert cells(tables[code]) == {k: v for k, v in counts.items() if v}, code


@pytest.mark.parametrize("where", ["county", "province"])
def test_staff_and_teachers_equal_the_staff_register(demo, where):
    tables, region, snapshot = demo.tables[where], demo.regions[where], demo.snapshot
    staff = StaffMember.objects.filter(is_active=True, unit_kind="school", region_path__startswith=region.path).exclude(
        stage_mask__in=[m for m in range(256) if m & NOT_BASIC])
    posts = dict(basetables.POSTS + basetables.OUTSIDE_HEADCOUNT)
    by_post = Counter(posts[p] for p in staff.values_list("post_category", flat=True))
    headcount = sum(by_post[label] for _c, label in basetables.POSTS)
    table = tables["基础基411"]
    assert table.cell("教职工", "合计") == headcount > 50
    for label, count in by_post.items():
        assert table.cell("教职工", label) == count
    teachers = list(staff.filter(post_category="1").values_list(
        "gender", "teaching_stage", "title_grade", "education_level", "birth_date", "subjects"))
    subjects = dict(TEACHING_SUBJECTS)

    def education(level: str) -> str:
        if level in ("11", "12", "13"):
            return "博士研究生"
        return {"1": "硕士研究生", "2": "本科", "3": "专科", "4": "高中阶段", "6": "高中阶段",
                "7": "高中阶段以下", "8": "高中阶段以下"}.get(level[:1], "其他或未填")

    def subject(typed: str) -> str:
        if not typed:
            return "未填学科"
        return subjects[next((code for begin, code in SUBJECT_BEGINNINGS if typed.startswith(begin)), "99")]

    def age_band(birth: dt.date) -> str:
        age = snapshot.census_date.year - birth.year
        return next(label for label, low in reversed(basetables.AGE_BANDS) if age >= low)

    columns = {"基础基422": lambda t: t[2] or "未定职级", "基础基4211": lambda t: education(t[3]),
               "基础基423": lambda t: age_band(t[4]), "基础基424": lambda t: subject(t[5])}
    for code, column in columns.items():
        expected: Counter = Counter()
        for t in teachers:
            stage = codebook.code_name("teaching_stage", t[1]) if t[1] else "未填任课学段"
            for row in ("专任教师", stage, *(["其中：女"] if t[0] == "2" else [])):
                expected[(row, column(t))] += 1
                expected[(row, "合计")] += 1
        assert cells(tables[code]) == dict(expected), code
    assert tables["基础基424"].cell("专任教师", "体育与健康") > 0


@pytest.mark.parametrize("where", ["county", "province"])
def test_floor_areas_equal_the_buildings(demo, where):
    tables, region = demo.tables[where], demo.regions[where]
    expected = Counter()
    for b in Building.objects.filter(region_path__startswith=region.path, demolished_on__isnull=True).select_related(
            "school"):
        if not basic_school(b.school.stage_mask):
            continue
        expected["合计"] += b.total_area
        parts = {"teaching": b.teaching_area, "admin": b.admin_area, "living": b.living_area, "other": b.other_area}
        parts[use_category(b.use_code)] += b.total_area - sum(parts.values())  # unassigned: the building's own use
        for key, label in (("teaching", "教学及辅助用房"), ("admin", "行政办公用房"), ("living", "生活用房"),
                           ("other", "其他用房")):
            expected[label] += parts[key]
        if b.condition.startswith("2"):
            expected["其中：危房"] += b.total_area
        if b.use_code == "15":
            expected["其中：体育馆"] += b.total_area
    table = tables["基础基512"]
    assert expected["合计"] > 0 and (expected["其中：体育馆"] > 0 or where == "county")
    for label, area in expected.items():
        assert table.cell(label, "建筑面积") == area, label


@pytest.mark.parametrize("where", ["county", "province"])
def test_land_and_assets_equal_the_parcels_and_this_years_holdings(demo, where):
    tables, region, snapshot = demo.tables[where], demo.regions[where], demo.snapshot
    land = [p for p in LandParcel.objects.filter(region_path__startswith=region.path, retired_on__isnull=True)
            .select_related("school") if basic_school(p.school.stage_mask)]
    held = [h for h in AssetHoldings.objects.filter(region_path__startswith=region.path, year=snapshot.school_year)
            .select_related("school") if basic_school(h.school.stage_mask)]
    expected = {
        "占地面积（㎡）": sum(p.area for p in land), "其中：运动场地面积（㎡）": sum(p.sports_area for p in land),
        "其中：绿化用地面积（㎡）": sum(p.green_area for p in land), "图书（册）": sum(h.books_volumes for h in held),
        "教学用计算机（台）": sum(h.computers_for_teaching for h in held),
        "网络多媒体教室（间）": sum(h.multimedia_classrooms for h in held),
        "教学仪器设备资产值（元）": sum(h.teaching_equipment_value for h in held),
        "固定资产总值（元）": sum(h.fixed_asset_value for h in held),
    }
    assert held and expected["占地面积（㎡）"] > 0
    table = tables["基础基522"]
    assert {label: table.cell(label, "数量") for label in expected} == expected


@pytest.mark.parametrize("where", ["county", "province"])
def test_the_tables_pass_every_rule_the_records_can_decide_and_say_why_the_others_cannot(demo, where):
    findings = demo.findings[where]
    failed = [f for f in findings if f.holds is False]
    assert not failed, failed
    undecided = {f.rule: f.detail for f in findings if f.holds is None}
    assert all("无法核验" in why or "不在" in why for why in undecided.values())
    rules = " ".join(f.rule for f in findings)
    for rule in ("V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "V11", "V12"):
        assert rule in rules, rule  # V11 (higher education) from the 高基 tables' check
    # Decided from the records: class sizes, entrants, expected graduates, backbone teachers, addresses …
    decided = {f.rule for f in findings if f.holds}
    assert {"V3 小学招生数 = 一年级在校生数", "V5 六年级在校生 = 小学预计毕业生", "V7 县级及以上骨干教师 ≤ 专任教师",
            "V10 学校地址不少于 6 个汉字", "V12 教职工各类之和 = 教职工数"} <= decided
    # … not from what the platform does not record (preschool attendance, training, health checks) …
    assert {"V3 小学招生数 ≥ 受过学前教育的人数", "V9 上年体检学生数 ≤ 上年招生数且 ≥ 其 80%"} <= set(undecided)
    # A county-level rule, not applied to the province's sum.
    assert ("V4 县内小学毕业生（上学年）≥ 初一招生" in rules) == (where == "county")


def test_a_table_that_disagrees_with_the_snapshot_fails_its_check(demo):
    tables, county, snapshot = demo.tables["county"], demo.regions["county"], demo.snapshot
    students_311 = tables["基础基311"]
    altered = basetables.BaseTable(students_311.code, students_311.title, students_311.columns,
                                   [("合计", [students_311.cell("合计", "合计") + 1, *students_311.rows[0][1][1:]]),
                                    *students_311.rows[1:]])
    others = [t for code, t in tables.items() if code != "基础基311"]
    findings = basetables.check([altered, *others], demo.officer, county, snapshot)
    assert [f.rule for f in findings if f.holds is False] == ["V12 在校生 = 各年级在校生之和"]


def test_every_schools_tables_at_once_equal_each_schools_own_in_one_query_per_source(demo):
    officer, snapshot, province = demo.officer, demo.snapshot, demo.regions["province"]
    for table in ("school_type", "sponsor", "urban_rural", "teaching_stage"):
        codebook.codes_of(table)  # the labels' code tables, cached once per process
    in_snapshot = dict(SnapshotSchool.objects.filter(snapshot=snapshot).values_list("school_id", "stage_mask"))
    of_series: dict[str, set[int]] = {}
    for key, series in basetables.SERIES.items():
        with CaptureQueriesContext(connection) as queries:
            every = dict(basetables.every_school(snapshot, series=key))
        assert len(queries) == len(series.sources), key
        of_series[key] = set(every)
        for school_id, tables in every.items():
            assert tables == basetables.generate(officer, province, snapshot, school_id=school_id, series=key), school_id
        # The province's tables are the sums of its schools'.
        codes = {"basic": ("基础基311", "基础基411", "基础基512", "基础基522"),
                 "vocational": ("中职基311", "中职基411", "中职基521"), "higher": ("高基311", "高基312", "高基411", "高基521")}
        for code in codes[key]:
            total = sum((next(t for t in ts if t.code == code).rows[0][1][0] for ts in every.values()), decimal.Decimal(0))
            assert total == demo.tables["province"][code].rows[0][1][0], code
    # Each school of the snapshot in exactly one series: basic education, vocational, higher.
    assert of_series["basic"] == {i for i, mask in in_snapshot.items() if basic_school(mask)} and len(of_series["basic"]) > 50
    assert of_series["higher"] == {i for i, mask in in_snapshot.items() if mask & Stage.HIGHER} != set()
    assert of_series["vocational"] == set(in_snapshot) - of_series["basic"] - of_series["higher"] != set()
    everyone = [school_id for school_id, _tables in basetables.every_school(snapshot, series=None)]
    assert sorted(everyone) == sorted(in_snapshot)  # each once, with its series' tables
    # A school's 111 is its identity.
    school = Organization.objects.get(pk=min(of_series["basic"]))
    identity = dict(basetables.generate(officer, province, snapshot, school_id=school.pk)[0].rows)
    assert identity["学校标识码"] == [school.school_code] and identity["学校名称"] == [school.name]


@pytest.mark.parametrize("where", ["county", "province"])
def test_vocational_and_higher_education_tables_equal_the_register(demo, where):
    tables, region = demo.tables[where], demo.regions[where]
    active = Enrolment.objects.filter(is_active=True, region_path__startswith=region.path)
    for stage, code, level in ((Stage.VOCATIONAL, "中职基311", None), (Stage.HIGHER, "高基312", "2")):
        records = active.filter(stage=stage, **({"level": level} if level else {}))
        expected: Counter = Counter()
        for major, grade, gender in records.values_list("major", "grade", "student__gender"):
            for row in (major or "未填专业", "合计"):
                expected[(row, BY_CODE[grade].name)] += 1
                expected[(row, "合计")] += 1
                expected[(row, "其中：女")] += gender == "2"
        shown = {k: v for k, v in cells(tables[code]).items() if k[1] not in ("招生", "预计毕业生", "毕业生（上学年）")}
        assert shown == {k: v for k, v in expected.items() if v}, code
        assert expected or where == "county", f"the demo province has students for {code}"
    levels = Counter(active.filter(stage=Stage.HIGHER).values_list("level", flat=True))
    weights = {"1": 1, "2": 1, "3": decimal.Decimal("1.5"), "4": 2}
    assert tables["高基311"].cell("合计", "折合在校生") == sum(n * weights.get(lv, 0) for lv, n in levels.items())
    for code, bit in (("中职基411", Stage.VOCATIONAL), ("高基411", Stage.HIGHER)):
        staff = [m for m in StaffMember.objects.filter(is_active=True, unit_kind="school",
                                                       region_path__startswith=region.path)
                 if m.stage_mask & bit and (bit == Stage.HIGHER or not m.stage_mask & Stage.HIGHER)]
        posts = Counter(m.post_category for m in staff)
        assert tables[code].cell("教职工", "合计") == sum(posts[p] for p in "12345"), code
        assert (tables[code].cell("教职工", "代课教师"), tables[code].cell("教职工", "兼任教师")) == (posts["6"], posts["7"])


def test_the_export_command_writes_a_workbook_per_county_with_a_sheet_per_school(demo, tmp_path):
    from python_calamine import CalamineWorkbook

    county, snapshot = demo.regions["county"], demo.snapshot
    out = io.StringIO()
    call_command("export_base_tables", "--snapshot", str(snapshot.pk), "--region", county.code[:4] + "00000000",
                 "--out", str(tmp_path), stdout=out)
    files = sorted(tmp_path.glob("*.xlsx"))
    counties = set(Region.objects.filter(parent__code=county.code[:4] + "00000000", level="county")
                   .values_list("code", flat=True))
    assert {f.name[:12] for f in files} <= counties and len(files) > 1 and "基表导出完成" in out.getvalue()
    (mine,) = [f for f in files if f.name.startswith(county.code)]
    book = CalamineWorkbook.from_path(str(mine))
    codes = {s.school_code for s in SnapshotSchool.objects.filter(snapshot=snapshot, region_path__startswith=county.path)}
    assert {name[:10] for name in book.sheet_names} == codes
    masks = dict(SnapshotSchool.objects.filter(snapshot=snapshot, region_path__startswith=county.path)
                 .values_list("school_code", "stage_mask"))
    for name in book.sheet_names:  # each school with the tables of its series
        written = [str(row[0]) for row in book.get_sheet_by_name(name).to_python() if row]
        prefix = basetables.SERIES[basetables.series_of_school(masks[name[:10]])].name
        assert any(text.startswith(f"{prefix}111") for text in written), name
        assert not any(text.startswith(("基础基", "中职基", "高基")) and not text.startswith(prefix) for text in written)
    sheet = book.get_sheet_by_index(0).to_python()
    written = [str(row[0]) for row in sheet if row]
    assert any(text.startswith("基础基111") for text in written) and any(text.startswith("基础基522") for text in written)


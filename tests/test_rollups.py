"""Roll-ups: every committed change shows in the region figures right after commit, and the
incremental refresh always equals a full rebuild from the records."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from eduplatform.stats import selectors
from eduplatform.stats.models import (
    COUNTY_PATH_LENGTH,
    StudentCountyRollup,
    StudentFigures,
    StudentRollup,
)
from eduplatform.stats.rollup import (
    COUNTY_DIMENSIONS,
    ROLLUPS,
    STUDENT_SUMS,
    rebuild_all,
    school_year_of,
)
from eduplatform.students import promotion, services
from eduplatform.students.models import Enrolment, EventKind
from tests.students_support import make_id, second_primary_in_county_a, student_row

COUNTY_A, PROVINCE = "44/4401/440106/", "44/"


@pytest.fixture(autouse=True)
def world_refreshed(request):
    """The test world is built in the test's transaction, whose after-commit refresh never runs:
    refresh the schools it marked, as its commit would have. Each write below then refreshes only
    what its own transaction marked — and at the end no mark may be left over."""
    from eduplatform.history.models import DirtySchool
    from eduplatform.stats.rollup import process_dirty

    if "world" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("world")
    process_dirty()
    yield
    assert not DirtySchool.objects.exists(), "a committed write left its school marked dirty"


def table_rows() -> tuple[list, ...]:
    """Every roll-up table's rows, without their ids, in a stable order."""
    return tuple(
        sorted(model.objects.values_list(*[f.name for f in model._meta.fields if f.name != "id"]))
        for model in (*ROLLUPS, StudentCountyRollup)
    )


def county_rows() -> list[tuple]:
    """The county roll-up's rows (key, dimensions, then measures), without zero rows."""
    keys = ("region_path", *COUNTY_DIMENSIONS)
    return sorted(r for r in StudentCountyRollup.objects.values_list(*keys, *STUDENT_SUMS) if any(r[len(keys):]))


def school_rows_summed_per_county() -> list[tuple]:
    """The school roll-up summed per county key, in Python: what the county roll-up must hold."""
    sums: dict[tuple, list[int]] = {}
    for row in StudentRollup.objects.values("region_path", *COUNTY_DIMENSIONS, *STUDENT_SUMS):
        key = (row["region_path"][:COUNTY_PATH_LENGTH], *(row[d] for d in COUNTY_DIMENSIONS))
        total = sums.setdefault(key, [0] * len(STUDENT_SUMS))
        for i, m in enumerate(STUDENT_SUMS):
            total[i] += row[m]
    return sorted((*k, *v) for k, v in sums.items() if any(v))


def test_the_county_roll_up_has_every_dimension_and_measure_of_the_school_roll_up():
    """A measure or dimension added to StudentFigures must be added to the county roll-up too — but
    专业 (major): only the 中职基 and 高基 tables count by it, and they read the school roll-up and the
    snapshots; the county roll-up sums over it rather than multiply its rows by every major."""
    school = {f.name for f in StudentFigures._meta.get_fields()} - {"school_id", "region_path", "major"}
    county = {f.name for f in StudentCountyRollup._meta.get_fields()} - {"id", "region_path"}
    assert county == school == set(COUNTY_DIMENSIONS) | set(STUDENT_SUMS)


def committed(django_capture_on_commit_callbacks, write):
    """Run ``write`` and its after-commit hooks (the roll-up refresh) as a real commit would."""
    with django_capture_on_commit_callbacks(execute=True):
        result = write()
    return result


def test_a_new_student_shows_in_county_and_province_figures_right_after_commit(
        world, django_capture_on_commit_callbacks):
    province = world.user("province")
    before_county = selectors.student_total(province, under=COUNTY_A)
    before_province = selectors.student_total(province)
    clerk = world.user("clerk_a1")
    # No worker runs here: the figures must be current the moment the commit hooks have run. How long
    # that refresh takes is measured, not asserted (bench/concurrent_writes.py: p95 per registration
    # including its refresh, on the province database).
    with django_capture_on_commit_callbacks(execute=True):
        services.enrol_student(actor=clerk, school=world.school_a1, data=student_row(1, migrant_child="是"))
    seen_county = selectors.student_total(province, under=COUNTY_A)
    seen_province = selectors.student_total(province)
    assert (seen_county, seen_province) == (before_county + 1, before_province + 1)
    assert selectors.student_total(province, under=COUNTY_A, measure="migrant") == 1


def test_figures_follow_events_and_stay_in_scope(world, django_capture_on_commit_callbacks):
    clerk, province = world.user("clerk_a1"), world.user("province")
    enrolment = committed(django_capture_on_commit_callbacks, lambda: services.enrol_student(
        actor=clerk, school=world.school_a1, data=student_row(2)))
    committed(django_capture_on_commit_callbacks, lambda: services.apply_event(
        actor=clerk, enrolment=enrolment, kind=EventKind.SUSPEND, on=timezone.localdate(), reason="病休"))
    assert selectors.student_total(province, under=COUNTY_A, measure="suspended") == 1
    assert selectors.student_total(province, under=COUNTY_A) == 1  # a suspended pupil is still enrolled
    # County B's statistician sees none of county A's pupils; a county A clerk sees its school's.
    assert selectors.student_total(world.user("county_b_stat")) == 0
    assert selectors.student_total(clerk) == 1
    by_grade = selectors.student_figures(province, under=COUNTY_A, by=["grade", "gender"], measures=["enrolled"])
    assert by_grade == [{"grade": "11", "gender": "2", "enrolled": 1}]


def test_the_rebuild_gives_exactly_the_incremental_rows(world, django_capture_on_commit_callbacks):
    clerk = world.user("clerk_a1")
    for seq in range(3):
        committed(django_capture_on_commit_callbacks, lambda seq=seq: services.enrol_student(
            actor=clerk, school=world.school_a1, data=student_row(10 + seq)))
    incremental = table_rows()
    assert incremental[0], "the refresh wrote no rows"
    for model in ROLLUPS:
        model.objects.all().delete()
    rebuild_all()
    assert table_rows() == incremental


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_refresh_equals_a_full_rebuild_after_random_writes(world, django_capture_on_commit_callbacks,
                                                                      seed):
    """A property test: whatever sequence of writes, the incremental roll-ups equal the rebuild."""
    rng = random.Random(seed)
    today = timezone.localdate()
    clerk, county = world.user("clerk_a1"), world.user("county_a_stat")
    other = second_primary_in_county_a()
    schools = [world.school_a1, other]
    active: list[Enrolment] = []
    seq = 100 * seed
    # A graduation in July falls in the previous school year: the census's statistical period.
    last_july = dt.date(school_year_of(today), 7, 10)
    for _step in range(25):
        action = rng.choice(["enrol", "enrol", "enrol", "event", "update", "class"])
        if action == "enrol" or not active:
            seq += 1
            if rng.random() < 0.25:  # higher education: 培养层次 and 学制 decide level and final year
                school, length = world.college_a, rng.choice([3, 4])
                row = student_row(seq, grade=rng.choice(["大学一年级", "大学三年级", "大学四年级"]), major="法学",
                                  programme_length=str(length), level="1" if length == 3 else "2",
                                  birth_date="2005-03-01", id_number=make_id(dt.date(2005, 3, 1), seq),
                                  gender="男", entered_on="2023-09")
            else:
                grade = rng.choice(["一年级", "二年级", "六年级"])
                row = student_row(seq, grade=grade, ethnicity=rng.choice(["01", "01", "08"]),
                                  migrant_child=rng.choice(["是", "否"]),
                                  entered_on=rng.choice(["2024-09", f"{today.year}-09"]))
                school = rng.choice(schools)
            active.append(committed(django_capture_on_commit_callbacks, lambda row=row, school=school:
                                    services.enrol_student(actor=county, school=school, data=row)))
        elif action == "event":
            enrolment = active.pop(rng.randrange(len(active)))
            kind = rng.choice([EventKind.SUSPEND, EventKind.GRADUATE, EventKind.GRADUATE, EventKind.DEATH])
            on = rng.choice([today, last_july]) if enrolment.entered_on < last_july else today
            committed(django_capture_on_commit_callbacks, lambda e=enrolment, k=kind, on=on: services.apply_event(
                actor=county, enrolment=e, kind=k, on=on, reason="随机检查"))
        elif action == "update":
            enrolment = rng.choice(active)
            committed(django_capture_on_commit_callbacks, lambda e=enrolment: services.update_student(
                actor=county, student=e.student, data={"boarding_mode": rng.choice(["1", "2"]),
                                                       "disability_type": rng.choice(["", "61"])}))
        else:
            enrolment = Enrolment.objects.get(pk=rng.choice(active).pk)
            year = school_year_of(today)
            number = rng.randint(1, 3)
            school_class = committed(django_capture_on_commit_callbacks, lambda e=enrolment, n=number, y=year:
                                     _class_for(county, e, y, n))
            committed(django_capture_on_commit_callbacks, lambda e=enrolment, c=school_class:
                      services.assign_class(actor=county, enrolment=e, school_class=c))
    # A school's year-end promotion is a set-based write: its dirty marks are inserted in SQL.
    committed(django_capture_on_commit_callbacks, lambda: promotion.execute_promotion(
        actor=clerk, scope=promotion.promotion_scope(clerk, school=world.school_a1),
        from_year=services.current_school_year(today), graduation_date=today))
    incremental = table_rows()
    assert sum(r[6] for r in incremental[0]) == Enrolment.objects.filter(is_active=True).count()
    # The county roll-up moved in step with every school refresh.
    assert county_rows() == school_rows_summed_per_county() != []
    rebuild_all()
    assert table_rows() == incremental


def _class_for(actor, enrolment: Enrolment, year: int, number: int):
    from eduplatform.students.models import SchoolClass

    found = SchoolClass.objects.filter(school_id=enrolment.school_id, school_year=year, grade=enrolment.grade,
                                       number=number).first()
    return found or services.create_class(actor=actor, school=enrolment.school, school_year=year,
                                          grade=enrolment.grade, number=number)


def test_class_sizes_fall_into_the_official_bands(world, django_capture_on_commit_callbacks):
    county = world.user("county_a_stat")
    year = school_year_of(timezone.localdate())
    for seq in range(27):
        committed(django_capture_on_commit_callbacks, lambda seq=seq: services.enrol_student(
            actor=county, school=world.school_a1, data=student_row(300 + seq, class_number="")))
    school_class = services.create_class(actor=county, school=world.school_a1, school_year=year, grade="11", number=1)
    for enrolment in Enrolment.objects.filter(school=world.school_a1, is_active=True):
        committed(django_capture_on_commit_callbacks, lambda e=enrolment: services.assign_class(
            actor=county, enrolment=e, school_class=school_class))
    figures = selectors.class_figures(world.user("province"), under=COUNTY_A)
    assert figures == [{"grade": "11", "size_band": "26-30", "classes": 1, "students": 27}]


def test_cohort_gives_the_age_on_31_august_of_any_year(world, django_capture_on_commit_callbacks):
    """Born 2018-08-31: 7 on 2025-08-31 (cohort 2018). Born 2018-09-01: still 6 then (cohort 2019)."""
    from tests.students_support import make_id

    clerk = world.user("clerk_a1")
    for seq, birth in ((41, dt.date(2018, 8, 31)), (42, dt.date(2018, 9, 1))):
        committed(django_capture_on_commit_callbacks, lambda seq=seq, birth=birth: services.enrol_student(
            actor=clerk, school=world.school_a1,
            data=student_row(seq, birth_date=birth.isoformat(), gender="男",
                             id_number=make_id(birth, seq, female=False))))
    ages_2025 = sorted(2025 - row["cohort"] for row in selectors.student_figures(
        world.user("province"), by=["cohort"], measures=["enrolled"]))
    assert ages_2025 == [6, 7]


def test_live_statistics_page_drills_down_within_scope_and_exports(client, world, django_capture_on_commit_callbacks):
    import io

    from python_calamine import CalamineWorkbook

    county = world.user("county_a_stat")
    for seq in range(3):
        committed(django_capture_on_commit_callbacks, lambda seq=seq: services.enrol_student(
            actor=county, school=world.school_a1, data=student_row(500 + seq)))
    committed(django_capture_on_commit_callbacks, lambda: services.enrol_student(
        actor=world.user("county_b_stat"), school=world.school_b1, data=student_row(600)))
    client.force_login(world.user("city_stat"))
    page = client.get("/statistics/").content.decode()
    assert "天河区" in page and "越秀区" in page  # the city's counties, each a drill-down link
    county_page = client.get("/statistics/?region=440106000000").content.decode()
    assert 'data-testid="grand-total">3<' in county_page
    school_level = client.get("/statistics/?region=440106001000").content.decode()
    assert "天河测试小学" in school_level
    book = CalamineWorkbook.from_filelike(io.BytesIO(client.get("/statistics/?region=440106000000&format=xlsx").content))
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0] == ["名称", "小学", "合计"] and rows[-1][0] == "天河区" and rows[-1][-1] == 3
    # A county statistician cannot open another county's figures, even by typing its code.
    client.force_login(county)
    assert client.get("/statistics/?region=440104000000").status_code == 404
    assert "越秀" not in client.get("/statistics/").content.decode()


def test_a_new_teacher_and_a_new_building_show_in_county_and_province_figures_right_after_commit(
        world, django_capture_on_commit_callbacks):
    from eduplatform.facilities import services as facilities
    from eduplatform.staff import services as staff
    from tests.facilities_support import building_row
    from tests.staff_support import staff_row

    province, clerk = world.user("province"), world.user("clerk_a1")

    def overview(under: str) -> dict:
        rows, total = selectors.region_overview(province, selectors.Region.objects.get(path=under))
        return total.cells

    before = overview(COUNTY_A), overview(PROVINCE)
    with django_capture_on_commit_callbacks(execute=True):
        staff.hire(actor=clerk, unit=world.school_a1, data=staff_row(1))
    with django_capture_on_commit_callbacks(execute=True):
        building = facilities.create_building(actor=clerk, school=world.school_a1,
                                              data=building_row(1, condition="24", total_area="800", teaching_area="500"))
    county, whole = overview(COUNTY_A), overview(PROVINCE)  # current with no worker running
    for after, earlier in ((county, before[0]), (whole, before[1])):
        assert after.get("staff", 0) == earlier.get("staff", 0) + 1
        assert after.get("teachers", 0) == earlier.get("teachers", 0) + 1
        assert after["floor_area"] == earlier.get("floor_area", 0) + 800
        assert after["dangerous_area"] == earlier.get("dangerous_area", 0) + 800
    # A demolition takes the building out of the figures, as the facilities totals do.
    with django_capture_on_commit_callbacks(execute=True):
        facilities.demolish_building(actor=clerk, building=building, on=timezone.localdate(), reason="拆除重建")
    assert overview(COUNTY_A).get("floor_area", 0) == before[0].get("floor_area", 0)


@pytest.mark.parametrize("seed", [4, 5])
def test_staff_and_building_roll_ups_equal_a_full_rebuild_after_random_writes(
        world, django_capture_on_commit_callbacks, seed):
    from eduplatform.facilities import services as facilities
    from eduplatform.staff import services as staff
    from eduplatform.staff.models import StaffEventKind, StaffStatus
    from tests.facilities_support import building_row
    from tests.staff_support import staff_row

    rng = random.Random(seed)
    county = world.user("county_a_stat")
    schools = [world.school_a1, second_primary_in_county_a()]
    hired, built = [], []
    for step in range(20):
        action = rng.choice(["hire", "hire", "build", "build", "leave", "demolish"])
        school = rng.choice(schools)
        if action == "hire" or (action == "leave" and not hired):
            row = staff_row(100 * seed + step, post_category=rng.choice(["1", "1", "2", "4"]),
                            title=rng.choice(["一级教师", "高级教师", ""]))
            hired.append(committed(django_capture_on_commit_callbacks,
                                   lambda r=row, s=school: staff.hire(actor=county, unit=s, data=r)))
        elif action == "leave":
            person = hired.pop(rng.randrange(len(hired)))
            committed(django_capture_on_commit_callbacks, lambda p=person: staff.end_post(
                actor=county, staff=p, kind=StaffEventKind.RETIRE, status=StaffStatus.RETIRED, on=timezone.localdate(),
                reason="退休"))
        elif action == "build" or not built:
            row = building_row(100 * seed + step, condition=rng.choice(["10", "10", "22", "24"]),
                               use_code=rng.choice(["11", "21", "31", "41"]), total_area=str(rng.randint(500, 3000)), admin_area="0",
                               teaching_area="100")
            built.append(committed(django_capture_on_commit_callbacks,
                                   lambda r=row, s=school: facilities.create_building(actor=county, school=s, data=r)))
        else:
            building = built.pop(rng.randrange(len(built)))
            committed(django_capture_on_commit_callbacks, lambda b=building: facilities.demolish_building(
                actor=county, building=b, on=timezone.localdate(), reason="拆除"))
    incremental = table_rows()
    assert sum(r[-5] for r in incremental[2]) == len(hired)  # the staff measure counts who is still in post
    rebuild_all()
    assert table_rows() == incremental


@pytest.mark.parametrize("seed", [6, 7])
def test_school_asset_land_subject_and_gym_roll_ups_equal_a_full_rebuild_after_random_writes(
        world, django_capture_on_commit_callbacks, seed):
    """The 111 and 522 roll-ups, the teachers' subjects and the gym area follow school edits and
    closures, land parcels, typed holdings, hires and buildings exactly as a rebuild computes them."""
    from eduplatform.assets import codes as asset_codes
    from eduplatform.assets import services as assets
    from eduplatform.facilities import services as facilities
    from eduplatform.orgs import services as orgs
    from eduplatform.staff import services as staff
    from eduplatform.stats.models import AssetRollup, SchoolRollup
    from tests.facilities_support import building_row, land_row
    from tests.staff_support import staff_row

    rng = random.Random(seed)
    county = world.user("county_a_stat")
    schools = [world.school_a1, world.school_a2, second_primary_in_county_a()]
    year = asset_codes.statistical_year(timezone.localdate())
    parcels = []
    for step in range(24):
        action = rng.choice(["land", "land", "retire", "holdings", "edit", "hire", "build", "close"])
        school = rng.choice([s for s in schools if s.is_open])  # a closed school takes no more records
        if action == "land" or (action == "retire" and not parcels):
            row = land_row(100 * seed + step, area=rng.randint(8000, 12000), sports_area=rng.randint(0, 2000),
                           green_area=1000)
            parcels.append(committed(django_capture_on_commit_callbacks, lambda r=row, s=school:
                                     facilities.create_parcel(actor=county, school=s, data=r)))
        elif action == "retire":
            parcel = parcels.pop(rng.randrange(len(parcels)))  # (a closed school's parcel may still be given up)
            committed(django_capture_on_commit_callbacks, lambda p=parcel: facilities.retire_parcel(
                actor=county, parcel=p, on=timezone.localdate(), reason="划拨"))
        elif action == "holdings":
            committed(django_capture_on_commit_callbacks, lambda s=school: assets.type_holdings(
                actor=county, school=s, data={"year": str(rng.choice([year, year - 1])),
                                               "books_volumes": str(rng.randint(0, 9000)),
                                               "computers_for_teaching": str(rng.randint(0, 90)),
                                               "multimedia_classrooms": str(rng.randint(0, 9)),
                                               "teaching_equipment_value": str(rng.randint(0, 90000)),
                                               "fixed_asset_value": str(rng.randint(90000, 900000))}))
        elif action == "edit":
            edit = {"website": rng.choice(["", f"http://s{step}.example.cn"]), "address": f"广东省广州市天河区五山路{step}号"}
            committed(django_capture_on_commit_callbacks, lambda s=school, e=edit: orgs.update_school(
                actor=county, school=s, data=e))
        elif action == "hire":
            row = staff_row(100 * seed + step, subjects=rng.choice(["", "语文", "体育", "音乐、美术", "生活语文", "书法"]))
            committed(django_capture_on_commit_callbacks, lambda r=row, s=school: staff.hire(actor=county, unit=s, data=r))
        elif action == "build":
            row = building_row(100 * seed + step, use_code=rng.choice(["11", "15"]), total_area=rng.randint(500, 3000),
                               teaching_area=0, admin_area=0)
            committed(django_capture_on_commit_callbacks, lambda r=row, s=school:
                      facilities.create_building(actor=county, school=s, data=r))
        elif school.pk != world.school_a1.pk and school.is_open:
            closed = committed(django_capture_on_commit_callbacks, lambda s=school: orgs.close_school(
                actor=county, school=s, closed_on=timezone.localdate().isoformat(), reason="撤并"))
            schools[schools.index(school)] = closed
    incremental = table_rows()
    open_schools = {s.pk for s in schools if s.is_open}
    assert set(SchoolRollup.objects.filter(school_id__in=[s.pk for s in schools]).values_list("school_id", flat=True)) \
        == open_schools
    assert AssetRollup.objects.exists()
    rebuild_all()
    assert table_rows() == incremental


def test_the_overview_table_sums_staff_and_floor_area_per_county_and_exports(
        client, world, django_capture_on_commit_callbacks):
    import io

    from python_calamine import CalamineWorkbook

    from eduplatform.facilities import services as facilities
    from eduplatform.staff import services as staff
    from tests.facilities_support import building_row
    from tests.staff_support import staff_row

    county = world.user("county_a_stat")
    committed(django_capture_on_commit_callbacks, lambda: staff.hire(actor=county, unit=world.school_a1,
                                                                    data=staff_row(7)))
    committed(django_capture_on_commit_callbacks, lambda: facilities.create_building(
        actor=county, school=world.school_a1, data=building_row(7, total_area="1200", teaching_area="900")))
    client.force_login(world.user("city_stat"))
    page = client.get("/statistics/").content.decode()
    assert 'id="overview-table"' in page and "专任教师" in page
    book = CalamineWorkbook.from_filelike(io.BytesIO(client.get("/statistics/?table=overview&format=xlsx").content))
    rows = {r[0]: r[1:] for r in book.get_sheet_by_index(0).to_python()}
    # 代课 and 兼任 stand beside 教职工, never inside it (stats.definitions).
    assert rows["名称"] == ["在校生", "教职工", "专任教师", "代课教师", "兼任教师", "校舍建筑面积（㎡）", "危房面积（㎡）"]
    assert rows["天河区"][1:6] == [1, 1, 0, 0, 1200] and rows["越秀区"][1:6] == [0, 0, 0, 0, 0]


def test_figures_by_city_come_from_the_county_roll_up_and_equal_the_records(world, django_capture_on_commit_callbacks):
    """Province- and city-wide figures read the county roll-up; a town or a school reads the school
    roll-up; every actor's figure equals a count taken directly from the records in its scope."""
    from collections import Counter

    from eduplatform.orgs.models import Organization
    from eduplatform.orgs.scope import scoped
    from eduplatform.students.models import Student

    county = world.user("county_a_stat")
    futian = Organization.objects.get(school_code="2144000003")
    writes = [(world.school_a1, county, "一年级"), (world.school_a1, county, "三年级"), (world.school_a2, county, "小班"),
              (world.school_b1, world.user("county_b_stat"), "二年级"),
              (futian, world.user("county_c_stat"), "一年级")]
    for seq, (school, actor, grade) in enumerate(writes * 2, start=700):
        committed(django_capture_on_commit_callbacks, lambda s=school, a=actor, g=grade, seq=seq: services.enrol_student(
            actor=a, school=s, data=student_row(seq, grade=g, class_number="")))

    def from_records(actor) -> Counter:
        found: Counter = Counter()
        for path, stage, grade in scoped(Enrolment.objects.filter(is_active=True), actor).values_list(
                "region_path", "stage", "grade"):
            found[(path[:8], stage, grade)] += 1
        return found

    def from_selector(actor) -> Counter:
        return Counter({(r["city"], r["stage"], r["grade"]): r["enrolled"] for r in selectors.student_figures(
            actor, by=["city", "stage", "grade"], measures=["enrolled"]) if r["enrolled"]})

    for key in ("province", "k12_officer", "city_stat", "county_a_stat", "county_c_stat", "clerk_a1"):
        actor = world.user(key)
        assert from_selector(actor) == from_records(actor) != Counter(), key
    # By sex as well, against the persons' own records.
    by_sex = Counter({(r["city"], r["gender"]): r["enrolled"] for r in selectors.student_figures(
        world.user("province"), by=["city", "gender"], measures=["enrolled"])})
    assert by_sex == Counter((s.region_path[:8], s.gender) for s in Student.objects.all())
    assert county_rows() == school_rows_summed_per_county()
    # Narrower than a county, or one school: the county rows are out of reach, the school rows answer.
    town = world.user("county_a_stat")
    town.focus_path = "44/4401/440106/440106001/"
    assert not scoped(StudentCountyRollup.objects.all(), town).exists()
    assert not scoped(StudentCountyRollup.objects.all(), world.user("clerk_a1")).exists()
    assert selectors.student_total(town) == Enrolment.objects.filter(
        is_active=True, region_path__startswith=town.focus_path).count() == 6
    # The province page's breakdown by city (county roll-up) equals the records per city and stage.
    rows, total = selectors.student_breakdown(world.user("province"), selectors.Region.objects.get(level="province"))
    shown = {(r.region_code[:4], column): value for r in rows for column, value in r.cells.items() if value}
    assert shown == {(path[3:7], stage): n for (path, stage), n in Counter(
        (p[:8], st) for p, st in Enrolment.objects.filter(is_active=True).values_list("region_path", "stage")).items()}
    assert total.total == len(writes) * 2


def test_a_large_registration_leaves_its_refresh_to_the_worker_and_a_small_one_does_not(
        client, world, django_capture_on_commit_callbacks, monkeypatch):
    """A batch of more than ``REFRESH_INLINE_ROWS`` rows answers without recomputing its school:
    the mark stays and the worker's job is queued; once the worker has drained the marks the figures
    count the batch. A smaller batch is counted the moment its commit hooks have run."""
    import json

    from django_tasks_db.models import DBTaskResult

    from eduplatform.history.models import DirtySchool
    from eduplatform.stats.rollup import drain_dirty

    monkeypatch.setattr(services, "REFRESH_INLINE_ROWS", 2)
    province = world.user("province")
    client.force_login(world.user("clerk_a1"))

    def send(start: int, n: int) -> None:
        records = [student_row(start + i, school_code=world.school_a1.school_code) for i in range(n)]
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/students/batch", data=json.dumps({"records": records}),
                                   content_type="application/json")
        assert response.status_code == 200 and response.json()["created"] == n, response.content[:300]

    before = selectors.student_total(province, under=COUNTY_A)
    queued = DBTaskResult.objects.filter(task_path__endswith="refresh_rollups").count()
    send(1, 3)
    assert selectors.student_total(province, under=COUNTY_A) == before  # not yet: the worker's
    assert DirtySchool.objects.filter(school_id=world.school_a1.pk).exists()
    assert DBTaskResult.objects.filter(task_path__endswith="refresh_rollups").count() == queued + 1
    drain_dirty()  # what the queued job runs
    assert selectors.student_total(province, under=COUNTY_A) == before + 3
    send(10, 2)
    assert selectors.student_total(province, under=COUNTY_A) == before + 5  # right after the commit
    assert not DirtySchool.objects.exists()

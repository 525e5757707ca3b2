"""Demo 土地与校舍: land parcels and buildings for every open school, sized by its type and enrolment.

Sizes are per student (在校生 in the demo register) with a floor for small schools; sources and
estimates (DOMAIN.md is /work/shared/design/DOMAIN.md):

* Floor area per student (校舍建筑面积): 中职 ≥ 20 ㎡ (DOMAIN.md §4.2, 2023 达标 monitoring); HEIs'
  生均教学行政用房 14–16 ㎡ (§4.2, 教发〔2004〕2号) plus dormitories and canteens → ~28 ㎡; compulsory
  schools at about twice the 优质均衡 生均教学及辅助用房 floor of 4.5 (小学) / 5.8 (初中) ㎡ (§3.1) →
  8–12 ㎡; senior 16–20 ㎡, kindergartens 8–11 ㎡, special schools ~35 ㎡ — the last four are estimates.
* Land per student (占地): 中职 ≥ 33 ㎡ (§4.2); others estimates (小学 15–22, 初中 20–28, 高中 25–35,
  高校 55–65, 幼儿园 12–16, 特教 60 ㎡), a third less in the urban core (城乡分类 11x), where land is
  scarce. Sports ground 25–40 % of the land, green space 25–35 % (estimates).
* Use split (512): teaching 55–65 %, administration 8–12 %, living the rest (more where students
  board: 高中, 中职, 高校, rural 初中), other ~3 % (estimates). Buildings: 教学楼 (one per ~6,000 ㎡ of
  teaching space), 综合楼 or 办公楼, 实验楼 (from 初中 up), 体育活动室 for larger schools, 食堂, 学生宿舍
  where students board, a 厕所 block in rural schools.
* Built 1980–2022; 砖混 before 2000 and 框架 after mostly (estimate). Seismic category 重点设防类
  (乙类, as schools are by GB 50223), intensity 7度 in most of Guangdong (estimate).
* Small schools: at least 60 students' worth of space (a 教学点 still has a teaching building).

Deliberate anomalies — every record valid for the services, planted for the data-quality checks
(the ``ANOMALIES`` dict below names them):

* ``d_grade_in_use``: 3 buildings graded D级危房 (整幢危房, JGJ 125) still marked in use, one of them at
  the demo school clerk's school or else in the demo county 天河区 (440106).
* ``teaching_space_below_standard``: 2 primary schools of 天河区 whose 教学及辅助用房 is about 3 ㎡ per
  student, below the 4.5 ㎡ 优质均衡 threshold (and below its 85 % floor 3.825).
* ``no_sports_ground``: 2 primary or junior schools of 天河区 whose land records no sports ground
  (体育场地 0 ㎡) although 生均体育运动场馆面积 is a 优质均衡 indicator.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import time
from collections.abc import Callable

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from eduplatform.accounts.models import User
from eduplatform.accounts.roles import Role
from eduplatform.demo.province import DEMO_COUNTY
from eduplatform.facilities.models import Building, LandParcel
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.stages import Stage

ANOMALIES: dict[str, str] = {
    "d_grade_in_use": "3 栋D级危房（整幢危房）仍登记为在用，其中 1 栋在演示学校管理员所在学校（或天河区）",
    "teaching_space_below_standard": "天河区 2 所小学的教学及辅助用房约为生均 3 ㎡，低于优质均衡标准 4.5 ㎡",
    "no_sports_ground": "天河区 2 所小学或初中的土地未登记体育场地（体育场地面积为 0）",
}
D_GRADE_IN_USE = 3
LOW_TEACHING_SCHOOLS = 2
NO_SPORTS_SCHOOLS = 2
MIN_STUDENTS = 60
CENT = decimal.Decimal("0.01")

# By the school's highest stage: (floor area per student, land per student), ㎡; see the docstring.
_SIZES: tuple[tuple[Stage, tuple[float, float], tuple[float, float]], ...] = (
    (Stage.HIGHER, (25, 31), (55, 65)),
    (Stage.VOCATIONAL, (20, 24), (33, 40)),
    (Stage.SPECIAL, (32, 38), (55, 65)),
    (Stage.SENIOR, (16, 20), (25, 35)),
    (Stage.JUNIOR, (10, 12), (20, 28)),
    (Stage.PRIMARY, (8, 10), (15, 22)),
    (Stage.PRESCHOOL, (8, 11), (12, 16)),
)
_DEFAULT_SIZE = ((8, 10), (15, 20))
BOARDING = Stage.SENIOR | Stage.VOCATIONAL | Stage.HIGHER | Stage.SPECIAL


def _sizes(school: Organization) -> tuple[tuple[float, float], tuple[float, float]]:
    for stage, floor, land in _SIZES:
        if school.stage_mask & stage:
            return floor, land
    return _DEFAULT_SIZE


def _area(value: float) -> decimal.Decimal:
    return decimal.Decimal(str(round(value, 2))).quantize(CENT)


class _Planner:
    """Builds one school's parcels and buildings from its own seeded random stream."""

    def __init__(self, school: Organization, students: int, rng: random.Random, today: dt.date) -> None:
        self.school, self.rng, self.today = school, rng, today
        self.students = max(students, MIN_STUDENTS)
        self.urban_core = school.urban_rural_code.startswith("11")
        self.rural = school.urban_rural_code.startswith("2")
        self.boarding = bool(school.stage_mask & BOARDING) or (self.rural and bool(school.stage_mask & Stage.JUNIOR))

    def parcels(self, *, sports: bool = True) -> list[LandParcel]:
        (_f, land) = _sizes(self.school)
        per_student = self.rng.uniform(*land) * (0.67 if self.urban_core else 1.0)
        area = self.students * per_student
        parts = [area] if area < 40_000 or self.rng.random() < 0.7 else [area * 0.7, area * 0.3]
        out = []
        for i, part in enumerate(parts):
            year = self.rng.randint(1985, 2015)
            sports_area = part * self.rng.uniform(0.25, 0.40) if sports and i == 0 else 0.0
            out.append(LandParcel(
                school=self.school, region_path=self.school.region_path,
                name="主校区" if i == 0 else "分校区", certificate_number=f"粤({year})不动产权第{self.school.school_code}{i}号",
                area=_area(part), sports_area=_area(sports_area), green_area=_area(part * self.rng.uniform(0.25, 0.35)),
                property_right="1" if self.rng.random() < 0.93 else "2",
                acquisition_mode="9" if self.rng.random() < 0.8 else "1", acquired_on=dt.date(year, 9, 1),
            ))
        return out

    def buildings(self, *, teaching_per_student: float | None = None) -> list[Building]:
        rng = self.rng
        (floor, _land) = _sizes(self.school)
        total = self.students * rng.uniform(*floor)
        teaching = self.students * teaching_per_student if teaching_per_student else total * rng.uniform(0.55, 0.65)
        admin = total * rng.uniform(0.08, 0.12)
        other = total * 0.03
        living = max(total - teaching - admin - other, total * 0.08)
        planned: list[tuple[str, str, float, str]] = []  # (name, building_use code, area, category)
        blocks = max(1, round(teaching / 6000))
        lab = teaching * 0.2 if self.school.stage_mask & (Stage.JUNIOR | Stage.SENIOR | Stage.VOCATIONAL | Stage.HIGHER) else 0
        gym = teaching * 0.12 if self.students >= 600 else 0
        for i in range(blocks):
            planned.append((f"{i + 1}号教学楼" if blocks > 1 else "教学楼", "11", (teaching - lab - gym) / blocks, "teaching"))
        if lab:
            planned.append(("实验楼", "13", lab, "teaching"))
        if gym:
            planned.append(("体育馆", "15", gym, "teaching"))
        planned.append(("综合楼" if self.students < 1500 else "行政办公楼", "12" if self.students < 1500 else "31", admin, "admin"))
        if self.boarding:
            planned.append(("学生宿舍", "21", living * 0.65, "living"))
            planned.append(("食堂", "22", living * 0.35, "living"))
        else:
            planned.append(("食堂", "22", living * (0.8 if self.rural else 1.0), "living"))
            if self.rural:
                planned.append(("厕所", "23", living * 0.2, "living"))
        planned.append(("设备用房", "41", other, "other"))
        out = []
        for n, (name, use, area, category) in enumerate(planned, start=1):
            year = rng.randint(1980, 2022)
            building = Building(
                school=self.school, region_path=self.school.region_path, number=f"JZ{n:03d}", name=name,
                use_code=use, structure="3" if year < 2000 and rng.random() < 0.7 else "4",
                floors_above=1 if use in ("15", "23", "41") else rng.randint(2, 6), floors_below=0, built_year=year,
                total_area=_area(area), property_right="1", tenure="1" if rng.random() < 0.97 else "2",
                condition="10", in_use=True, safety_inspection="1", seismic_category="2", seismic_intensity="3",
                appraised_on=dt.date(max(year, 2009), rng.randint(1, 12), 1) if rng.random() < 0.8 else None,
                seismic_result="1", fire_resistance="2", fire_accepted=year >= 1998,
            )
            setattr(building, f"{category}_area", building.total_area)
            out.append(building)
        return out


def _clerk_school_ids() -> set[int]:
    """Schools with a demo clerk: where the school demo account will look for the anomaly."""
    return set(User.objects.filter(role_assignments__role=Role.SCHOOL_CLERK, is_active=True,
                                   organization__kind=OrgKind.SCHOOL).values_list("organization_id", flat=True))


def generate(*, seed: int, progress: Callable[[str], None] | None = None) -> str:
    """Create the demo records (skipping if they exist); returns one line for the command's output."""
    if Building.objects.exists() or LandParcel.objects.exists():
        return ""
    started = time.perf_counter()
    today = timezone.localdate()
    from eduplatform.students.models import Enrolment

    students = dict(Enrolment.objects.filter(is_active=True).values("school_id").annotate(n=Count("pk"))
                    .values_list("school_id", "n"))
    schools = list(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True).order_by("school_code"))
    county = Region.objects.filter(code=DEMO_COUNTY).values_list("path", flat=True).first() or "-"
    plan_rng = random.Random(f"{seed}:facilities:plan")
    in_county = [s for s in schools if s.region_path.startswith(county)]
    primaries = [s for s in in_county if s.stage_mask & Stage.PRIMARY]
    low_teaching = {s.pk for s in plan_rng.sample(primaries, min(LOW_TEACHING_SCHOOLS, len(primaries)))}
    compulsory = [s for s in in_county if s.stage_mask & (Stage.PRIMARY | Stage.JUNIOR)]
    no_sports = {s.pk for s in plan_rng.sample(compulsory, min(NO_SPORTS_SCHOOLS, len(compulsory)))}

    parcels: list[LandParcel] = []
    buildings: list[Building] = []
    for done, school in enumerate(schools, start=1):
        planner = _Planner(school, students.get(school.pk, 0), random.Random(f"{seed}:facilities:{school.school_code}"),
                           today)
        parcels += planner.parcels(sports=school.pk not in no_sports)
        buildings += planner.buildings(teaching_per_student=3.0 if school.pk in low_teaching else None)
        if progress and done % 500 == 0:
            progress(f"  土地与校舍：{done}/{len(schools)} 所学校")

    # D级危房 still in use: old brick buildings, the first at a school the demo accounts look at.
    old = sorted((b for b in buildings if b.built_year < 2000), key=lambda b: (b.school.school_code, b.number))
    clerk_schools = _clerk_school_ids()
    own = [b for b in old if b.school_id in clerk_schools] or [b for b in old if b.school.region_path.startswith(county)]
    picks = ([plan_rng.choice(own)] if own else []) + plan_rng.sample(old, min(len(old), D_GRADE_IN_USE + 1))
    chosen: list[Building] = []
    for b in picks:
        if b not in chosen and len(chosen) < D_GRADE_IN_USE:
            chosen.append(b)
    for b in chosen:
        b.condition, b.structure, b.safety_inspection, b.seismic_result = "24", "2", "3", "3"

    now = timezone.now()
    for record in (*parcels, *buildings):
        record.created_at = record.updated_at = now
    with transaction.atomic():
        LandParcel.objects.bulk_create(parcels, batch_size=2000)
        Building.objects.bulk_create(buildings, batch_size=2000)
    seconds = time.perf_counter() - started
    return (f"土地与校舍：{len(schools):,} 所学校，{len(parcels):,} 宗土地，{len(buildings):,} 栋建筑物"
            f"（其中 D级危房仍在使用 {len(chosen)} 栋），用时 {seconds:.1f} 秒")

"""Students for every open demo school, registered through ``students.services.register_students``.

Each row is a raw dict of strings keyed by the schema's field names, cleaned by
``schema.clean_student`` exactly as an uploaded spreadsheet row would be, and registered per school
with ``accept_valid=False``: the service validates, writes the persons, enrolments and classes, the
入学 events, the audit entries and the change feed. A row the schema rejects is a bug here, so it
raises (``DemoDataError``) instead of being dropped.

Sources and assumptions (estimates are marked as such; DOMAIN.md is /work/shared/design/DOMAIN.md):

* Classes per grade at full size (轨数) follow DOMAIN.md §1.1 averages: 4.59 M children in 21,700
  kindergartens ≈ 70 per year ≈ 2–3 classes; 11.1 M pupils in 10,700 primary schools ≈ 170 per grade
  ≈ 4 classes of 45; 4.8 M junior students in 3,945 schools ≈ 8 classes of 48. Senior, vocational,
  higher and special schools are estimates from the national averages in §1.3 (e.g. 28 M senior
  students / 15,400 schools ≈ 12 classes per grade). At full size the demo's 1,909 schools (scale
  0.05) would hold about 1.37 M students, ≈ 4.8 % of the province's 28 M — the same share as its
  schools.
* ``scale`` (``--students``) multiplies the classes per grade, never below one class per grade.
  Where that leaves less than one class (0.05 × 4 classes = 0.2), the grade's one class holds that
  share of a class: every grade of every school exists and the students per grade stay in the
  province's proportions, at a size a register on SQLite fills in about a minute and a half
  (1,909 schools with one real class per grade would be ~310,000 students, several minutes). The demo
  county gets whole classes instead, and the demo clerk's school its full-size classes, so the
  pages the county, town and school demo accounts see look like real schools.
* Class sizes of whole classes: kindergarten 小班/中班/大班 25–30/28–33/30–35 (幼儿园工作规程:
  25/30/35, CHK: ≤ 36); primary 40–50, junior 45–52, senior 45–55 (standard sizes 45/50, DOMAIN.md §3); vocational and
  higher 40–50 and 30–50 (estimates); special education 8–12 (estimate).
* Ages: typical age on 1 September by grade (DOMAIN.md §5.1, ``grades.Grade.typical_age``); about
  8 % are a year off (6 % older: late entry or a repeated year, 2 % younger), estimates. Special
  education ages vary (−1 … +3) as the MoE special-education tables show.
* Sex: about 52 % male (Guangdong's sex ratio at birth is well above 105; estimate).
* Migrant children (随迁子女): DOMAIN.md gives no share, so ~30 % in the Pearl River Delta cities
  (广州 深圳 珠海 佛山 惠州 东莞 中山) and ~5 % elsewhere — an estimate. They come from other
  Guangdong counties outside the Delta or from the usual source provinces (湖南, 广西, 江西, 四川,
  湖北, 河南), which sets their ID area code and household-registration place. The 随迁子女 flag is
  filled for the compulsory stages only, where the statistics ask for it.
* Left-behind children (留守儿童): ~12 % in rural and town schools outside the Delta, ~3 % in their
  urban schools, ~0.5 % in the Delta (estimates); never migrants, only up to junior secondary.
  Two-parent left-behind children list a grandparent as first guardian.
* Ethnic minorities: ~1 % overall (estimate): 0.3 % of local children (畲族 瑶族 壮族 回族 满族),
  more among migrants from 广西 (壮族 瑶族) and 湖南 (土家族 苗族 瑶族 侗族), and about half the
  children of 连南瑶族自治县 and 连山壮族瑶族自治县 (and a tenth in 乳源瑶族自治县).
* Boarding (住校): senior ~70 %, vocational ~80 %, higher ~95 %, rural junior ~40 %, special ~40 %,
  rural upper primary ~10 % (estimates).
* ID numbers: GB 11643 — 6-digit area code of a real county (the school's own for local children),
  birth date, sequence (odd for boys, even for girls), MOD 11-2 check character; unique across the
  province. ~0.5 % of students are undocumented (证件类型 Z, no number) and get a temporary L 学籍号
  from the service (whose random digits come from ``secrets``: those numbers differ between runs,
  everything this module writes is fixed by the seed and the date).

Deliberate anomalies — every one still valid for the register, planted for the data-quality checks
(the ``ANOMALIES`` dict below names them):

* ``overage``: ~0.2 % of students outside special and higher education are 3–5 years older than
  their grade's typical age (DOMAIN.md §5.1 suggests warning above +2).
* ``oversized_classes``: in the demo county 天河区 (440106), 3 primary or junior classes of 67–72
  pupils (超大班额, ≥ 66) and 6 of 56–65 (大班额), DOMAIN.md §3 bands.
* ``possible_duplicates``: 3 pairs of undocumented students (Z, no ID number) at two different
  schools with primary grades, preferably of one city, with the same name, sex, birth date and grade but other
  guardians. The register accepts them (its own rule treats them as one person only when a
  guardian matches); a quality check should list them as possible duplicates.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from eduplatform.accounts.models import User
from eduplatform.accounts.roles import Role
from eduplatform.core.errors import BatchInvalid
from eduplatform.demo import names
from eduplatform.demo.actor import GeneratorActor
from eduplatform.demo.province import DEMO_COUNTY
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind, Region, RegionLevel
from eduplatform.orgs.stages import Stage
from eduplatform.standards.validators import id_number_check_char
from eduplatform.students import schema, services
from eduplatform.students.grades import Grade, grades_for_mask
from eduplatform.students.models import Student

SOURCE = "演示数据"

ANOMALIES: dict[str, str] = {
    "overage": "约 0.2% 的学生（特殊教育、高等教育除外）比所在年级的典型年龄大 3–5 岁",
    "oversized_classes": "天河区（440106）有 3 个 67–72 人的小学或初中班（超大班额）和 6 个 56–65 人的班（大班额）",
    "possible_duplicates": "3 对无证件（证件类型 Z）的学生分别在两所设小学年级的学校：姓名、性别、出生日期、年级相同，监护人不同",
}
OVERAGE_SHARE = 0.002
SUPER_LARGE_CLASSES = 3  # ≥ 66 pupils
LARGE_CLASSES = 6  # 56–65 pupils
DUPLICATE_PAIRS = 3

PRD_CITIES = frozenset({"4401", "4403", "4404", "4406", "4413", "4419", "4420"})
MIGRANT_SHARE_PRD = 0.30  # estimate, see the module docstring
MIGRANT_SHARE_ELSEWHERE = 0.05  # estimate
UNDOCUMENTED_SHARE = 0.005
MALE_SHARE = 0.52

# Real county codes (GB/T 2260) of the usual source regions of Guangdong's migrant families, with a
# weight (an estimate of their share) and the chance that a child from there belongs to a minority.
_OUT_OF_PROVINCE: tuple[tuple[tuple[str, ...], int, float, tuple[str, ...]], ...] = (
    # 湖南 益阳, 邵阳, 衡阳, 郴州
    (("430921", "430922", "430923", "430981", "430522", "430523", "430524", "430525",
      "430421", "430422", "430423", "430424", "431021", "431022", "431023", "431024"), 32, 0.04,
     ("15", "06", "13", "12")),
    # 广西 桂林, 梧州, 贵港, 玉林
    (("450321", "450323", "450324", "450325", "450421", "450422", "450423", "450481",
      "450821", "450881", "450921", "450922", "450923", "450981"), 25, 0.10, ("08", "08", "08", "13")),
    # 江西 九江, 赣州
    (("360423", "360424", "360425", "360426", "360428", "360722", "360723", "360730", "360731", "360732"),
     12, 0.005, ("03", "11")),
    # 四川 南充
    (("511321", "511322", "511323", "511324"), 10, 0.005, ("03", "11")),
    # 湖北 黄冈
    (("421122", "421123", "421125", "421126", "421127"), 8, 0.005, ("03", "11")),
    # 河南 信阳
    (("411521", "411522", "411524", "411525", "411526"), 8, 0.01, ("03", "03", "11")),
)
_LOCAL_MINORITY_SHARE = 0.003
_LOCAL_MINORITIES = ("22", "13", "08", "03", "11")  # 畲族 瑶族 壮族 回族 满族
# Guangdong's three autonomous counties: (share of minority children, their ethnicities) — estimates.
_AUTONOMOUS: dict[str, tuple[float, tuple[str, ...]]] = {
    "441826": (0.55, ("13",)),  # 连南瑶族自治县
    "441825": (0.50, ("08", "08", "08", "13", "13")),  # 连山壮族瑶族自治县
    "440232": (0.10, ("13",)),  # 乳源瑶族自治县
}

# Full-size parallel classes per grade (轨数) by (school type, stage): fewest, most. See the docstring.
_TRACKS: dict[tuple[str, Stage], tuple[int, int]] = {
    ("111", Stage.PRESCHOOL): (1, 4),
    ("211", Stage.PRIMARY): (1, 8),
    ("311", Stage.JUNIOR): (4, 12),
    ("312", Stage.PRIMARY): (2, 5), ("312", Stage.JUNIOR): (2, 6),
    ("342", Stage.SENIOR): (8, 16),
    ("341", Stage.JUNIOR): (6, 12), ("341", Stage.SENIOR): (6, 12),
    ("345", Stage.PRIMARY): (3, 6), ("345", Stage.JUNIOR): (3, 6), ("345", Stage.SENIOR): (3, 6),
    ("411", Stage.HIGHER): (80, 140), ("412", Stage.HIGHER): (40, 80), ("415", Stage.HIGHER): (40, 90),
}
# Any other school type (teaching points, schools registered by hand): by stage alone.
_STAGE_TRACKS: dict[Stage, tuple[int, int]] = {
    Stage.PRESCHOOL: (1, 4), Stage.PRIMARY: (1, 6), Stage.JUNIOR: (3, 10), Stage.SENIOR: (6, 14),
    Stage.VOCATIONAL: (6, 16), Stage.HIGHER: (40, 90), Stage.SPECIAL: (1, 2), Stage.OTHER: (1, 2),
}
_CLASS_SIZE: dict[Stage, tuple[int, int]] = {
    Stage.PRIMARY: (40, 50), Stage.JUNIOR: (45, 52), Stage.SENIOR: (45, 55), Stage.VOCATIONAL: (40, 50),
    Stage.HIGHER: (30, 50), Stage.SPECIAL: (8, 12), Stage.OTHER: (30, 40),
}
_KINDERGARTEN_SIZE = {"01": (25, 30), "02": (28, 33), "03": (30, 35)}

# 中等职业学校专业目录 names, the most common programmes.
VOCATIONAL_MAJORS = (
    "计算机应用", "电子商务", "数控技术应用", "会计事务", "汽车运用与维修", "电子技术应用", "机电技术应用",
    "幼儿保育", "旅游服务与管理", "物流服务与管理", "工业机器人技术应用", "服装设计与工艺", "美术设计与制作",
    "酒店服务与管理", "护理",
)
BACHELOR_MAJORS = (
    "计算机科学与技术", "软件工程", "汉语言文学", "英语", "会计学", "市场营销", "机械设计制造及其自动化",
    "电子信息工程", "土木工程", "护理学", "法学", "数学与应用数学", "学前教育", "国际经济与贸易", "财务管理",
)
ASSOCIATE_MAJORS = (
    "大数据与会计", "计算机应用技术", "电子商务", "护理", "机电一体化技术", "软件技术", "市场营销",
    "工程造价", "现代物流管理", "学前教育", "工业机器人技术", "新能源汽车技术",
)
# Disability types (GB/T 2261.3) by special-school type: 盲人学校, 聋人学校, others (mostly 培智).
_DISABILITY = {"511": ("61",), "512": ("62", "62", "62", "63"), "514": ("65", "65", "65", "67", "66", "64")}


class DemoDataError(RuntimeError):
    """The generator built a row the register rejects: a bug in this module, never bad luck."""


@dataclass(frozen=True)
class StudentSummary:
    students: int
    classes: int
    schools: int
    seconds: float
    skipped: bool = False


@dataclass
class _Class:
    grade: Grade
    number: int
    size: int
    major: str = ""
    programme_length: int | None = None
    level: str = ""


@dataclass
class _Twin:
    """One planted possible-duplicate pair: the first school's student, copied at the second."""

    grade: str
    first_school: int
    second_school: int
    person: dict[str, str] = field(default_factory=dict)


@dataclass
class _Place:
    """What a school's place says about its pupils' origins."""

    county: str  # GB/T 2260 code of the school's county (东莞, 中山: the city's)
    prd: bool
    rural: bool
    urban_core: bool
    town_name: str


class _Origins:
    """Area codes for the children's ID numbers and household registration, and their ethnicity."""

    def __init__(self) -> None:
        counties = Region.objects.filter(level=RegionLevel.COUNTY).values_list("code", flat=True)
        self.all_gd = sorted({c[:6] for c in counties})
        self.outside_prd = [c for c in self.all_gd if c[:4] not in PRD_CITIES]
        self.out_groups = _OUT_OF_PROVINCE
        self.out_weights = [w for _, w, _, _ in _OUT_OF_PROVINCE]

    def migrant_area(self, rng: random.Random, place: _Place) -> tuple[str, float, tuple[str, ...]]:
        """(area code, minority chance, minority codes) of a migrant family."""
        in_province = rng.random() < (0.4 if place.prd else 0.7)
        if in_province:
            area = rng.choice(self.outside_prd)
            if area == place.county:  # a family from this county is local: draw once more
                area = rng.choice(self.outside_prd)
            return area, _LOCAL_MINORITY_SHARE, _LOCAL_MINORITIES
        codes, _, share, minorities = rng.choices(self.out_groups, weights=self.out_weights)[0]
        return rng.choice(codes), share, minorities

    def student_area(self, rng: random.Random) -> tuple[str, float, tuple[str, ...]]:
        """A college student's home: four in five from Guangdong, the rest from other provinces."""
        if rng.random() < 0.8:
            area = rng.choice(self.all_gd)
            share, codes = _AUTONOMOUS.get(area, (_LOCAL_MINORITY_SHARE, _LOCAL_MINORITIES))
            return area, share, codes
        codes, _, share, minorities = rng.choices(self.out_groups, weights=self.out_weights)[0]
        return rng.choice(codes), share, minorities


def _place_of(school: Organization) -> _Place:
    code = school.region.code
    county = code[:6]
    return _Place(
        county=county, prd=code[:4] in PRD_CITIES, rural=school.urban_rural_code.startswith("2"),
        urban_core=school.urban_rural_code.startswith("11"), town_name=school.region.name,
    )


# --------------------------------------------------------------------------------------------
# Classes


def _school_grades(school: Organization) -> list[tuple[Grade, int | None, str]]:
    """(grade, programme length, level) for every grade the school teaches."""
    out: list[tuple[Grade, int | None, str]] = []
    for grade in grades_for_mask(school.stage_mask):
        if grade.stage == Stage.HIGHER:
            # 本科 4 years (level 2), 专科 (高职, type 415) 3 years (level 1).
            length, level = (3, "1") if school.school_type_code == "415" else (4, "2")
            if grade.year <= length:
                out.append((grade, length, level))
        elif grade.stage == Stage.VOCATIONAL:
            out.append((grade, 3, "5"))
        else:
            out.append((grade, None, ""))
    return out


def _tracks(school: Organization, stage: Stage, rng: random.Random) -> int:
    low, high = _TRACKS.get((school.school_type_code, stage)) or _STAGE_TRACKS.get(stage, (1, 2))
    u = rng.random()
    if school.urban_rural_code.startswith("2"):  # villages: the smaller schools
        u *= 0.5
    elif school.urban_rural_code.startswith("11"):  # city centres: the larger ones
        u = 0.4 + 0.6 * u
    return low + round(u * (high - low))


def _class_size(grade: Grade, rng: random.Random) -> int:
    low, high = _KINDERGARTEN_SIZE.get(grade.code) or _CLASS_SIZE.get(grade.stage, (30, 40))
    return rng.randint(low, high)


def plan_classes(school: Organization, scale: float, rng: random.Random, *, whole: bool = False) -> list[_Class]:
    """The school's classes of this school year with their sizes: ``scale`` × the full-size classes
    per grade, at least one class per grade.

    Below one class (a village primary school at scale 0.05 has 0.2 of a class per grade) the grade
    keeps one partial class holding that share of a class, so every grade exists and the province's
    numbers per grade stay proportional; ``whole`` fills such classes instead (the demo county).
    """
    grades = _school_grades(school)
    tracks = {stage: _tracks(school, stage, rng) for stage in {g.stage for g, _, _ in grades}}
    majors: tuple[str, ...] = ()
    if any(g.stage == Stage.VOCATIONAL for g, _, _ in grades):
        majors = tuple(rng.sample(VOCATIONAL_MAJORS, rng.randint(4, 8)))
    elif any(g.stage == Stage.HIGHER for g, _, _ in grades):
        pool = ASSOCIATE_MAJORS if school.school_type_code == "415" else BACHELOR_MAJORS
        majors = tuple(rng.sample(pool, len(pool)))
    classes = []
    for grade, length, level in grades:
        share = tracks[grade.stage] * scale
        for number in range(1, max(1, round(share)) + 1):
            major = majors[(number - 1 + grade.year) % len(majors)] if length else ""
            size = _class_size(grade, rng)
            if share < 1 and not whole:
                size = max(1, round(size * share))
            classes.append(_Class(grade, number, size, major, length, level))
    return classes


def _plant_oversized_classes(plans: dict[int, list[_Class]], county_schools: list[Organization],
                             rng: random.Random) -> None:
    """大班额 and 超大班额 in the demo county: the anomalies a class-size check must find."""
    candidates = [
        k for s in county_schools for k in plans.get(s.pk, []) if k.grade.stage in (Stage.PRIMARY, Stage.JUNIOR)
    ]
    rng.shuffle(candidates)
    super_large = min(SUPER_LARGE_CLASSES, len(candidates) // 2)
    for k in candidates[:super_large]:
        k.size = rng.randint(67, 72)
    for k in candidates[super_large : super_large + LARGE_CLASSES]:
        k.size = rng.randint(56, 65)


def _plan_twins(schools: list[Organization], rng: random.Random) -> list[_Twin]:
    """Pairs of primary schools (one city where possible) that will hold a possible duplicate."""
    by_city: dict[str, list[Organization]] = defaultdict(list)
    for s in schools:
        if s.stage_mask & Stage.PRIMARY:
            by_city[s.region.code[:4]].append(s)
    twins: list[_Twin] = []
    used: set[int] = set()
    for _ in range(DUPLICATE_PAIRS):
        cities = sorted(c for c, ss in by_city.items() if sum(s.pk not in used for s in ss) >= 2)
        pool = [s for s in by_city[rng.choice(cities)] if s.pk not in used] if cities else [
            s for ss in by_city.values() for s in ss if s.pk not in used]
        if len(pool) < 2:
            break
        first, second = sorted(rng.sample(pool, 2), key=lambda s: s.school_code)
        used |= {first.pk, second.pk}
        twins.append(_Twin(grade=rng.choice(("12", "13", "14", "15")), first_school=first.pk,
                           second_school=second.pk))
    return twins


# --------------------------------------------------------------------------------------------
# Students


class _StudentFactory:
    """Builds the raw rows of one school, sharing the province-wide set of ID numbers."""

    def __init__(self, *, today: dt.date, origins: _Origins) -> None:
        self.today = today
        self.year = services.current_school_year(today)
        self.origins = origins
        self.ids: set[str] = set()

    # Identity -----------------------------------------------------------------------------

    def birth_date(self, rng: random.Random, age: int) -> dt.date:
        """A birthday giving ``age`` full years on 1 September of this school year (Guangdong's cut-off
        is turning 6 by 31 August, DOMAIN.md §5.1)."""
        start = dt.date(self.year - age - 1, 9, 2)
        end = dt.date(self.year - age, 8, 31)
        return start + dt.timedelta(days=rng.randint(0, (end - start).days))

    def id_number(self, rng: random.Random, area: str, birth: dt.date, male: bool) -> str:
        # GB 11643: the 17th digit is odd for men, even for women; MOD 11-2 check character.
        stem = f"{area}{birth:%Y%m%d}"
        while True:
            body = f"{stem}{rng.randrange(100):02d}{rng.randrange(5) * 2 + (1 if male else 0)}"
            number = body + id_number_check_char(body)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def age_for(self, rng: random.Random, grade: Grade) -> int:
        if grade.stage == Stage.SPECIAL:
            return grade.typical_age + rng.choice((-1, 0, 0, 0, 1, 1, 2, 3))
        roll = rng.random()
        if roll < OVERAGE_SHARE and grade.stage != Stage.HIGHER:
            return grade.typical_age + rng.randint(3, 5)  # anomaly: see the module docstring
        if roll < OVERAGE_SHARE + 0.06:
            return grade.typical_age + 1
        if roll < OVERAGE_SHARE + 0.08:
            return grade.typical_age - 1
        return grade.typical_age

    # One student --------------------------------------------------------------------------

    def row(self, rng: random.Random, school: Organization, place: _Place, klass: _Class) -> dict[str, str]:
        grade = klass.grade
        stage = grade.stage
        male = rng.random() < MALE_SHARE
        sex = "1" if male else "2"
        name = names.person_name(rng, sex)
        birth = self.birth_date(rng, self.age_for(rng, grade))
        compulsory = stage in (Stage.PRIMARY, Stage.JUNIOR, Stage.SPECIAL)
        young = stage in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR, Stage.SPECIAL)

        migrant = False
        if stage == Stage.HIGHER:
            area, minority_share, minorities = self.origins.student_area(rng)
        else:
            share = MIGRANT_SHARE_PRD if place.prd else MIGRANT_SHARE_ELSEWHERE
            if stage == Stage.SENIOR:
                share /= 2  # 异地中考 rules keep many migrant teenagers out of Guangdong's senior highs
            migrant = rng.random() < share
            if migrant:
                area, minority_share, minorities = self.origins.migrant_area(rng, place)
            else:
                area = place.county
                minority_share, minorities = _AUTONOMOUS.get(area, (_LOCAL_MINORITY_SHARE, _LOCAL_MINORITIES))
        ethnicity = rng.choice(minorities) if rng.random() < minority_share else "01"

        undocumented = rng.random() < UNDOCUMENTED_SHARE
        id_type, id_number = ("Z", "") if undocumented else ("1", self.id_number(rng, area, birth, male))

        left_behind = "0"
        if young and not migrant:
            rate = 0.005 if place.prd else (0.03 if place.urban_core else 0.12)
            if rng.random() < rate:
                left_behind = "2" if rng.random() < 0.6 else "1"

        boarding = {Stage.SENIOR: 0.7, Stage.VOCATIONAL: 0.8, Stage.HIGHER: 0.95, Stage.SPECIAL: 0.4}.get(stage, 0.0)
        if place.rural and stage == Stage.JUNIOR:
            boarding = 0.4
        elif place.rural and stage == Stage.PRIMARY and grade.year >= 4:
            boarding = 0.1

        family = self.family(rng, name, left_behind)
        adult_phone = stage in (Stage.SENIOR, Stage.VOCATIONAL, Stage.HIGHER)
        rural_hukou = 0.7 if (migrant or place.rural) else 0.25
        raw = {
            "name": name,
            "gender": sex,
            "birth_date": birth.isoformat(),
            "id_type": id_type,
            "id_number": id_number,
            "ethnicity": ethnicity,
            "nationality": "CHN",
            "hk_macao_taiwan": "00",
            "birthplace_code": area,
            "hukou_place_code": "" if undocumented else area,
            "hukou_nature": "" if undocumented else ("1" if rng.random() < rural_hukou else "2"),
            "political_status": self.political_status(rng, grade),
            "health_status": "50" if stage == Stage.SPECIAL else "10",
            "disability_type": rng.choice(_DISABILITY.get(school.school_type_code, _DISABILITY["514"]))
            if stage == Stage.SPECIAL else "",
            "migrant_child": "是" if migrant and compulsory else "否",
            "left_behind": left_behind,
            "only_child": "是" if rng.random() < (0.1 if place.rural else 0.25) else "否",
            "boarding_mode": "2" if rng.random() < boarding else "1",
            "home_address": names.street_address(rng, place.town_name),
            "phone": names.phone_number(rng) if adult_phone else family["guardian1_phone"],
            "grade": grade.code,
            "class_number": str(klass.number),
            # September of the year the student entered this stage.
            "entered_on": f"{self.year - grade.year + 1}-09",
            "entry_mode": self.entry_mode(rng, stage),
            "major": klass.major,
            "programme_length": str(klass.programme_length or ""),
            "level": klass.level,
            **family,
        }
        return raw

    def family(self, rng: random.Random, child: str, left_behind: str) -> dict[str, str]:
        """Father (the child's surname) and mother (her own: Chinese women keep theirs), or, for a
        two-parent left-behind child, the grandparent at home first and the father second."""
        surname = names.surname_of(child)
        father = names.person_name(rng, "1", surname=surname)
        mother = names.person_name(rng, "2")
        people = [("父亲", father), ("母亲", mother)]
        if rng.random() < 0.55:  # mothers are the first contact a little more often (estimate)
            people.reverse()
        if left_behind == "2":
            grandparent = ("祖父", names.person_name(rng, "1", surname=surname)) if rng.random() < 0.5 else (
                "祖母", names.person_name(rng, "2"))
            people = [grandparent, ("父亲", father)]
        out = {}
        count = 2 if rng.random() < 0.85 else 1
        for n, (relation, person) in enumerate(people[:count], start=1):
            out[f"guardian{n}_name"] = person
            out[f"guardian{n}_relation"] = relation
            out[f"guardian{n}_phone"] = names.phone_number(rng)
        return out

    def political_status(self, rng: random.Random, grade: Grade) -> str:
        """共青团员 (03) from 初三 on, growing with age; others 群众 (13) from senior school on."""
        member = {"22": 0.05, "23": 0.15, "31": 0.3, "32": 0.45, "33": 0.6}.get(grade.code)
        if grade.stage in (Stage.VOCATIONAL, Stage.HIGHER):
            member = 0.4 if grade.stage == Stage.VOCATIONAL else 0.75
        if member is None:
            return ""
        if rng.random() < member:
            return "03"
        return "13" if grade.stage in (Stage.SENIOR, Stage.VOCATIONAL, Stage.HIGHER) else ""

    @staticmethod
    def entry_mode(rng: random.Random, stage: Stage) -> str:
        if stage in (Stage.PRIMARY, Stage.JUNIOR, Stage.SPECIAL):
            return "11" if rng.random() < 0.95 else "12"  # 就近入学, otherwise 其他
        if stage in (Stage.SENIOR, Stage.VOCATIONAL, Stage.HIGHER):
            return "21"  # 统一招生考试
        return ""


def _apply_twin(raw: dict[str, str], twin: _Twin, rng: random.Random, first: bool) -> None:
    """Make this row one half of a planted possible-duplicate pair (see the module docstring)."""
    raw.update(id_type="Z", id_number="", hukou_place_code="", hukou_nature="")
    if first:
        # A pupil may have one guardian only: the second is then absent from the row.
        twin.person = {k: raw.get(k, "") for k in ("name", "gender", "birth_date", "guardian1_name", "guardian2_name")}
        return
    raw.update(name=twin.person["name"], gender=twin.person["gender"], birth_date=twin.person["birth_date"])
    # Other parents: the register's own duplicate rule (matching guardian) must not fire.
    taken = {twin.person.get("guardian1_name"), twin.person.get("guardian2_name")}
    surname = names.surname_of(raw["name"])
    father = names.person_name(rng, "1", surname=surname)
    mother = names.person_name(rng, "2")
    while father in taken or mother in taken:
        father, mother = names.person_name(rng, "1", surname=surname), names.person_name(rng, "2")
    raw.update(guardian1_name=father, guardian1_relation="父亲", guardian1_phone=names.phone_number(rng),
               guardian2_name=mother, guardian2_relation="母亲", guardian2_phone=names.phone_number(rng))


# --------------------------------------------------------------------------------------------
# The whole province


def _clerks() -> dict[int, User]:
    """Each school's demo clerk, when it has one: their registrations are theirs in the audit log."""
    clerks: dict[int, User] = {}
    users = User.objects.filter(
        role_assignments__role=Role.SCHOOL_CLERK, is_active=True, organization__kind=OrgKind.SCHOOL
    ).select_related("organization").order_by("username")
    for user in users:
        if user.can(capabilities.EDIT_STUDENTS):
            clerks.setdefault(user.organization_id, user)
    return clerks


def generate_students(*, scale: float, seed: int, today: dt.date | None = None,
                      progress: Callable[[int, int], None] | None = None) -> StudentSummary:
    """Students for every open school with stages, unless the register already holds any.

    ``scale`` multiplies the full-size classes per grade (at least one class per grade); 0 skips.
    All or nothing: one transaction, so a failure leaves no half-filled province.
    """
    started = time.perf_counter()
    if scale <= 0 or Student.objects.exists():
        return StudentSummary(0, 0, 0, 0.0, skipped=True)
    today = today or timezone.localdate()
    schools = list(
        Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, stage_mask__gt=0)
        .select_related("region").order_by("school_code")
    )
    plan_rng = random.Random(f"{seed}:plan")
    county = Region.objects.filter(code=DEMO_COUNTY).values_list("path", flat=True).first() or "-"
    in_county = [s for s in schools if s.region_path.startswith(county)]
    clerks = _clerks()
    # The demo county, where the county, town and school demo accounts look, gets whole classes; the
    # school of the demo clerk and principal its full-size classes (all of 天河区 at full size, about
    # 32,000 students, would double the run time).
    plans = {
        s.pk: plan_classes(s, 1.0 if s.pk in clerks else scale, random.Random(f"{seed}:classes:{s.school_code}"),
                           whole=s.region_path.startswith(county))
        for s in schools
    }
    _plant_oversized_classes(plans, in_county, plan_rng)
    twins = _plan_twins(schools, plan_rng)
    twin_of: dict[int, tuple[_Twin, bool]] = {}
    for twin in twins:
        twin_of[twin.first_school] = (twin, True)
        twin_of[twin.second_school] = (twin, False)

    factory = _StudentFactory(today=today, origins=_Origins())
    students = classes = 0
    with transaction.atomic():
        for done, school in enumerate(schools, start=1):
            rng = random.Random(f"{seed}:students:{school.school_code}")
            place = _place_of(school)
            rows: list[tuple[int, schema.CleanStudent]] = []
            twin, twin_first = twin_of.get(school.pk, (None, False))
            for klass in plans[school.pk]:
                for _ in range(klass.size):
                    raw = factory.row(rng, school, place, klass)
                    if (twin is not None and klass.grade.code == twin.grade and klass.number == 1
                            and (twin_first or twin.person)):
                        _apply_twin(raw, twin, rng, twin_first)
                        twin = None
                    clean = schema.clean_student(raw, stage_mask=school.stage_mask, today=today)
                    if clean.problems:
                        raise DemoDataError(
                            f"演示数据生成错误：{school.name} 第 {len(rows) + 1} 名学生无效："
                            + "；".join(message for _f, _v, message in clean.problems)
                        )
                    rows.append((len(rows) + 1, clean))
            if rows:
                actor = clerks.get(school.pk) or GeneratorActor(school, capabilities.EDIT_STUDENTS)
                try:
                    services.register_students(actor=actor, school=school, rows=rows, accept_valid=False,
                                               source=SOURCE, today=today)
                except BatchInvalid as exc:
                    raise DemoDataError(
                        f"演示数据生成错误：{school.name} 的学生未能注册："
                        + "；".join(f"第 {p.row} 名 {p.label}：{p.message}" for p in exc.problems[:10])
                    ) from exc
                students += len(rows)
                classes += len(plans[school.pk])
            if progress:
                progress(done, len(schools))
    return StudentSummary(students, classes, len(schools), time.perf_counter() - started)

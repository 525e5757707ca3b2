"""Official figures, each defined once: what it is called, how the page explains it, where the
definition comes from, and which roll-up rows (filter and weight) it sums.

Every page, export, snapshot total, 基表, indicator, calculator and the public portal that shows one
of these figures reads it through here, so that the same snapshot gives the same number everywhere
(tests/test_official_definitions.py recounts each one over the raw records). A figure is a weighted
sum of roll-up measures; a ratio (``Ratio``) divides one figure by another at every level — the ratio
of sums, never the mean of the schools' ratios.

Sources are the sections of shared/design/DOMAIN.md (the national statistics system's definitions).
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from eduplatform.orgs.stages import Stage
from eduplatform.stats.models import ClassRollup, StaffRollup, StudentRollup

# --------------------------------------------------------------------------------------------
# Codes the definitions rest on

# staff_category_k12: 1 专任教师, 2 行政人员, 3 教辅人员, 4 工勤人员, 5 校办企业职工 make up 教职工;
# 6 代课教师 and 7 兼任（职）教师 are outside the national headcount and shown on their own.
FULL_TIME_TEACHER = "1"
HEADCOUNT_POSTS = ("1", "2", "3", "4", "5")
SUBSTITUTE_TEACHER = "6"
PART_TIME_TEACHER = "7"

# 基础基211–213 class-size bands (label, lowest size); a class falls in the last band it reaches.
SIZE_BANDS: tuple[tuple[str, int], ...] = (
    ("≤25", 0), ("26-30", 26), ("31-35", 31), ("36-40", 36), ("41-45", 41), ("46-50", 46),
    ("51-55", 51), ("56-60", 56), ("61-65", 61), ("≥66", 66),
)
LARGE_BANDS = ("56-60", "61-65")  # 大班额 56–65
SUPER_LARGE_BANDS = ("≥66",)  # 超大班额 ≥ 66
_BAND_LOW = dict(SIZE_BANDS)
LARGE_CLASS_SIZE = _BAND_LOW[LARGE_BANDS[0]]  # 56: the smallest 大班额
SUPER_LARGE_CLASS_SIZE = _BAND_LOW[SUPER_LARGE_BANDS[0]]  # 66: the smallest 超大班额
# Labelled bands (what a page or a list filter may name instead of a 基础基211 band), each the
# bands it takes together: "56人以上" is both of them, as the Ministry quotes it.
NAMED_BANDS: dict[str, tuple[str, ...]] = {
    "55人及以下": tuple(band for band, low in SIZE_BANDS if low < LARGE_CLASS_SIZE), "大班额": LARGE_BANDS, "超大班额": SUPER_LARGE_BANDS, "56人以上": LARGE_BANDS + SUPER_LARGE_BANDS,
}


def band_name(size_band: str) -> str:
    """"大班额" / "超大班额" for a band inside one of them, "" for the others."""
    if size_band in SUPER_LARGE_BANDS:
        return gettext("超大班额")
    return gettext("大班额") if size_band in LARGE_BANDS else ""
COMPULSORY_STAGES = (Stage.PRIMARY, Stage.JUNIOR)  # 义务教育

# 任课学段 (teaching_stage, JY/T 1001 rkxd) of each stage's teachers. Higher education has no code:
# its teachers are those of higher-education institutions.
TEACHING_STAGE_CODES: dict[Stage, tuple[str, ...]] = {
    Stage.PRESCHOOL: ("1",), Stage.PRIMARY: ("2",), Stage.JUNIOR: ("3",), Stage.SENIOR: ("4",),
    Stage.VOCATIONAL: ("5", "6"), Stage.SPECIAL: ("A",),
}
KNOWN_TEACHING_STAGES = tuple(code for codes in TEACHING_STAGE_CODES.values() for code in codes)
# Stages with their own 生师比 (DOMAIN §3), in the order pages show them.
RATIO_STAGES = (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR, Stage.VOCATIONAL, Stage.SPECIAL)
STAGE_NAMES = {Stage.PRESCHOOL: gettext_lazy("幼儿园"), Stage.PRIMARY: gettext_lazy("小学"), Stage.JUNIOR: gettext_lazy("初中"), Stage.SENIOR: gettext_lazy("普通高中"),
               Stage.VOCATIONAL: gettext_lazy("中职"), Stage.SPECIAL: gettext_lazy("特教"), Stage.HIGHER: gettext_lazy("高等教育")}
# students.schema.LEVELS of higher education and their weight in 折合在校生 (教发〔2004〕2号):
# 1 专科, 2 本科 × 1; 3 硕士 × 1.5; 4 博士 × 2.
HIGHER_LEVEL_WEIGHTS = {"1": decimal.Decimal(1), "2": decimal.Decimal(1), "3": decimal.Decimal("1.5"),
                        "4": decimal.Decimal(2)}
EXTERNAL_TEACHER_WEIGHT = decimal.Decimal("0.5")  # 聘请校外教师 × 0.5 in 教师总数


def staff_of_stage(stage: Stage) -> Q:
    """Staff rows (``StaffRollup``) of ``stage``: their 任课学段 is the stage's, or — a person whose
    任课学段 is not recorded (or names no stage) — the school teaches only this stage. Higher
    education: the staff of higher-education institutions. What a stage filter of the staff
    figures selects (the pivot's), and what ``teachers_of_stage`` narrows to 专任教师."""
    if stage == Stage.HIGHER:
        return Q(stage_mask=int(Stage.HIGHER))
    unknown = ~Q(teaching_stage__in=KNOWN_TEACHING_STAGES) & Q(stage_mask=int(stage))
    return Q(teaching_stage__in=TEACHING_STAGE_CODES[stage]) | unknown


def teachers_of_stage(stage: Stage) -> Q:
    """专任教师 teaching ``stage`` (``staff_of_stage``)."""
    return Q(post_category=FULL_TIME_TEACHER) & staff_of_stage(stage)


# --------------------------------------------------------------------------------------------
# Figures


@dataclass(frozen=True)
class Part:
    """One summed roll-up measure of a figure: Σ ``measure`` over the rows ``condition`` selects, × ``weight``."""

    model: type
    measure: str
    condition: Q = Q()
    weight: decimal.Decimal = decimal.Decimal(1)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    formula: str  # how the page explains it
    source: str  # where the definition comes from
    parts: tuple[Part, ...]

    def total(self, rows_of: Callable) -> decimal.Decimal | int:
        """The figure over the rows ``rows_of(model)`` returns (a live or frozen queryset)."""
        value = 0
        for part in self.parts:
            n = rows_of(part.model).filter(part.condition).aggregate(n=Sum(part.measure))["n"] or 0
            value += n * part.weight if part.weight != 1 else n
        return value

    def per_school(self, rows_of: Callable) -> Iterable[tuple[int, str, object]]:
        """(school, region path, value) for each school the rows cover — what ``selectors.fold``
        sums into regions."""
        for part in self.parts:
            qs = rows_of(part.model).filter(part.condition)
            for r in qs.values("school_id", "region_path").annotate(n=Sum(part.measure)).order_by():
                n = r["n"] or 0
                yield r["school_id"], r["region_path"], (n * part.weight if part.weight != 1 else n)


def _figure(key: str, label: str, formula: str, source: str, model: type, measure: str,
            condition: Q | None = None) -> Figure:
    return Figure(key, label, formula, source, (Part(model, measure, condition if condition is not None else Q()),))


STUDENTS = _figure("students", gettext_lazy("在校生"), gettext_lazy("在籍（在读或休学）学生数"), gettext_lazy("基础基311"), StudentRollup, "enrolled")
STAFF = _figure("staff", gettext_lazy("教职工"), gettext_lazy("专任教师 + 行政人员 + 教辅人员 + 工勤人员 + 校办企业职工（不含代课教师、兼任教师）"),
                gettext_lazy("基础基411；代课、兼任不计入教职工数"), StaffRollup, "staff",
                Q(post_category__in=HEADCOUNT_POSTS))
TEACHERS = _figure("teachers", gettext_lazy("专任教师"), gettext_lazy("岗位类别为专任教师的在岗人数"), gettext_lazy("基础基411"), StaffRollup, "staff",
                   Q(post_category=FULL_TIME_TEACHER))
SUBSTITUTE_TEACHERS = _figure("substitute_teachers", gettext_lazy("代课教师"), gettext_lazy("岗位类别为代课教师的在岗人数（不计入教职工）"),
                              gettext_lazy("基础基411"), StaffRollup, "staff", Q(post_category=SUBSTITUTE_TEACHER))
PART_TIME_TEACHERS = _figure("part_time_teachers", gettext_lazy("兼任教师"), gettext_lazy("岗位类别为兼任（职）教师的在岗人数（不计入教职工）"),
                             gettext_lazy("基础基411"), StaffRollup, "staff", Q(post_category=PART_TIME_TEACHER))
NEW_ENTRANTS = _figure("new_entrants", gettext_lazy("招生"), gettext_lazy("本学年首次进入该学段就读的学生（同一学段此前无学籍记录）；转入不计"),
                       gettext_lazy("基础基312"), StudentRollup, "new_entrants")
TRANSFERS_IN = _figure("transfers_in", gettext_lazy("转入"), gettext_lazy("本学年转入并仍在籍的学生（此前已有同一学段学籍）"),
                       gettext_lazy("学生变动情况"), StudentRollup, "transfers_in")
TRANSFERS_OUT = _figure("transfers_out", gettext_lazy("转出"), gettext_lazy("本学年转出的学籍"), gettext_lazy("学生变动情况"), StudentRollup,
                        "transfers_out")

# Headline figures where staff are shown: 教职工, then 代课 and 兼任 beside it (never inside it).
STAFF_FIGURES = (STAFF, TEACHERS, SUBSTITUTE_TEACHERS, PART_TIME_TEACHERS)
STUDENT_FLOWS = (NEW_ENTRANTS, TRANSFERS_IN, TRANSFERS_OUT)


def students_of_stage(stage: Stage) -> Figure:
    return _figure(f"students_{stage.name.lower()}", format_lazy(gettext_lazy("{stage}在校生"), stage=STAGE_NAMES[stage]),
                   format_lazy(gettext_lazy("{stage}在籍学生数"), stage=STAGE_NAMES[stage]),
                   gettext_lazy("基础基311"), StudentRollup, "enrolled", Q(stage=int(stage)))


def teachers_of(stage: Stage) -> Figure:
    how = (gettext_lazy("高等学校的专任教师") if stage == Stage.HIGHER else
           format_lazy(gettext_lazy("任课学段为{stage}的专任教师（未填任课学段的，计入只设该学段的学校）"), stage=STAGE_NAMES[stage]))
    return _figure(f"teachers_{stage.name.lower()}", format_lazy(gettext_lazy("{stage}专任教师"), stage=STAGE_NAMES[stage]), how, gettext_lazy("生师比"),
                   StaffRollup, "staff", teachers_of_stage(stage))


# 高等教育: 折合在校生 and 教师总数 of 教发〔2004〕2号, from what the records hold.
HIGHER_WEIGHTED_STUDENTS = Figure(
    "higher_weighted_students", gettext_lazy("折合在校生"),
    gettext_lazy("普通本专科 + 硕士 × 1.5 + 博士 × 2（留学生、预科、进修、成人脱产、夜大、函授学生平台未记录，未计入）"),
    gettext_lazy("教发〔2004〕2号"),
    tuple(Part(StudentRollup, "enrolled", Q(stage=int(Stage.HIGHER), level=level), weight)
          for level, weight in HIGHER_LEVEL_WEIGHTS.items()))
HIGHER_TEACHERS = Figure(
    "higher_teachers", gettext_lazy("教师总数"), gettext_lazy("专任教师 + 聘请校外教师 × 0.5（聘请校外教师取岗位类别为兼任教师者）"),
    gettext_lazy("教发〔2004〕2号"),
    (Part(StaffRollup, "staff", teachers_of_stage(Stage.HIGHER)),
     Part(StaffRollup, "staff", Q(post_category=PART_TIME_TEACHER, stage_mask=int(Stage.HIGHER)),
          EXTERNAL_TEACHER_WEIGHT)))


def _classes(key: str, label: str, bands: tuple[str, ...] | None, stage: Stage | None) -> Figure:
    stages = [int(stage)] if stage is not None else [int(s) for s in COMPULSORY_STAGES]
    condition = Q(stage__in=stages)
    if bands is not None:
        condition &= Q(size_band__in=bands)
    where = STAGE_NAMES[stage] if stage is not None else gettext_lazy("义务教育（小学 + 初中）")
    return _figure(key, label, format_lazy(gettext_lazy("{where}{label}"), where=where, label=label), gettext_lazy("大班额 / 超大班额"), ClassRollup, "classes", condition)


# --------------------------------------------------------------------------------------------
# Ratios (indicators)


@dataclass(frozen=True)
class Ratio:
    key: str
    label: str
    numerator: Figure
    denominator: Figure
    scale: int  # 1, or 100 for percentages and "per hundred students"
    unit: str
    formula: str
    source: str
    # The stage the ratio is of (a stage filter shows it), 0 for one over several stages
    # (义务教育's 大班额 over 小学 + 初中).
    stage: int = 0

    def value(self, cells: dict) -> float | None:
        """The ratio of the summed figures in ``cells`` (figure key → value); None without a denominator."""
        denominator = cells.get(self.denominator.key) or 0
        if not denominator:
            return None
        return float(cells.get(self.numerator.key) or 0) * self.scale / float(denominator)


def pupil_teacher_ratio(stage: Stage) -> Ratio:
    name = STAGE_NAMES[stage]
    if stage == Stage.HIGHER:
        return Ratio("pupil_teacher_higher", gettext_lazy("生师比（高等教育）"), HIGHER_WEIGHTED_STUDENTS, HIGHER_TEACHERS, 1, ":1",
                     format_lazy(gettext_lazy("折合在校生 ÷ 教师总数；折合在校生 = {students}；教师总数 = {teachers}"),
                                 students=HIGHER_WEIGHTED_STUDENTS.formula, teachers=HIGHER_TEACHERS.formula),
                     HIGHER_TEACHERS.source, int(stage))
    return Ratio(f"pupil_teacher_{stage.name.lower()}", format_lazy(gettext_lazy("生师比（{stage}）"), stage=name), students_of_stage(stage),
                 teachers_of(stage), 1, ":1",
                 format_lazy(gettext_lazy("{stage}在校生 ÷ {stage}专任教师（{how}）"), stage=name, how=teachers_of(stage).formula),
                 gettext_lazy("生师比：在校生数 ÷ 专任教师数，分学段"), int(stage))


PUPIL_TEACHER_RATIOS = (*(pupil_teacher_ratio(s) for s in RATIO_STAGES), pupil_teacher_ratio(Stage.HIGHER))


def class_size_ratios(stage: Stage | None) -> tuple[Ratio, ...]:
    """大班额, 超大班额 and 56人以上 shares over compulsory-education classes (``stage`` None: 小学 +
    初中 together) or over the classes of one compulsory stage."""
    suffix = "" if stage is None else f"_{stage.name.lower()}"
    where = gettext_lazy("义务教育") if stage is None else STAGE_NAMES[stage]
    all_classes = _classes(f"classes{suffix}", gettext_lazy("班数"), None, stage)
    shares = (("large_classes", gettext_lazy("大班额"), LARGE_BANDS, gettext_lazy("56–65 人")),
              ("super_large_classes", gettext_lazy("超大班额"), SUPER_LARGE_BANDS, gettext_lazy("66 人及以上")),
              ("classes_over_55", gettext_lazy("56人以上"), LARGE_BANDS + SUPER_LARGE_BANDS, gettext_lazy("56 人及以上")))
    return tuple(
        Ratio(f"{key}{suffix}", format_lazy(gettext_lazy("{label}比例（{where}）"), label=label, where=where),
              _classes(f"{key}{suffix}", format_lazy(gettext_lazy("{label}班数"), label=label), bands, stage),
              all_classes, 100, "%", format_lazy(gettext_lazy("{where}{size}的班数 ÷ {where}全部班数 × 100%"), where=where, size=size),
              gettext_lazy("大班额 / 超大班额：分母为义务教育（小学 + 初中）班数，另分学段；“56人以上”为两档合计"),
              int(stage) if stage is not None else 0)
        for key, label, bands, size in shares)


CLASS_SIZE_RATIOS = (*class_size_ratios(None), *class_size_ratios(Stage.PRIMARY), *class_size_ratios(Stage.JUNIOR))


def of_stage(ratios: Iterable[Ratio], stage: Stage | None) -> list[Ratio]:
    """The ratios a stage filter shows: all of them without a stage, else those of ``stage`` —
    the one definition of each, never a second ratio recomputed for the filter."""
    return [r for r in ratios if stage is None or r.stage == int(stage)]


def figures_of(ratios: Iterable[Ratio]) -> list[Figure]:
    """The distinct figures these ratios divide."""
    seen: dict[str, Figure] = {}
    for ratio in ratios:
        for figure in (ratio.numerator, ratio.denominator):
            seen.setdefault(figure.key, figure)
    return list(seen.values())


# --------------------------------------------------------------------------------------------
# Record-level rules the roll-ups count by (and the lists behind a figure filter by)


def first_in_stage() -> Q:
    """An enrolment that is the student's first in its stage: no earlier registration of the same
    student in the same stage (a transfer's receiving registration has the sending one before it).
    招生 counts these; the others, entered this school year, are 转入."""
    from django.db.models import Exists, F, OuterRef

    from eduplatform.students.models import Enrolment

    earlier = Enrolment.objects.filter(student_id=OuterRef("student_id"), stage=OuterRef("stage"), pk__lt=OuterRef("pk"))
    # A registration written together with its person (registration writes both with one timestamp)
    # cannot follow another registration of that person: the lookup — an index probe per row, 2 s
    # for a 50,000-row import measured on PostgreSQL — runs only for people who existed before.
    return Q(student__created_at=F("created_at")) | ~Q(Exists(earlier))

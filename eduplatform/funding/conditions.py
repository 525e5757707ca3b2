"""Higher-education condition checks: 普通高等学校基本办学条件指标（试行）, 教发〔2004〕2号 (DOMAIN §3,
§4.2), for every 普通高等学校 in a region, live or from a census snapshot.

The five basic indicators, each with its inputs and arithmetic:

    生师比                 = 折合在校生 ÷ 教师总数
    研究生学位教师比例     = 具有研究生学位的专任教师 ÷ 专任教师
    生均教学行政用房       = (教学及辅助用房 + 行政办公用房) ÷ 全日制在校生
    生均教学科研仪器设备值 = 教学科研仪器设备资产值 ÷ 折合在校生
    生均图书               = 图书 ÷ 折合在校生

    折合在校生   = 普通本专科 + 硕士 × 1.5 + 博士 × 2 (+ 留学生 × 3 + 预科 + 进修 + 成人脱产 + 夜大 × 0.3 + 函授 × 0.1)
    全日制在校生 = 普通本专科 + 研究生 (+ 留学生 + 预科 + 进修 + 成人脱产)
    教师总数     = 专任教师 + 聘请校外教师 × 0.5

The parts in brackets are not recorded by the platform (the student roll-up has no nationality, and
no 预科/进修/成人/夜大/函授 categories): they are left out, and every result says so. 研究生学位 of
teachers is not in the staff roll-up (it keeps 最高学历, not 学位), so that indicator cannot be
judged; the share of teachers with postgraduate *education* is shown beside it as a reference only.
聘请校外教师 are the staff recorded in the post category 兼任（职）教师.

Cards: missing one basic indicator → 黄牌 (限制招生); two or more, or a yellow card three years
running (this year and the two previous census snapshots) → 红牌 (暂停招生).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from eduplatform.funding.models import InstitutionCategory
from eduplatform.funding.selectors import higher_ed_profiles
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor
from eduplatform.stats.models import (
    AssetRollup,
    BuildingRollup,
    SchoolRollup,
    Snapshot,
    StaffRollup,
    StudentRollup,
)
from eduplatform.stats.rollup import school_year_of
from eduplatform.stats.selectors import FULL_TIME_TEACHER, figures

RULE_VERSION = gettext_lazy("普通高等学校基本办学条件指标（试行），教发〔2004〕2号")
REGULAR_HEI_PREFIX = "41"  # 办学类型 41x 普通高等学校 (42x 成人高等学校 are not covered by the standard)
UNDERGRADUATE_TYPES = ("411", "412", "413")  # 本科院校：大学、学院、独立学院
JUNIOR_COLLEGE_TYPES = ("414", "415")  # 专科院校：高等专科学校、高等职业学校
EXTERNAL_TEACHER = "7"  # staff_category_k12 兼任（职）教师: counted as 聘请校外教师
POSTGRADUATE_EDUCATION = "1"  # GB/T 4658 学历 1x 研究生
# students.schema.LEVELS: 1 专科, 2 本科, 3 硕士, 4 博士 (5 中职 and '' are not higher-education levels)
LEVEL_LABELS = {"1": gettext_noop("专科"), "2": gettext_noop("本科"), "3": gettext_noop("硕士"), "4": gettext_noop("博士")}
WEIGHTS = {"1": decimal.Decimal(1), "2": decimal.Decimal(1), "3": decimal.Decimal("1.5"), "4": decimal.Decimal(2)}
NOT_RECORDED = gettext_lazy("留学生、预科、进修、成人脱产、夜大（业余）、函授学生平台未记录，未计入折合在校生和全日制在校生；"
                            "教师的研究生学位未纳入教职工汇总，研究生学位教师比例无法核验")


@dataclass(frozen=True)
class Standard:
    pupil_teacher: decimal.Decimal  # 生师比 ≤
    graduate_degree_share: decimal.Decimal  # 研究生学位教师比例 ≥ (%)
    teaching_admin_area: decimal.Decimal  # 生均教学行政用房 ≥ (㎡)
    equipment: decimal.Decimal  # 生均教学科研仪器设备值 ≥ (元)
    books: decimal.Decimal  # 生均图书 ≥ (册)


def _standard(*values: str) -> Standard:
    return Standard(*(decimal.Decimal(v) for v in values))


# The 合格 values of 教发〔2004〕2号 (DOMAIN §4.2). 专科 rows other than these two were not found.
STANDARDS: dict[tuple[str, str], Standard] = {
    ("本科", InstitutionCategory.GENERAL): _standard("18", "30", "14", "5000", "100"),
    ("本科", InstitutionCategory.ENGINEERING): _standard("18", "30", "16", "5000", "80"),
    ("本科", InstitutionCategory.MEDICAL): _standard("16", "30", "16", "5000", "80"),
    ("本科", InstitutionCategory.HUMANITIES): _standard("18", "30", "9", "3000", "100"),
    ("本科", InstitutionCategory.SPORTS): _standard("11", "30", "22", "4000", "70"),
    ("本科", InstitutionCategory.ARTS): _standard("11", "30", "18", "4000", "80"),
    ("专科", InstitutionCategory.GENERAL): _standard("18", "15", "14", "4000", "80"),
    ("专科", InstitutionCategory.ENGINEERING): _standard("18", "15", "16", "4000", "60"),
}


CHECK_LABELS = (gettext_lazy("生师比"), gettext_lazy("研究生学位教师比例"), gettext_lazy("生均教学行政用房"),
                gettext_lazy("生均教学科研仪器设备值"), gettext_lazy("生均图书"))


class Card:
    """The verdicts, kept in Chinese (compared, exported as data); shown with ``{% translate r.card %}``.
    The results' other texts are said in the reader's language when they are computed (per request)."""

    PASSED = gettext_noop("合格")
    YELLOW = gettext_noop("黄牌（限制招生）")
    RED = gettext_noop("红牌（暂停招生）")
    PENDING = gettext_noop("待定")
    NOT_JUDGED = gettext_noop("无法判定")


@dataclass
class Check:
    key: str
    label: str
    unit: str
    value: decimal.Decimal | None  # None: not computable from the records
    limit: decimal.Decimal | None
    at_most: bool  # 生师比 passes at or below its limit; the others at or above
    arithmetic: str

    @property
    def passed(self) -> bool | None:
        if self.value is None or self.limit is None:
            return None
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    @property
    def shown(self) -> str:
        return "—" if self.value is None else f"{self.value:,.2f}{self.unit}"

    @property
    def limit_shown(self) -> str:
        if self.limit is None:
            return "—"
        return f"{'≤' if self.at_most else '≥'} {self.limit:g}{self.unit}"


@dataclass
class InstitutionResult:
    school_id: int
    name: str
    school_code: str
    level: str  # 本科 / 专科 / '' (from 办学类型)
    category: str  # InstitutionCategory value, '' when not set
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (label, value as shown)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocked: str = ""  # why the standard cannot be applied at all (no category, no such table …)
    card: str = Card.NOT_JUDGED
    card_reason: str = ""

    @property
    def category_label(self) -> str:
        return str(InstitutionCategory(self.category).label) if self.category else gettext("未设置")

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.passed is False]

    @property
    def unknown(self) -> list[Check]:
        return [c for c in self.checks if c.passed is None]


def _ratio(numerator: decimal.Decimal, denominator: decimal.Decimal, scale: int = 1) -> decimal.Decimal | None:
    if not denominator:
        return None
    return (numerator * scale / denominator).quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)


def _n(value: decimal.Decimal | int) -> str:
    return f"{decimal.Decimal(value).normalize():,f}"


def _judge(result: InstitutionResult) -> None:
    if result.blocked:
        result.card, result.card_reason = Card.NOT_JUDGED, result.blocked
        return
    failed, unknown = result.failed, result.unknown
    names = "、".join(c.label for c in failed)
    if len(failed) >= 2:
        result.card = Card.RED
        result.card_reason = gettext("%(count)s 项基本指标不合格：%(names)s") % {"count": len(failed), "names": names}
    elif len(failed) == 1:
        result.card = Card.YELLOW
        result.card_reason = (gettext("1 项基本指标不合格：%(names)s；另有 %(unknown)s 项无法核验，若其不合格则为红牌")
                              % {"names": names, "unknown": len(unknown)} if unknown
                              else gettext("1 项基本指标不合格：%(names)s") % {"names": names})
    elif unknown:
        result.card = Card.PENDING
        result.card_reason = gettext("已核验的指标均合格；%(names)s无法核验") % {"names": "、".join(c.label for c in unknown)}
    else:
        result.card, result.card_reason = Card.PASSED, gettext("五项基本指标均合格")


def institution_checks(actor: Actor, region: Region, snapshot: Snapshot | None = None) -> list[InstitutionResult]:
    """Every 普通高等学校 under ``region`` in the actor's scope (open at the census, for a snapshot),
    its five basic indicators and its card for this year alone (see ``with_history``)."""
    schools = {r["school_id"]: r for r in figures(SchoolRollup, actor, region, snapshot).filter(
        school_type_code__startswith=REGULAR_HEI_PREFIX).values("school_id", "name", "school_code", "school_type_code")}
    ids = set(schools)
    students: dict[int, dict[str, int]] = defaultdict(dict)
    for r in figures(StudentRollup, actor, region, snapshot).filter(school_id__in=ids).values(
            "school_id", "level").annotate(n=Sum("enrolled")).order_by():
        students[r["school_id"]][r["level"]] = r["n"] or 0
    staff = figures(StaffRollup, actor, region, snapshot).filter(school_id__in=ids)
    teachers = _per_school(staff.filter(post_category=FULL_TIME_TEACHER), "staff")
    postgraduates = _per_school(staff.filter(Q(post_category=FULL_TIME_TEACHER)
                                             & Q(education_level__startswith=POSTGRADUATE_EDUCATION)), "staff")
    external = _per_school(staff.filter(post_category=EXTERNAL_TEACHER), "staff")
    areas = {r["school_id"]: r for r in figures(BuildingRollup, actor, region, snapshot).filter(
        school_id__in=ids).values("school_id", "teaching_area", "admin_area")}
    assets = {r["school_id"]: r for r in figures(AssetRollup, actor, region, snapshot).filter(
        school_id__in=ids).values("school_id", "has_holdings", "year", "books_volumes", "teaching_equipment_value")}
    profiles = higher_ed_profiles(actor, ids)
    results = []
    for school_id, school in schools.items():
        type_code = school["school_type_code"]
        level = "本科" if type_code in UNDERGRADUATE_TYPES else "专科" if type_code in JUNIOR_COLLEGE_TYPES else ""  # a key of STANDARDS
        profile = profiles.get(school_id)
        result = InstitutionResult(school_id, school["name"], school["school_code"], level,
                                   profile.category if profile else "")
        _compute(result, students[school_id], teachers.get(school_id, 0), postgraduates.get(school_id, 0),
                 external.get(school_id, 0), areas.get(school_id), assets.get(school_id))
        _judge(result)
        results.append(result)
    return sorted(results, key=lambda r: r.name)


def _per_school(qs, measure: str) -> dict[int, int]:
    return {r["school_id"]: r["n"] or 0 for r in qs.values("school_id").annotate(n=Sum(measure)).order_by()}


def _compute(result: InstitutionResult, by_level: dict[str, int], teachers: int, postgraduates: int, external: int,
             areas: dict | None, assets: dict | None) -> None:
    counted = {code: by_level.get(code, 0) for code in LEVEL_LABELS}
    other = sum(n for code, n in by_level.items() if code not in LEVEL_LABELS)
    undergraduates = counted["1"] + counted["2"]
    graduates = counted["3"] + counted["4"]
    weighted = sum((n * WEIGHTS[code] for code, n in counted.items()), decimal.Decimal(0))
    full_time = undergraduates + graduates
    teacher_total = teachers + decimal.Decimal(external) * decimal.Decimal("0.5")
    teaching_admin = (areas["teaching_area"] + areas["admin_area"]) if areas else decimal.Decimal(0)
    books = assets["books_volumes"] if assets else 0
    equipment = assets["teaching_equipment_value"] if assets else decimal.Decimal(0)
    no_buildings, no_assets = gettext("无校舍记录"), gettext("无资产汇总")
    result.inputs = [
        (gettext("普通本专科（专科 + 本科）"), f"{counted['1']:,} + {counted['2']:,} = {undergraduates:,}"),
        (gettext("研究生（硕士、博士）"), f"{counted['3']:,}、{counted['4']:,}"),
        (gettext("折合在校生"), f"{undergraduates:,} + {counted['3']:,} × 1.5 + {counted['4']:,} × 2 = {_n(weighted)}"),
        (gettext("全日制在校生"), f"{undergraduates:,} + {graduates:,} = {full_time:,}"),
        (gettext("专任教师"), f"{teachers:,}"),
        (gettext("聘请校外教师（兼任教师）"), f"{external:,}"),
        (gettext("教师总数"), f"{teachers:,} + {external:,} × 0.5 = {_n(teacher_total)}"),
        (gettext("教学及辅助用房 + 行政办公用房（㎡）"),
         f"{_n(areas['teaching_area'])} + {_n(areas['admin_area'])} = {_n(teaching_admin)}" if areas else no_buildings),
        (gettext("教学科研仪器设备资产值（元）"), _n(equipment) if assets and assets["has_holdings"] else no_assets),
        (gettext("图书（册）"), f"{books:,}" if assets and assets["has_holdings"] else no_assets),
    ]
    result.notes.append(str(NOT_RECORDED))
    if other:
        result.notes.append(gettext("另有 %(other)s 名学生培养层次未填写或为中职，未计入折合在校生") % {"other": f"{other:,}"})
    if external and teachers and external * 4 > teachers:
        result.notes.append(gettext("聘请校外教师 %(external)s 人超过专任教师的四分之一（%(teachers)s ÷ 4），"
                                    "按规定原则上不应超过，请核实") % {"external": f"{external:,}", "teachers": f"{teachers:,}"})
    if not result.level:
        result.blocked = gettext("办学类型不是本科或专科院校（如分校、大专班），本标准不适用")
    elif not result.category:
        result.blocked = gettext("未设置院校类别（综合、工科、医学……），无法确定适用的合格标准")
    elif (result.level, result.category) not in STANDARDS:
        result.blocked = gettext("未收录%(level)s%(category)s的合格标准（仅有综合类与工科类专科标准）") % {
            "level": gettext(result.level), "category": result.category_label}
    elif not weighted:
        result.blocked = gettext("没有已记录培养层次的在校生")
    standard = STANDARDS.get((result.level, result.category)) if not result.blocked else None
    assets_known = bool(assets and assets["has_holdings"])

    def limit(name: str) -> decimal.Decimal | None:
        return getattr(standard, name) if standard else None

    share = _ratio(decimal.Decimal(postgraduates), decimal.Decimal(teachers), 100)
    reference = gettext("无法核验：教职工汇总未含学位；参考：研究生学历专任教师 %(postgraduates)s ÷ 专任教师 %(teachers)s") % {
        "postgraduates": f"{postgraduates:,}", "teachers": f"{teachers:,}"}
    if share is not None:
        reference += gettext(" = %(share)s%%（学历口径，非学位）") % {"share": f"{share:.2f}"}
    result.checks = [
        Check("pupil_teacher", gettext("生师比"), "", _ratio(weighted, teacher_total), limit("pupil_teacher"), True,
              gettext("折合在校生 %(weighted)s ÷ 教师总数 %(teachers)s") % {"weighted": _n(weighted), "teachers": _n(teacher_total)}),
        Check("graduate_degree_share", gettext("研究生学位教师比例"), "%", None, limit("graduate_degree_share"), False,
              reference),
        Check("teaching_admin_area", gettext("生均教学行政用房"), "㎡",
              _ratio(teaching_admin, decimal.Decimal(full_time)) if areas else None, limit("teaching_admin_area"), False,
              gettext("(教学及辅助用房 + 行政办公用房) %(area)s ÷ 全日制在校生 %(students)s") % {
                  "area": _n(teaching_admin), "students": f"{full_time:,}"} if areas else no_buildings),
        Check("equipment", gettext("生均教学科研仪器设备值"), gettext("元"), _ratio(equipment, weighted) if assets_known else None,
              limit("equipment"), False,
              gettext("教学科研仪器设备资产值 %(value)s ÷ 折合在校生 %(weighted)s") % {
                  "value": _n(equipment), "weighted": _n(weighted)} if assets_known else no_assets),
        Check("books", gettext("生均图书"), gettext("册"), _ratio(decimal.Decimal(books), weighted) if assets_known else None,
              limit("books"), False, gettext("图书 %(books)s ÷ 折合在校生 %(weighted)s") % {
                  "books": f"{books:,}", "weighted": _n(weighted)} if assets_known else no_assets),
    ]


def previous_snapshots(school_year: int, years: int = 2) -> list[Snapshot]:
    """The latest version of each of the ``years`` census snapshots before ``school_year`` that exist."""
    found = []
    for year in range(school_year - 1, school_year - 1 - years, -1):
        snapshot = Snapshot.objects.filter(school_year=year).order_by("-census_date", "-version").first()
        if snapshot is not None:
            found.append(snapshot)
    return found


def with_history(actor: Actor, region: Region, snapshot: Snapshot | None = None, *, today: dt.date | None = None
                 ) -> tuple[list[InstitutionResult], list[Snapshot]]:
    """``institution_checks`` plus the three-year rule: a yellow card this year and in each of the
    two previous school years' census snapshots makes it red. Without both earlier snapshots the
    rule is not applied, and the page says which snapshots were read."""
    results = institution_checks(actor, region, snapshot)
    year = snapshot.school_year if snapshot else school_year_of(today or timezone.localdate())
    earlier = previous_snapshots(year)
    if len(earlier) == 2:
        cards = [{r.school_id: r.card for r in institution_checks(actor, region, s)} for s in earlier]
        for result in results:
            if result.card == Card.YELLOW and all(c.get(result.school_id) == Card.YELLOW for c in cards):
                result.card = Card.RED
                result.card_reason += gettext("；连续三年黄牌（%(years)s亦为黄牌）") % {
                    "years": "、".join(gettext("%(year)s学年") % {"year": s.school_year} for s in earlier)}
    return results, earlier

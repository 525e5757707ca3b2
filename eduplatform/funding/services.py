"""Writes of the funding app: rate sets (a revision is always a new version) and the category of a
higher-education institution. Each: validate → write → audit entry and change-feed entry."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from eduplatform.core import locks
from eduplatform.core.errors import NotPermitted, OutOfScope, ProblemCollector
from eduplatform.funding.models import (
    FundingRate,
    FundingRateSet,
    HigherEdProfile,
    InstitutionCategory,
)
from eduplatform.history.models import AuditAction
from eduplatform.history.services import diff_fields, record_change
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import Actor, require_unit_writer, scope_of, scoped
from eduplatform.orgs.stages import STAGE_LABELS, Stage

PROVINCE_PATH = "44/"
# Stages a rate set may fund, in the order the pages list them (成人/其他教育 is not funded here).
FUNDED_STAGES: tuple[Stage, ...] = (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR, Stage.VOCATIONAL,
                                    Stage.SPECIAL, Stage.HIGHER)
RATE_FIELDS = ("per_student", "per_boarder", "per_disabled", "minimum_headcount", "school_types", "covers_private",
               "source")
# Marked with gettext_noop: the audit entries store the Chinese, the form translates them (funding/forms.py).
RATE_LABELS = {"per_student": gettext_noop("生均定额"), "per_boarder": gettext_noop("寄宿生增加"),
               "per_disabled": gettext_noop("残疾学生定额"), "minimum_headcount": gettext_noop("乡村小规模学校按人数核定"),
               "school_types": gettext_noop("适用办学类型"), "covers_private": gettext_noop("适用于民办学校"),
               "source": gettext_noop("来源")}
TRUE_WORDS, FALSE_WORDS = {"是", "适用", "true", "1", "yes", "y"}, {"否", "不适用", "false", "0", "no", "n", ""}
LARGEST_AMOUNT = decimal.Decimal("1000000")  # 元 per student and year: anything above is a typing error
LARGEST_HEADCOUNT = 10000
CENT = decimal.Decimal("0.01")


def can_edit_rates(actor: Actor) -> bool:
    """The province's finance office: a province officer over the whole province and every stage."""
    scope = scope_of(actor, with_focus=False)
    return actor.can(capabilities.EDIT_FUNDING_RATES) and scope.region_path == PROVINCE_PATH and not scope.stage_mask


def _amount(raw: Any, *, label: str, field: str, problems: ProblemCollector, required: bool) -> decimal.Decimal | None:
    text = str(raw if raw is not None else "").strip().replace(",", "").replace("，", "")
    if not text:
        if required:
            problems.add(field, "required", gettext("%(label)s为必填项") % {"label": label}, label)
        return None
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        problems.add(field, "number.invalid", gettext("%(label)s「%(text)s」不是数字") % {"label": label, "text": text}, label)
        return None
    if not value.is_finite() or value < 0 or value >= LARGEST_AMOUNT:
        problems.add(field, "number.range", gettext("%(label)s「%(text)s」应在 0 至 %(largest_amount)s 元之间") % {"label": label, "text": text, "largest_amount": format(LARGEST_AMOUNT, ',')}, label)
        return None
    if value != value.quantize(CENT):
        problems.add(field, "number.cents", gettext("%(label)s「%(text)s」最多保留两位小数（精确到分）") % {"label": label, "text": text}, label)
        return None
    return value.quantize(CENT)


def _headcount(raw: Any, *, label: str, field: str, problems: ProblemCollector) -> int:
    text = str(raw if raw is not None else "").strip()
    if not text:
        return 0
    if not text.isdigit() or int(text) > LARGEST_HEADCOUNT:
        problems.add(field, "number.range", gettext("%(label)s「%(text)s」应为 0 至 %(largest_headcount)s 的整数") % {"label": label, "text": text, "largest_headcount": format(LARGEST_HEADCOUNT, ',')}, label)
        return 0
    return int(text)


def _school_types(raw: Any, *, label: str, field: str, problems: ProblemCollector) -> str:
    """办学类型 codes or prefixes, separated by spaces, commas or 、; each must begin some code of the
    办学类型 table. Stored space-separated; '' = every type."""
    from eduplatform.standards.models import Code

    parts = [p for p in re.split(r"[\s,，、;；]+", str(raw if raw is not None else "").strip()) if p]
    known = list(Code.objects.filter(table__key="school_type").exclude(code="").values_list("code", flat=True))
    for part in parts:
        if not part.isdigit() or len(part) > 3 or (known and not any(code.startswith(part) for code in known)):
            problems.add(field, "code.unknown", gettext("%(label)s「%(part)s」不是办学类型代码（或其前几位），例如 211 小学、21 小学类、111 幼儿园") % {"label": label, "part": part}, label)
    return " ".join(dict.fromkeys(parts))[:200]


def _yes_no(raw: Any, *, label: str, field: str, problems: ProblemCollector) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw if raw is not None else "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text not in FALSE_WORDS:
        problems.add(field, "choice.invalid", gettext("%(label)s「%(text)s」应为“是”或“否”") % {"label": label, "text": text}, label)
    return False


def clean_rates(lines: Sequence[Mapping[str, Any]], problems: ProblemCollector) -> list[dict[str, Any]]:
    """The rate lines as stored, every problem collected (field names ``<stage>.<field>``)."""
    clean: list[dict[str, Any]] = []
    seen: set[int] = set()
    for line in lines:
        try:
            stage = Stage(int(line.get("stage")))
        except (TypeError, ValueError):
            problems.add("stage", "stage.unknown", gettext("学段「%(get)s」不是可核定经费的学段") % {"get": line.get('stage')}, gettext("学段"))
            continue
        if stage not in FUNDED_STAGES:
            problems.add("stage", "stage.unknown", gettext("学段「%(get)s」不是可核定经费的学段") % {"get": STAGE_LABELS.get(stage, stage)}, gettext("学段"))
            continue
        if int(stage) in seen:
            problems.add(f"{int(stage)}.per_student", "stage.duplicate", gettext("%(value)s的定额填写了两次") % {"value": STAGE_LABELS[stage]}, gettext("学段"))
            continue
        seen.add(int(stage))
        name = STAGE_LABELS[stage]

        def key(field: str, _stage: Stage = stage) -> str:
            return f"{int(_stage)}.{field}"

        per_student = _amount(line.get("per_student"), label=gettext("%(name)s生均定额") % {"name": name}, field=key("per_student"),
                              problems=problems, required=True)
        per_boarder = _amount(line.get("per_boarder"), label=gettext("%(name)s寄宿生增加") % {"name": name}, field=key("per_boarder"),
                              problems=problems, required=False)
        per_disabled = _amount(line.get("per_disabled"), label=gettext("%(name)s残疾学生定额") % {"name": name}, field=key("per_disabled"),
                               problems=problems, required=False)
        minimum = _headcount(line.get("minimum_headcount"), label=gettext("%(name)s乡村小规模学校核定人数") % {"name": name},
                             field=key("minimum_headcount"), problems=problems)
        school_types = _school_types(line.get("school_types"), label=gettext("%(name)s适用办学类型") % {"name": name}, field=key("school_types"),
                                     problems=problems)
        covers_private = _yes_no(line.get("covers_private"), label=gettext("%(name)s适用于民办学校") % {"name": name},
                                 field=key("covers_private"), problems=problems)
        source = str(line.get("source") or "").strip()
        if not source:
            problems.add(key("source"), "required", gettext("%(name)s定额的来源为必填项（文件文号，或注明“示例值”）") % {"name": name}, gettext("来源"))
        elif len(source) > 300:
            problems.add(key("source"), "text.length", gettext("%(name)s定额的来源最多 300 字") % {"name": name}, gettext("来源"))
        clean.append({"stage": int(stage), "per_student": per_student, "per_boarder": per_boarder or decimal.Decimal(0),
                      "per_disabled": per_disabled, "minimum_headcount": minimum, "school_types": school_types,
                      "covers_private": covers_private, "source": source})
    if not lines or not seen:
        problems.add("rates", "required", gettext("至少填写一个学段的生均定额"), gettext("定额"))
    return clean


def _as_fields(rates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rate lines flattened for the audit diff: ``小学.生均定额`` → value."""
    flat: dict[str, Any] = {}
    for line in rates:
        for field in RATE_FIELDS:
            flat[f"{line['stage']}.{field}"] = line[field]
    return flat


def _labels(rates: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {f"{line['stage']}.{field}": f"{STAGE_LABELS[Stage(line['stage'])]}{RATE_LABELS[field]}"
            for line in rates for field in RATE_FIELDS}


def rate_lines(rate_set: FundingRateSet) -> list[dict[str, Any]]:
    return [{"stage": r.stage, **{f: getattr(r, f) for f in RATE_FIELDS}} for r in rate_set.rates.all()]


@transaction.atomic
def revise_rates(*, actor: Actor | None, year: int | None, rates: Sequence[Mapping[str, Any]], basis: str,
                 note: str = "", today: dt.date | None = None, system: bool = False) -> FundingRateSet:
    """Write a year's rates as a new version (the first, or a revision of the latest). Nothing is
    ever overwritten: the calculation names the version it used. ``system`` marks the platform's
    own load of the default rates (``manage.py load_reference``), which has no acting user."""
    if not system and (actor is None or not can_edit_rates(actor)):
        raise NotPermitted(gettext("只有省级财务部门（全省、不限学段的省级业务人员）可以修订生均公用经费定额"))
    today = today or timezone.localdate()
    problems = ProblemCollector(gettext("%(value)s 年度生均公用经费定额") % {"value": year or ''})
    if year is None or not 2000 <= int(year) <= today.year + 1:
        problems.add("year", "year.range", gettext("年度「%(value)s」应在 2000 至 %(value2)s 之间") % {"value": year or '', "value2": today.year + 1}, gettext("年度"))
    basis = (basis or "").strip()
    if not basis:
        problems.add("basis", "required", gettext("请填写定额的依据（文件名称与文号）"), gettext("依据"))
    clean = clean_rates(rates, problems)
    problems.raise_if_any()
    year = int(year)  # type: ignore[arg-type]
    # One revision of a year at a time, then the latest version read after the wait: a revision sent
    # twice at once finds the first's version "unchanged" instead of writing another (or colliding
    # on the version number when the year is new).
    locks.hold(locks.FUNDING_RATES, str(year))
    latest = FundingRateSet.objects.select_for_update().filter(year=year).order_by("-version").first()
    before = _as_fields(rate_lines(latest)) if latest else {}
    after = _as_fields(clean)
    changes = diff_fields(before, after, {**_labels(clean), **(_labels(rate_lines(latest)) if latest else {})})
    if latest is not None:
        if not changes and basis == latest.basis:
            problems.add("rates", "rates.unchanged", gettext("与现行的第 %(version)s 版相同，未生成新版本") % {"version": latest.version}, gettext("定额"))
        if not note.strip():
            problems.add("note", "required", gettext("修订已有年度的定额时请填写修订说明"), gettext("修订说明"))
        problems.raise_if_any()
    version = (FundingRateSet.objects.filter(year=year).aggregate(v=Max("version"))["v"] or 0) + 1
    rate_set = FundingRateSet.objects.create(
        year=year, version=version, basis=basis[:300], note=note.strip()[:300], created_at=timezone.now(),
        created_by=actor.audit_name() if actor is not None else "系统")
    FundingRate.objects.bulk_create([FundingRate(rate_set=rate_set, **line) for line in clean])
    if latest is not None and basis != latest.basis:
        changes["basis"] = {"label": "依据", "before": latest.basis, "after": basis}
    record_change(actor=actor, action=AuditAction.CREATE, object_type="funding.rate_set", object_id=rate_set.pk,
                  object_label=str(rate_set), changes=changes, region_path=PROVINCE_PATH,
                  feed_resource="funding_rates", feed_key=f"{year}/{version}",
                  note=note.strip() or ("载入默认定额" if system else "新年度定额"))
    return rate_set


@transaction.atomic
def set_institution_category(*, actor: Actor, school: Organization, category: str) -> HigherEdProfile:
    """Record which 教发〔2004〕2号 table a higher-education institution is judged by. Whoever may
    edit the school's record (a bureau or province officer of its jurisdiction) may set it."""
    # Writes use the reads' scope filter too: a K-12 officer reaches a college's path but not its stage.
    if not scoped(Organization.objects.filter(pk=school.pk), actor, with_focus=False).exists():
        raise OutOfScope()
    require_unit_writer(actor, school, capabilities.MANAGE_SCHOOLS, gettext("学校信息"))
    problems = ProblemCollector(gettext("学校「%(name)s」") % {"name": school.name})
    if not school.is_school or not school.stage_mask & Stage.HIGHER or not school.school_type_code.startswith("41"):
        problems.add("school", "school.not_higher", gettext("%(name)s不是普通高等学校，不适用普通高等学校基本办学条件指标") % {"name": school.name},
                     gettext("学校"))
    if category not in InstitutionCategory.values:
        problems.add("category", "code.unknown", gettext("院校类别「%(category)s」不在可选范围内：%(choices)s") % {
            "category": category, "choices": "、".join(str(c.label) for c in InstitutionCategory)}, gettext("院校类别"))
    problems.raise_if_any()
    profile = HigherEdProfile.objects.select_for_update().filter(school=school).first()
    before = {"category": profile.get_category_display() if profile else ""}
    if profile is None:
        profile = HigherEdProfile(school=school)
    profile.category = category
    changes = diff_fields(before, {"category": str(InstitutionCategory(category).label)}, {"category": "院校类别"})
    if not changes:
        return profile
    profile.updated_at, profile.updated_by = timezone.now(), actor.audit_name()
    profile.save()
    record_change(actor=actor, action=AuditAction.UPDATE, object_type="funding.higher_ed_profile",
                  object_id=profile.pk, object_label=f"{school.name}（{school.school_code}）", changes=changes,
                  region_path=school.region_path, school_id=school.pk, feed_resource="higher_ed_profile",
                  feed_key=school.school_code or str(school.pk))
    return profile

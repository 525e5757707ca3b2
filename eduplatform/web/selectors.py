"""Figures for the home dashboard, read through the scoped selectors of the apps below."""

from __future__ import annotations

from django.db.models import Count, Sum
from django.utils.translation import gettext, gettext_lazy

from eduplatform.orgs.models import Organization, OrgKind, Region, RegionLevel
from eduplatform.orgs.scope import Actor, scoped
from eduplatform.orgs.selectors import region_children_with_counts, schools_in_scope, scope_root
from eduplatform.orgs.stages import STAGE_LABELS
from eduplatform.standards import codebook


def dashboard_figures(actor: Actor) -> dict[str, object]:
    schools = schools_in_scope(actor)
    total = schools.count()
    # Schools per 学校类别 (the 2-digit level of 办学类型), the way bulletins group them.
    by_category: dict[str, int] = {}
    for row in schools.values("school_type_code").annotate(n=Count("id")):
        category = (row["school_type_code"] or "")[:2]
        by_category[category] = by_category.get(category, 0) + row["n"]
    categories = [
        {"code": code, "name": codebook.code_name("school_type", code), "count": n}
        for code, n in sorted(by_category.items(), key=lambda kv: -kv[1])
    ]
    # Few distinct masks exist, so one grouped query and a sum in memory count schools per stage.
    per_mask = list(schools.values("stage_mask").annotate(n=Count("id")))
    by_stage = [
        {"name": label, "count": sum(r["n"] for r in per_mask if r["stage_mask"] & stage)}
        for stage, label in STAGE_LABELS.items()
    ]
    by_stage = [s for s in by_stage if s["count"]]
    root = scope_root(actor)
    children = region_children_with_counts(actor, root) if root is not None else []
    return {
        "root": root,
        "schools": total,
        "closed": scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=False), actor).count(),
        "authorities": scoped(Organization.objects.exclude(kind=OrgKind.SCHOOL), actor).count(),
        "regions": scoped(Region.objects.filter(abolished_on__isnull=True), actor).count(),
        "categories": categories,
        "stages": by_stage,
        "children": [{"code": c.region.code, "name": c.name, "count": c.schools} for c in children],
    }


# --------------------------------------------------------------------------------------------
# Home pages by role (issue 16): key figures, database-building progress and data quality.
#
# Everything here reads roll-ups (eduplatform/stats: the measure store) and the quality issues —
# never the base tables — so a province home page stays a handful of small queries.

HOME_SCHOOL = "school"  # a school's own home: its completeness, issues and to-dos
HOME_COUNTY = "county"  # a county (or town) bureau: lagging schools and issues waiting for it
HOME_REGION = "region"  # a city or the province: key figures, progress and quality of the jurisdiction

# The measure whose roll-up rows show that a school has records in a base database (a school has a
# row of a measure where it has roll-up rows the measure sums: stats.models.MeasureFigures).
DATABASE_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("students", gettext_lazy("学生"), "students"),
    ("staff", gettext_lazy("教职工"), "staff"),
    ("facilities", gettext_lazy("校舍与土地"), "floor_area"),
    ("assets", gettext_lazy("资产与设备"), "equipment_value"),
)
LAGGING_SHOWN = 10
ISSUES_SHOWN = 10


def home_kind(actor: Actor, root: Region | None) -> str:
    org = actor.organization
    if org is not None and org.kind == OrgKind.SCHOOL:
        return HOME_SCHOOL
    if root is not None and root.level in (RegionLevel.COUNTY, RegionLevel.TOWN):
        return HOME_COUNTY
    return HOME_REGION


def _url(name: str, **kwargs: object) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""


def _pupil_teacher_indicators() -> list:
    """生师比 by stage: the one definition of stats (definitions.PUPIL_TEACHER_RATIOS, as
    stats.indicators names them) — never computed here a second way."""
    from eduplatform.stats import definitions, indicators

    keys = [r.key for r in definitions.PUPIL_TEACHER_RATIOS]
    by_key = {i.key: i for i in indicators.INDICATORS}
    return [by_key[k] for k in keys]


def key_figures(actor: Actor, root: Region) -> dict[str, object]:
    """Students, staff, full-time teachers and 生师比 by stage for the actor's jurisdiction under
    ``root``, read from the measure store at the level that serves (stats.selectors.measure_breakdown:
    the county table for a province or a city; per-school rows for a county or a school)."""
    from eduplatform.stats.definitions import CLASS_SIZE_RATIOS
    from eduplatform.stats.indicators import value_of
    from eduplatform.stats.selectors import measure_breakdown

    ratios = _pupil_teacher_indicators()
    # 大班额 and 超大班额 over 义务教育's classes (stage 0: 小学 + 初中), the official ratios.
    large, super_large = (r for r in CLASS_SIZE_RATIOS if r.stage == 0 and r.key != "classes_over_55")
    keys = list(dict.fromkeys(["students", "staff", "teachers",
                               *(k for i in ratios for k in (i.numerator, i.denominator)),
                               large.numerator.key, super_large.numerator.key, large.denominator.key]))
    children, total = measure_breakdown(actor, root, keys)
    cells = total.cells
    stages = []
    for indicator in ratios:
        students, teachers = cells.get(indicator.numerator) or 0, cells.get(indicator.denominator) or 0
        if not students and not teachers:
            continue
        value = value_of(indicator, cells)
        stages.append({"key": indicator.key, "label": indicator.label, "students": students, "teachers": teachers,
                       "value": None if value is None else round(value, 2)})
    return {
        "students": int(cells.get("students") or 0),
        "staff": int(cells.get("staff") or 0),
        "teachers": int(cells.get("teachers") or 0),
        "ratios": stages,
        "class_sizes": {"classes": int(cells.get(large.denominator.key) or 0),
                        "large": int(cells.get(large.numerator.key) or 0),
                        "super_large": int(cells.get(super_large.numerator.key) or 0),
                        "large_share": large.value(cells), "super_large_share": super_large.value(cells)},
        "children": [{"name": c.label, "code": c.region_code, "students": int(c.cells.get("students") or 0),
                      "teachers": int(c.cells.get("teachers") or 0)} for c in children],
    }


def quality_issue_counts(actor: Actor, root: Region | None = None) -> dict[str, object]:
    """Live issues in the actor's scope: waiting on schools (open) and on counties (explained,
    corrected, deleted), by database and severity — one grouped query."""
    from eduplatform.quality.models import COUNTY_STATUSES, SCHOOL_STATUSES, QualityIssue

    qs = scoped(QualityIssue.objects.filter(status__in=[*SCHOOL_STATUSES, *COUNTY_STATUSES]), actor)
    if root is not None:
        qs = qs.filter(region_path__startswith=root.path)
    out: dict[str, object] = {"open": 0, "open_errors": 0, "to_confirm": 0,
                              "by_database": {db: {"open": 0, "errors": 0} for db, _l, _k in DATABASE_MEASURES}}
    out["by_database"]["schools"] = {"open": 0, "errors": 0}  # type: ignore[index]
    for r in qs.values("database", "severity", "status").annotate(n=Count("id")).order_by():
        if r["status"] in SCHOOL_STATUSES:
            out["open"] += r["n"]  # type: ignore[operator]
            cell = out["by_database"].setdefault(r["database"], {"open": 0, "errors": 0})  # type: ignore[union-attr]
            cell["open"] += r["n"]
            if r["severity"] == "error":
                out["open_errors"] += r["n"]  # type: ignore[operator]
                cell["errors"] += r["n"]
        else:
            out["to_confirm"] += r["n"]  # type: ignore[operator]
    return out


def _latest_scores(actor: Actor, path: str, school_id: int = 0) -> dict[str, float]:
    """The newest day's quality score per database of one region (``school_id`` 0) or school, as
    quality.scores keeps them; empty until scores have been computed."""
    from eduplatform.quality.models import QualityScore

    qs = scoped(QualityScore.objects.filter(region_path=path, school_id=school_id), actor)
    day = qs.order_by("-day").values_list("day", flat=True).first()
    if day is None:
        return {}
    return {r["database"]: float(r["score"]) for r in qs.filter(day=day).values("database", "score")}


def database_progress(actor: Actor, root: Region) -> dict[str, object]:
    """建库进度 and data quality per base database for the home page, read through
    ``quality.progress.region_total`` — the progress page's own figures (institutions expected, with
    data, records, required-field completeness) — so the home page shows what the progress page shows."""
    from eduplatform.quality import progress

    issues = quality_issue_counts(actor, root)
    scores = _latest_scores(actor, root.path)
    total = progress.region_total(actor, root)
    rows = []
    for db, label, _key in DATABASE_MEASURES:
        cell = total.cells[db]
        counts = issues["by_database"].get(db, {"open": 0, "errors": 0})  # type: ignore[union-attr]
        rows.append({"database": db, "label": label, "expected": cell.expected, "with_data": cell.with_data,
                     "share": cell.coverage, "complete": cell.complete, "records": cell.records,
                     "open": counts["open"], "errors": counts["errors"], "score": scores.get(db)})
    return {"rows": rows, "issues": issues, "url": _url("progress:overview")}


def lagging_schools(actor: Actor, root: Region, limit: int = LAGGING_SHOWN) -> list[dict[str, object]]:
    """The county's schools furthest behind: fewest base databases with records (no data first),
    then most open errors and issues — from the roll-ups and the issues, a county's few hundred schools."""
    from eduplatform.quality.models import SCHOOL_STATUSES, QualityIssue
    from eduplatform.stats.models import MeasureRollup

    schools = {s.pk: s for s in schools_in_scope(actor).filter(region_path__startswith=root.path)
               .select_related(None).only("name", "school_code", "region_path", "kind")}
    if not schools:
        return []
    measure_of = {key: db for db, _label, key in DATABASE_MEASURES}
    present: dict[int, set[str]] = {}
    for school_id, key in (scoped(MeasureRollup.objects.filter(region_path__startswith=root.path,
                                                               key__in=list(measure_of)), actor)
                           .values_list("school_id", "key").distinct().order_by()):
        present.setdefault(school_id, set()).add(measure_of[key])
    issues: dict[int, dict[str, int]] = {}
    for r in (scoped(QualityIssue.objects.filter(status__in=SCHOOL_STATUSES, region_path__startswith=root.path), actor)
              .values("school_id", "severity").annotate(n=Count("id")).order_by()):
        cell = issues.setdefault(r["school_id"], {"open": 0, "errors": 0})
        cell["open"] += r["n"]
        if r["severity"] == "error":
            cell["errors"] += r["n"]
    total = len(DATABASE_MEASURES)
    rows = []
    for pk, school in schools.items():
        have = present.get(pk, set())
        cell = issues.get(pk, {"open": 0, "errors": 0})
        if len(have) == total and not cell["open"]:
            continue
        rows.append({"id": pk, "name": school.name, "code": school.school_code,
                     "databases": len(have), "of": total, "share": round(100 * len(have) / total),
                     "missing": [label for db, label, _k in DATABASE_MEASURES if db not in have],
                     "open": cell["open"], "errors": cell["errors"],
                     "url": _url("progress:school", school_id=pk) or _url("orgs:school", school_code=school.school_code)})
    rows.sort(key=lambda r: (r["databases"], -r["errors"], -r["open"], r["code"]))
    return rows[:limit]


def _issue_url(issue_id: int) -> str:
    return _url("quality:issue", issue_id=issue_id) or _url("quality:issues")


def issues_waiting(actor: Actor, statuses: tuple[str, ...], limit: int = ISSUES_SHOWN) -> list[dict[str, object]]:
    from eduplatform.quality.models import QualityIssue
    from eduplatform.quality.rules import RULES

    qs = (scoped(QualityIssue.objects.filter(status__in=statuses), actor).select_related("school")
          .order_by("severity", "-status_changed_at", "pk")[:limit])  # "error" sorts before "warning"
    out = []
    for issue in qs:
        rule = RULES.get(issue.rule)
        out.append({"id": issue.pk, "rule": issue.rule, "title": rule.title if rule else issue.message[:40],
                    "severity": issue.severity, "severity_label": issue.get_severity_display(),
                    "status_label": issue.get_status_display(), "school": issue.school.name,
                    "label": issue.object_label, "message": issue.message, "url": _issue_url(issue.pk)})
    return out


def school_completeness(actor: Actor, school: Organization) -> list[dict[str, object]]:
    """One school's base databases: its records (from its roll-up rows) and its open issues."""
    from eduplatform.stats.models import MeasureRollup

    values: dict[str, float] = {}
    for r in (scoped(MeasureRollup.objects.filter(school_id=school.pk, key__in=[k for _d, _l, k in DATABASE_MEASURES]),
                     actor).values("key").annotate(n=Sum("value")).order_by()):
        values[r["key"]] = float(r["n"] or 0)
    issues = quality_issue_counts(actor)["by_database"]
    scores = _latest_scores(actor, school.region_path, school.pk)
    units = {"students": gettext("名"), "staff": gettext("人"), "floor_area": "㎡", "equipment_value": gettext("元")}
    what = {"students": gettext("在校生"), "staff": gettext("教职工"), "floor_area": gettext("校舍建筑面积"), "equipment_value": gettext("教学仪器设备值")}
    # Required-field completeness and the fields left empty, as the progress page shows them.
    from eduplatform.quality import progress

    detail, gaps = progress.school_detail(actor, school)
    rows = []
    for db, label, key in DATABASE_MEASURES:
        has = key in values
        cell = issues.get(db, {"open": 0, "errors": 0})  # type: ignore[union-attr]
        rows.append({"database": db, "label": label, "has_data": has, "measure": what[key],
                     "value": values.get(key, 0), "unit": units[key],
                     "complete": detail.cells[db].complete,
                     "gaps": [(field, n) for field, n in gaps.get(db, []) if n],
                     "open": cell["open"], "errors": cell["errors"], "score": scores.get(db)})
    return rows


def school_todos(actor: Actor, limit: int = 5) -> list[dict[str, object]]:
    """The school's to-dos from the one inbox (web.inbox): every source with waiting work."""
    from eduplatform.web import inbox

    out = []
    for source, n in inbox.counts(actor):
        if n:
            out.append({"label": source.label, "count": n, "items": source.items(actor, limit),
                        "url": source.list_url()})
    return out


def home_figures(actor: Actor) -> dict[str, object]:
    """What the actor's home page shows, by role: see HOME_* above."""
    root = scope_root(actor)
    kind = home_kind(actor, root)
    if kind == HOME_SCHOOL:
        from eduplatform.quality.models import SCHOOL_STATUSES

        school = actor.organization
        completeness = school_completeness(actor, school)
        return {"kind": kind, "root": root, "school": school, "completeness": completeness,
                "databases_with_data": sum(1 for r in completeness if r["has_data"]),
                "issues": quality_issue_counts(actor), "open_issues": issues_waiting(actor, SCHOOL_STATUSES),
                "todos": school_todos(actor), "quality_url": _url("quality:issues"),
                "progress_url": _url("progress:school", school_id=school.pk)}
    figures = dashboard_figures(actor)
    figures["kind"] = kind
    if root is None:
        return figures
    figures["key"] = key_figures(actor, root)
    figures["progress"] = database_progress(actor, root)
    if kind == HOME_COUNTY:
        from eduplatform.quality.models import COUNTY_STATUSES

        figures["lagging"] = lagging_schools(actor, root)
        figures["to_confirm"] = issues_waiting(actor, COUNTY_STATUSES)
    figures["quality_url"] = _url("quality:issues")
    return figures

"""Writes of the reporting app: forms, collection tasks, the school's entry, the review chain.

Every service validates, changes, writes the audit entry (``history.services.record_change``) and a
``ReviewAction`` row in one transaction, and raises ``RecordInvalid`` / ``NotPermitted`` /
``OutOfScope`` with a Chinese message otherwise — nothing is written then.

Concurrency (PostgreSQL). Two kinds of write meet on a region node: approving or unapproving the
node itself, and any change below it (a school's save, submit, 零上报; a review or unapproval of a
submission; a child node's approval). Each takes transaction-long advisory locks on the task's
region nodes, top-down: *shared* on every node above what it changes, *exclusive* on the node it
approves or unapproves. So an approval of 天河区 waits for a save or an unapproval in progress in one
of its schools (and vice versa), then re-checks the state inside its lock: there is never an approved
node over a school whose submission is not approved. A submission's own row is locked
(``select_for_update``) and its state re-checked inside the lock, so of two reviewers deciding at
once one wins and the other is told who decided first; an auto-save carries the ``lock_version`` the
page last read, and a stale one is refused rather than overwriting a newer save.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext

from eduplatform.accounts import notifications
from eduplatform.core import locks
from eduplatform.core.errors import (
    FieldProblem,
    NotPermitted,
    OutOfScope,
    ProblemCollector,
    RecordInvalid,
)
from eduplatform.history.models import AuditAction
from eduplatform.history.services import display_value, record_change
from eduplatform.orgs import capabilities as cap
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, path_in_scope, scope_of, scoped, unit_in_reach
from eduplatform.reporting import selectors
from eduplatform.reporting.models import (
    CollectionTask,
    FormDefinition,
    FormVersion,
    FormVersionStatus,
    RegionApproval,
    ReviewAction,
    ReviewActionKind,
    ReviewLevel,
    Submission,
    SubmissionStatus,
    TaskKind,
    TaskStatus,
)

log = logging.getLogger(__name__)

# Advisory lock class of the review tree's nodes (core.locks uses 52xx; reporting's are 53xx).
REGION_NODE_LOCK = 5301
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
# A task with at most this many schools computes its prefilled cells while it is opened; a bigger
# one leaves them to the worker (tasks.prefill_task_submissions), school by school in chunks.
INLINE_PREFILL_SCHOOLS = 2000
ANALYZE_AFTER_ROWS = 5000  # an opening that adds this many submissions refreshes the table's statistics
ZERO_REPORT_KEY = "_zero"  # explanations[...] of a 零上报 (not a rule code: codes start with a letter)
EXPLANATION_MAX = 1000
REASON_MAX = 500

_DECISIONS = {"approve": gettext_lazy("审核通过"), "return": gettext_lazy("退回")}


# --------------------------------------------------------------------------------------------
# Shared helpers


def _require(actor: Actor | None, capability: str, what: str) -> None:
    if actor is None or not actor.can(capability):
        raise NotPermitted(gettext("您的角色无权%(what)s") % {"what": what})


def _org_path(actor: Actor) -> str:
    org = actor.organization
    if org is None:
        raise NotPermitted(gettext("您的账号未关联单位，无法执行此操作"))
    return org.region_path


def _act(*, actor: Actor | None, task: CollectionTask, action: str, region_path: str,
         submission: Submission | None = None, reason: str = "", detail: Mapping[str, Any] | None = None) -> ReviewAction:
    org_name = actor.audit_org()[1] if actor is not None else ""
    return ReviewAction.objects.create(
        task=task, submission=submission, region_path=region_path, action=action,
        by=actor.audit_name() if actor is not None else "系统", organization_name=org_name[:200],
        reason=reason[:REASON_MAX], detail=dict(detail or {}),
    )


def _audit(*, actor: Actor | None, action: str, obj: Any, object_type: str, label: str, region_path: str,
           changes: Mapping[str, Any] | None = None, note: str = "") -> None:
    # No school_id: a report changes no record the roll-ups count, so it marks no school dirty.
    record_change(actor=actor, action=action, object_type=object_type, object_id=obj.pk, object_label=label,
                  changes=changes, region_path=region_path, note=note)


def _hold_nodes(task_id: int, path: str, *, own: str | None) -> None:
    """Advisory locks on the task's nodes from the province down to ``path``: shared on each, but
    ``own`` ("exclusive") on ``path`` itself when approving or unapproving it."""
    if connection.vendor != "postgresql":
        return
    prefixes = selectors.path_prefixes(path)
    for prefix in prefixes[:-1]:
        locks.hold(REGION_NODE_LOCK, f"{task_id}:{prefix}", shared=True)
    locks.hold(REGION_NODE_LOCK, f"{task_id}:{prefixes[-1]}", shared=own != "exclusive")


def _when(moment: dt.datetime | None) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


def _region_name(path: str) -> str:
    return Region.objects.filter(path=path).values_list("name", flat=True).first() or path


def _label(submission: Submission) -> str:
    return f"{submission.task.title} · {submission.school.name}"


def _invalid(record: str, field: str, code: str, message: str) -> RecordInvalid:
    return RecordInvalid(record, [FieldProblem(field, code, message)])


def _engine() -> Any:
    from eduplatform.reporting import evaluation

    return evaluation


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(display_value(value))


# --------------------------------------------------------------------------------------------
# 1. Forms


def _parse(code: str, definition: Mapping[str, Any]) -> Any:
    try:
        return _engine().parse_definition(dict(definition))
    except Exception as exc:  # formdef.DefinitionInvalid carries the problems, each a FieldProblem
        problems = getattr(exc, "problems", None)
        if problems is None:
            raise
        raise RecordInvalid(gettext("报表「%(code)s」的定义") % {"code": code}, list(problems)) from None


def save_form_draft(*, actor: Actor, code: str, definition: Mapping[str, Any]) -> FormVersion:
    """Save the form's working draft: the latest version while it is a draft, else a new draft (the
    next version). A published version never changes."""
    _require(actor, cap.DESIGN_FORMS, pgettext("action refused", "设计报表"))
    code = (code or "").strip()
    problems = ProblemCollector(gettext("报表「%(value)s」") % {"value": code or gettext('（无表号）')})
    if not CODE_PATTERN.match(code):
        problems.add("code", "form.code", gettext("表号「%(code)s」不符合要求：以大写字母开头，只含大写字母、数字和下划线，最长 16 个字符") % {"code": code},
                     gettext("表号"))
    if not isinstance(definition, Mapping):
        problems.add("definition", "form.definition", gettext("报表定义必须是 JSON 对象"), gettext("定义"))
    elif definition.get("code", code) != code:
        problems.add("code", "form.code_mismatch",
                     gettext("定义中的表号「%(get)s」与保存的表号「%(code)s」不一致") % {"get": definition.get('code'), "code": code}, gettext("表号"))
    problems.raise_if_any()
    definition = {**definition, "code": code}
    _parse(code, definition)
    title = str(definition.get("title") or code)[:100]
    owner = _org_path(actor)
    with transaction.atomic():
        form = FormDefinition.objects.select_for_update().filter(code=code).first()
        if form is None:
            try:
                with transaction.atomic():
                    form = FormDefinition.objects.create(code=code, title=title, owner_path=owner,
                                                         created_by=actor.audit_name())
            except IntegrityError:  # created a moment ago by another designer
                form = FormDefinition.objects.select_for_update().get(code=code)
        if not path_in_scope(actor, form.owner_path):
            raise OutOfScope(gettext("报表「%(code)s」由其他单位设计，您不能修改") % {"code": code})
        latest = form.versions.select_for_update().order_by("-version").first()
        if latest is not None and latest.status == FormVersionStatus.DRAFT:
            version, before = latest, latest.definition
            version.definition = definition
            version.save(update_fields=["definition"])
            action = AuditAction.UPDATE
        else:
            before = None
            version = FormVersion.objects.create(form=form, version=(latest.version + 1) if latest else 1,
                                                 definition=definition, created_by=actor.audit_name())
            action = AuditAction.CREATE
        if form.title != title:
            form.title = title
            form.save(update_fields=["title"])
        _audit(actor=actor, action=action, obj=version, object_type="reporting.form_version", label=str(version),
               region_path=form.owner_path, note="保存报表草稿",
               changes={"definition": {"label": "定义", "before": "（旧草稿）" if before else None,
                                       "after": f"{len(selectors.definition_cells(definition))} 个单元格，"
                                                f"{len(definition.get('rules') or [])} 条校验规则"}})
    return version


def publish_form_version(*, actor: Actor, version: FormVersion) -> FormVersion:
    """Publish a draft version: from now on it never changes and tasks may use it."""
    _require(actor, cap.DESIGN_FORMS, pgettext("action refused", "发布报表"))
    with transaction.atomic():
        version = FormVersion.objects.select_for_update(of=("self",)).select_related("form").get(pk=version.pk)
        if not path_in_scope(actor, version.form.owner_path):
            raise OutOfScope(gettext("报表「%(code)s」由其他单位设计，您不能发布") % {"code": version.form.code})
        if version.status == FormVersionStatus.PUBLISHED:
            raise _invalid(str(version), "status", "form.published",
                           gettext("%(version)s 已由 %(published_by)s 于 %(when)s 发布，无需重复发布；已发布的版本不能修改，修改请保存为新草稿") % {"version": version, "published_by": version.published_by, "when": _when(version.published_at)})
        _parse(version.form.code, version.definition)
        version.status = FormVersionStatus.PUBLISHED
        version.published_at, version.published_by = timezone.now(), actor.audit_name()
        version.save(update_fields=["status", "published_at", "published_by"])
        _audit(actor=actor, action=AuditAction.UPDATE, obj=version, object_type="reporting.form_version",
               label=str(version), region_path=version.form.owner_path, note="发布报表版本",
               changes={"status": {"label": "状态", "before": "草稿", "after": "已发布"}})
    return version


def import_form_json(*, actor: Actor, data: Any) -> FormVersion:
    """A definition exported by ``selectors.form_json`` (or written by hand), saved as a draft."""
    if not isinstance(data, Mapping):
        raise _invalid(gettext("导入的报表"), "definition", "form.json", gettext("导入的内容必须是一个 JSON 对象（报表定义）"))
    code = data.get("code")
    if not isinstance(code, str) or not code.strip():
        raise _invalid(gettext("导入的报表"), "code", "form.code_missing", gettext("导入的报表定义缺少表号（code）"))
    return save_form_draft(actor=actor, code=code.strip(), definition=data)


# --------------------------------------------------------------------------------------------
# 2. Collection tasks


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _clean_targets(actor: Actor, owner: str, targets: Mapping[str, Any] | None,
                   problems: ProblemCollector) -> dict[str, Any]:
    from eduplatform.standards import codebook

    targets = dict(targets or {})
    regions: list[str] = []
    for raw in targets.get("regions") or []:
        raw = str(raw).strip()
        found = Region.objects.filter(Q(path=raw) | Q(code=raw)).values_list("path", "name").first()
        if found is None:
            problems.add("targets", "task.region_unknown", gettext("填报范围中的区划「%(raw)s」不存在") % {"raw": raw}, gettext("填报范围"))
        elif not found[0].startswith(owner):
            problems.add("targets", "task.region_outside", gettext("填报范围中的「%(value)s」不在本单位管辖范围内") % {"value": found[1]}, gettext("填报范围"))
        else:
            regions.append(found[0])
    known = codebook.codes_of("school_type")
    types: list[str] = []
    for raw in targets.get("school_types") or []:
        code = str(raw).strip()
        if not any(k.startswith(code) for k in known):
            problems.add("targets", "task.school_type", gettext("办学类型「%(code)s」不在办学类型代码表（JY/T 1001）中") % {"code": code}, gettext("办学类型"))
        else:
            types.append(code)
    try:
        stage_mask = int(targets.get("stage_mask") or 0)
    except (TypeError, ValueError):
        problems.add("targets", "task.stage_mask", gettext("学段「%(get)s」不是有效的学段组合") % {"get": targets.get('stage_mask')}, gettext("学段"))
        stage_mask = 0
    return {"regions": sorted(set(regions)), "school_types": sorted(set(types)), "stage_mask": max(stage_mask, 0)}


def create_task(*, actor: Actor, title: str, period: str, deadline: dt.date | str, targets: Mapping[str, Any] | None,
                review_levels: list[str], kind: str = TaskKind.FORM, form_version: FormVersion | None = None,
                snapshot: Any = None, remind_days: int = 3) -> CollectionTask:
    """A task in draft: a published form version (or, for a census sign-off, a snapshot) for the target
    schools of the actor's region, with its review levels (bottom-up, ending at the actor's level)."""
    _require(actor, cap.MANAGE_REPORT_TASKS, pgettext("action refused", "下发填报任务"))
    owner = _org_path(actor)
    if actor.organization.is_school:
        raise NotPermitted(gettext("学校不能下发填报任务"))
    problems = ProblemCollector(gettext("填报任务「%(value)s」") % {"value": (title or '').strip() or gettext('（未命名）')})
    title, period = (title or "").strip(), (period or "").strip()
    if not title or len(title) > 150:
        problems.add("title", "task.title", gettext("请填写任务名称（不超过 150 个字符）"), gettext("任务名称"))
    if not period or len(period) > 20:
        problems.add("period", "task.period", gettext("请填写统计期（如 2026 或 2026年秋季，不超过 20 个字符）"), gettext("统计期"))
    day = _as_date(deadline)
    if day is None:
        problems.add("deadline", "task.deadline", gettext("截止日期「%(deadline)s」不是有效日期，格式为 YYYY-MM-DD") % {"deadline": deadline}, gettext("截止日期"))
    elif day < timezone.localdate():
        problems.add("deadline", "task.deadline_past", gettext("截止日期 %(day)s 已过，请选择今天或以后的日期") % {"day": format(day, '%Y-%m-%d')}, gettext("截止日期"))
    if kind not in TaskKind.values:
        problems.add("kind", "task.kind", gettext("任务类别「%(kind)s」无效，应为统计报表或统计时点数据确认") % {"kind": kind}, gettext("类别"))
    elif kind == TaskKind.FORM:
        if form_version is None:
            problems.add("form_version", "task.form_required", gettext("请选择要填报的报表版本"), gettext("报表版本"))
        elif form_version.status != FormVersionStatus.PUBLISHED:
            problems.add("form_version", "task.form_draft", gettext("%(form_version)s 尚未发布，只能下发已发布的报表版本") % {"form_version": form_version}, gettext("报表版本"))
        snapshot = None
    else:
        if snapshot is None:
            problems.add("snapshot", "task.snapshot_required", gettext("请选择需要逐级确认的统计快照"), gettext("统计快照"))
        form_version = None
    try:
        remind_days = int(remind_days)
        if not 0 <= remind_days <= 60:
            raise ValueError
    except (TypeError, ValueError):
        problems.add("remind_days", "task.remind_days", gettext("提醒天数「%(remind_days)s」应为 0 至 60 的整数") % {"remind_days": remind_days}, gettext("提醒天数"))
        remind_days = 3
    own_level = Region.objects.filter(path=owner).values_list("level", flat=True).first()
    levels = [str(level) for level in (review_levels or [])]
    if not levels or any(level not in selectors.LEVEL_RANK for level in levels):
        allowed = "、".join(str(level.label) for level in ReviewLevel)
        problems.add("review_levels", "task.levels", gettext("审核层级「%(join)s」无效，可选：%(allowed)s（自下而上）") % {"join": '、'.join(levels), "allowed": allowed}, gettext("审核层级"))
    elif [selectors.LEVEL_RANK[level] for level in levels] != sorted({selectors.LEVEL_RANK[level] for level in levels}):
        problems.add("review_levels", "task.levels_order", gettext("审核层级须自下而上排列且不重复（如 县、市、省）"), gettext("审核层级"))
    elif levels[-1] != own_level:
        problems.add("review_levels", "task.levels_top",
                     gettext("最高审核层级应为下发单位所在层级（%(value)s）") % {"value": ReviewLevel(own_level).label if own_level in ReviewLevel.values else own_level},
                     gettext("审核层级"))
    if kind == TaskKind.CENSUS and own_level != ReviewLevel.PROVINCE:
        problems.add("kind", "task.census_owner", gettext("统计时点数据确认任务须由省级下发（省级审核通过后快照方可发布）"), gettext("类别"))
    clean_targets = _clean_targets(actor, owner, targets, problems)
    problems.raise_if_any()
    with transaction.atomic():
        task = CollectionTask.objects.create(
            kind=kind, title=title, form_version=form_version, snapshot=snapshot, period=period, deadline=day,
            remind_days=remind_days, targets=clean_targets, review_levels=levels, owner_path=owner,
            created_by=actor.audit_name())
        _audit(actor=actor, action=AuditAction.CREATE, obj=task, object_type="reporting.task", label=title,
               region_path=owner, note=f"新建填报任务（{task.get_kind_display()}）")
    return task


def _manage(actor: Actor, task: CollectionTask, what: str) -> None:
    _require(actor, cap.MANAGE_REPORT_TASKS, what)
    if not path_in_scope(actor, task.owner_path):
        raise OutOfScope(gettext("该填报任务由其他单位下发，您不能管理"))


def _target_schools(actor: Actor, task: CollectionTask):
    targets = task.targets or {}
    schools = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True), actor, with_focus=False)
    regions = targets.get("regions") or [task.owner_path]
    where = Q()
    for path in regions:
        where |= Q(region_path__startswith=path)
    schools = schools.filter(where)
    if targets.get("school_types"):
        by_type = Q()
        for code in targets["school_types"]:
            by_type |= Q(school_type_code__startswith=code)
        schools = schools.filter(by_type)
    if targets.get("stage_mask"):
        from django.db.models import F

        schools = schools.alias(_target_stage=F("stage_mask").bitand(int(targets["stage_mask"]))).filter(_target_stage__gt=0)
    return schools


def _insert_submissions(actor: Actor, task: CollectionTask) -> int:
    """One INSERT … SELECT of a not-started submission per target school (no row passes through Python)."""
    source_sql, source_params = _target_schools(actor, task).order_by().values("id", "region_path").query.sql_with_params()
    quote = connection.ops.quote_name
    fixed: dict[str, tuple[str, list[Any]]] = {
        "task": ("%s", [task.pk]), "school": ("t.id", []), "region_path": ("t.region_path", []),
        "status": ("%s", [SubmissionStatus.NOT_STARTED.value]), "zero_report": ("%s", [False]),
        "reopened": ("%s", [False]), "lock_version": ("0", []),
    }
    columns, expressions, params = [], [], []
    for field in Submission._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.name in fixed:
            sql, values = fixed[field.name]
        elif field.get_internal_type() == "JSONField":
            sql, values = "%s", ["{}"]
        elif field.null:
            sql, values = "NULL", []
        else:
            sql, values = "%s", [""]
        columns.append(quote(field.column))
        expressions.append(sql)
        params.extend(values)
    # The model's own table and column names; values are parameters.
    statement = (f"INSERT INTO {quote(Submission._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
                 f"SELECT {', '.join(expressions)} FROM ({source_sql}) AS t")
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, *source_params])
        return cursor.rowcount


def open_task(*, actor: Actor, task: CollectionTask) -> CollectionTask:
    """Send the task: one submission per target school, set-based (a province of 38,000 schools in
    seconds). Prefilled cells are computed at once for a small task, by the worker for a big one."""
    _manage(actor, task, pgettext("action refused", "下发填报任务"))
    with transaction.atomic():
        task = CollectionTask.objects.select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.DRAFT:
            raise _invalid(task.title, "status", "task.opened",
                           gettext("任务「%(title)s」已于 %(when)s 下发，无需重复下发") % {"title": task.title, "when": _when(task.opened_at)})
        if task.deadline < timezone.localdate():
            raise _invalid(task.title, "deadline", "task.deadline_past",
                           gettext("截止日期 %(deadline)s 已过，请先修改截止日期") % {"deadline": format(task.deadline, '%Y-%m-%d')})
        count = _insert_submissions(actor, task)
        if count == 0:
            raise _invalid(task.title, "targets", "task.no_schools", gettext("填报范围内没有办学中的学校，请调整区划、办学类型或学段"))
        if count >= ANALYZE_AFTER_ROWS and connection.vendor == "postgresql":
            # Thousands of new rows: refresh the planner's statistics now (sampled, a fraction of a
            # second), or the prefill's UPDATE and the first completeness pages are planned for the old
            # shape of the table — with no statistics yet, a scan per row (measured: 5 s → 150 s).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(Submission._meta.db_table)}")
        task.status, task.opened_at = TaskStatus.OPEN, timezone.now()
        task.save(update_fields=["status", "opened_at"])
        _act(actor=actor, task=task, action=ReviewActionKind.OPEN, region_path=task.owner_path, detail={"schools": count})
        _audit(actor=actor, action=AuditAction.UPDATE, obj=task, object_type="reporting.task", label=task.title,
               region_path=task.owner_path, note=f"下发至 {count} 所学校",
               changes={"status": {"label": "状态", "before": "未下发", "after": "填报中"}})
        if task.kind == TaskKind.FORM and selectors.prefilled_cells(task.form_version.definition):
            if count <= INLINE_PREFILL_SCHOOLS:
                prefill_submissions(task_id=task.pk)
            else:
                from eduplatform.reporting.tasks import prefill_task_submissions

                transaction.on_commit(lambda: prefill_task_submissions.enqueue(task.pk))
    task.school_count = count
    return task


def prefill_submissions(*, task_id: int, school_ids: list[int] | None = None, chunk: int = 2000) -> int:
    """Compute the prefilled cells (from the records, or the task's snapshot) of the not-started
    submissions that have none yet, ``chunk`` schools per grouped read of the roll-ups
    (``evaluation.prefill_many``); their values start as the prefill. Returns how many were filled.
    Derived data, not an edit: no audit entry (the school's changes to them are audited)."""
    task = CollectionTask.objects.select_related("form_version", "snapshot").get(pk=task_id)
    if task.kind != TaskKind.FORM or not selectors.prefilled_cells(task.form_version.definition):
        return 0
    evaluation, spec = _engine(), selectors.form_spec(task.form_version)
    pending = Submission.objects.filter(task=task, status=SubmissionStatus.NOT_STARTED, lock_version=0, prefill={})
    if school_ids is not None:
        pending = pending.filter(school_id__in=school_ids)
    rows = list(pending.order_by("id").values_list("id", "school_id"))
    filled = 0
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        figures = evaluation.prefill_many(spec, schools=[school_id for _, school_id in part], snapshot=task.snapshot)
        prefill = {sub_id: {key: evaluation.format_value(spec.cells[key], value)
                            for key, value in figures.get(school_id, {}).items()}
                   for sub_id, school_id in part}
        with transaction.atomic():
            filled += _store_prefill(prefill)
    return filled


def _store_prefill(prefill: dict[int, dict[str, str]]) -> int:
    """Write each submission's prefill (and values) unless the school started meanwhile: one UPDATE …
    FROM unnest(ids, prefills) on PostgreSQL, ``bulk_update`` elsewhere."""
    if not prefill:
        return 0
    if connection.vendor == "postgresql":
        import json

        table = connection.ops.quote_name(Submission._meta.db_table)
        ids = list(prefill)
        cells = [json.dumps(prefill[i], ensure_ascii=False) for i in ids]
        with connection.cursor() as cursor:
            cursor.execute(  # the model's own table name; values are parameters (two arrays)
                f"UPDATE {table} AS s SET prefill = v.p, \"values\" = v.p || s.\"values\" "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::jsonb[]) AS v(id, p) WHERE s.id = v.id AND s.status = %s "
                "AND s.lock_version = 0 AND s.prefill = '{}'::jsonb",
                [ids, cells, SubmissionStatus.NOT_STARTED.value])
            return cursor.rowcount
    subs = list(Submission.objects.select_for_update().filter(id__in=list(prefill), status=SubmissionStatus.NOT_STARTED,
                                                              lock_version=0, prefill={}))
    for sub in subs:
        sub.prefill = prefill[sub.pk]
        sub.values = {**sub.prefill, **(sub.values or {})}
    Submission.objects.bulk_update(subs, ["prefill", "values"], batch_size=500)
    return len(subs)


def ensure_prefill(*, submission: Submission) -> Submission:
    """For the entry page: a not-started submission whose prefill the worker has not reached yet gets
    it now."""
    if (submission.status == SubmissionStatus.NOT_STARTED and not submission.prefill
            and submission.task.kind == TaskKind.FORM
            and selectors.prefilled_cells(submission.task.form_version.definition)):
        prefill_submissions(task_id=submission.task_id, school_ids=[submission.school_id])
        submission.refresh_from_db()
    return submission


def close_task(*, actor: Actor, task: CollectionTask, reason: str = "") -> CollectionTask:
    """Stop entry (a school reopened with ``reopen_for_school`` may still save and submit); review goes on."""
    _manage(actor, task, pgettext("action refused", "截止填报任务"))
    with transaction.atomic():
        task = CollectionTask.objects.select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.OPEN:
            message = (gettext("任务「%(task)s」已于 %(when)s 截止，无需重复操作") % {"task": task.title, "when": _when(task.closed_at)}
                       if task.status == TaskStatus.CLOSED else gettext("任务「%(task)s」尚未下发") % {"task": task.title})
            raise _invalid(task.title, "status", "task.not_open", message)
        task.status, task.closed_at = TaskStatus.CLOSED, timezone.now()
        task.save(update_fields=["status", "closed_at"])
        _act(actor=actor, task=task, action=ReviewActionKind.CLOSE, region_path=task.owner_path, reason=reason)
        _audit(actor=actor, action=AuditAction.UPDATE, obj=task, object_type="reporting.task", label=task.title,
               region_path=task.owner_path, note=f"截止填报{('：' + reason) if reason else ''}",
               changes={"status": {"label": "状态", "before": "填报中", "after": "已截止"}})
    return task


def reopen_for_school(*, actor: Actor, task: CollectionTask, school: Organization, reason: str) -> Submission:
    """Open one school's submission again (after the deadline, or to correct reported data): it may
    save and submit again; a reported submission goes back to the school as returned, with the reason."""
    _manage(actor, task, pgettext("action refused", "重新开放填报"))
    reason = (reason or "").strip()
    record = f"{task.title} · {school.name}"
    if not reason:
        raise _invalid(record, "reason", "reason.required", gettext("请填写重新开放的原因"))
    sub = Submission.objects.filter(task=task, school=school).first()
    if sub is None:
        raise _invalid(record, "school", "task.not_target", gettext("「%(name)s」不在任务「%(title)s」的填报范围内") % {"name": school.name, "title": task.title})
    with transaction.atomic():
        _hold_nodes(task.pk, sub.region_path, own=None)
        sub = Submission.objects.select_for_update(of=("self",)).select_related("task", "school").get(pk=sub.pk)
        _refuse_if_locked(sub)
        before = sub.status
        sub.reopened = True
        if sub.status in selectors.REPORTED_STATUSES:
            sub.status, sub.return_reason = SubmissionStatus.RETURNED, reason[:REASON_MAX]
        sub.lock_version += 1
        sub.save(update_fields=["reopened", "status", "return_reason", "lock_version"])
        _act(actor=actor, task=task, action=ReviewActionKind.REOPEN, region_path=sub.region_path, submission=sub,
             reason=reason)
        _audit(actor=actor, action=AuditAction.REOPEN, obj=sub, object_type="reporting.submission", label=_label(sub),
               region_path=sub.region_path, note=f"重新开放填报：{reason}",
               changes={"status": {"label": "状态", "before": str(SubmissionStatus(before).label),
                                   "after": sub.get_status_display()}})
    return sub


def remind_due_tasks(*, today: dt.date | None = None) -> list[CollectionTask]:
    """Once per task, ``remind_days`` before its deadline: a REMIND action and a notice to the schools
    that have not reported (``notify_schools``; e-mail/SMS only when switched on). For the worker or a
    daily scheduler (``manage.py remind_report_deadlines``)."""
    today = today or timezone.localdate()
    reminded = []
    for task_id, deadline, days in CollectionTask.objects.filter(status=TaskStatus.OPEN, reminded_at__isnull=True,
                                                                 deadline__gte=today).values_list("id", "deadline", "remind_days"):
        if deadline - dt.timedelta(days=days) > today:
            continue
        with transaction.atomic():
            task = CollectionTask.objects.select_for_update().get(pk=task_id)
            if task.reminded_at is not None or task.status != TaskStatus.OPEN:
                continue  # another worker was first
            pending = list(Submission.objects.filter(task=task, status__in=selectors.OPEN_STATUSES)
                           .values_list("school_id", flat=True))
            task.reminded_at = timezone.now()
            task.save(update_fields=["reminded_at"])
            _act(actor=None, task=task, action=ReviewActionKind.REMIND, region_path=task.owner_path,
                 reason=f"距截止日期 {task.deadline:%Y-%m-%d} 还有 {(task.deadline - today).days} 天",
                 detail={"pending": len(pending)})
            _audit(actor=None, action=AuditAction.UPDATE, obj=task, object_type="reporting.task", label=task.title,
                   region_path=task.owner_path, note=f"截止提醒：{len(pending)} 所学校尚未上报")
            message = gettext("填报任务「%(task)s」将于 %(deadline)s 截止，贵校尚未上报，请尽快填报。") % {
                "task": task.title, "deadline": f"{task.deadline:%Y-%m-%d}"}
            transaction.on_commit(lambda t=task, ids=pending, m=message: notify_schools(task=t, school_ids=ids, message=m))
        reminded.append(task)
    return reminded


def notify_schools(*, task: CollectionTask, school_ids: list[int], message: str) -> int:
    """The schools' report clerks are told (e-mail / SMS through accounts.notifications, off by default:
    then it only logs). Returns the number of users told."""
    if not school_ids:
        return 0
    from eduplatform.accounts.roles import Role

    return notifications.notify_organizations(school_ids, subject=gettext("【填报提醒】%(task)s") % {"task": task.title}, message=message,
                                              role=Role.SCHOOL_CLERK)


# --------------------------------------------------------------------------------------------
# 3. Entry


def _refuse_if_locked(sub: Submission) -> None:
    """Approval locks everything below it: no change to a submission under an approved node."""
    above = selectors.approvals_above(sub.task, sub.region_path).first()
    if above is not None:
        raise _invalid(_label(sub), "status", "report.locked",
                       gettext("「%(region_name)s」已由 %(approved_by)s 于 %(when)s 审核通过，其下数据已锁定；如需修改，请先由该级撤销审核") % {"region_name": _region_name(above.region_path), "approved_by": above.approved_by, "when": _when(above.approved_at)})


def _fill_allowed(actor: Actor, submission: Submission, what: str) -> None:
    _require(actor, cap.FILL_REPORTS, what)
    if not unit_in_reach(actor, submission.school):
        raise OutOfScope(gettext("该学校不在您的管辖范围内"))


def _refuse_unless_editable(sub: Submission, *, lock_version: int | None) -> None:
    record = _label(sub)
    if lock_version is not None and int(lock_version) != sub.lock_version:
        who = gettext("由 %(name)s ") % {"name": sub.saved_by or sub.reviewed_by or sub.submitted_by} if (sub.saved_by or sub.reviewed_by) else ""
        raise _invalid(record, "lock_version", "report.stale",
                       gettext("该报表已%(who)s于 %(when)s 更新（第 %(lock_version)s 版），您页面上的是第 %(lock_version2)s 版。为避免覆盖他人的修改，本次保存未生效；您填写的内容仍在页面上，请复制后刷新页面再填写") % {"who": who, "when": _when(sub.saved_at or sub.reviewed_at or sub.submitted_at), "lock_version": sub.lock_version, "lock_version2": lock_version})
    task = sub.task
    if task.status == TaskStatus.DRAFT:
        raise _invalid(record, "status", "task.not_open", gettext("任务「%(title)s」尚未下发") % {"title": task.title})
    if task.status == TaskStatus.CLOSED and not sub.reopened:
        raise _invalid(record, "status", "task.closed",
                       gettext("任务「%(title)s」已于 %(when)s 截止；如需补报，请联系下发单位重新开放") % {"title": task.title, "when": _when(task.closed_at)})
    _refuse_if_locked(sub)
    if sub.status == SubmissionStatus.SUBMITTED:
        raise _invalid(record, "status", "report.submitted",
                       gettext("该报表已由 %(submitted_by)s 于 %(when)s 上报，正在审核；如需修改，请联系审核单位退回") % {"submitted_by": sub.submitted_by, "when": _when(sub.submitted_at)})
    if sub.status == SubmissionStatus.APPROVED:
        raise _invalid(record, "status", "report.approved",
                       gettext("该报表已由 %(reviewed_by)s 于 %(when)s 审核通过，不能再修改；如需修改，请联系审核单位撤销审核") % {"reviewed_by": sub.reviewed_by, "when": _when(sub.reviewed_at)})


def _clean_explanations(explanations: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for key, text in (explanations or {}).items():
        text = _text(text)[:EXPLANATION_MAX]
        out[str(key)] = text
    return out


def _problems_of_cells(report: Any, *, skip: set[str] | frozenset[str] = frozenset()) -> list[FieldProblem]:
    return [FieldProblem(cell, "cell.invalid", gettext("单元格 %(cell)s：%(message)s") % {"cell": cell, "message": message}, cell)
            for cell, message in sorted((getattr(report, "cell_errors", None) or {}).items()) if cell not in skip]


def save_entry(*, actor: Actor, submission: Submission, values: Mapping[str, Any],
               explanations: Mapping[str, Any] | None = None, lock_version: int) -> Submission:
    """Save the school's values (the auto-save): only over the version the page last read
    (``lock_version``), values type-checked by the engine (nothing is saved if a cell is invalid),
    computed cells recomputed. Rules are checked at ``submit``."""
    _fill_allowed(actor, submission, pgettext("action refused", "填报报表"))
    with transaction.atomic():
        _hold_nodes(submission.task_id, submission.region_path, own=None)
        sub = Submission.objects.select_for_update(of=("self",)).select_related("task__form_version", "task__snapshot", "school").get(
            pk=submission.pk)
        _refuse_unless_editable(sub, lock_version=lock_version)
        task = sub.task
        record = _label(sub)
        if task.kind != TaskKind.FORM:
            raise _invalid(record, "values", "report.census", gettext("统计时点数据确认任务没有可填写的单元格，请核对后直接确认上报"))
        known = set(selectors.definition_cells(task.form_version.definition))
        unknown = sorted(str(k) for k in values if str(k) not in known)
        if unknown:
            raise RecordInvalid(record, [FieldProblem(k, "cell.unknown", gettext("单元格「%(k)s」不在报表 %(form_version)s 中") % {"k": k, "form_version": task.form_version}, k)
                                         for k in unknown[:20]])
        evaluation, spec = _engine(), selectors.form_spec(task.form_version)
        merged = {**(sub.values or {}), **{str(k): _text(v) for k, v in values.items()}}
        computed = evaluation.compute_values(spec, merged)
        report = evaluation.check_values(spec, computed, school=sub.school, snapshot=task.snapshot,
                                         other_forms=selectors.other_forms_of(sub))
        # A computed cell's error (a negative difference while the school is still typing) is shown
        # beside it and blocks the submit, not the auto-save of what was typed.
        cell_problems = _problems_of_cells(report, skip=set(selectors.computed_cells(task.form_version.definition)))
        if cell_problems:
            raise RecordInvalid(record, cell_problems)
        new_explanations = {**(sub.explanations or {}), **_clean_explanations(explanations)}
        new_explanations = {k: v for k, v in new_explanations.items() if v}
        computed = {k: _text(v) for k, v in computed.items()}
        changed = sorted(k for k in set(computed) | set(sub.values or {}) if computed.get(k, "") != (sub.values or {}).get(k, ""))
        if not changed and new_explanations == (sub.explanations or {}):
            sub.check_report = report
            return sub  # an auto-save of what is stored: nothing to write
        before_values = dict(sub.values or {})
        sub.values, sub.explanations = computed, new_explanations
        if sub.status == SubmissionStatus.NOT_STARTED:
            sub.status = SubmissionStatus.DRAFT
        sub.zero_report = False
        sub.lock_version += 1
        sub.saved_at, sub.saved_by = timezone.now(), actor.audit_name()
        sub.save(update_fields=["values", "explanations", "status", "zero_report", "lock_version", "saved_at", "saved_by"])
        _act(actor=actor, task=task, action=ReviewActionKind.SAVE, region_path=sub.region_path, submission=sub,
             detail={"cells": changed[:200]})
        _audit(actor=actor, action=AuditAction.UPDATE, obj=sub, object_type="reporting.submission", label=record,
               region_path=sub.region_path, note="保存报表",
               changes={k: {"label": k, "before": before_values.get(k, ""), "after": computed.get(k, "")}
                        for k in changed[:200]})
    sub.check_report = report
    return sub


def submit(*, actor: Actor, submission: Submission, lock_version: int | None = None) -> Submission:
    """Report the submission (for a census task: confirm the census figures). Refused while a hard rule
    fails, a failing soft rule has no explanation, or a prefilled cell was changed without one; every
    such problem is named with its rule and cells."""
    _fill_allowed(actor, submission, pgettext("action refused", "上报报表"))
    with transaction.atomic():
        _hold_nodes(submission.task_id, submission.region_path, own=None)
        sub = Submission.objects.select_for_update(of=("self",)).select_related("task__form_version", "task__snapshot", "school").get(
            pk=submission.pk)
        _refuse_unless_editable(sub, lock_version=lock_version)
        task, record = sub.task, _label(sub)
        detail: dict[str, Any] = {}
        if task.kind == TaskKind.FORM:
            evaluation, spec = _engine(), selectors.form_spec(task.form_version)
            values = {k: _text(v) for k, v in evaluation.compute_values(spec, dict(sub.values or {})).items()}
            report = evaluation.check_values(spec, values, school=sub.school, snapshot=task.snapshot,
                                             other_forms=selectors.other_forms_of(sub))
            problems = _problems_of_cells(report)
            explanations = sub.explanations or {}
            for result in report.hard_failures:
                problems.append(FieldProblem(result.code, "rule.hard",
                                             gettext("逻辑校验 %(code)s 未通过：%(message)s（涉及单元格：%(value)s），须修改数据后才能上报") % {"code": result.code, "message": result.message, "value": '、'.join(result.cells) or '—'}, result.code))
            soft_explained = []
            for result in report.soft_failures:
                if explanations.get(result.code, "").strip():
                    soft_explained.append(result.code)
                else:
                    problems.append(FieldProblem(result.code, "rule.soft_unexplained",
                                                 gettext("经验校验 %(code)s 未通过：%(message)s（涉及单元格：%(value)s），请核实数据，或在「核实说明」中说明原因") % {"code": result.code, "message": result.message, "value": '、'.join(result.cells) or '—'}, result.code))
            changed_prefills = evaluation.changed_prefills(spec, values, sub.prefill or {})
            for cell, (pre, now) in sorted(changed_prefills.items()):
                if not explanations.get(cell, "").strip():
                    problems.append(FieldProblem(cell, "prefill.unexplained",
                                                 gettext("单元格 %(cell)s 由业务数据预填为 %(value)s，现填 %(value2)s，与业务数据不一致，请填写核实说明") % {"cell": cell, "value": pre or gettext("（空）"), "value2": now or gettext("（空）")}, cell))
            if problems:
                raise RecordInvalid(gettext("%(record)s：未能上报") % {"record": record}, problems)
            sub.values = values
            detail = {"soft_explained": soft_explained,
                      "prefill_changed": sorted(changed_prefills)}
        before = sub.status
        now = timezone.now()
        sub.status, sub.zero_report = SubmissionStatus.SUBMITTED, False
        sub.submitted_at, sub.submitted_by = now, actor.audit_name()
        sub.return_reason, sub.return_cells, sub.verdicts = "", {}, {}
        sub.lock_version += 1
        sub.save(update_fields=["values", "status", "zero_report", "submitted_at", "submitted_by", "return_reason",
                                "return_cells", "verdicts", "lock_version"])
        _act(actor=actor, task=task, action=ReviewActionKind.SUBMIT, region_path=sub.region_path, submission=sub,
             detail=detail)
        _audit(actor=actor, action=AuditAction.UPDATE, obj=sub, object_type="reporting.submission", label=record,
               region_path=sub.region_path, note="确认统计时点数据" if task.kind == TaskKind.CENSUS else "上报报表",
               changes={"status": {"label": "状态", "before": str(SubmissionStatus(before).label), "after": "已上报"}})
    return sub


def report_zero(*, actor: Actor, submission: Submission, reason: str, lock_version: int | None = None) -> Submission:
    """零上报: the school has nothing to report for this task (it still needs the reviewer's approval);
    its values are kept but count as zero."""
    _fill_allowed(actor, submission, pgettext("action refused", "零上报"))
    reason = (reason or "").strip()
    if not reason:
        raise _invalid(_label(submission), "reason", "reason.required", gettext("请填写零上报的原因（如：本校无此类情况）"))
    with transaction.atomic():
        _hold_nodes(submission.task_id, submission.region_path, own=None)
        sub = Submission.objects.select_for_update(of=("self",)).select_related("task", "school").get(pk=submission.pk)
        _refuse_unless_editable(sub, lock_version=lock_version)
        if sub.task.kind == TaskKind.CENSUS:
            raise _invalid(_label(sub), "zero_report", "report.census", gettext("统计时点数据确认任务不能零上报，请核对数据后确认上报"))
        before = sub.status
        sub.status, sub.zero_report = SubmissionStatus.SUBMITTED, True
        sub.explanations = {**(sub.explanations or {}), ZERO_REPORT_KEY: reason[:EXPLANATION_MAX]}
        sub.submitted_at, sub.submitted_by = timezone.now(), actor.audit_name()
        sub.return_reason, sub.return_cells, sub.verdicts = "", {}, {}
        sub.lock_version += 1
        sub.save(update_fields=["status", "zero_report", "explanations", "submitted_at", "submitted_by", "return_reason",
                                "return_cells", "verdicts", "lock_version"])
        _act(actor=actor, task=sub.task, action=ReviewActionKind.ZERO, region_path=sub.region_path, submission=sub,
             reason=reason)
        _audit(actor=actor, action=AuditAction.UPDATE, obj=sub, object_type="reporting.submission", label=_label(sub),
               region_path=sub.region_path, note=f"零上报：{reason}",
               changes={"status": {"label": "状态", "before": str(SubmissionStatus(before).label), "after": "已上报（零上报）"}})
    return sub


# --------------------------------------------------------------------------------------------
# 4. Review


def _review_allowed(actor: Actor, submission: Submission, what: str) -> None:
    _require(actor, cap.REVIEW_REPORTS, what)
    if not unit_in_reach(actor, submission.school) or scope_of(actor, with_focus=False).school_id is not None:
        raise OutOfScope(gettext("该学校不在您的管辖范围内"))


def _decided_message(sub: Submission) -> str:
    if sub.status == SubmissionStatus.APPROVED:
        return gettext("该报表已由 %(by)s 于 %(when)s 审核通过，无需重复操作") % {
            "by": sub.reviewed_by, "when": _when(sub.reviewed_at)}
    if sub.status == SubmissionStatus.RETURNED:
        return gettext("该报表已由 %(by)s 于 %(when)s 退回，等待学校修改后重新上报") % {
            "by": sub.reviewed_by or gettext("审核单位"), "when": _when(sub.reviewed_at)}
    return gettext("该报表尚未上报（%(status)s），不能审核") % {"status": sub.get_status_display()}


def review_submission(*, actor: Actor, submission: Submission, decision: str, reason: str = "",
                      cell_reasons: Mapping[str, str] | None = None,
                      verdicts: Mapping[str, Mapping[str, Any]] | None = None) -> Submission:
    """Approve or return a reported submission. ``verdicts`` judge the school's explanations
    ({key: {"accepted": bool, "reason": str}}); a rejected one returns the submission with its reason
    (and the rule's cells marked). Approving is for the first review level above the school; a level
    higher up may return it while nothing above the school is approved."""
    _review_allowed(actor, submission, pgettext("action refused", "审核报表"))
    record = _label(submission)
    if decision not in _DECISIONS:
        raise _invalid(record, "decision", "review.decision", gettext("审核结论「%(decision)s」无效，应为审核通过或退回") % {"decision": decision})
    reason = (reason or "").strip()
    with transaction.atomic():
        _hold_nodes(submission.task_id, submission.region_path, own=None)
        sub = Submission.objects.select_for_update(of=("self",)).select_related("task__form_version", "school").get(pk=submission.pk)
        task = sub.task
        if sub.status != SubmissionStatus.SUBMITTED:
            raise _invalid(record, "status", "review.decided", _decided_message(sub))
        _refuse_if_locked(sub)
        node = selectors.review_node_of(task, sub.region_path)
        own = _org_path(actor)
        if node is None or not node.startswith(own):
            raise OutOfScope(gettext("该学校的报表不由本单位审核"))
        if decision == "approve" and own != node:
            raise NotPermitted(gettext("该学校的报表由「%(region_name)s」审核通过；上级单位可以退回，但不能代为审核通过") % {"region_name": _region_name(node)})
        problems = ProblemCollector(record)
        definition = task.form_version.definition if task.form_version_id else {}
        known_cells = set(selectors.definition_cells(definition))
        clean_cells: dict[str, str] = {}
        for cell, text in (cell_reasons or {}).items():
            text = _text(text)
            if not text:
                continue
            if str(cell) not in known_cells:
                problems.add(str(cell), "review.cell_unknown", gettext("单元格「%(cell)s」不在报表中") % {"cell": cell}, str(cell))
            else:
                clean_cells[str(cell)] = text[:REASON_MAX]
        explanations = sub.explanations or {}
        clean_verdicts: dict[str, dict[str, Any]] = {}
        for key, verdict in (verdicts or {}).items():
            key = str(key)
            accepted = bool((verdict or {}).get("accepted"))
            why = _text((verdict or {}).get("reason"))[:REASON_MAX]
            if key not in explanations:
                problems.add(key, "review.verdict_unknown", gettext("学校没有对「%(key)s」填写核实说明，无从审核") % {"key": key}, key)
            elif not accepted and not why:
                problems.add(key, "review.verdict_reason", gettext("不认可「%(key)s」的核实说明时，请写明原因") % {"key": key}, key)
            else:
                clean_verdicts[key] = {"accepted": accepted, "reason": why}
        rejected = {k: v for k, v in clean_verdicts.items() if not v["accepted"]}
        returning = decision == "return" or bool(rejected)
        if returning and not (reason or clean_cells or rejected):
            problems.add("reason", "review.reason", gettext("退回时请填写退回原因（总体或逐个单元格）"), gettext("退回原因"))
        problems.raise_if_any()
        for key, verdict in clean_verdicts.items():
            explanations_cells = selectors.rule_cells(definition).get(key) or ([key] if key in known_cells else [])
            if not verdict["accepted"]:
                for cell in explanations_cells:
                    clean_cells.setdefault(cell, f"核实说明不予认可：{verdict['reason']}")
        now = timezone.now()
        if returning:
            parts = [reason] if reason else []
            parts += [f"核实说明「{k}」不予认可：{v['reason']}" for k, v in rejected.items()]
            sub.status, sub.return_reason, sub.return_cells = SubmissionStatus.RETURNED, "；".join(parts)[:REASON_MAX], clean_cells
            action, note = ReviewActionKind.RETURN, f"退回：{sub.return_reason}"
        else:
            for key in explanations:
                if key != ZERO_REPORT_KEY:
                    clean_verdicts.setdefault(key, {"accepted": True, "reason": ""})
            sub.status, sub.return_reason, sub.return_cells = SubmissionStatus.APPROVED, "", {}
            action, note = ReviewActionKind.APPROVE, f"审核通过{('：' + reason) if reason else ''}"
        sub.verdicts = clean_verdicts
        sub.reviewed_at, sub.reviewed_by = now, actor.audit_name()
        sub.lock_version += 1
        sub.save(update_fields=["status", "return_reason", "return_cells", "verdicts", "reviewed_at", "reviewed_by",
                                "lock_version"])
        if clean_verdicts:
            _act(actor=actor, task=task, action=ReviewActionKind.VERDICT, region_path=sub.region_path, submission=sub,
                 detail={"verdicts": clean_verdicts})
        _act(actor=actor, task=task, action=action, region_path=sub.region_path, submission=sub,
             reason=sub.return_reason if returning else reason,
             detail={"cells": clean_cells, "decision_asked": decision})
        _audit(actor=actor, action=AuditAction.UPDATE, obj=sub, object_type="reporting.submission", label=record,
               region_path=sub.region_path, note=note,
               changes={"status": {"label": "状态", "before": "已上报", "after": sub.get_status_display()}})
        if returning:
            message = gettext("贵校填报的「%(task)s」已被退回：%(reason)s。请修改后重新上报。") % {
                "task": task.title, "reason": sub.return_reason}
            transaction.on_commit(lambda t=task, school=sub.school_id, m=message:
                                  notify_schools(task=t, school_ids=[school], message=m))
    return sub


def unapprove_submission(*, actor: Actor, submission: Submission, reason: str) -> Submission:
    """Withdraw a school's approval (back to 已上报, for review again) — only while no node above it is approved."""
    _review_allowed(actor, submission, pgettext("action refused", "撤销审核"))
    reason = (reason or "").strip()
    record = _label(submission)
    if not reason:
        raise _invalid(record, "reason", "reason.required", gettext("请填写撤销审核的原因"))
    with transaction.atomic():
        _hold_nodes(submission.task_id, submission.region_path, own=None)
        sub = Submission.objects.select_for_update(of=("self",)).select_related("task", "school").get(pk=submission.pk)
        if sub.status != SubmissionStatus.APPROVED:
            raise _invalid(record, "status", "review.not_approved", gettext("该报表当前为「%(status)s」，无需撤销审核") % {"status": sub.get_status_display()})
        _refuse_if_locked(sub)
        node = selectors.review_node_of(sub.task, sub.region_path)
        if node is None or not node.startswith(_org_path(actor)):
            raise OutOfScope(gettext("该学校的报表不由本单位审核"))
        sub.status = SubmissionStatus.SUBMITTED
        sub.lock_version += 1
        sub.save(update_fields=["status", "lock_version"])
        _act(actor=actor, task=sub.task, action=ReviewActionKind.UNAPPROVE, region_path=sub.region_path, submission=sub,
             reason=reason)
        _audit(actor=actor, action=AuditAction.UPDATE, obj=sub, object_type="reporting.submission", label=record,
               region_path=sub.region_path, note=f"撤销审核：{reason}",
               changes={"status": {"label": "状态", "before": "已审核", "after": "已上报"}})
    return sub


def _node_level(task: CollectionTask, region_path: str, record: str) -> str:
    level = Region.objects.filter(path=region_path).values_list("level", flat=True).first()
    if level is None:
        raise _invalid(record, "region_path", "review.region", gettext("区划「%(region_path)s」不存在") % {"region_path": region_path})
    if level not in task.review_levels:
        raise _invalid(record, "region_path", "review.not_node",
                       gettext("任务「%(title)s」不在%(value)s一级审核") % {"title": task.title, "value": ReviewLevel(level).label if level in ReviewLevel.values else level})
    return level


def approve_region(*, actor: Actor, task: CollectionTask, region_path: str, note: str = "") -> RegionApproval:
    """Approve a region node at its level: only when every submission under it is approved (零上报
    included) and every child node of the next configured level is approved. Locks everything below.
    The province's approval of a census task signs the snapshot off (stats.snapshots)."""
    _require(actor, cap.REVIEW_REPORTS, pgettext("action refused", "逐级审核"))
    name = _region_name(region_path)
    record = f"{task.title} · {name}"
    if _org_path(actor) != region_path or actor.organization.is_school:
        raise NotPermitted(gettext("「%(name)s」由该区域的教育行政部门审核通过") % {"name": name})
    level = _node_level(task, region_path, record)
    if task.status == TaskStatus.DRAFT:
        raise _invalid(record, "status", "task.not_open", gettext("任务「%(title)s」尚未下发") % {"title": task.title})
    with transaction.atomic():
        _hold_nodes(task.pk, region_path, own="exclusive")
        existing = RegionApproval.objects.filter(task=task, region_path=region_path).first()
        if existing is not None:
            raise _invalid(record, "status", "review.region_approved",
                           gettext("「%(name)s」已由 %(approved_by)s 于 %(when)s 审核通过，无需重复操作") % {"name": name, "approved_by": existing.approved_by, "when": _when(existing.approved_at)})
        above = selectors.approvals_above(task, region_path, include_self=False).first()
        if above is not None:
            raise _invalid(record, "status", "report.locked", gettext("上级「%(region_name)s」已审核通过，本区域已锁定") % {"region_name": _region_name(above.region_path)})
        if not Submission.objects.filter(task=task, region_path__startswith=region_path).exists():
            raise _invalid(record, "region_path", "review.region_empty", gettext("「%(name)s」没有本任务的填报学校，无需审核") % {"name": name})
        blockers = selectors.approval_blockers(task, region_path)
        if blockers:
            raise RecordInvalid(record, [FieldProblem("region_path", "review.pending_below", b) for b in blockers])
        approval = RegionApproval.objects.create(task=task, region_path=region_path, level=level,
                                                 approved_by=actor.audit_name(), note=(note or "").strip()[:REASON_MAX])
        _act(actor=actor, task=task, action=ReviewActionKind.APPROVE, region_path=region_path, reason=approval.note,
             detail={"level": level})
        _audit(actor=actor, action=AuditAction.UPDATE, obj=task, object_type="reporting.task", label=record,
               region_path=region_path, note=f"「{name}」{ReviewLevel(level).label}级审核通过")
        if task.kind == TaskKind.CENSUS and level == ReviewLevel.PROVINCE:
            from eduplatform.stats.snapshots import record_census_signoff

            record_census_signoff(actor=actor, snapshot=task.snapshot)
    return approval


def unapprove_region(*, actor: Actor, task: CollectionTask, region_path: str, reason: str) -> None:
    """Withdraw a node's approval (its own unit, or one above it), with a reason: what is below it is
    unlocked. Refused while a node above it is approved. Withdrawing the province's approval of a
    census task withdraws the snapshot's sign-off."""
    _require(actor, cap.REVIEW_REPORTS, pgettext("action refused", "撤销审核"))
    name = _region_name(region_path)
    record = f"{task.title} · {name}"
    reason = (reason or "").strip()
    if not reason:
        raise _invalid(record, "reason", "reason.required", gettext("请填写撤销审核的原因"))
    if actor.organization is None or actor.organization.is_school or not region_path.startswith(_org_path(actor)):
        raise OutOfScope(gettext("「%(name)s」不在您的管辖范围内") % {"name": name})
    with transaction.atomic():
        _hold_nodes(task.pk, region_path, own="exclusive")
        approval = RegionApproval.objects.filter(task=task, region_path=region_path).first()
        if approval is None:
            raise _invalid(record, "status", "review.region_not_approved", gettext("「%(name)s」尚未审核通过，无需撤销") % {"name": name})
        above = selectors.approvals_above(task, region_path, include_self=False).first()
        if above is not None:
            raise _invalid(record, "status", "report.locked",
                           gettext("上级「%(region_name)s」已于 %(when)s 审核通过，须先由上级撤销审核") % {"region_name": _region_name(above.region_path), "when": _when(above.approved_at)})
        level = approval.level
        approval.delete()
        _act(actor=actor, task=task, action=ReviewActionKind.UNAPPROVE, region_path=region_path, reason=reason,
             detail={"level": level, "approved_by": approval.approved_by, "approved_at": approval.approved_at.isoformat()})
        _audit(actor=actor, action=AuditAction.UPDATE, obj=task, object_type="reporting.task", label=record,
               region_path=region_path, note=f"撤销「{name}」的审核：{reason}")
        if task.kind == TaskKind.CENSUS and level == ReviewLevel.PROVINCE:
            from eduplatform.stats.snapshots import withdraw_census_signoff

            withdraw_census_signoff(actor=actor, snapshot=task.snapshot, reason=reason)

"""Reads of the reporting app: forms, tasks, submissions, the review chain's state, completeness.

Every read goes through ``orgs.scope.scoped``. A task is visible to the units inside its owner's
region (``owner_path``) and, once opened, to every unit with a target school in its scope (through
the submissions); a school sees only its own submission. Completeness and aggregation are
set-based (one GROUP BY over the submissions of a subtree, served by the ``(task, region_path)``
index), so a province-wide task of 38,000 schools answers in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import StrIndex, Substr
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.orgs import capabilities as cap
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor, scope_of, scoped
from eduplatform.reporting.models import (
    CollectionTask,
    FormDefinition,
    FormVersion,
    FormVersionStatus,
    RegionApproval,
    ReviewAction,
    ReviewLevel,
    Submission,
    SubmissionStatus,
    TaskKind,
)

# Bottom-up order of the review levels (a task's ``review_levels`` lists a subsequence of it).
LEVEL_ORDER = [ReviewLevel.TOWN, ReviewLevel.COUNTY, ReviewLevel.CITY, ReviewLevel.PROVINCE]
LEVEL_RANK = {str(level): rank for rank, level in enumerate(LEVEL_ORDER)}
# Submissions still waiting for the school (counted as overdue after the deadline).
OPEN_STATUSES = (SubmissionStatus.NOT_STARTED, SubmissionStatus.DRAFT, SubmissionStatus.RETURNED)
REPORTED_STATUSES = (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED)


# --------------------------------------------------------------------------------------------
# Region paths and the configured review nodes


def path_prefixes(path: str) -> list[str]:
    """Every ancestor path of ``path`` and the path itself, top-down: "44/4401/" → ["44/", "44/4401/"]."""
    parts = [p for p in path.split("/") if p]
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def region_levels(paths: list[str] | set[str]) -> dict[str, str]:
    """Region level of each known path."""
    return dict(Region.objects.filter(path__in=list(paths)).values_list("path", "level"))


def review_node_of(task: CollectionTask, region_path: str, *, levels: dict[str, str] | None = None) -> str | None:
    """The region node whose level reviews a school at ``region_path`` first: the deepest ancestor (or
    the place itself) whose level is one of the task's review levels (a town if configured, else the
    county; a 东莞 town school, with no county above it, goes to the city)."""
    prefixes = path_prefixes(region_path)
    levels = levels if levels is not None else region_levels(prefixes)
    for path in reversed(prefixes):
        if levels.get(path) in task.review_levels:
            return path
    return None


def approvals_above(task: CollectionTask, region_path: str, *, include_self: bool = True) -> QuerySet[RegionApproval]:
    """Approved nodes at or above ``region_path``: while any exists, everything below is locked."""
    prefixes = path_prefixes(region_path)
    if not include_self:
        prefixes = prefixes[:-1]
    return RegionApproval.objects.filter(task=task, region_path__in=prefixes).order_by("region_path")


def child_nodes_required(task: CollectionTask, region_path: str) -> set[str]:
    """The configured review nodes directly below ``region_path`` in the review tree that hold target
    schools: each must be approved before ``region_path`` may be. (The highest configured-level
    ancestor strictly below ``region_path`` of every school's place.)"""
    places = set(Submission.objects.filter(task=task, region_path__startswith=region_path)
                 .values_list("region_path", flat=True).distinct())
    if not places:
        return set()
    candidates = {p for place in places for p in path_prefixes(place) if len(p) > len(region_path)}
    levels = region_levels(candidates)
    required: set[str] = set()
    for place in places:
        for path in path_prefixes(place):
            if len(path) > len(region_path) and levels.get(path) in task.review_levels:
                required.add(path)
                break
    return required


def approval_blockers(task: CollectionTask, region_path: str) -> list[str]:
    """Why ``region_path`` cannot be approved yet (empty when it can), in Chinese, for the service
    and for the page that shows the 审核通过 button."""
    pending = Submission.objects.filter(task=task, region_path__startswith=region_path).exclude(
        status=SubmissionStatus.APPROVED)
    problems: list[str] = []
    count = pending.count()
    if count:
        names = list(pending.order_by("region_path", "school_id").values_list("school__name", flat=True)[:3])
        more = gettext(" 等") if count > len(names) else ""
        problems.append(gettext("本区域还有 %(count)s 所学校的报表未审核通过（%(names)s%(more)s），"
                                "全部审核通过（含零上报）后才能审核本区域")
                        % {"count": f"{count:,}", "names": "、".join(names), "more": more})
    required = child_nodes_required(task, region_path)
    if required:
        approved = set(RegionApproval.objects.filter(task=task, region_path__in=required)
                       .values_list("region_path", flat=True))
        missing = sorted(required - approved)
        if missing:
            names = dict(Region.objects.filter(path__in=missing[:5]).values_list("path", "name"))
            shown = "、".join(names.get(p, p) for p in missing[:5])
            more = gettext(" 等") if len(missing) > 5 else ""
            problems.append(gettext("下级区域还有 %(count)s 个尚未审核通过（%(names)s%(more)s），下级全部审核通过后才能审核本区域")
                            % {"count": len(missing), "names": shown, "more": more})
    return problems


# --------------------------------------------------------------------------------------------
# Forms


def definition_cells(definition: dict[str, Any]) -> list[str]:
    """Every cell key "TABLE.ROW.COL" of a definition, in table, row, column order."""
    keys = []
    for table in definition.get("tables") or []:
        for row in table.get("rows") or []:
            for column in table.get("columns") or []:
                keys.append(f"{table.get('code')}.{row.get('code')}.{column.get('code')}")
    return keys


def prefilled_cells(definition: dict[str, Any]) -> list[str]:
    """Cells with a prefill expression (their value comes from the records)."""
    found = []
    for table in definition.get("tables") or []:
        for key, cell in (table.get("cells") or {}).items():
            if isinstance(cell, dict) and cell.get("prefill"):
                found.append(f"{table.get('code')}.{key}")
    return found


def computed_cells(definition: dict[str, Any]) -> list[str]:
    """Cells computed from others (never typed)."""
    found = []
    for table in definition.get("tables") or []:
        for key, cell in (table.get("cells") or {}).items():
            if isinstance(cell, dict) and cell.get("computed"):
                found.append(f"{table.get('code')}.{key}")
    return found


def rule_cells(definition: dict[str, Any]) -> dict[str, list[str]]:
    """Rule code → the cells its message points at."""
    return {str(r.get("code")): list(r.get("cells") or []) for r in definition.get("rules") or []}


@functools.lru_cache(maxsize=64)
def _published_spec(version_id: int, published_at: dt.datetime | None) -> Any:
    from eduplatform.reporting import evaluation

    return evaluation.parse_definition(FormVersion.objects.get(pk=version_id).definition)


def form_spec(version: FormVersion) -> Any:
    """The engine's parsed definition (``evaluation.parse_definition``); published versions never
    change, so theirs is kept per process (keyed with the publication time too: a rolled-back test
    database may give a later version the same id)."""
    if version.status == FormVersionStatus.PUBLISHED:
        return _published_spec(version.pk, version.published_at)
    from eduplatform.reporting import evaluation

    return evaluation.parse_definition(version.definition)


def forms_for(actor: Actor | None) -> QuerySet[FormDefinition]:
    """Forms designed inside the actor's region (the designer's list)."""
    return scoped(FormDefinition.objects.all(), actor, with_focus=False).prefetch_related("versions")


def version_for(actor: Actor | None, pk: int) -> FormVersion:
    """A form version the actor may read: its form designed in scope, or sent to the actor's schools by a
    task. Raises ``FormVersion.DoesNotExist`` otherwise (pages answer 404)."""
    version = FormVersion.objects.select_related("form").get(pk=pk)
    if forms_for(actor).filter(pk=version.form_id).exists() or tasks_for(actor).filter(form_version=version).exists():
        return version
    raise FormVersion.DoesNotExist(gettext("报表版本不在您的管辖范围内"))


def form_json(actor: Actor | None, version: FormVersion) -> dict[str, Any]:
    """The version's definition as exported (``services.import_form_json`` reads it back)."""
    version = version_for(actor, version.pk)
    return dict(version.definition)


# --------------------------------------------------------------------------------------------
# Tasks and submissions


def tasks_for(actor: Actor | None) -> QuerySet[CollectionTask]:
    """Tasks owned inside the actor's region, and tasks with a submission in its scope (a school: only
    tasks sent to it)."""
    scope = scope_of(actor)
    if scope.is_empty:
        return CollectionTask.objects.none()
    # EXISTS per task (the (task, region_path) index finds its first submission in scope), not an IN
    # over every submission in scope: a province officer's list must not read 38,000 rows per task.
    mine = Exists(scoped(Submission.objects.filter(task_id=OuterRef("pk")), actor))
    if scope.school_id is None:
        mine |= Q(owner_path__startswith=scope.region_path)
    return CollectionTask.objects.filter(mine).select_related("form_version__form", "snapshot")


def task_for(actor: Actor | None, pk: int) -> CollectionTask:
    return tasks_for(actor).get(pk=pk)


def submissions_for(actor: Actor | None, task: CollectionTask | None = None) -> QuerySet[Submission]:
    qs = scoped(Submission.objects.all(), actor).select_related("task", "school")
    return qs.filter(task=task) if task is not None else qs


def submission_for(actor: Actor | None, pk: int) -> Submission:
    """One submission in scope; ``Submission.DoesNotExist`` otherwise (pages answer 404)."""
    return submissions_for(actor).select_related("task__form_version__form", "task__snapshot").get(pk=pk)


def submission_of_school(actor: Actor | None, task: CollectionTask, school_id: int) -> Submission:
    return submissions_for(actor, task).get(school_id=school_id)


def actions_of(actor: Actor | None, task: CollectionTask, *, submission: Submission | None = None,
               region_path: str | None = None) -> QuerySet[ReviewAction]:
    """The task's history in the actor's scope: of one submission, or of one region's subtree."""
    qs = scoped(ReviewAction.objects.filter(task=task), actor).select_related("submission__school")
    if submission is not None:
        qs = qs.filter(submission=submission)
    if region_path is not None:
        qs = qs.filter(region_path__startswith=region_path)
    return qs


def other_forms_of(submission: Submission) -> dict[str, dict[str, Any]]:
    """The same school's values in the other forms of the same period (for [CODE:T1.R1.C1] references)."""
    rows = (Submission.objects.filter(school_id=submission.school_id, task__period=submission.task.period,
                                      task__kind=TaskKind.FORM)
            .exclude(task_id=submission.task_id)
            .values_list("task__form_version__form__code", "values"))
    return {code: values for code, values in rows if code}


def entry_check(submission: Submission) -> Any:
    """The engine's rule results for the submission's current values (shown beside each cell)."""
    from eduplatform.reporting import evaluation

    task = submission.task
    spec = form_spec(task.form_version)
    values = evaluation.compute_values(spec, dict(submission.values))
    return evaluation.check_values(spec, values, school=submission.school, snapshot=task.snapshot,
                                   other_forms=other_forms_of(submission))


# --------------------------------------------------------------------------------------------
# Completeness and the review chain's state per region


@dataclass
class CompletenessRow:
    path: str  # the child region's path (or, below the last region, the school's place)
    name: str
    level: str  # region level, or "school"
    expected: int = 0
    not_started: int = 0
    draft: int = 0
    submitted: int = 0  # reported and waiting for or past review (submitted + approved)
    approved: int = 0
    returned: int = 0
    overdue: int = 0  # not reported after the deadline
    zero: int = 0  # 零上报
    on_time: int = 0  # reported no later than the deadline
    school_id: int | None = None
    submission_id: int | None = None
    status: str = ""
    approval: RegionApproval | None = None  # the child node's own approval, where it is a review node

    @property
    def submitted_rate(self) -> float:
        return self.submitted / self.expected if self.expected else 0.0

    @property
    def approved_rate(self) -> float:
        return self.approved / self.expected if self.expected else 0.0

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.expected if self.expected else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["approval"] = None if self.approval is None else {
            "approved_by": self.approval.approved_by, "approved_at": self.approval.approved_at.isoformat()}
        return data


def _deadline_end(task: CollectionTask) -> dt.datetime:
    """The first moment after the deadline day (local time)."""
    start = dt.datetime.combine(task.deadline + dt.timedelta(days=1), dt.time.min)
    return timezone.make_aware(start, timezone.get_current_timezone())


def _counts(task: CollectionTask) -> dict[str, Any]:
    end = _deadline_end(task)
    return {
        "expected": Count("id"),
        "not_started": Count("id", filter=Q(status=SubmissionStatus.NOT_STARTED)),
        "draft": Count("id", filter=Q(status=SubmissionStatus.DRAFT)),
        "submitted": Count("id", filter=Q(status__in=REPORTED_STATUSES)),
        "approved": Count("id", filter=Q(status=SubmissionStatus.APPROVED)),
        "returned": Count("id", filter=Q(status=SubmissionStatus.RETURNED)),
        "zero": Count("id", filter=Q(zero_report=True, status__in=REPORTED_STATUSES)),
        "on_time": Count("id", filter=Q(status__in=REPORTED_STATUSES, submitted_at__lt=end)),
    }


def _with_overdue(figures: dict[str, Any], late: bool) -> dict[str, Any]:
    """Overdue: not reported (not started, in draft, returned) once the deadline has passed."""
    figures["overdue"] = (figures["not_started"] + figures["draft"] + figures["returned"]) if late else 0
    return figures


def completeness(actor: Actor | None, task: CollectionTask, region_path: str, *,
                 today: dt.date | None = None) -> list[CompletenessRow]:
    """Per child region of ``region_path`` (in the actor's scope): expected, submitted, approved,
    returned, overdue, zero, on time. One GROUP BY on the child's path prefix; below the last region
    level (a town), one row per school."""
    today = today or timezone.localdate()
    qs = submissions_for(actor, task).filter(region_path__startswith=region_path)
    children = list(Region.objects.filter(parent__path=region_path).order_by("code").values("path", "name", "level"))
    counts = _counts(task)
    if not children:
        return _school_rows(qs, task, today)
    start = len(region_path) + 1
    # The child's path: region_path plus the next segment of the submission's path ("…/4401/").
    child = Substr(F("region_path"), 1, StrIndex(Substr(F("region_path"), start), Value("/")) + Value(start - 1))
    late = today > task.deadline
    grouped = {row.pop("child"): _with_overdue(row, late)
               for row in qs.order_by().annotate(child=child).values("child").annotate(**counts)}
    approvals = {a.region_path: a for a in RegionApproval.objects.filter(task=task, region_path__in=[c["path"] for c in children])}
    rows = []
    for c in children:
        if c["path"] not in grouped:
            continue  # no target school there (or none in the actor's scope)
        rows.append(CompletenessRow(path=c["path"], name=c["name"], level=c["level"], approval=approvals.get(c["path"]),
                                    **grouped.pop(c["path"])))
    for path, figures in grouped.items():  # schools placed on region_path itself (no town)
        rows.append(CompletenessRow(path=path, name=gettext("直属学校"), level="school", **figures))
    return rows


def _school_rows(qs: QuerySet[Submission], task: CollectionTask, today: dt.date) -> list[CompletenessRow]:
    end = _deadline_end(task)
    late = today > task.deadline
    rows = []
    for s in qs.order_by("school__name", "school_id").values("id", "school_id", "school__name", "region_path", "status",
                                                                "zero_report", "submitted_at"):
        reported = s["status"] in REPORTED_STATUSES
        rows.append(CompletenessRow(
            path=s["region_path"], name=s["school__name"], level="school", expected=1,
            not_started=int(s["status"] == SubmissionStatus.NOT_STARTED), draft=int(s["status"] == SubmissionStatus.DRAFT),
            submitted=int(reported), approved=int(s["status"] == SubmissionStatus.APPROVED),
            returned=int(s["status"] == SubmissionStatus.RETURNED), overdue=int(late and not reported),
            zero=int(reported and s["zero_report"]),
            on_time=int(reported and s["submitted_at"] is not None and s["submitted_at"] < end),
            school_id=s["school_id"], submission_id=s["id"], status=s["status"]))
    return rows


def completeness_total(actor: Actor | None, task: CollectionTask, region_path: str, *,
                       today: dt.date | None = None) -> CompletenessRow:
    """The same figures for ``region_path`` as a whole."""
    today = today or timezone.localdate()
    qs = submissions_for(actor, task).filter(region_path__startswith=region_path)
    figures = _with_overdue({k: v or 0 for k, v in qs.order_by().aggregate(**_counts(task)).items()},
                            today > task.deadline)
    name = Region.objects.filter(path=region_path).values_list("name", flat=True).first() or region_path
    level = Region.objects.filter(path=region_path).values_list("level", flat=True).first() or ""
    approval = RegionApproval.objects.filter(task=task, region_path=region_path).first()
    return CompletenessRow(path=region_path, name=name, level=level, approval=approval,
                           **figures)


@dataclass
class RegionState:
    """What the review page of one region node shows above its children."""

    path: str
    name: str
    level: str
    is_review_node: bool  # the region's level is one of the task's review levels
    approval: RegionApproval | None  # this node's own approval
    locked_by: RegionApproval | None  # an approved node above it (everything here is locked)
    blockers: list[str]  # why it cannot be approved yet

    @property
    def can_approve(self) -> bool:
        return self.is_review_node and self.approval is None and self.locked_by is None and not self.blockers


def region_state(actor: Actor | None, task: CollectionTask, region_path: str) -> RegionState:
    region = Region.objects.filter(path=region_path).values("name", "level").first() or {"name": region_path, "level": ""}
    above = approvals_above(task, region_path, include_self=False).first()
    own = RegionApproval.objects.filter(task=task, region_path=region_path).first()
    is_node = region["level"] in task.review_levels
    blockers = approval_blockers(task, region_path) if is_node and own is None else []
    return RegionState(path=region_path, name=region["name"], level=region["level"], is_review_node=is_node,
                       approval=own, locked_by=above, blockers=blockers)


def children_status(actor: Actor | None, task: CollectionTask, region_path: str) -> list[CompletenessRow]:
    """The review page's table: per child region (its counts and its own approval) or, below the last
    region, per school (its submission's status)."""
    return completeness(actor, task, region_path)


def aggregated(actor: Actor | None, task: CollectionTask, region_path: str) -> dict[str, Decimal]:
    """Sum of every numeric cell over the approved submissions under ``region_path`` in scope."""
    from eduplatform.reporting.aggregation import sum_approved

    return sum_approved(submissions_for(actor, task).filter(region_path__startswith=region_path), task)


def published_versions(actor: Actor | None) -> list[FormVersion]:
    """The published form versions a unit that sends tasks may choose from. A form is a definition, not
    a jurisdiction's data (no SCOPE): any unit that manages tasks may send any published form; others
    get none."""
    if actor is None or not actor.can(cap.MANAGE_REPORT_TASKS):
        return []
    return list(FormVersion.objects.filter(status=FormVersionStatus.PUBLISHED).select_related("form")
                .order_by("form__code", "-version"))

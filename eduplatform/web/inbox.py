"""The to-do inbox (待办): one list per user of everything waiting on them.

Each kind of waiting work is a ``Source`` — a small function that counts it (one count query) and
one that lists the first items — registered in ``SOURCES``; an app added later registers its own with
``register``. The badge in the menu and the notice on the home page are loaded by htmx after the page
(so no page waits for the counts), and the inbox page lists every source with its items.

Optional notifications: with ``NOTIFY_EMAIL`` on, ``notify_organization`` and ``send_digest`` mail
the users concerned through Django's mail (``EMAIL_*`` settings); with ``NOTIFY_SMS`` on, the callable
named by ``NOTIFY_SMS_SENDER`` (``"module.function"``, called with ``phone`` and ``text``) sends a text.
Both are off by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from eduplatform.accounts import notifications
from eduplatform.core.views import require_capability
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import OrgKind
from eduplatform.orgs.scope import Actor, scoped

ITEMS_SHOWN = 20  # items listed per source on the inbox page; the source's own page has the rest


@dataclass(frozen=True)
class Item:
    title: str
    detail: str
    url: str
    at: dt.datetime | dt.date | None = None


@dataclass(frozen=True)
class Source:
    key: str
    label: str  # Chinese, e.g. "学籍异动审核"
    count: Callable[[Actor], int]  # one count query (0 when the actor may not act on it)
    items: Callable[[Actor, int], list[Item]]
    list_url: Callable[[], str] = lambda: ""  # the source's own page, for "全部"


SOURCES: list[Source] = []


def register(source: Source) -> Source:
    """Add a source of waiting work (an app calls this at import, e.g. from its AppConfig.ready)."""
    if any(s.key == source.key for s in SOURCES):
        raise ValueError(f"inbox source {source.key!r} registered twice")
    SOURCES.append(source)
    return source


def _url(name: str, **kwargs: Any) -> str:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""


def _memo(actor: Actor, key: str, compute: Callable[[], Any]) -> Any:
    """Kept on the actor for the request (the review sources share the actor's node and the tasks)."""
    cache = actor.__dict__.setdefault("_inbox_memo", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _is_school(actor: Actor) -> bool:
    org = actor.organization
    return org is not None and org.kind == OrgKind.SCHOOL


# --------------------------------------------------------------------------------------------
# 学籍异动 and staff transfers: the steps waiting for the actor's organization


def _student_steps(actor: Actor) -> QuerySet:
    from eduplatform.students import selectors

    needed = capabilities.EDIT_STUDENTS if _is_school(actor) else capabilities.REVIEW_STUDENT_CHANGES
    return selectors.inbox(actor) if actor.can(needed) else selectors.inbox(actor).none()


def _student_items(actor: Actor, limit: int) -> list[Item]:
    return [Item(f"{s.title} · {s.request.get_kind_display()}", f"{s.request.student.name} · {s.request.from_school.name}",
                 _url("students:request", request_id=s.request_id), s.request.requested_at)
            for s in _student_steps(actor)[:limit]]


def _staff_steps(actor: Actor) -> QuerySet:
    from eduplatform.staff import selectors
    from eduplatform.staff.models import StaffTransferStep

    confirm_needed = capabilities.EDIT_STAFF if _is_school(actor) else capabilities.EDIT_ADMINISTRATORS
    allowed = Q(pk__in=[])
    if actor.can(confirm_needed):
        allowed |= Q(role=StaffTransferStep.CONFIRM)
    if actor.can(capabilities.REVIEW_STAFF_CHANGES):
        allowed |= ~Q(role=StaffTransferStep.CONFIRM)
    return selectors.inbox(actor).filter(allowed)


def _staff_items(actor: Actor, limit: int) -> list[Item]:
    return [Item(gettext("%(step)s · 教职工调动") % {"step": s.title}, f"{s.transfer.staff.name} · {s.transfer.from_unit.name} → {s.transfer.to_unit.name}",
                 _url("staff:transfer", transfer_id=s.transfer_id), s.transfer.requested_at)
            for s in _staff_steps(actor)[:limit]]


# --------------------------------------------------------------------------------------------
# Statistical reports (报表与审核)

FILL_REPORTS = capabilities.FILL_REPORTS
REVIEW_REPORTS = capabilities.REVIEW_REPORTS
LEVEL_ORDER = ("town", "county", "city", "province")


def _own_submissions(actor: Actor) -> QuerySet:
    from eduplatform.reporting.models import Submission

    if not _is_school(actor) or not actor.can(FILL_REPORTS):
        return Submission.objects.none()
    return scoped(Submission.objects.filter(school_id=actor.organization_id), actor, with_focus=False)


def _returned(actor: Actor) -> QuerySet:
    from eduplatform.reporting.models import SubmissionStatus, TaskStatus

    return _own_submissions(actor).filter(status=SubmissionStatus.RETURNED).exclude(task__status=TaskStatus.DRAFT)


def _entry_url(submission) -> str:
    return _url("reporting:entry", submission_id=submission.pk) or _url("reporting:tasks")


def _returned_items(actor: Actor, limit: int) -> list[Item]:
    rows = _returned(actor).select_related("task").order_by("-reviewed_at", "pk")[:limit]
    return [Item(gettext("报表被退回：%(task)s") % {"task": s.task.title}, s.return_reason or gettext("请查看退回原因并修改后重新上报"), _entry_url(s), s.reviewed_at)
            for s in rows]


def _due_soon(actor: Actor) -> QuerySet:
    """The school's open tasks not yet reported whose deadline is within the widest reminder window;
    each task's own ``remind_days`` then decides (a school has a handful of open tasks)."""
    from eduplatform.reporting.models import SubmissionStatus, TaskStatus

    today = timezone.localdate()
    return (_own_submissions(actor)
            .filter(status__in=[SubmissionStatus.NOT_STARTED, SubmissionStatus.DRAFT], task__status=TaskStatus.OPEN,
                    task__deadline__lte=today + dt.timedelta(days=30))
            .select_related("task").order_by("task__deadline", "pk"))


def _due_rows(actor: Actor) -> list:
    today = timezone.localdate()
    return [s for s in _due_soon(actor) if (s.task.deadline - today).days <= s.task.remind_days]


def _due_items(actor: Actor, limit: int) -> list[Item]:
    today = timezone.localdate()
    out = []
    for s in _due_rows(actor)[:limit]:
        days = (s.task.deadline - today).days
        when = gettext("已逾期") if days < 0 else (gettext("今天截止") if days == 0 else gettext("还有 %(days)s 天截止") % {"days": days})
        out.append(Item(gettext("报表即将截止：%(task)s") % {"task": s.task.title},
                        gettext("截止日期 %(deadline)s，%(when)s") % {"deadline": f"{s.task.deadline:%Y-%m-%d}", "when": when}, _entry_url(s), s.task.deadline))
    return out


def _actor_node(actor: Actor) -> tuple[str, str] | None:
    """(region path, region level) of a bureau's own node, for the review sources."""
    org = actor.organization
    if org is None or org.kind == OrgKind.SCHOOL or not actor.can(REVIEW_REPORTS):
        return None
    from eduplatform.orgs.models import Region

    level = _memo(actor, "level", lambda: Region.objects.filter(path=org.region_path).values_list("level", flat=True).first())
    return (org.region_path, level) if level else None


def _task_levels(actor: Actor) -> list[tuple[int, list[str]]]:
    """(task, review levels) of every task past its draft: a short list (tasks, not submissions)."""
    from eduplatform.reporting.models import CollectionTask, TaskStatus

    return _memo(actor, "tasks", lambda: [(pk, list(levels or [])) for pk, levels in CollectionTask.objects.exclude(
        status=TaskStatus.DRAFT).values_list("pk", "review_levels")])


def _first_level_tasks(actor: Actor, node: tuple[str, str]) -> list[int]:
    """Tasks whose first review level above the school is the actor's level (no lower level configured)."""
    _path, level = node
    if level not in LEVEL_ORDER:
        return []
    below = set(LEVEL_ORDER[: LEVEL_ORDER.index(level)])
    return [pk for pk, levels in _task_levels(actor) if level in levels and not below & set(levels)]


def _to_review(actor: Actor) -> QuerySet:
    from eduplatform.reporting.models import Submission, SubmissionStatus

    node = _actor_node(actor)
    if node is None:
        return Submission.objects.none()
    tasks = _first_level_tasks(actor, node)
    if not tasks:
        return Submission.objects.none()
    return scoped(Submission.objects.filter(status=SubmissionStatus.SUBMITTED, task_id__in=tasks,
                                            region_path__startswith=node[0]), actor, with_focus=False)


def _review_url(submission) -> str:
    return _url("reporting:submission", submission_id=submission.pk) or _url("reporting:tasks")


def _review_items(actor: Actor, limit: int) -> list[Item]:
    rows = _to_review(actor).select_related("task", "school").order_by("submitted_at", "pk")[:limit]
    return [Item(gettext("报表待审核：%(task)s") % {"task": s.task.title}, s.school.name, _review_url(s), s.submitted_at) for s in rows]


def _explanations(actor: Actor) -> QuerySet:
    """Submitted returns carrying explanations of soft-rule failures (经验校验) to accept or reject."""
    return _to_review(actor).exclude(explanations={})


def _explanation_items(actor: Actor, limit: int) -> list[Item]:
    rows = _explanations(actor).select_related("task", "school").order_by("submitted_at", "pk")[:limit]
    return [Item(gettext("核实说明待审核：%(task)s") % {"task": s.task.title},
                 gettext("%(school)s · %(count)s 条说明") % {"school": s.school.name, "count": len(s.explanations)}, _review_url(s), s.submitted_at)
            for s in rows]


def _approvals_waiting(actor: Actor) -> list:
    """Tasks whose node at the actor's level may now be approved: every submission below approved,
    every configured child node approved, and the node itself not yet approved."""
    from eduplatform.reporting.models import (
        CollectionTask,
        RegionApproval,
        Submission,
        SubmissionStatus,
    )

    node = _actor_node(actor)
    if node is None:
        return []
    path, level = node
    tasks = [pk for pk, levels in _task_levels(actor) if level in levels]
    if not tasks:
        return []
    figures = (Submission.objects.filter(task_id__in=tasks, region_path__startswith=path).order_by().values("task_id")
               .annotate(total=Count("id"), pending=Count("id", filter=~Q(status=SubmissionStatus.APPROVED))))
    done = set(RegionApproval.objects.filter(task_id__in=tasks, region_path=path).values_list("task_id", flat=True))
    ready = [f["task_id"] for f in figures if f["total"] and not f["pending"] and f["task_id"] not in done]
    if not ready:
        return []
    from eduplatform.reporting import selectors

    out = []
    for task in CollectionTask.objects.filter(pk__in=ready).order_by("deadline", "pk"):
        blockers = getattr(selectors, "approval_blockers", None)
        if blockers is None or not blockers(task, path):
            out.append(task)
    return out


def _approval_items(actor: Actor, limit: int) -> list[Item]:
    return [Item(gettext("待审核本级汇总：%(task)s") % {"task": t.title}, gettext("下级已全部审核通过，可审核本区域"), _url("reporting:task", task_id=t.pk)
                 or _url("reporting:tasks"), t.deadline) for t in _approvals_waiting(actor)[:limit]]


for _source in (
    Source("students", gettext_lazy("学籍异动审核"), lambda a: _student_steps(a).count(), _student_items, lambda: _url("students:inbox")),
    Source("staff", gettext_lazy("教职工调动审核"), lambda a: _staff_steps(a).count(), _staff_items, lambda: _url("staff:inbox")),
    Source("returned", gettext_lazy("被退回的报表"), lambda a: _returned(a).count(), _returned_items, lambda: _url("reporting:tasks")),
    Source("due", gettext_lazy("即将截止的报表"), lambda a: len(_due_rows(a)), _due_items, lambda: _url("reporting:tasks")),
    Source("review", gettext_lazy("待审核的报表"), lambda a: _to_review(a).count(), _review_items, lambda: _url("reporting:tasks")),
    Source("explanations", gettext_lazy("待审核的核实说明"), lambda a: _explanations(a).count(), _explanation_items,
           lambda: _url("reporting:tasks")),
    Source("approvals", gettext_lazy("待审核的本级汇总"), lambda a: len(_approvals_waiting(a)), _approval_items,
           lambda: _url("reporting:tasks")),
):
    register(_source)


# --------------------------------------------------------------------------------------------
# Reads for the pages


def counts(actor: Actor) -> list[tuple[Source, int]]:
    """Every source with its count for ``actor`` (one count query each)."""
    if not getattr(actor, "is_authenticated", False) or actor.organization_id is None:
        return []
    return [(source, source.count(actor)) for source in SOURCES]


def total(actor: Actor) -> int:
    """What the badge shows. Explanations are part of the submissions to review: not counted twice."""
    return sum(n for source, n in counts(actor) if source.key != "explanations")


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def inbox_page(request: HttpRequest) -> HttpResponse:
    sections = []
    for source, n in counts(request.user):
        if n:
            sections.append({"source": source, "count": n, "items": source.items(request.user, ITEMS_SHOWN),
                             "list_url": source.list_url()})
    return render(request, "web/inbox.html", {"nav_active": "inbox", "sections": sections,
                                              "total": sum(s["count"] for s in sections if s["source"].key != "explanations")})


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def inbox_badge(request: HttpRequest) -> HttpResponse:
    return render(request, "web/_inbox_badge.html", {"total": total(request.user)})


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def inbox_notice(request: HttpRequest) -> HttpResponse:
    found = [(s, n) for s, n in counts(request.user) if n]
    return render(request, "web/_inbox_notice.html", {"found": found, "total": sum(n for s, n in found if s.key != "explanations")})


# --------------------------------------------------------------------------------------------
# Optional notifications (off by default)


def notify_organization(organization, *, subject: str, message: str) -> int:
    """Tell the active users of ``organization`` that work waits for them (e.g. a returned report)."""
    return notifications.notify_organizations([organization.pk], subject=subject, message=message)


def send_digest(user) -> bool:
    """One message summing up the user's inbox (for a daily scheduler); False when there is nothing."""
    found = [(s, n) for s, n in counts(user) if n]
    if not found or not (settings.NOTIFY_EMAIL or settings.NOTIFY_SMS):
        return False
    lines = "\n".join(gettext("%(label)s：%(count)s 件") % {"label": s.label, "count": n} for s, n in found)
    return bool(notifications.notify_users([user], subject=gettext("广东省教育信息平台：您有待办事项"), message=lines))

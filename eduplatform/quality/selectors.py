"""Reads of issues and scans, always through the actor's jurisdiction (``orgs.scope.scoped``)."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Count, QuerySet

from eduplatform.orgs.scope import Actor, scoped
from eduplatform.quality.models import (
    COUNTY_STATUSES,
    LIVE_STATUSES,
    IssueStatus,
    QualityIssue,
    QualityIssueAction,
    QualityScan,
)

ISSUE_LIST_ORDER = ("-found_at", "pk")
# Filters of the issue list; "live" (the default) is every status but 已消除.
STATUS_FILTERS = {"live": LIVE_STATUSES, "review": COUNTY_STATUSES, **{s: (s,) for s in IssueStatus.values}}


def issues(actor: Actor) -> QuerySet[QualityIssue]:
    return scoped(QualityIssue.objects.all(), actor)


def issue_list(actor: Actor, params: Mapping[str, str]) -> QuerySet[QualityIssue]:
    """The issues in scope matching the list's filters (rule, severity, database, status, school code)."""
    qs = issues(actor).select_related("school")
    status = params.get("status") or "live"
    qs = qs.filter(status__in=STATUS_FILTERS.get(status, LIVE_STATUSES))
    for name in ("rule", "severity", "database"):
        if params.get(name):
            qs = qs.filter(**{name: params[name]})
    if params.get("school"):
        qs = qs.filter(school__school_code=params["school"].strip())
    return qs


def counts_by_rule(qs: QuerySet[QualityIssue]) -> list[dict]:
    """(rule, severity, issues) of a filtered list, most issues first (one GROUP BY)."""
    return list(qs.order_by().values("rule", "severity").annotate(n=Count("id")).order_by("-n", "rule"))


def status_counts(actor: Actor) -> dict[str, int]:
    rows = issues(actor).filter(status__in=LIVE_STATUSES).order_by().values("status").annotate(n=Count("id"))
    return {r["status"]: r["n"] for r in rows}


def review_queue(actor: Actor) -> QuerySet[QualityIssue]:
    """What a county must confirm: issues the school explained or corrected, oldest first."""
    return issues(actor).filter(status__in=COUNTY_STATUSES).select_related("school").order_by("status_changed_at", "pk")


def school_todo(actor: Actor) -> QuerySet[QualityIssue]:
    """What a school must act on: its open issues, errors first."""
    return issues(actor).filter(status=IssueStatus.OPEN).select_related("school").order_by("severity", "-found_at", "pk")


def issue_for(actor: Actor, issue_id: int) -> QualityIssue | None:
    return issues(actor).select_related("school").filter(pk=issue_id).first()


def history(issue: QualityIssue) -> QuerySet[QualityIssueAction]:
    return issue.actions.all()


def group_sides(issue: QualityIssue) -> list[QualityIssue]:
    """Every live side of ``issue``'s duplicate group, whichever school (an actor who sees one side
    sees who holds the other: that is what both schools and both counties must settle). Only the
    masked label, the school and the status of the other sides are shown."""
    if not issue.group_key:
        return []
    return list(QualityIssue.objects.filter(group_key=issue.group_key, status__in=LIVE_STATUSES)
                .select_related("school", "school__parent").order_by("pk"))


def duplicate_groups(actor: Actor, limit: int = 200) -> list[dict]:
    """Duplicate groups with at least one side in scope, each with all its sides."""
    keys = list(issues(actor).filter(status__in=LIVE_STATUSES).exclude(group_key="").order_by()
                .values_list("group_key", flat=True).distinct()[:limit])
    sides: dict[str, list[QualityIssue]] = {}
    for i in (QualityIssue.objects.filter(group_key__in=keys, status__in=LIVE_STATUSES)
              .select_related("school").order_by("group_key", "pk")):
        sides.setdefault(i.group_key, []).append(i)
    visible = set(issues(actor).filter(group_key__in=keys).values_list("pk", flat=True))
    return [{"key": k, "sides": v, "visible": visible} for k, v in sides.items()]


def scans(actor: Actor) -> QuerySet[QualityScan]:
    return scoped(QualityScan.objects.all(), actor)


def scan_for(actor: Actor, scan_id: int) -> QualityScan | None:
    return scans(actor).filter(pk=scan_id).first()


def open_errors(actor: Actor) -> int:
    return issues(actor).filter(status=IssueStatus.OPEN, severity="error").count()


__all__ = ["issues", "issue_list", "counts_by_rule", "status_counts", "review_queue", "school_todo", "issue_for",
           "history", "group_sides", "duplicate_groups", "scans", "scan_for"]

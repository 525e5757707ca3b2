"""Reading import jobs within the actor's jurisdiction (all kinds share the ImportJob table)."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from eduplatform.core.models import ImportJob
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import Actor, scope_of, scoped


def import_jobs(actor: Actor, kind: str | None = None) -> QuerySet[ImportJob]:
    # The uploaded file can be tens of megabytes: never load it for a list or a progress poll.
    qs = scoped(ImportJob.objects.all(), actor).defer("content", "problems", "row_actions")
    if kind is not None:
        qs = qs.filter(kind=kind)
    scope = scope_of(actor)
    if scope.school_id is None and scope.stage_mask:
        # A stage-limited officer sees jobs of schools in those stages and of bureaus.
        units = Organization.objects.alias(_hit=F("stage_mask").bitand(scope.stage_mask)).filter(
            Q(_hit__gt=0) | ~Q(kind=OrgKind.SCHOOL)).values("pk")
        qs = qs.filter(school_id__in=units)
    return qs.order_by("-created_at", "-pk")


def import_job_for(actor: Actor, pk: int, kind: str | None = None) -> ImportJob:
    job = import_jobs(actor, kind).filter(pk=pk).defer(None).defer("content").first()
    if job is None:
        raise Http404(gettext("导入任务不存在或不在您的管辖范围内"))
    return job


def unit_for(actor: Actor, pk: int | None) -> Organization | None:
    if pk is None:
        return None
    return scoped(Organization.objects.filter(pk=pk), actor, with_focus=False).first()

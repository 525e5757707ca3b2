"""The issues waiting on a school (to correct or explain) and on a county (to confirm), as inbox sources."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext, gettext_lazy

from eduplatform.orgs import capabilities
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.quality import selectors
from eduplatform.quality.models import QualityIssue
from eduplatform.web.inbox import Item, Source, register


def _url(name: str, **kwargs) -> str:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""


def _school_open(actor: Actor) -> QuerySet[QualityIssue]:
    if not actor.can(capabilities.RESOLVE_QUALITY) or scope_of(actor, with_focus=False).school_id is None:
        return QualityIssue.objects.none()
    return selectors.school_todo(actor)


def _county_waiting(actor: Actor) -> QuerySet[QualityIssue]:
    if not actor.can(capabilities.REVIEW_QUALITY) or scope_of(actor, with_focus=False).school_id is not None:
        return QualityIssue.objects.none()
    return selectors.review_queue(actor)


def _school_items(actor: Actor, limit: int) -> list[Item]:
    return [Item(gettext("质量问题：{value}").format(value=i.object_label or i.school.name), i.message[:80], _url("quality:issue", issue_id=i.pk),
                 i.found_at) for i in _school_open(actor)[:limit]]


def _county_items(actor: Actor, limit: int) -> list[Item]:
    return [Item(f"{i.get_status_display()}：{i.object_label or i.rule}", f"{i.school.name} · {i.explanation[:60] or i.message[:60]}",
                 _url("quality:issue", issue_id=i.pk), i.status_changed_at) for i in _county_waiting(actor)[:limit]]


register(Source("quality_open", gettext_lazy("质量问题整改"), lambda a: _school_open(a).count(), _school_items,
                lambda: _url("quality:issues")))
register(Source("quality_review", gettext_lazy("质量问题确认"), lambda a: _county_waiting(a).count(), _county_items,
                lambda: _url("quality:review")))

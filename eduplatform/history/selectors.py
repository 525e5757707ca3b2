"""Reading history: a record's audit trail, and the auditor's view of the whole log."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from eduplatform.history.models import AuditEntry
from eduplatform.orgs.scope import Actor, scoped


def history_of(actor: Actor, *, object_type: str, object_id: object) -> QuerySet[AuditEntry]:
    """The changes to one record, for its history tab (the record itself was already scope-checked)."""
    return AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("-occurred_at", "-id")


def audit_log(
    actor: Actor,
    *,
    actor_name: str = "",
    action: str = "",
    object_text: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    ip: str = "",
) -> QuerySet[AuditEntry]:
    qs = scoped(AuditEntry.objects.all(), actor, with_focus=False)
    if actor_name:
        qs = qs.filter(actor_name__contains=actor_name)
    if action:
        qs = qs.filter(action=action)
    if object_text:
        qs = qs.filter(object_label__contains=object_text)
    if date_from:
        qs = qs.filter(occurred_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(occurred_at__date__lte=date_to)
    if ip:
        qs = qs.filter(client_ip=ip)
    return qs.order_by("-occurred_at", "-id")

"""Writing history: every service calls ``record_change`` inside its transaction.

One call writes the audit entry, the change-feed entry and the roll-up dirty mark together, so a
change can never be saved without its trace (or the trace without the change).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from django.db import models, transaction
from django.utils import timezone

from eduplatform.core.request_context import current_client_ip
from eduplatform.history.models import AuditAction, AuditEntry, ChangeFeedEntry, DirtySchool


class HistoryActor(Protocol):
    """What history needs to know about whoever acts: a user or, later, an API client."""

    pk: Any

    def audit_name(self) -> str: ...

    def audit_org(self) -> tuple[int | None, str]: ...


def display_value(value: Any) -> Any:
    """Values as a person reads them in the audit log (JSON-safe)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, models.Model):
        return str(value)
    return str(value)


def diff_fields(
    before: Mapping[str, Any], after: Mapping[str, Any], labels: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Field-by-field before/after for every field whose value differs."""
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = display_value(before.get(name)), display_value(after.get(name))
        if old != new:
            changes[name] = {"label": labels.get(name, name), "before": old, "after": new}
    return changes


def record_change(
    *,
    actor: HistoryActor | None,
    action: AuditAction,
    object_type: str,
    object_id: Any,
    object_label: str,
    changes: Mapping[str, Any] | None = None,
    region_path: str = "",
    school_id: int | None = None,
    feed_resource: str | None = None,
    feed_key: str | None = None,
    feed_operation: str = "upsert",
    note: str = "",
) -> AuditEntry:
    """Audit entry + change-feed entry + dirty mark, in the caller's transaction."""
    org_id, org_name = actor.audit_org() if actor is not None else (None, "")
    entry = AuditEntry.objects.create(
        actor_id=actor.pk if actor is not None else None,
        actor_name=actor.audit_name() if actor is not None else "系统",
        actor_org_id=org_id,
        actor_org_name=org_name,
        client_ip=current_client_ip(),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=object_label[:255],
        changes=dict(changes or {}),
        region_path=region_path,
        school_id=school_id,
        note=note[:500],
    )
    if feed_resource:
        ChangeFeedEntry.objects.create(
            resource=feed_resource,
            natural_key=feed_key or str(object_id),
            operation=feed_operation,
            region_path=region_path,
            school_id=school_id,
        )
    if school_id is not None:
        mark_schools_dirty([school_id])
    return entry


def audit_many(
    *,
    actor: HistoryActor | None,
    action: AuditAction,
    object_type: str,
    items: Iterable[tuple[Any, str, Mapping[str, Any], str, int | None]],
    note: str = "",
) -> None:
    """Audit entries for a set-based operation: (object id, label, changes, region path, school id)."""
    org_id, org_name = actor.audit_org() if actor is not None else (None, "")
    name = actor.audit_name() if actor is not None else "系统"
    ip = current_client_ip()
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor_id=actor.pk if actor is not None else None, actor_name=name, actor_org_id=org_id,
                actor_org_name=org_name, client_ip=ip, action=action, object_type=object_type,
                object_id=str(object_id), object_label=label[:255], changes=dict(changes),
                region_path=path, school_id=school_id, note=note[:500],
            )
            for object_id, label, changes, path, school_id in items
        ],
        batch_size=2000,
    )


def record_event(
    *,
    actor: HistoryActor | None,
    action: AuditAction,
    object_type: str = "",
    object_id: Any = "",
    object_label: str = "",
    region_path: str = "",
    note: str = "",
) -> AuditEntry:
    """An audit entry without a data change: logins, sensitive views, exports."""
    return record_change(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label,
        region_path=region_path,
        note=note,
    )


# Called once after each commit that marked schools dirty. The statistics layer (above history)
# registers its roll-up refresh here, so a change shows in the figures right after its commit.
AFTER_COMMIT_REFRESHERS: list[Callable[[], None]] = []


def _refresh_after_commit() -> None:
    for refresh in AFTER_COMMIT_REFRESHERS:
        refresh()


def mark_schools_dirty(school_ids: Iterable[int]) -> None:
    """Flag schools whose aggregates the statistics layer must recompute (right after commit)."""
    ids = {int(i) for i in school_ids}
    if not ids:
        return
    existing = set(DirtySchool.objects.filter(school_id__in=ids).values_list("school_id", flat=True))
    DirtySchool.objects.bulk_create([DirtySchool(school_id=i) for i in ids - existing])
    if existing:
        # A refresh running now reads the mark's time and removes only marks it covered: a newer
        # time keeps this change's mark for the next round.
        DirtySchool.objects.filter(school_id__in=existing).update(marked_at=timezone.now())
    schedule_refresh()


def schedule_refresh() -> None:
    """Refresh the roll-ups of dirty schools once the current transaction commits (once per
    transaction, however many writes marked schools). Set-based writers that insert dirty marks
    in SQL call this themselves."""
    connection = transaction.get_connection()
    here = set(connection.savepoint_ids)
    if connection.in_atomic_block and any(
            f is _refresh_after_commit and set(sids) == here for sids, f, *_ in connection.run_on_commit):
        return  # already scheduled at this level; a rolled-back savepoint would discard it with its marks
    transaction.on_commit(_refresh_after_commit)


def feed_many(resource: str, items: Iterable[tuple[str, str, int | None]]) -> None:
    """Change-feed entries for many records changed by one set-based operation.

    ``items``: (natural key, region path, school id). Their schools are marked dirty too.
    """
    rows = [
        ChangeFeedEntry(resource=resource, natural_key=key, operation="upsert", region_path=path, school_id=sid)
        for key, path, sid in items
    ]
    ChangeFeedEntry.objects.bulk_create(rows, batch_size=2000)
    mark_schools_dirty(r.school_id for r in rows if r.school_id is not None)

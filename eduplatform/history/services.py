"""Writing history: every service calls ``record_change`` inside its transaction.

One call writes the audit entry, the change-feed entry and the roll-up dirty mark together, so a
change can never be saved without its trace (or the trace without the change).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from django.db import models, transaction
from django.utils import timezone

from eduplatform.core.request_context import current_client_ip
from eduplatform.history.middleware import export_audited
from eduplatform.history.models import AuditAction, AuditEntry, ChangeFeedEntry, DirtySchool

log = logging.getLogger(__name__)


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
    feed_previous_key: str | None = None,
    note: str = "",
) -> AuditEntry:
    """Audit entry + change-feed entry + dirty mark, in the caller's transaction.

    ``feed_previous_key``: the record's key before this change, when the change gave it a new one;
    the feed then carries the old key on the upsert and announces the old key's deletion after it."""
    if action == AuditAction.EXPORT:
        export_audited.set(True)  # the download middleware need not audit this response again
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
        key = feed_key or str(object_id)
        renamed = bool(feed_previous_key) and feed_previous_key != key
        ChangeFeedEntry.objects.create(
            resource=feed_resource,
            natural_key=key,
            previous_key=feed_previous_key if renamed else None,
            operation=feed_operation,
            region_path=region_path,
            school_id=school_id,
        )
        if renamed and feed_operation == "upsert":
            ChangeFeedEntry.objects.create(resource=feed_resource, natural_key=feed_previous_key, operation="delete",
                                           region_path=region_path, school_id=school_id)
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
    if action == AuditAction.EXPORT:
        export_audited.set(True)
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


# Called once after each commit that marked schools dirty, with the schools that commit marked
# (None when a set-based writer inserted marks in SQL without naming them). The statistics layer
# (above history) registers its roll-up refresh here, so a change shows in the figures right after
# its commit. A refresher must not raise (the commit has happened): ours logs, leaves the marks and
# queues the worker; anything that still escapes is logged here, never returned to the writer.
AFTER_COMMIT_REFRESHERS: list[Callable[[frozenset[int] | None], None]] = []


class _RefreshAfterCommit:
    """One transaction's after-commit refresh and the schools it marked (``schedule_refresh``)."""

    def __init__(self) -> None:
        self.school_ids: set[int] = set()
        self.unnamed = False

    def __call__(self) -> None:
        schools = None if self.unnamed else frozenset(self.school_ids)
        for refresh in AFTER_COMMIT_REFRESHERS:
            try:
                refresh(schools)
            except Exception:
                log.exception("after-commit refresher %r failed; the dirty marks stay for the worker", refresh)


def mark_schools_dirty(school_ids: Iterable[int], *, by_worker: bool = False) -> None:
    """Flag schools whose aggregates the statistics layer must recompute (right after commit, or
    by the background worker when ``by_worker``: a write too large for its client to wait for the
    recompute).

    One new mark per school, never an update of another writer's: nothing to conflict with or wait
    for, so concurrent writers marking one school never fail or block each other."""
    ids = sorted({int(i) for i in school_ids})
    if not ids:
        return
    now = timezone.now()
    DirtySchool.objects.bulk_create([DirtySchool(school_id=i, marked_at=now) for i in ids], batch_size=2000)
    schedule_refresh(None if by_worker else ids)


def schedule_refresh(school_ids: Iterable[int] | None = None) -> None:
    """Refresh the roll-ups of the schools this transaction marks, once it commits (once per
    transaction, however many writes marked schools). Set-based writers that insert dirty marks in
    SQL call this themselves, naming the schools if they can (unnamed, the worker does the refresh)."""
    connection = transaction.get_connection()
    pending = None
    if connection.in_atomic_block:
        # Join a refresh already scheduled at this level or an enclosing one: a rolled-back
        # savepoint discards its own callbacks (with its marks), an enclosing one outlives it.
        here = set(connection.savepoint_ids)
        pending = next((f for sids, f, *_ in connection.run_on_commit
                        if isinstance(f, _RefreshAfterCommit) and set(sids) <= here), None)
    new = pending is None
    if new:
        pending = _RefreshAfterCommit()
    if school_ids is None:
        pending.unnamed = True
    else:
        pending.school_ids.update(int(i) for i in school_ids)
    if new:
        transaction.on_commit(pending)  # outside a transaction: runs right away


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

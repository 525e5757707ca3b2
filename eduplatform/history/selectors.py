"""Reading history: a record's audit trail, the auditor's view of the whole log, and the change
feed in commit-safe order."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from eduplatform.history.models import AuditAction, AuditEntry, ChangeFeedEntry
from eduplatform.orgs.scope import Actor, scoped

# accounts.roles.VIEW_AUDIT (history sits below accounts): the security auditor's capability.
VIEW_AUDIT = "accounts.view_audit"


def history_of(actor: Actor, *, object_type: str, object_id: object) -> QuerySet[AuditEntry]:
    """The changes to one record, for its history tab (the record itself was already scope-checked).

    Who viewed whose unmasked personal data is the security auditor's alone to see (三员分立,
    个人信息保护): business users see the record's changes, never the other users' views of its ID."""
    entries = AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id))
    if not actor.can(VIEW_AUDIT):
        entries = entries.exclude(action=AuditAction.VIEW_SENSITIVE)
    return entries.order_by("-occurred_at", "-id")


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
    return qs.order_by(*AUDIT_LOG_ORDER)


AUDIT_LOG_ORDER = ("-occurred_at", "-id")  # unique: keyset paging


# ---------------------------------------------------------------------------------------------
# The change feed (docs/decisions/0005-roll-ups-and-feed-under-concurrency.md).

FEED_PAGE_LIMIT = 1000
_CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
# The oldest transaction of this database still in flight (PostgreSQL), from the reading statement's
# own snapshot: every entry that may still commit has a txid at or above it; every entry below it is
# committed (or rolled back) and visible to that statement. Transaction ids are cluster-wide, so the
# snapshot's in-progress list also holds other databases' transactions (a test run, a data load next
# door); those still running in another database cannot write this feed and are left out, so they
# never hold the readers back. An id that ended meanwhile, or whose database cannot be seen, stays in
# (only a lag, never a miss).
HORIZON_SQL = """
SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint) AS horizon
FROM pg_snapshot_xip(pg_current_snapshot()) AS x
WHERE (x::text::bigint %% 4294967296) NOT IN (
    SELECT backend_xid::text::bigint FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND datname <> current_database())"""

class FeedCursorInvalid(ValueError):
    """A cursor that ``changes_after`` never handed out."""

    def __init__(self, cursor: str) -> None:
        super().__init__(f"游标“{cursor[:40]}”无效：请使用上一页返回的游标，或从头读取（不带游标）")
        self.message = str(self)


@dataclass(frozen=True)
class FeedPage:
    entries: list[ChangeFeedEntry]
    cursor: str  # pass it back to read on; opaque to clients
    more: bool  # the page was full: read again at once (otherwise poll later)


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    if not cursor:
        return 0, 0
    found = _CURSOR.match(cursor)
    if found is None:
        raise FeedCursorInvalid(cursor)
    return int(found.group(1)), int(found.group(2))


def _format_cursor(position: tuple[int, int]) -> str:
    return f"{position[0]}.{position[1]}"


def _entry(fields: list[str], values: tuple) -> ChangeFeedEntry:
    entry = ChangeFeedEntry(**dict(zip(fields, values, strict=True)))
    # SQLite: a column read through a subquery comes back as text, or as a naive datetime (UTC).
    moment = entry.occurred_at
    if isinstance(moment, str):
        moment = parse_datetime(moment)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    entry.occurred_at = moment
    return entry


def changes_after(actor: Actor, cursor: str | None = None, *, limit: int = FEED_PAGE_LIMIT,
                  resources: Collection[str] | None = None) -> FeedPage:
    """The change-feed entries in the actor's scope after ``cursor``, oldest first, at most ``limit``,
    and the cursor to read on from; only those of ``resources`` (``ChangeFeedEntry.resource``
    values) when given. A cursor belongs to its filter: read with another, it may skip entries.

    Order and cursor are the position ``(txid, seq)``. On PostgreSQL a page stops below the oldest
    transaction still in flight (its horizon, read in the same statement, hence the same snapshot,
    as the entries): an entry numbered lower but committed later can therefore never be passed — it
    is simply not delivered until its transaction ends. Polling readers get every committed entry
    exactly once. On SQLite one writer at a time makes ``seq`` the commit order (txid is 0).

    With ``resources``, each resource is one ordered range of the ``(resource, txid, seq)`` index,
    read up to ``limit`` and merged in the same statement: a page of a rare resource costs a page
    of index entries, however many entries of other resources lie between them."""
    after = _parse_cursor(cursor)
    limit = max(1, min(int(limit), FEED_PAGE_LIMIT))
    in_scope = scoped(ChangeFeedEntry.objects.all(), actor, with_focus=False)
    if in_scope.query.is_empty() or (resources is not None and not resources):  # nothing to read
        return FeedPage([], _format_cursor(after), False)
    branches = [in_scope] if resources is None else [in_scope.filter(resource=r) for r in sorted(set(resources))]
    postgres = connection.vendor == "postgresql"
    fields = [f.column for f in ChangeFeedEntry._meta.concrete_fields]
    parts, params = [], []
    for branch in branches:
        branch = branch.extra(where=["(txid, seq) > (%s, %s)"], params=list(after))  # noqa: S610 — constant SQL, values as params
        if postgres:
            branch = branch.extra(where=["txid < (SELECT horizon FROM feed_horizon)"])  # noqa: S610 — constant SQL
        sql, branch_params = branch.order_by("txid", "seq").values_list(*fields)[:limit].query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) AS branch{len(parts)}")  # noqa: S608 — compiled by the ORM
        params.extend(branch_params)
    page_sql = parts[0] if len(parts) == 1 else (
        "SELECT * FROM (" + " UNION ALL ".join(parts) + f") AS merged ORDER BY txid, seq LIMIT {limit}")  # noqa: S608
    with connection.cursor() as db:
        if postgres:
            # One statement, so one snapshot for the horizon and the rows; the outer join keeps the
            # horizon when no entry is found.
            db.execute(f"WITH feed_horizon AS MATERIALIZED ({HORIZON_SQL})"  # noqa: S608 — constant SQL
                       f" SELECT feed_horizon.horizon, page.* FROM feed_horizon LEFT JOIN ({page_sql}) AS page ON true"
                       " ORDER BY page.txid, page.seq", params)
        else:
            db.execute(f"SELECT 0, page.* FROM ({page_sql}) AS page ORDER BY page.txid, page.seq",  # noqa: S608
                       params)
        rows = db.fetchall()
    entries = [_entry(fields, row[1:]) for row in rows if row[1] is not None]
    if len(entries) == limit:
        return FeedPage(entries, _format_cursor((entries[-1].txid, entries[-1].seq)), True)
    if not postgres:
        last = (entries[-1].txid, entries[-1].seq) if entries else after
        return FeedPage(entries, _format_cursor(last), False)
    # Everything in scope below the horizon has been read: the cursor moves up to it, so the next
    # poll does not walk the entries out of scope again. (horizon, 0) still precedes every entry
    # of the transaction at the horizon, which may yet commit.
    horizon = rows[0][0]
    return FeedPage(entries, _format_cursor(max(after, (horizon, 0))), False)

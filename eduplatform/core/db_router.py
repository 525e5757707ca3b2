"""Reads of the analysis pages from a PostgreSQL streaming replica (hot standby), with read-your-writes.

Configured by ``REPLICA_DATABASE_URL`` (settings add the ``replica`` alias, this router and the
middleware below only then); without it nothing here changes a query. See docs/scale.md.

**Which reads.** Only views marked ``@reads_from_replica`` (statistics, pivots, their exports, the
public portal: ``REPLICA_VIEWS`` lists them), only for GET and HEAD, and inside such a view only
the ORM's reads of models outside ``PRIMARY_ONLY_APPS``. Everything else reads the primary: every
write path, every POST (also of a marked view), every read inside a transaction on the primary
(a page that writes reads what it writes), and everything the middleware stack reads before the
view (session, user, lockout).

**Read-your-writes.** A user who has just saved must see it on the next page although the replica
may lag. After every unsafe request (POST, PUT, PATCH, DELETE) of a logged-in user,
``ReadYourWritesMiddleware`` keeps the primary's WAL insert position in a signed cookie. A marked
view asks the replica how far it has replayed (``pg_last_wal_replay_lsn()``, one query, which is
also its health check): short of the cookie's position, this request reads the primary; at or past
it, the replica, and the cookie is dropped. Other users are unaffected by someone else's write.
Writes by the background worker (an import) are not a request of the user's: their results are as
fresh as the replica (normally under a second behind).

**A replica that fails** (refused connection, timeout) is skipped for ``REPLICA_RETRY_SECONDS``:
the pages read the primary meanwhile, slower but correct.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

REPLICA = "replica"
LSN_COOKIE = "edu_primary_lsn"
_COOKIE_SALT = "eduplatform.core.db_router.lsn"
SAFE_METHODS = frozenset({"GET", "HEAD"})

# Read from the primary even inside a marked view. Accounts, roles, sessions, lockouts, two-factor
# devices and API clients decide who may see what: a revoked role or a sealed account takes effect
# on the very next request, never a replica's lag later. Jobs, one-time tokens, the audit log, the
# dirty marks, the task queue and the page cache are the platform's own work state, read to be
# written.
PRIMARY_ONLY_APPS = frozenset({
    "accounts", "auth", "sessions", "contenttypes", "admin", "axes", "oauth2_provider",
    "django_otp", "otp_totp", "otp_static", "core", "history", "exchange", "nodes",
    "django_tasks_database", "django_tasks_db", "django_cache",
})

# The views that read from the replica, by module and name (tests/test_replica_router.py checks this
# list against the views the URLs route to that carry the mark: a new reader is written down twice).
REPLICA_VIEWS = frozenset({
    "eduplatform.stats.views.live",
    "eduplatform.stats.views.indicator_page",
    "eduplatform.stats.views.province_map",
    "eduplatform.stats.views.staffing_page",
    "eduplatform.stats.views.projection_page",
    "eduplatform.stats.views.snapshot_list",
    "eduplatform.stats.views.snapshot_detail",
    "eduplatform.stats.views.base_tables",
    "eduplatform.stats.pivot_views.pivot_page",
    # The class-size analysis and saved analyses (their list and an opened one, the pivot's query):
    # a user who has just saved one reads the primary (read-your-writes below).
    "eduplatform.stats.analysis_views.class_size_page",
    "eduplatform.stats.analysis_views.analysis_list",
    "eduplatform.stats.analysis_views.analysis_open",
    "eduplatform.portal.views.home",
    "eduplatform.portal.views.download",
})

_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)
_replica_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def lsn_value(lsn: str) -> int:
    """A pg_lsn's text form ``16/B374D848`` as a number (the two halves are hexadecimal)."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReplicaRouter:
    """Reads to the replica while a marked view runs (see the module docstring); writes, migrations
    and every other read to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        if (_reading_replica.get() and model._meta.app_label not in PRIMARY_ONLY_APPS
                and not connections[DEFAULT_DB_ALIAS].in_atomic_block):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str:
        # Explicit: without an answer Django would write an instance back where it was read from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # Both aliases are the same database (the replica a copy of the primary): an audit entry
        # written on the primary may point at an organization read from the replica.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None}

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS  # a standby replays the primary's schema; it is never migrated


def _primary_position() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        # The insert position, not the flushed one: with asynchronous commit a commit may sit in WAL
        # buffers for up to wal_writer_delay; the replica cannot replay it before it is flushed anyway.
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        return cursor.fetchone()[0]


def _replayed_position() -> int | None:
    """How far the replica has replayed, or None if it cannot be used now (it failed just now or
    within REPLICA_RETRY_SECONDS). On a server that is not in recovery (a promoted replica, or one
    pointed at the primary itself) its own current position."""
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return None
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                           "ELSE pg_current_wal_lsn() END)::text")
            replayed = cursor.fetchone()[0]
    except DatabaseError:
        log.warning("replica unusable, reading the primary for %s s", settings.REPLICA_RETRY_SECONDS, exc_info=True)
        _replica_down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        connections[REPLICA].close()
        return None
    return lsn_value(replayed) if replayed else None


def _awaited_position(request: HttpRequest) -> int | None:
    value = request.get_signed_cookie(LSN_COOKIE, default=None, salt=_COOKIE_SALT,
                                      max_age=settings.REPLICA_READ_YOUR_WRITES_SECONDS)
    try:
        return lsn_value(value) if value else None
    except ValueError:
        return None


def choose_database(request: HttpRequest) -> str:
    """Where this request's routed reads go: the replica when it is configured, the request only
    reads, no transaction is open on the primary, the replica answers and it has replayed this
    user's last write."""
    if (not replica_configured() or request.method not in SAFE_METHODS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block):
        return DEFAULT_DB_ALIAS
    replayed = _replayed_position()
    if replayed is None:
        return DEFAULT_DB_ALIAS
    awaited = _awaited_position(request)
    if awaited is not None and replayed < awaited:
        return DEFAULT_DB_ALIAS
    return REPLICA


@contextmanager
def replica_reads() -> Iterator[None]:
    """Route the ORM's reads to the replica inside this block (as ``choose_database`` decided)."""
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def reads_from_replica(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view whose GET and HEAD read from the replica. Only for pages that show data and
    write nothing that a following read of the same request depends on; list it in REPLICA_VIEWS."""
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not replica_configured():
            return view(request, *args, **kwargs)
        database = choose_database(request)
        request.reads_from = database  # for logs and tests: where this page's figures came from
        if database != REPLICA:
            return view(request, *args, **kwargs)
        with replica_reads():
            response = view(request, *args, **kwargs)
        if request.COOKIES.get(LSN_COOKIE):
            response.delete_cookie(LSN_COOKIE)  # the replica has this user's writes: nothing to wait for
        return response

    wrapped.reads_from_replica = True
    return wrapped


class ReadYourWritesMiddleware:
    """After an unsafe request of a logged-in user, remember the primary's WAL position in a signed
    cookie, so that the user's next marked pages wait for the replica to reach it (or read the
    primary meanwhile). Installed by the settings only when a replica is configured."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.method not in SAFE_METHODS and user is not None and user.is_authenticated:
            try:
                position = _primary_position()
            except DatabaseError:
                log.warning("primary WAL position not read; the next pages may lag", exc_info=True)
                return response
            response.set_signed_cookie(
                LSN_COOKIE, position, salt=_COOKIE_SALT, max_age=settings.REPLICA_READ_YOUR_WRITES_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")
        return response

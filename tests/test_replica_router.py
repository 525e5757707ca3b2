"""The replica router's rules, without a replica (both databases): which views may read from it, which
models never do, that a POST or an open transaction reads the primary, and that a user's own write
sends their next reads to the primary until the replica has replayed it. The end-to-end proof with
a real standby is tests/test_replica_reads.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.db import OperationalError, connections
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from eduplatform.accounts.models import User
from eduplatform.core import db_router
from eduplatform.core.db_router import (
    LSN_COOKIE,
    REPLICA,
    REPLICA_VIEWS,
    ReadYourWritesMiddleware,
    ReplicaRouter,
    choose_database,
    lsn_value,
    reads_from_replica,
    replica_reads,
)
from eduplatform.history.models import AuditEntry
from eduplatform.orgs.models import Organization
from eduplatform.stats.models import Snapshot, StudentRollup

router = ReplicaRouter()


def routed_views(patterns=None) -> set[str]:
    """The views, as the URL configuration calls them, that are marked as replica readers."""
    found = set()
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            found |= routed_views(entry.url_patterns)
        elif isinstance(entry, URLPattern) and getattr(entry.callback, "reads_from_replica", False):
            found.add(f"{entry.callback.__module__}.{entry.callback.__name__}")
    return found


def test_without_a_replica_url_there_is_no_replica_router_or_middleware():
    assert REPLICA not in settings.DATABASES
    assert not getattr(settings, "DATABASE_ROUTERS", [])
    assert "eduplatform.core.db_router.ReadYourWritesMiddleware" not in settings.MIDDLEWARE
    request = RequestFactory().get("/statistics/")
    assert reads_from_replica(lambda r: HttpResponse("ok"))(request).content == b"ok"
    assert not hasattr(request, "reads_from")


def test_the_replica_readers_are_exactly_the_listed_analysis_views_and_marked_outermost():
    assert routed_views() == REPLICA_VIEWS
    assert all(name.startswith(("eduplatform.stats.", "eduplatform.portal.")) for name in REPLICA_VIEWS)


def in_transaction(monkeypatch) -> None:
    """As inside ``transaction.atomic()`` on the primary (these tests use no database: pytest-django's
    own transaction around a test would hide the rule they check)."""
    monkeypatch.setattr(connections["default"], "in_atomic_block", True)


def test_inside_a_replica_reader_records_and_figures_come_from_the_replica_but_accounts_and_work_state_do_not(
        monkeypatch):
    assert router.db_for_read(StudentRollup) == "default"
    with replica_reads():
        assert router.db_for_read(StudentRollup) == REPLICA
        assert router.db_for_read(Organization) == REPLICA
        assert router.db_for_read(Snapshot) == REPLICA
        for model in (User, Session, AuditEntry):  # who may see what, and the audit: never lagging
            assert router.db_for_read(model) == "default", model
        assert router.db_for_write(StudentRollup) == "default"
        in_transaction(monkeypatch)  # a page that writes reads what it writes
        assert router.db_for_read(StudentRollup) == "default"
    assert router.allow_migrate("default", "stats") and not router.allow_migrate(REPLICA, "stats")


def signed_cookie(position: str) -> str:
    response = HttpResponse()
    response.set_signed_cookie(LSN_COOKIE, position, salt=db_router._COOKIE_SALT)
    return response.cookies[LSN_COOKIE].value


@pytest.fixture
def replica_at(monkeypatch):
    """A configured replica that has replayed up to the position given (None: it does not answer)."""
    def at(position: str | None) -> None:
        monkeypatch.setattr(db_router, "replica_configured", lambda: True)
        monkeypatch.setattr(db_router, "_replayed_position", lambda: None if position is None else lsn_value(position))
    return at


def test_reads_go_to_the_replica_only_once_it_has_replayed_the_users_last_write(replica_at, monkeypatch):
    factory = RequestFactory()
    replica_at("5/1000")
    assert choose_database(factory.get("/statistics/")) == REPLICA
    assert choose_database(factory.head("/statistics/")) == REPLICA
    assert choose_database(factory.post("/statistics/snapshots/")) == "default"
    waiting = factory.get("/statistics/")
    waiting.COOKIES[LSN_COOKIE] = signed_cookie("5/1001")  # written after what the replica has
    assert choose_database(waiting) == "default"
    replica_at("5/1001")
    assert choose_database(waiting) == REPLICA
    forged = factory.get("/statistics/")
    forged.COOKIES[LSN_COOKIE] = "FF/0"  # unsigned: ignored, not trusted to pin anyone to the primary
    assert choose_database(forged) == REPLICA
    replica_at(None)  # down: the primary answers, slower but correct
    assert choose_database(factory.get("/statistics/")) == "default"
    replica_at("5/1001")
    in_transaction(monkeypatch)
    assert choose_database(factory.get("/statistics/")) == "default"


def test_a_marked_view_reads_the_replica_and_drops_the_cookie_once_it_is_not_needed(replica_at):
    replica_at("5/2000")
    seen = {}

    @reads_from_replica
    def view(request):
        seen["database"] = router.db_for_read(StudentRollup)
        return HttpResponse("ok")

    request = RequestFactory().get("/statistics/")
    request.COOKIES[LSN_COOKIE] = signed_cookie("5/1000")
    response = view(request)
    assert seen["database"] == REPLICA and request.reads_from == REPLICA
    assert response.cookies[LSN_COOKIE].value == "" and response.cookies[LSN_COOKIE]["max-age"] == 0
    assert router.db_for_read(StudentRollup) == "default"  # only while the view ran


def test_after_a_logged_in_users_post_the_primarys_position_is_remembered(monkeypatch):
    monkeypatch.setattr(db_router, "_primary_position", lambda: "7/ABC0")
    middleware = ReadYourWritesMiddleware(lambda request: HttpResponse("saved"))
    factory = RequestFactory()

    def respond(method: str, user) -> HttpResponse:
        request = getattr(factory, method)("/students/new/")
        request.user = user
        return middleware(request)

    clerk = SimpleNamespace(is_authenticated=True)
    response = respond("post", clerk)
    request = factory.get("/statistics/")
    request.COOKIES[LSN_COOKIE] = response.cookies[LSN_COOKIE].value
    assert request.get_signed_cookie(LSN_COOKIE, salt=db_router._COOKIE_SALT) == "7/ABC0"
    assert response.cookies[LSN_COOKIE]["httponly"]
    assert LSN_COOKIE not in respond("get", clerk).cookies
    assert LSN_COOKIE not in respond("post", AnonymousUser()).cookies


def test_wal_positions_compare_as_numbers():
    assert lsn_value("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert lsn_value("0/FFFFFFFF") < lsn_value("1/0") < lsn_value("1/A")


def test_a_replica_that_does_not_answer_is_skipped_for_a_while(monkeypatch, settings):
    settings.REPLICA_RETRY_SECONDS = 30
    attempts = []

    class Unreachable:
        def cursor(self):
            attempts.append(1)
            raise OperationalError("connection refused")

        def close(self):
            pass

    monkeypatch.setattr(db_router, "connections", {REPLICA: Unreachable(), "default": connections["default"]})
    monkeypatch.setattr(db_router, "_replica_down_until", 0.0)
    assert db_router._replayed_position() is None
    assert db_router._replayed_position() is None  # not asked again within REPLICA_RETRY_SECONDS
    assert attempts == [1]
    monkeypatch.setattr(db_router, "_replica_down_until", 0.0)  # the pause is over: asked again
    assert db_router._replayed_position() is None and attempts == [1, 1]

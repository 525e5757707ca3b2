"""No write per read: an authenticated GET saves the session row only when the idle clock's time
stamp is older than SESSION_ACTIVITY_INTERVAL, and the idle logout still happens (issue 13, item 6)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eduplatform.accounts.middleware import LAST_SEEN_KEY

pytestmark = pytest.mark.django_db

WRITES = ("insert", "update", "delete")


def session_writes(queries) -> list[str]:
    return [q["sql"] for q in queries
            if "django_session" in q["sql"] and q["sql"].lstrip().lower().startswith(WRITES)]


def test_gets_within_the_interval_write_no_session_row(client, world, settings):
    settings.SESSION_ACTIVITY_INTERVAL = 60
    client.force_login(world.user("county_a_stat"))
    assert client.get("/").status_code == 200  # the first request after login stamps the clock
    stamp = client.session[LAST_SEEN_KEY]
    with CaptureQueriesContext(connection) as captured:
        for url in ("/", "/students/", "/", "/statistics/", "/"):
            assert client.get(url).status_code == 200, url
    assert session_writes(captured.captured_queries) == []
    assert client.session[LAST_SEEN_KEY] == stamp


def test_a_get_after_the_interval_saves_the_stamp_once(client, world, settings):
    settings.SESSION_ACTIVITY_INTERVAL = 60
    client.force_login(world.user("county_a_stat"))
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 61
    session.save()
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    assert len(session_writes(captured.captured_queries)) == 1
    assert time.time() - client.session[LAST_SEEN_KEY] < 5
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    assert session_writes(captured.captured_queries) == []


def test_a_lagging_stamp_within_the_timeout_keeps_the_session(client, world, settings):
    """A stamp up to one interval old still counts: activity keeps the session alive."""
    client.force_login(world.user("county_a_stat"))
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - settings.SESSION_IDLE_TIMEOUT + 30
    session.save()
    assert client.get("/").status_code == 200
    assert time.time() - client.session[LAST_SEEN_KEY] < 5


# The idle logout itself: tests/test_accounts.py::test_an_idle_session_is_logged_out.

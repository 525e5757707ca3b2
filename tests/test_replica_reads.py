"""Statistics from a streaming replica, with read-your-writes (issue 17, point 7).

The set-up starts a throwaway primary (a copy of the migrated test database, records written by the
services), a hot standby of it made by ``pg_basebackup -R`` on another port, and an application
process with ``DATABASE_URL`` = the primary and ``REPLICA_DATABASE_URL`` = the standby, driven through
Django's test client. Pausing the standby's replay (``pg_wal_replay_pause()``) makes it lag on
purpose: then a page showing the standby's older figure was read from the standby, and a user who
has just saved sees the primary's. PostgreSQL pass only; skipped if the PostgreSQL 15 programs are
missing.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import connection

from eduplatform.core.db_router import LSN_COOKIE
from tests import pg_cluster
from tests.pg_cluster import App, Cluster, as_postgres, run, sql, wait_for

DB = "eduplatform"
SCHOOL_A1 = "2144000001"
# What the analysis pages answer from (one of each kind of marked view).
PAGES = {
    "live": "/statistics/",
    "export": "/statistics/?format=xlsx&table=overview",
    "pivot": "/statistics/pivot/?subject=students&rows=area&cols=stage",
    "indicators": "/statistics/indicators/",
    "snapshots": "/statistics/snapshots/",
    "portal": "/public/",
}

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="a hot standby is PostgreSQL streaming replication: PostgreSQL pass only"),
    pytest.mark.django_db,  # the migrated test database is copied into the throwaway primary
]


# --------------------------------------------------------------------------------------------
# Steps run in the application process (default database: the primary; replica: the standby)

_clients: dict = {}


def _client(user: str | None):
    from django.test import Client

    from eduplatform.accounts.models import User

    if user not in _clients:
        client = Client()
        if user is not None:
            account = User.objects.get(username=user)
            client.force_login(account)
            # The code step, as tests/conftest.py completes it for the suite's own clients (the
            # fixture does not reach this process): province users need a second factor.
            from django_otp import DEVICE_ID_SESSION_KEY

            from eduplatform.accounts.twofactor import needs_code_step
            from tests.conftest import totp_device

            if needs_code_step(account):
                session = client.session
                session[DEVICE_ID_SESSION_KEY] = totp_device(account).persistent_id
                session.save()
        _clients[user] = client
    return _clients[user]


def _app_load() -> dict:
    from eduplatform.accounts.models import User
    from eduplatform.orgs.models import Organization
    from eduplatform.students import services
    from tests.pg_cluster import empty_records
    from tests.students_support import student_row
    from tests.world import build_world

    empty_records()
    build_world()
    for seq in range(1, 4):
        services.enrol_student(actor=User.objects.get(username="clerk_a1"),
                               school=Organization.objects.get(school_code=SCHOOL_A1), data=student_row(seq))
    return {}


def _app_page(*, user: str | None, path: str) -> dict:
    """GET a page as ``user``: its status, which database its view read, the students it shows (the
    live overview's or its export's total), and whether the user's read-your-writes cookie is set."""
    from python_calamine import CalamineWorkbook

    client = _client(user)
    response = client.get(path)
    answer = {"status": response.status_code, "reads_from": getattr(response.wsgi_request, "reads_from", None)}
    if path == PAGES["live"]:
        labels = response.context["overview_labels"]
        answer["students"] = int(response.context["overview_total"][labels.index("在校生")])
    elif path == PAGES["export"]:
        book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
        answer["students"] = int(rows[-1][rows[0].index("在校生")])
    cookie = client.cookies.get(LSN_COOKIE)
    answer["waits_for"] = cookie.value if cookie is not None and cookie.value else None
    return answer


def _app_register(*, user: str, seq: int) -> dict:
    """The new-student form of the user's school, posted as a clerk does."""
    from tests.students_support import student_row

    data = {k: str(v) for k, v in student_row(seq).items()}
    data.update(gender="2" if seq % 2 == 0 else "1", grade="11", entered_on="2025-09")
    response = _client(user).post("/students/new/", data)
    cookie = _client(user).cookies.get(LSN_COOKIE)
    return {"status": response.status_code, "location": response.get("Location", ""),
            "waits_for": cookie.value if cookie is not None else None}


def _app_post_snapshot_form(*, user: str) -> dict:
    """A POST to a marked view (the snapshot list takes a snapshot): an empty form, refused."""
    response = _client(user).post("/statistics/snapshots/", {"census_date": ""})
    return {"status": response.status_code, "reads_from": getattr(response.wsgi_request, "reads_from", None)}


def _app_enrol_elsewhere(*, seq: int) -> dict:
    """A registration committed by another connection (no request of the test's users)."""
    from eduplatform.accounts.models import User
    from eduplatform.orgs.models import Organization
    from eduplatform.students import services
    from tests.students_support import student_row

    services.enrol_student(actor=User.objects.get(username="clerk_a1"),
                           school=Organization.objects.get(school_code=SCHOOL_A1), data=student_row(seq))
    return {}


# --------------------------------------------------------------------------------------------


@dataclass
class Pair:
    primary: Cluster
    standby: Cluster
    app: App

    def students(self, cluster: Cluster) -> int:
        return sql(cluster.url(DB), "SELECT count(*) FROM students_enrolment WHERE is_active")[0][0]

    def caught_up(self) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        ((target,),) = sql(self.primary.url(DB), "SELECT pg_current_wal_insert_lsn()::text")
        wait_for(lambda: sql(self.standby.url(DB), "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))
                 == [(True,)], what="the standby to replay the primary's WAL", timeout=30)

    @contextmanager
    def replay_paused(self) -> Iterator[None]:
        sql(self.standby.url(DB), "SELECT pg_wal_replay_pause()")
        wait_for(lambda: sql(self.standby.url(DB), "SELECT pg_get_wal_replay_pause_state()") == [("paused",)],
                 what="the standby's replay to pause", timeout=10)
        try:
            yield
        finally:
            sql(self.standby.url(DB), "SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def pair(django_db_setup, django_db_blocker) -> Iterator[Pair]:
    if missing := pg_cluster.missing_tools("pg_basebackup"):
        pytest.skip(missing)
    with pg_cluster.workspace("replica-reads-") as space:
        primary, standby = space.cluster("primary"), space.cluster("standby")
        # Started while the clusters are prepared; it connects to neither before its first step.
        app = space.app(__name__, primary.url(DB), REPLICA_DATABASE_URL=standby.url(DB))
        primary.start()
        with django_db_blocker.unblock():
            pg_cluster.copy_test_database(connection.settings_dict, primary, DB)
        app("load")
        space.directory("standby")
        run(as_postgres([str(pg_cluster.PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                         "-U", "postgres", "-D", str(standby.directory), "-R", "-X", "stream", "-c", "fast"]))
        standby.start()
        pair = Pair(primary, standby, app)
        assert sql(standby.url(DB), "SELECT pg_is_in_recovery()") == [(True,)]
        pair.caught_up()
        yield pair


def test_statistics_pivots_exports_and_the_portal_are_read_from_the_replica(pair):
    pair.caught_up()
    before = pair.app("page", user="province", path=PAGES["live"])
    assert before["reads_from"] == "replica" and before["students"] == pair.students(pair.primary)

    with pair.replay_paused():
        pair.app("enrol_elsewhere", seq=50)
        assert pair.students(pair.primary) == pair.students(pair.standby) + 1  # the standby lags
        seen = {name: pair.app("page", user=None if name == "portal" else "province", path=path)
                for name, path in PAGES.items()}

    assert {name: (page["status"], page["reads_from"]) for name, page in seen.items()} == {
        name: (200, "replica") for name in PAGES}
    # The standby's figure, not the primary's: the pages were computed on the standby.
    assert seen["live"]["students"] == seen["export"]["students"] == before["students"]

    pair.caught_up()
    after = pair.app("page", user="province", path=PAGES["live"])
    assert after["reads_from"] == "replica" and after["students"] == before["students"] + 1


def test_a_users_own_write_is_on_their_next_page_while_the_replica_lags(pair):
    pair.caught_up()
    clerk_before = pair.app("page", user="clerk_a1", path=PAGES["live"])
    county_before = pair.app("page", user="county_a_stat", path=PAGES["live"])
    assert clerk_before["reads_from"] == county_before["reads_from"] == "replica"

    with pair.replay_paused():
        saved = pair.app("register", user="clerk_a1", seq=60)
        assert saved["status"] == 302 and saved["location"].startswith("/students/") and saved["waits_for"]
        own = pair.app("page", user="clerk_a1", path=PAGES["live"])
        own_export = pair.app("page", user="clerk_a1", path=PAGES["export"])
        other = pair.app("page", user="county_a_stat", path=PAGES["live"])
        standby_then = pair.students(pair.standby)

    # The clerk sees the new student at once, from the primary, while the replica does not have it.
    assert own["reads_from"] == own_export["reads_from"] == "default"
    assert own["students"] == own_export["students"] == clerk_before["students"] + 1
    assert standby_then == pair.students(pair.primary) - 1
    # Someone who wrote nothing keeps reading the replica (and its figure of before the write).
    assert other["reads_from"] == "replica" and other["students"] == county_before["students"]

    pair.caught_up()
    later = pair.app("page", user="clerk_a1", path=PAGES["live"])
    # Once the replica has replayed the clerk's write, the clerk is back on it, with nothing to wait for.
    assert later["reads_from"] == "replica" and later["students"] == clerk_before["students"] + 1
    assert later["waits_for"] is None


def test_a_post_to_a_replica_reading_view_reads_the_primary(pair):
    answer = pair.app("post_snapshot_form", user="province")
    assert answer == {"status": 200, "reads_from": "default"}  # the form again, with its error

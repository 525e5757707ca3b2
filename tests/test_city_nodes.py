"""City nodes end to end: a province cluster publishing per city, a node cluster with a Guangzhou and a
Shenzhen database subscribing (PostgreSQL logical replication with row filters, docs/nodes.md).

The set-up starts two throwaway clusters with wal_level=logical on free ports (scripts/pg-cluster.sh),
copies the migrated test database's schema into them (the province also gets its reference data), and
writes at the province through the real services, in a subprocess whose default database is the
province. PostgreSQL pass only; the clusters are destroyed at the end, even when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from eduplatform.nodes.plan import HEARTBEAT, replicated_tables

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLUSTER = ROOT / "scripts" / "pg-cluster.sh"
GZ, SZ = "4401", "4403"
GZ_PATH, SZ_PATH = "44/4401/", "44/4403/"

# The test database is only the source of the clusters' schema; marking the tests makes pytest-django
# create it (with the reference data the session loads).
pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="city nodes replicate with PostgreSQL logical replication: PostgreSQL pass only"),
    pytest.mark.django_db,
]


def _missing_tools() -> str:
    if not (PG_BIN / "initdb").exists():
        return f"{PG_BIN}/initdb not found: the city-node test starts its own PostgreSQL 15 clusters"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser not found: as root the clusters must be started as the postgres OS user"
    return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)  # noqa: S603 — our own commands
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Nodes:
    base: Path
    province_port: int
    node_port: int

    def url(self, port: int, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{db}"

    @property
    def province_url(self) -> str:
        return self.url(self.province_port, "province")

    @property
    def province_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.province_port} dbname=province user=postgres"

    def node_url(self, city: str) -> str:
        return self.url(self.node_port, f"node_{city}")

    def manage(self, database_url: str, *args: str) -> str:
        env = {**os.environ, "DATABASE_URL": database_url}
        return _run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, timeout=120).stdout

    def at_province(self, step: str, **kwargs) -> dict:
        """Run one of the ``_province_*`` steps below in a process whose database is the province."""
        env = {**os.environ, "DATABASE_URL": self.province_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
        code = ("import django, json; django.setup(); from tests import test_city_nodes as t; "
                f"print('RESULT' + json.dumps(t._province_{step}(**{kwargs!r})))")
        out = _run([sys.executable, "-c", code], cwd=ROOT, env=env, timeout=120).stdout
        return json.loads(out.split("RESULT", 1)[1])

    def cluster(self, action: str, name: str, port: int | None = None) -> None:
        _run(["bash", str(CLUSTER), action, str(self.base / name), *([str(port)] if port else [])], timeout=120)


def _sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(query, params or None)
        return rows.fetchall() if rows.description else []


@pytest.fixture(scope="module")
def nodes(django_db_setup, django_db_blocker) -> Iterator[Nodes]:
    if missing := _missing_tools():
        pytest.skip(missing)
    base = Path(tempfile.mkdtemp(prefix="city-nodes-"))
    base.chmod(0o755)  # the postgres OS user must reach the cluster directories
    nodes = Nodes(base=base, province_port=_free_port(), node_port=_free_port())
    try:
        nodes.cluster("start", "province", nodes.province_port)
        nodes.cluster("start", "node", nodes.node_port)
        _provision(nodes)
        yield nodes
    finally:
        for name in ("node", "province"):
            subprocess.run(["bash", str(CLUSTER), "destroy", str(base / name)],  # noqa: S603, S607
                           capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def _provision(nodes: Nodes) -> None:
    """Schema from the migrated test database (faster than migrating three times); the province gets
    its reference data too, each node only the migration bookkeeping (the rest arrives by replication)."""
    source = connection.settings_dict
    dump = [str(PG_BIN / "pg_dump"), "-h", source["HOST"] or "127.0.0.1", "-p", str(source["PORT"] or 5432),
            "-U", source["USER"] or "postgres", "--no-owner", "--no-privileges", source["NAME"]]
    bookkeeping = ["-t", "django_migrations", "-t", "django_content_type", "-t", "auth_permission"]
    full = _run(dump, timeout=120).stdout
    schema = _run([*dump, "--schema-only"], timeout=120).stdout
    migrations = _run([*dump, "--data-only", *bookkeeping], timeout=120).stdout
    for port, db, script in [(nodes.province_port, "province", full), (nodes.node_port, f"node_{GZ}", schema),
                             (nodes.node_port, f"node_{SZ}", schema)]:
        _sql(nodes.url(port, "postgres"), f'CREATE DATABASE "{db}"')
        psql = [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", nodes.url(port, db)]
        _run(psql, input=script, timeout=120)
        if db != "province":
            _run(psql, input=migrations, timeout=120)
    # The province was a copy of a test database: empty its records, keep reference data.
    nodes.at_province("setup")
    # Guangzhou the documented way (migrate, then subscribe); Shenzhen's schema is already complete.
    nodes.manage(nodes.node_url(GZ), "node_subscribe", "--province-dsn", nodes.province_dsn, "--city", GZ)
    nodes.manage(nodes.node_url(SZ), "node_subscribe", "--province-dsn", nodes.province_dsn, "--city", SZ,
                 "--no-migrate")
    for city in (GZ, SZ):
        _wait(lambda c=city: _tables_ready(nodes.node_url(c)), what=f"initial copy of node {city}", timeout=60)


def _tables_ready(url: str) -> bool:
    ((ready, total),) = _sql(url, "SELECT count(*) FILTER (WHERE srsubstate IN ('r','s')), count(*) FROM pg_subscription_rel")
    return total > 0 and ready == total


def _wait(condition, *, what: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _barrier(nodes: Nodes, city: str, *, timeout: float = 30) -> None:
    """Wait until the node has applied everything the province committed so far: a heartbeat written
    now arrives after every earlier commit (a subscription applies in commit order)."""
    ((beat,),) = _sql(nodes.province_url, "UPDATE nodes_nodeheartbeat SET beaten_at = clock_timestamp() "
                                          "WHERE city_code = %s RETURNING beaten_at", (city,))
    _wait(lambda: _sql(nodes.node_url(city), "SELECT 1 FROM nodes_nodeheartbeat WHERE city_code = %s "
                                              "AND beaten_at >= %s", (city, beat)),
          what=f"node {city} to catch up", timeout=timeout)


def _student_ids(url: str) -> set[int]:
    return {r[0] for r in _sql(url, "SELECT id FROM students_student")}


def _rows(url: str, table: str, pk: str, where: str = "", skip: tuple[str, ...] = ()) -> list[tuple]:
    columns = [r[0] for r in _sql(url, "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                                       "ORDER BY ordinal_position", (table,)) if r[0] not in skip]
    select = ", ".join(f'"{c}"' for c in columns)
    query = f'SELECT {select} FROM "{table}"' + (f" WHERE {where}" if where else "") + f' ORDER BY "{pk}"'  # noqa: S608
    return _sql(url, query)


def _assert_node_matches_province(nodes: Nodes, city: str, path: str) -> int:
    """Every replicated table on the node holds exactly the province's rows of the city: nothing lost,
    nothing duplicated, nothing of another city. Returns the number of rows compared."""
    compared = 0
    for table in replicated_tables():
        where = table.row_filter(city_path=path, city_code=city)
        skip = ("received_at",) if table.label == HEARTBEAT else ()
        expected = _rows(nodes.province_url, table.table, table.pk, where, skip)
        actual = _rows(nodes.node_url(city), table.table, table.pk, skip=skip)
        assert actual == expected, f"{table.table} on node {city}: {len(actual)} rows, province has {len(expected)}"
        compared += len(expected)
    return compared


# --------------------------------------------------------------------------------------------
# Steps run at the province (in a subprocess whose default database is the province)


def _province_setup() -> dict:
    from django.core.management import call_command

    from eduplatform.nodes.models import CityNode
    from tests.world import build_world

    with connection.cursor() as cursor:  # records copied with the test database's dump, if any
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN "
                       "('django_migrations', 'django_content_type', 'auth_permission') AND NOT tablename LIKE "
                       "ANY (ARRAY['orgs_region%', 'standards_%', 'funding_%'])")
        tables = [r[0] for r in cursor.fetchall()]
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    call_command("node_publish", city=[GZ, SZ])
    build_world()
    return {"published": CityNode.objects.count()}


def _province_register(*, seq: int) -> dict:
    from django.db import transaction

    from eduplatform.accounts.models import User
    from eduplatform.orgs.models import Organization
    from eduplatform.students import services
    from tests.students_support import student_row

    clerk = User.objects.get(username="clerk_a1")
    committed_at: list[float] = []
    with transaction.atomic():
        # first of the after-commit callbacks: the moment of the commit, before the roll-up refresh
        transaction.on_commit(lambda: committed_at.append(time.time()))
        enrolment = services.enrol_student(actor=clerk, school=Organization.objects.get(school_code="2144000001"),
                                           data=student_row(seq))
    return {"student": enrolment.student_id, "enrolment": enrolment.pk, "committed_at": committed_at[0]}


def _province_transfer_to_shenzhen(*, student: int) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from eduplatform.accounts.models import User
    from eduplatform.orgs.models import Organization
    from eduplatform.students import approvals
    from eduplatform.students.models import Enrolment

    user = User.objects.get
    enrolment = Enrolment.objects.get(student_id=student, is_active=True)
    with transaction.atomic():
        request = approvals.apply_transfer(
            actor=user(username="county_c_stat"), to_school=Organization.objects.get(school_code="2144000003"),
            enrolment=enrolment, to_grade="11", effective_on=timezone.localdate(), reason="随迁就读")
    for step in request.steps.order_by("order"):
        approver = user(organization_id=step.organization_id, username__in=[
            "county_c_stat", "clerk_a1", "county_a_reviewer"])
        with transaction.atomic():
            approvals.decide(actor=approver, step=step, approve=True)
    request.refresh_from_db()
    return {"request": request.pk, "status": request.status, "committed_at": time.time()}


def _province_burst(*, first: int, count: int) -> dict:
    """Inserts, updates and deletes while a node is down: new students in both cities, edits of
    Guangzhou students, two dated changes of a school on one day (the second replaces the first's
    version row: a DELETE) and a full roll-up rebuild (DELETE and INSERT of every roll-up row)."""
    from django.db import transaction

    from eduplatform.accounts.models import User
    from eduplatform.orgs import services as orgs
    from eduplatform.orgs.models import Organization
    from eduplatform.stats.rollup import rebuild_all
    from eduplatform.students import services
    from eduplatform.students.models import Student
    from tests.students_support import student_row

    user = User.objects.get
    gz_school = Organization.objects.get(school_code="2144000001")
    sz_school = Organization.objects.get(school_code="2144000003")
    for i in range(count):
        in_gz = i % 4 != 3
        with transaction.atomic():
            services.enrol_student(actor=user(username="clerk_a1" if in_gz else "county_c_stat"),
                                   school=gz_school if in_gz else sz_school, data=student_row(first + i))
    for student in Student.objects.filter(region_path__startswith=GZ_PATH).order_by("pk")[:5]:
        with transaction.atomic():
            services.update_student(actor=user(username="clerk_a1"), student=student,
                                    data={"phone": "13700137000"})
    for phone in ("020-87654321", "020-11112222"):
        with transaction.atomic():
            orgs.update_school(actor=user(username="county_a_stat"), school=Organization.objects.get(pk=gz_school.pk),
                               data={"phone": phone, "name": f"天河测试小学{phone[-4:]}"}, reason="更名")
    rebuild_all()
    return {"students": Student.objects.count()}


# --------------------------------------------------------------------------------------------


def test_a_student_registered_in_guangzhou_reaches_the_guangzhou_node_within_2_s_and_never_shenzhen(nodes):
    before_sz = _student_ids(nodes.node_url(SZ))

    written = nodes.at_province("register", seq=1)

    _wait(lambda: written["student"] in _student_ids(nodes.node_url(GZ)), what="the student on the Guangzhou node",
          timeout=10)
    lag = time.time() - written["committed_at"]
    assert lag < 2.0, f"the student reached the Guangzhou node {lag:.2f} s after the commit"
    _barrier(nodes, SZ)  # Shenzhen has applied everything committed since, so 'never' is checked
    assert _student_ids(nodes.node_url(SZ)) == before_sz
    gz_enrolments = {r[0] for r in _sql(nodes.node_url(GZ), "SELECT id FROM students_enrolment")}
    assert written["enrolment"] in gz_enrolments
    feed = _sql(nodes.node_url(GZ), "SELECT region_path FROM history_changefeedentry")
    assert feed and all(path.startswith(GZ_PATH) for (path,) in feed)
    # reference data arrives whole: every division, Shenzhen's included
    assert _sql(nodes.node_url(GZ), "SELECT count(*) FROM orgs_region WHERE code = '440300000000'") == [(1,)]


def test_a_student_transferred_to_shenzhen_leaves_the_guangzhou_node_and_arrives_in_shenzhen(nodes):
    student = nodes.at_province("register", seq=2)["student"]
    _barrier(nodes, GZ)
    assert student in _student_ids(nodes.node_url(GZ))

    moved = nodes.at_province("transfer_to_shenzhen", student=student)

    assert moved["status"] == "approved"
    _barrier(nodes, GZ)
    _barrier(nodes, SZ)
    assert student not in _student_ids(nodes.node_url(GZ))
    assert student in _student_ids(nodes.node_url(SZ))
    # The transfer request concerns both cities: each node sees it.
    for city in (GZ, SZ):
        assert _sql(nodes.node_url(city), "SELECT id FROM students_changerequest WHERE id = %s",
                    (moved["request"],)) == [(moved["request"],)]
    # Guangzhou keeps its own history: the closed registration at its school.
    assert _sql(nodes.node_url(GZ), "SELECT is_active FROM students_enrolment WHERE student_id = %s",
                (student,)) == [(False,)]


def test_a_node_stopped_and_restarted_catches_up_with_nothing_lost_or_duplicated(nodes):
    nodes.cluster("stop", "node")
    try:
        nodes.at_province("burst", first=100, count=12)
        retained = _sql(nodes.province_url, "SELECT slot_name, active FROM pg_replication_slots ORDER BY 1")
        assert retained == [("city_4401", False), ("city_4403", False)]  # WAL kept for the absent node
    finally:
        nodes.cluster("start", "node", nodes.node_port)

    for city, path in ((GZ, GZ_PATH), (SZ, SZ_PATH)):
        _barrier(nodes, city, timeout=60)
        assert _assert_node_matches_province(nodes, city, path) > 1900  # divisions alone are 1,901 rows
    gz_students = _student_ids(nodes.node_url(GZ))
    assert gz_students and gz_students.isdisjoint(_student_ids(nodes.node_url(SZ)))


def test_replicated_tables_are_read_only_on_the_node_and_the_heartbeat_gives_the_lag(nodes):
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="在市级节点上只读"):
        _sql(nodes.node_url(GZ), "DELETE FROM students_student")
    _barrier(nodes, GZ)
    ((lag,),) = _sql(nodes.node_url(GZ), "SELECT extract(epoch FROM received_at - beaten_at) FROM nodes_nodeheartbeat")
    assert 0 <= lag < 2

    status = json.loads(nodes.manage(nodes.node_url(GZ), "node_status", "--json"))
    (mine,) = status["subscribed"]
    assert mine["worker_running"] and mine["tables_ready"] == mine["tables_total"] > 50
    assert mine["province_reachable"] is True and mine["lag_bytes"] is not None
    province = json.loads(nodes.manage(nodes.province_url, "node_status", "--json"))
    assert {s["city_code"]: s["connected"] for s in province["published"]} == {GZ: True, SZ: True}


def test_a_node_resynchronised_from_scratch_holds_exactly_the_province_rows_again(nodes):
    """After an outage longer than the province keeps WAL for: drop, empty, copy again."""
    registered = _sql(nodes.node_url(GZ), "SELECT created_at FROM nodes_citynode WHERE role = 'subscriber'")
    nodes.manage(nodes.node_url(GZ), "node_subscribe", "--province-dsn", nodes.province_dsn, "--city", GZ,
                 "--resync", "--no-migrate")
    _wait(lambda: _tables_ready(nodes.node_url(GZ)), what="the new initial copy", timeout=60)
    _barrier(nodes, GZ)
    assert _assert_node_matches_province(nodes, GZ, GZ_PATH) > 1900
    # the node's own rows (not replicated) survived the emptying
    assert _sql(nodes.node_url(GZ), "SELECT created_at FROM nodes_citynode WHERE role = 'subscriber'") == registered
    assert _sql(nodes.province_url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'city_4401'") == [(1,)]

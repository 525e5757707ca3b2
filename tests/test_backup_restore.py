"""Backups that are restored (issue 17, point 6): a base backup and the WAL archive made by
deploy/backup/ restore, into a fresh cluster, exactly the state of a chosen moment.

A throwaway primary archives its WAL through ``archive-wal.sh``; the application writes records
through its services (a process whose database is that primary); ``backup.sh`` takes a verified base
backup; more records are written, the moment T noted with every table's row count and checksum;
more again after T. ``restore.sh --target-time T`` prepares a fresh data directory, a server started
on it replays the archive and promotes, and every table holds what it held at T — not one row of
what came after. PostgreSQL pass only (SQLite has no WAL archive); skipped if the PostgreSQL 15
programs are missing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from tests import pg_cluster
from tests.pg_cluster import App, Cluster, Workspace, as_postgres, run, sql, wait_for

BACKUP = pg_cluster.ROOT / "deploy" / "backup"
DB = "eduplatform"

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="base backups and WAL archiving are PostgreSQL's: PostgreSQL pass only"),
    pytest.mark.django_db,  # the migrated test database is copied into the throwaway primary
]


# --------------------------------------------------------------------------------------------
# Steps run in the application process (its database is the throwaway primary)


def _app_load() -> dict:
    from tests.pg_cluster import empty_records
    from tests.world import build_world

    empty_records()
    world = build_world()
    return {**_app_enrol(first=1, count=4), "schools": [world.school_a1.pk, world.school_b1.pk]}


def _app_enrol(*, first: int, count: int) -> dict:
    """Register students through the service (records, 学籍号, audit, change feed, roll-ups), half
    at each of two schools, and correct the last one's phone number (an UPDATE, not only INSERTs)."""
    from django.db import transaction

    from eduplatform.accounts.models import User
    from eduplatform.orgs.models import Organization
    from eduplatform.students import services
    from tests.students_support import student_row

    schools = [("clerk_a1", "2144000001"), ("clerk_b1", "2144000002")]
    enrolled = []
    for seq in range(first, first + count):
        clerk, code = schools[seq % 2]
        with transaction.atomic():
            enrolment = services.enrol_student(actor=User.objects.get(username=clerk),
                                               school=Organization.objects.get(school_code=code), data=student_row(seq))
        enrolled.append(enrolment.student_id)
    with transaction.atomic():
        services.update_student(actor=User.objects.get(username=clerk),
                                student=enrolment.student, data={"phone": "13700137000"})
    return {"students": enrolled}


# --------------------------------------------------------------------------------------------


def table_checksums(url: str) -> dict[str, tuple[int, str]]:
    """Row count and MD5 of the ordered rows of every table of the schema (a partitioned table once,
    with its partitions). Unlogged tables are left out: their content is not in WAL, so no backup
    has it, by PostgreSQL's design (the platform has none; a test below says so)."""
    tables = [r[0] for r in sql(url, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                     "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
                                     "AND c.relpersistence = 'p' ORDER BY 1")]
    query = " UNION ALL ".join(
        f"SELECT '{t}', count(*), coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '') FROM \"{t}\" r"  # noqa: S608
        for t in tables)
    return {name: (count, digest) for name, count, digest in sql(url, query)}


@dataclass
class Primary:
    space: Workspace
    cluster: Cluster
    archive: Path
    backups: Path
    app: App

    @property
    def url(self) -> str:
        return self.cluster.url(DB)

    def script(self, name: str, *args: str, **env: str) -> str:
        """One of deploy/backup/ as the postgres OS user, as an operator would run it."""
        full_env = {**os.environ, "PG_BIN": str(pg_cluster.PG_BIN), **env}
        return run(as_postgres(["bash", str(BACKUP / name), *args]), env=full_env, timeout=180).stdout


@pytest.fixture(scope="module")
def primary(django_db_setup, django_db_blocker) -> Iterator[Primary]:
    if missing := pg_cluster.missing_tools("pg_basebackup", "pg_verifybackup", "pg_archivecleanup"):
        pytest.skip(missing)
    with pg_cluster.workspace("backup-restore-") as space:
        archive, backups = space.directory("wal-archive"), space.directory("backups")
        cluster = space.cluster("primary")
        app = space.app(__name__, cluster.url(DB))  # starts while the cluster is prepared
        cluster.start(f"-c archive_mode=on -c archive_command='/bin/sh {BACKUP / 'archive-wal.sh'} %p %f {archive}'")
        with django_db_blocker.unblock():
            pg_cluster.copy_test_database(connection.settings_dict, cluster, DB)
        yield Primary(space, cluster, archive, backups, app)


def test_a_backup_restored_to_a_point_in_time_holds_exactly_the_rows_of_that_moment(primary):
    loaded = primary.app("load")
    backup = primary.script("backup.sh", BACKUP_DIR=str(primary.backups), WAL_ARCHIVE=str(primary.archive),
                            PGHOST="127.0.0.1", PGPORT=str(primary.cluster.port), PGUSER="postgres").strip()
    assert Path(backup).parent == primary.backups and (Path(backup) / "backup_manifest").exists()

    after_backup = primary.app("enrol", first=100, count=3)
    ((moment,),) = sql(primary.url, "SELECT clock_timestamp()::text")
    at_moment = table_checksums(primary.url)
    later = primary.app("enrol", first=200, count=3)
    latest = table_checksums(primary.url)
    ((segment,),) = sql(primary.url, "SELECT pg_walfile_name(pg_switch_wal())")
    wait_for(lambda: sql(primary.url, "SELECT last_archived_wal >= %s FROM pg_stat_archiver", (segment,)) == [(True,)],
             what=f"WAL segment {segment} to be archived", timeout=30)

    restored = primary.space.cluster("restored")
    primary.space.directory("restored")  # empty, the postgres OS user's: restore.sh fills it
    out = primary.script("restore.sh", "--backup", backup, "--pgdata", str(restored.directory),
                         "--archive", str(primary.archive), "--target-time", moment)
    assert "is ready" in out
    restored.start()
    wait_for(lambda: sql(restored.url(DB), "SELECT NOT pg_is_in_recovery()") == [(True,)],
             what="the restored server to reach the target and promote", timeout=60)

    assert "recovery stopping before commit" in restored.log()
    got = table_checksums(restored.url(DB))
    assert got.keys() == at_moment.keys()
    differing = {t: (got[t], at_moment[t]) for t in at_moment if got[t] != at_moment[t]}
    assert not differing, f"tables unlike the moment {moment}: {differing}"
    # The moment is really between the writes: the student rows of before it, none of after it.
    student_ids = {r[0] for r in sql(restored.url(DB), "SELECT id FROM students_student")}
    assert set(loaded["students"] + after_backup["students"]) == student_ids
    assert student_ids.isdisjoint(later["students"])
    assert latest["students_student"][0] == at_moment["students_student"][0] + 3
    assert sum(count for count, _ in got.values()) > 2000  # reference data and records, not an empty shell
    # Promoted on a timeline of its own: it takes writes, and never into the original's WAL history.
    assert sql(restored.url(DB), "SELECT timeline_id > 1 FROM pg_control_checkpoint()") == [(True,)]


def test_the_platform_has_no_unlogged_table_a_backup_would_miss(primary):
    assert sql(primary.url, "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'public' AND c.relpersistence = 'u'") == []


def test_archiving_a_segment_twice_is_success_and_a_different_file_of_that_name_is_refused(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    segment = tmp_path / "000000010000000000000001"
    segment.write_bytes(b"wal" * 100)
    command = ["sh", str(BACKUP / "archive-wal.sh"), str(segment), segment.name, str(archive)]
    assert subprocess.run(command, check=False).returncode == 0  # noqa: S603
    assert subprocess.run(command, check=False).returncode == 0  # noqa: S603 — a retry after a crash
    segment.write_bytes(b"other" * 100)
    refused = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603
    assert refused.returncode == 1 and "refusing to overwrite" in refused.stderr
    assert (archive / segment.name).read_bytes() == b"wal" * 100
    assert sorted(p.name for p in archive.iterdir()) == [segment.name]  # no temporary file left behind

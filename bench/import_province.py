"""The 50,000-row student import into the province database, beside a bare COPY of the same rows.

    make bench                                    (bench/run.py runs this script after the statistics)
    .venv/bin/python bench/import_province.py     (alone; --phases: where the time goes; --explain: the
                                                   plans of the province-wide duplicate checks)

The province database (``PROVINCE_DATABASE_URL``, 27.5 million students, generated once and reused
by bench/statistics.py) receives the same spreadsheet a school clerk uploads (bench/students.py:
50,000 primary-school rows with valid, distinct resident ID numbers, guardians and phones) through
the path users take: ``imports.submit_import`` stores the file as an ``ImportJob`` and queues the
worker's task (``imports.tasks.run_import_job`` → ``runner.run_import``), here run by Django's
immediate task backend so that the clock stops when the worker would be done: read the file, check
every row, check against the whole province (ID numbers and 学籍号 among the 27 million students),
write students, enrolments, 入学 events, audit entries and change-feed entries, mark the school
dirty and refresh its roll-ups (school and county) after the commit.

The school is the demo clerk's (``school_clerk``). The baseline, measured in the same run on the
same rows: ``COPY`` of the 16 text columns into a temporary table.

Cleanup — the database is left as it was, so the benchmark can run again: everything the import
wrote is deleted by what identifies it (the students by the blind index of the file's ID numbers,
their enrolments, events and feed entries, the classes it opened, the job), then the school's
roll-ups are refreshed, which takes the 50,000 students back out of the county roll-up. Its audit
entries stay: the audit log is append-only (a trigger refuses deletes) and records the benchmark's
writes as it records anyone's. The counts of every other table written and the school's and county's roll-up totals are
compared before and after; a difference stops the run with an error. The same cleanup runs first,
so an interrupted earlier run cannot make this one fail (``--cleanup-only`` runs just that).
These deletes bypass the services on purpose: the register never deletes a student, the benchmark
has to.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ (first on sys.path when run as a script) holds statistics.py, which would shadow the
# standard library's statistics module: the project root takes its place.
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

from bench.statistics import URL, ensure_data, load, say  # noqa: E402  (sets DATABASE_URL to the province's)

# The worker's task runs inline when the job is queued (after submit's commit): same function, same
# transaction boundaries, and the clock stops when the job is done.
os.environ["TASKS_BACKEND"] = "immediate"

GOAL_ROWS_PER_S = 20_000
FILE_NAME = "bench-province-import.xlsx"  # identifies the benchmark's jobs in the cleanup
CLERK = "school_clerk"


def _counts(school) -> dict[str, int]:
    """What the cleanup must bring back: rows of every table the import writes, and roll-up totals."""
    from django.db import connection
    from django.db.models import Sum

    from eduplatform.stats.models import StudentCountyRollup, StudentRollup
    from eduplatform.stats.rollup import COUNTY_PATH_LENGTH

    queries = {
        "students": "SELECT count(*) FROM students_student",
        "enrolments": "SELECT count(*) FROM students_enrolment",
        "events": "SELECT count(*) FROM students_studentevent",
        "classes": "SELECT count(*) FROM students_schoolclass",
        "feed entries": "SELECT count(*) FROM history_changefeedentry",
        "import jobs": "SELECT count(*) FROM core_importjob",
    }
    out = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql)
            out[name] = cursor.fetchone()[0]
    county = school.region_path[:COUNTY_PATH_LENGTH]
    out["school roll-up (enrolled)"] = StudentRollup.objects.filter(school_id=school.pk).aggregate(
        n=Sum("enrolled"))["n"] or 0
    out["county roll-up (enrolled)"] = StudentCountyRollup.objects.filter(region_path=county).aggregate(
        n=Sum("enrolled"))["n"] or 0
    return out


def cleanup(school, rows: list[list[str]], *, classes_after: int | None = None) -> int:
    """Delete what the benchmark's import wrote (see the module's docstring); the students deleted.

    ``classes_after``: the highest class id before the run, so that exactly the classes the import
    opened go. Without it (what an interrupted run left), the school's classes that no enrolment
    names go, and only when that run's students were found."""
    from django.db import connection, transaction

    from eduplatform.core.bulk import select_in
    from eduplatform.core.identity import Sealer
    from eduplatform.history.services import mark_schools_dirty
    from eduplatform.stats import rollup

    sealer = Sealer()
    indexes = [sealer.id_index("1", row[4]) for row in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        found = select_in("SELECT id, student_number, school_id FROM students_student WHERE id_number_index <> ''"
                          " AND id_number_index IN %s", indexes)
        elsewhere = sum(1 for _sid, _number, school_id in found if school_id != school.pk)
        if elsewhere:
            # The register's own people (another school's pupils), not the bench's: never deleted
            # here (their schools' roll-ups would keep counting them). The rows must be made new.
            sys.exit(f"{elsewhere:,} of the bench's ID numbers belong to students of other schools: "
                     "bench/students.py must draw numbers the register does not hold")
        found = [(sid, number) for sid, number, _school_id in found]
        student_ids = [sid for sid, _ in found]
        numbers = [number for _, number in found]
        cursor.execute("SELECT id FROM core_importjob WHERE school_id = %s AND file_name = %s", [school.pk, FILE_NAME])
        jobs = [str(r[0]) for r in cursor.fetchall()]
        if student_ids:
            cursor.execute("DELETE FROM students_studentevent WHERE student_id = ANY(%s)", [student_ids])
            cursor.execute("DELETE FROM students_enrolment WHERE student_id = ANY(%s)", [student_ids])
            # The audit log is append-only (a trigger refuses deletes, issue 17): the benchmark's
            # entries stay, as any write's would; the tables it compares leave the audit log out.
            cursor.execute("DELETE FROM history_changefeedentry WHERE region_path = %s AND resource = 'student'"
                           " AND natural_key = ANY(%s)", [school.region_path, numbers])
            cursor.execute("DELETE FROM students_student WHERE id = ANY(%s)", [student_ids])
        if classes_after is not None or student_ids:  # the classes the import opened, now empty
            # e.school_id: the school's enrolments by index, not an anti-join over all 27 million.
            cursor.execute("DELETE FROM students_schoolclass c WHERE c.school_id = %s AND c.id > %s AND NOT EXISTS"
                           " (SELECT 1 FROM students_enrolment e WHERE e.school_id = c.school_id"
                           " AND e.school_class_id = c.id)", [school.pk, classes_after or 0])
        if jobs:
            cursor.execute("DELETE FROM core_importjob WHERE id = ANY(%s)", [[int(j) for j in jobs]])
        mark_schools_dirty([school.pk])
    # The roll-ups follow the records: the school's recomputed, the county's by the difference.
    rollup.refresh_schools([school.pk])
    return len(student_ids)


def explain_lookups(rows: list[list[str]]) -> None:
    """The plans of the province-wide duplicate checks for this file (EXPLAIN ANALYZE): each must be
    served by an index, never by reading the 27 million students. The ID check is also shown without
    the partial index's predicate (plan only), as it was written before."""
    from django.db import connection

    from eduplatform.core.identity import Sealer

    sealer = Sealer()
    joined_indexes = "\x1f".join(sorted(sealer.id_index("1", row[4]) for row in rows))
    joined_numbers = "\x1f".join(sorted("G" + row[4] for row in rows))
    by_id = ("SELECT s.id, s.id_number_index, s.student_number, e.school_id, o.name FROM students_student s"
             " LEFT JOIN students_enrolment e ON e.student_id = s.id AND e.is_active"
             " LEFT JOIN orgs_organization o ON o.id = e.school_id WHERE {predicate}"
             " s.id_number_index = ANY(string_to_array(%s, %s))")
    checks = [
        ("ID numbers (blind index), as written now", "EXPLAIN (ANALYZE, BUFFERS) "
         + by_id.format(predicate="s.id_number_index <> '' AND"), joined_indexes),
        ("ID numbers, without the partial index's predicate (before)", "EXPLAIN " + by_id.format(predicate=""),
         joined_indexes),
        ("学籍号 G + ID among the students", "EXPLAIN (ANALYZE, BUFFERS) SELECT student_number FROM students_student"
         " WHERE student_number = ANY(string_to_array(%s, %s))", joined_numbers),
        ("学籍号 among the retired numbers", "EXPLAIN (ANALYZE, BUFFERS) SELECT number FROM"
         " students_retiredstudentnumber WHERE number = ANY(string_to_array(%s, %s))", joined_numbers),
    ]
    with connection.cursor() as cursor:
        for title, sql, values in checks:
            cursor.execute(sql, [values, "\x1f"])
            say(f"  plan — {title}:")
            for (line,) in cursor.fetchall():
                if "ANY" in line and len(line) > 150:  # the 50,000 values of the array
                    line = line[:line.index("ANY") + 4] + "…))"
                say(f"    {line}")


def bench_province_import(report, timed, *, phases: bool = False) -> None:
    from django.db import connection, transaction

    from bench import students
    from bench.import_only import _backend_cpu_reader, _time_phases
    from eduplatform.accounts.models import User
    from eduplatform.core.models import ImportJob, ImportMode, JobStatus
    from eduplatform.students import importing
    from eduplatform.students.models import SchoolClass

    clerk = User.objects.select_related("organization").get(username=CLERK)
    school = clerk.organization
    rows = students.import_rows(students.IMPORT_ROWS)
    content = students.xlsx_of(rows)
    leftover = cleanup(school, rows)
    if leftover:
        say(f"  removed {leftover:,} students left by an interrupted earlier run")
    before = _counts(school)
    say(f"  school: {school.name} ({school.school_code}), {before['school roll-up (enrolled)']:,} students; "
        f"its county {before['county roll-up (enrolled)']:,}")

    with transaction.atomic():
        copy_s, _ = timed(lambda: students.bare_copy(rows))
    classes_after = SchoolClass.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    backend_cpu = _backend_cpu_reader()
    phase_totals = _time_phases(backend_cpu) if phases else {}

    def run_import() -> ImportJob:
        job = importing.submit_import(actor=clerk, school=school, file_name=FILE_NAME, content=content,
                                      mode=ImportMode.ALL_OR_NOTHING)
        return ImportJob.objects.get(pk=job.pk)  # run by the task backend when submit committed

    def wal_position() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
            return int(cursor.fetchone()[0])

    load_before, wal_before = load(), wal_position()
    python_before, server_before = time.process_time(), backend_cpu()
    try:
        import_s, job = timed(run_import)
        python_s, server_s = time.process_time() - python_before, backend_cpu() - server_before
        wal_mb = (wal_position() - wal_before) / 1e6
        assert job.status == JobStatus.DONE and job.written_rows == students.IMPORT_ROWS, (
            job.status, job.failure, job.problems[:3])
    finally:
        started = time.perf_counter()
        removed = cleanup(school, rows, classes_after=classes_after)
        cleanup_s = time.perf_counter() - started
        after = _counts(school)
    n = students.IMPORT_ROWS
    rate = n / import_s
    report("import 50,000 students into the province DB", f"{rate:,.0f} rows/s", f"{n / copy_s:,.0f} rows/s",
           rate / (n / copy_s), f"bare COPY of the same rows; {import_s:.1f} s end to end (worker job: read, "
           f"check, province-wide duplicates, students, enrolments, events, audit, feed, roll-ups); "
           f"goal ≥ {GOAL_ROWS_PER_S:,} rows/s: {'met' if rate >= GOAL_ROWS_PER_S else 'NOT met'}")
    say(f"  CPU during the import: Python {python_s:.1f} s, PostgreSQL backend {server_s:.1f} s; WAL written "
        f"{wal_mb:,.0f} MB (by the whole server meanwhile); at its start: {load_before}")
    for name, (wall, python, server) in phase_totals.items():
        if name.startswith("submit"):  # the task ran inside submit's commit: this is the whole job
            name = "submit + worker job (everything)"
        say(f"    {name:<44} wall {wall:6.2f} s  Python {python:6.2f} s  server {server:6.2f} s")
    if after != before:
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        sys.exit(f"the cleanup did not restore the province database: {changed}")
    say(f"  cleanup ({cleanup_s:.0f} s): {removed:,} students and everything written with them deleted; the counts of every table "
        "written and the school's and county's roll-ups are as before")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phases", action="store_true", help="also print where the time goes, by phase")
    parser.add_argument("--explain", action="store_true", help="also print the plans of the duplicate checks")
    parser.add_argument("--cleanup-only", action="store_true", help="only remove what an earlier run left")
    parser.add_argument("--as-is", action="store_true",
                        help="use the database in PROVINCE_DATABASE_URL as it is (no marker check, no generation)")
    args = parser.parse_args()
    if not URL.startswith("postgres"):
        sys.exit("bench/import_province.py measures PostgreSQL: set PROVINCE_DATABASE_URL=postgres://…")
    import django

    django.setup()
    from bench.run import report, timed

    say(f"\nStudent import at province scale, database {urlparse(URL).path.lstrip('/')}")
    if not args.as_is:
        ensure_data()
    if args.cleanup_only:
        from bench import students
        from eduplatform.accounts.models import User

        school = User.objects.select_related("organization").get(username=CLERK).organization
        say(f"  removed {cleanup(school, students.import_rows(students.IMPORT_ROWS)):,} students")
        return
    if args.explain:
        from bench import students

        explain_lookups(students.import_rows(students.IMPORT_ROWS))
    bench_province_import(report, timed, phases=args.phases)


if __name__ == "__main__":
    main()

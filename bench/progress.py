"""The province progress page (建库进度) on the province database (≥ 25 million students).

    .venv/bin/python bench/progress.py      (PROVINCE_DATABASE_URL, default eduplatform_province)

Reuses the province database that ``bench/statistics.py`` generates (its marker must name the
current generator version) and changes nothing in it: a pending migration of another app stops the
run; the quality tables and indexes (quality 0001–0003) and the incomplete-records roll-up (stats
0020, which fills it from the records), when the database lacks them, are made inside a transaction
that is rolled back at the end (the time to fill the roll-up is printed).

Figures, each beside a baseline measured in the same run:

(a) the province page's figures as a province officer (``progress.child_rows`` for the 21 cities and
    their sum ``progress.total_of``: what the view computes) — goal under 200 ms;
(b) the page itself (``GET /progress/`` through the test client: the view, the template, the
    middleware);
baseline: the same per-city figures (records, schools with data, incomplete records) by raw
``GROUP BY`` over the base tables; and, for the completeness alone, the live count of the incomplete
records through the partial indexes that the page used before the roll-up. The records and the
incomplete records per city must agree (asserted).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/eduplatform_province"
URL = os.environ.get("PROVINCE_DATABASE_URL", DEFAULT_URL)
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

GOAL_MS = 200
ROLLUP_MIGRATION = ("stats", "0020_incomplete_rollup")
# Applied, when the database lacks them, inside the rolled-back transaction; the nodes' replica
# identity of the new roll-up (non-transactional, CONCURRENTLY) changes nothing this run reads.
OWN_MIGRATIONS = (("quality", "0001_initial"), ("quality", "0002_incomplete_record_indexes"),
                  ("quality", "0003_required_fields_one_definition"), ROLLUP_MIGRATION,
                  ("nodes", "0003_replica_identity_incomplete_rollup"))

# The baseline: every figure of the province page per city, straight from the base tables.
RAW_QUERIES = {
    "students": """SELECT substr(region_path, 1, 8), count(*), count(DISTINCT school_id) FROM students_enrolment
                   WHERE is_active GROUP BY 1""",
    "students incomplete": """SELECT substr(e.region_path, 1, 8), count(*) FROM students_enrolment e
                   JOIN students_student s ON s.id = e.student_id
                   WHERE e.is_active AND (s.name = '' OR s.gender = '' OR s.ethnicity = '' OR s.nationality = ''
                   OR (s.id_type = '1' AND s.id_number_cipher = '') OR s.home_address = '' OR s.guardians = '[]')
                   GROUP BY 1""",
    "staff": """SELECT substr(region_path, 1, 8), count(*), count(DISTINCT unit_id) FROM staff_staffmember
                WHERE is_active AND unit_kind = 'school' AND post_category IN ('1','2','3','4','5') GROUP BY 1""",
    "staff incomplete": """SELECT substr(region_path, 1, 8), count(*) FROM staff_staffmember
                WHERE is_active AND unit_kind = 'school' AND post_category IN ('1','2','3','4','5')
                AND (name = '' OR gender = '' OR ethnicity = '' OR education_level = '' OR establishment = ''
                OR first_employed_on IS NULL OR (post_category = '1' AND (subjects = '' OR teaching_stage = '')))
                GROUP BY 1""",
    "buildings": """SELECT substr(region_path, 1, 8), count(*), count(DISTINCT school_id) FROM facilities_building
                    WHERE demolished_on IS NULL GROUP BY 1""",
    "equipment": """SELECT substr(region_path, 1, 8), count(*), count(DISTINCT school_id) FROM assets_equipment
                    WHERE disposed_on IS NULL GROUP BY 1""",
    "schools": """SELECT substr(region_path, 1, 8), count(*) FROM orgs_organization
                  WHERE kind = 'school' AND is_open GROUP BY 1""",
}


def say(text: str = "") -> None:
    print(text, flush=True)


def pending_migrations() -> list[tuple[str, str]]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return [(m.app_label, m.name) for m, _backwards in executor.migration_plan(executor.loader.graph.leaf_nodes())]


def raw_figures() -> dict[str, dict[str, tuple]]:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for name, sql in RAW_QUERIES.items():
            cursor.execute(sql)
            out[name] = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
    return out


def live_incomplete() -> dict[str, int]:
    """The incomplete records per city counted live (the partial indexes, no roll-up): how the page
    counted them before stats migration 0020."""
    from django.db.models import Count
    from django.db.models.functions import Substr

    from eduplatform.quality.required import INDEXED_TABLES, missing, records

    out: dict[str, int] = {}
    for database in INDEXED_TABLES:
        for row in records(database).filter(missing(database)).annotate(k=Substr("region_path", 1, 8)).values(
                "k").annotate(n=Count("pk")).order_by():
            out[f"{database}:{row['k']}"] = row["n"]
    return out


def main() -> None:
    if not URL.startswith("postgres"):
        sys.exit("bench/progress.py measures PostgreSQL: set PROVINCE_DATABASE_URL=postgres://…")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client

    from bench.run import report, sign_in, timed
    from bench.statistics import current_marker, load
    from eduplatform.accounts.models import User
    from eduplatform.demo.bulk import GENERATOR_VERSION
    from eduplatform.orgs.models import Region
    from eduplatform.quality import progress
    from eduplatform.quality.models import Database

    say(f"\nProgress (建库进度) at province scale, database {urlparse(URL).path.lstrip('/')}")
    marker = current_marker()
    if not marker or marker.get("generator") != GENERATOR_VERSION:
        sys.exit("the province database is not ready (no marker of the current generator): run bench/statistics.py")
    pending = [m for m in pending_migrations() if m not in OWN_MIGRATIONS]
    if pending:
        sys.exit(f"the province database lacks migrations {pending}: bench/statistics.py applies them")
    say(f"  load at start: {load()}")
    officer = User.objects.get(username="province")
    province = Region.objects.get(level="province")

    def figures():  # what the view computes: the cities' rows and their sum
        rows = progress.child_rows(officer, province)
        return rows, progress.total_of(province, rows)

    client = Client()
    sign_in(client, officer)

    def page():
        answer = client.get("/progress/")
        assert answer.status_code == 200, answer.status_code
        return answer

    say("  raw GROUP BY over the base tables (baseline): one warm-up run, then two timed runs …")
    timed(raw_figures)
    raw_s, raw = timed(raw_figures, repeat=2)
    say(f"  baseline {raw_s:.2f} s; load: {load()}")

    with transaction.atomic():
        from django.core.management import call_command

        for app, name in OWN_MIGRATIONS[:4]:
            if (app, name) in pending_migrations():
                started = time.perf_counter()
                call_command("migrate", app, name, verbosity=0)  # rolled back below
                say(f"  migration {app} {name} applied for this run only in {time.perf_counter() - started:.1f} s "
                    "(rolled back at the end)")
        timed(live_incomplete)
        live_s, _ = timed(live_incomplete, repeat=3)
        timed(figures, repeat=3)
        fig_s, (rows, total) = timed(figures, repeat=15)
        timed(page, repeat=2)
        page_s, _ = timed(page, repeat=10)
        transaction.set_rollback(True)
    connection.close()

    by_city = {r.key: r for r in rows}
    checks = {Database.STUDENTS: "students", Database.STAFF: "staff", Database.FACILITIES: "buildings",
              Database.ASSETS: "equipment"}
    for database, name in checks.items():
        for path, row in by_city.items():
            assert row.cells[database].records == raw[name].get(path, (0,))[0], (database, path)
    for path, row in by_city.items():
        assert row.cells[Database.SCHOOLS].expected == raw["schools"].get(path, (0,))[0], path
        assert row.cells[Database.STUDENTS].incomplete == raw["students incomplete"].get(path, (0,))[0], path
    students = total.cells[Database.STUDENTS].records
    say(f"  identical per-city records and incomplete counts: {students:,} students, "
        f"{total.cells[Database.STAFF].records:,} staff, {total.cells[Database.FACILITIES].records:,} buildings, "
        f"{total.cells[Database.SCHOOLS].expected:,} open schools in {len(rows)} cities")
    report("province progress figures", f"{fig_s * 1000:.0f} ms", f"{raw_s:.2f} s", fig_s / raw_s,
           f"raw GROUP BY baseline; {raw_s / fig_s:,.0f}× faster; median of 15; goal < {GOAL_MS} ms: "
           f"{'met' if fig_s * 1000 < GOAL_MS else 'NOT met'}")
    report("GET /progress/ as province officer", f"{page_s * 1000:.0f} ms", f"{raw_s:.2f} s", page_s / raw_s,
           f"view + template + middleware; median of 10; goal < {GOAL_MS} ms: "
           f"{'met' if page_s * 1000 < GOAL_MS else 'NOT met'}")
    report("incomplete records per city, live (before the roll-up)", f"{live_s * 1000:.0f} ms", f"{raw_s:.2f} s",
           live_s / raw_s, "what the page read on every view before stats migration 0020; median of 3")
    say(f"  load at end: {load()}")
    if students < 25_000_000:
        sys.exit("the data set is smaller than the acceptance asks (≥ 25 M students)")


if __name__ == "__main__":
    main()

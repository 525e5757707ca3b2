"""The student-import benchmark alone, for iterating on the import path (``make bench`` runs it too,
after building the whole province).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eduplatform_import_bench .venv/bin/python bench/import_only.py

The database is dropped and created with a small province (every county has schools), then the
50,000-row import runs as in bench/run.py, beside a bare COPY of the same rows, and the time of each
phase is printed (wall clock, by wrapping the functions that do them). ``--profile`` prints where the
import's Python time goes (cProfile; it slows the Python parts down).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
# bench/ (first on sys.path when run as a script) holds statistics.py, which would shadow the
# standard library's statistics module (Django's SQLite backend imports it): the root takes its place.
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
URL = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduplatform_import_bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the import")
    parser.add_argument("--scale", type=float, default=0.05, help="province size (1.0 = 38,000 institutions)")
    args = parser.parse_args()
    if not URL.startswith("postgres"):
        sys.exit("bench/import_only.py measures PostgreSQL: set DATABASE_URL=postgres://…")

    from bench.run import recreate_database, report, timed

    recreate_database(URL)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=io.StringIO())

    from eduplatform.accounts.models import User
    from eduplatform.demo import province
    from eduplatform.orgs import services

    print(f"PostgreSQL import benchmark, database {urlparse(URL).path.lstrip('/')}\n")
    department, divisions = province.authorities()
    services.register_schools(actor=None, rows=province.school_rows(args.scale, 2026))
    province.demo_accounts(divisions, department)
    clerk = User.objects.get(username="school_clerk")

    from bench import students

    measure = timed
    if args.profile:
        profiler = cProfile.Profile()

        def measure(fn, repeat: int = 1):  # type: ignore[no-redef]
            started = time.perf_counter()
            profiler.enable()
            try:
                result = fn()
            finally:
                profiler.disable()
            return time.perf_counter() - started, result

    phases = _time_phases()
    slow: list[tuple[float, str]] = []

    def log_slow(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if (seconds := time.perf_counter() - started) > 0.1:
                slow.append((seconds, " ".join(sql.split())[:110]))

    from django.db import connection

    with connection.execute_wrapper(log_slow):
        students.bench_import(report, measure, clerk.organization, clerk)
    for seconds, sql in slow:
        print(f"  {seconds:6.2f} s  {sql}")
    for name, seconds in phases.items():
        print(f"  {name:<44} {seconds:6.2f} s")
    if args.profile:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)


def _time_phases() -> dict[str, float]:
    """Wrap the functions that make up the import's phases; their wall-clock totals fill the dict."""
    from collections import defaultdict

    from eduplatform.imports import runner
    from eduplatform.students import importing, schema, services

    totals: dict[str, float] = defaultdict(float)

    def wrap(module, attr: str, label) -> None:
        original = getattr(module, attr)

        def timed_call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                name = label(*args, **kwargs) if callable(label) else label
                totals[name] += time.perf_counter() - started

        setattr(module, attr, timed_call)

    # The shared import job reads and checks; the student kind's write service registers.
    reader = runner if hasattr(runner, "read_table") else importing
    wrap(reader, "read_table", "read xlsx (read_table)")
    if hasattr(schema, "RowChecker"):
        wrap(schema.RowChecker, "check", "check rows (RowChecker.check)")
    else:  # an older tree, for a same-run comparison
        wrap(importing, "clean_student", "check rows (clean_student)")
    wrap(importing, "register_students", "register_students (total)")
    wrap(services, "_existing_by_index", "province-wide look-ups")
    wrap(services, "_numbers_taken", "province-wide look-ups")
    wrap(services, "_write_registrations", "write (total)")
    wrap(services, "insert_rows", lambda model, *a, **k: f"  COPY {model._meta.db_table}")
    wrap(services, "_write_trace", "  events + audit + feed")
    return totals


if __name__ == "__main__":
    main()

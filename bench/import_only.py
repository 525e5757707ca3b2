"""The student-import benchmark alone, for iterating on the import path (``make bench`` runs it too,
after building the whole province).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eduplatform_import_bench .venv/bin/python bench/import_only.py

The database is dropped and created with a small province (every county has schools), then the
50,000-row import runs as in bench/run.py, beside a bare COPY of the same rows, and each phase is
printed with its wall clock and the CPU seconds it took in Python and in the PostgreSQL backend (by
wrapping the functions that do them; the backend's CPU is read from /proc, so a local server), with
the load average at the start. ``--profile`` prints where the import's Python time goes (cProfile;
it slows the Python parts down).
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

    from django.db import connection

    backend_cpu = _backend_cpu_reader()
    phases = _time_phases(backend_cpu)
    slow: list[tuple[float, str]] = []

    def log_slow(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if (seconds := time.perf_counter() - started) > 0.1:
                slow.append((seconds, " ".join(sql.split())[:110]))

    totals: dict[str, float] = {}
    timing = measure

    def measure_totals(fn, repeat: int = 1):  # CPU by process during each measured call
        totals["load"] = os.getloadavg()[0]
        python_before, server_before = time.process_time(), backend_cpu()
        result = timing(fn, repeat)
        totals["Python"] = time.process_time() - python_before
        totals["PostgreSQL backend"] = backend_cpu() - server_before
        return result

    with connection.execute_wrapper(log_slow):
        students.bench_import(report, measure_totals, clerk.organization, clerk)
    load = totals.pop("load")
    print(f"  CPU during the import: {', '.join(f'{k} {v:.2f} s' for k, v in totals.items() if v >= 0)}"
          f" (1-minute load average at its start: {load:.1f} on {os.cpu_count()} CPUs)")
    for seconds, sql in slow:
        print(f"  {seconds:6.2f} s  {sql}")
    # On a shared machine the wall clock depends on the load; the CPU seconds hardly do.
    print(f"  {'phase':<44} {'wall s':>7} {'Python':>7} {'server':>7}   (CPU s)")
    for name, (wall, python, server) in phases.items():
        print(f"  {name:<44} {wall:7.2f} {python:7.2f} {server:7.2f}")
    if args.profile:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)


def _backend_cpu_reader():
    """CPU seconds used so far by this connection's PostgreSQL backend (a local server: /proc), or -1."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return -1.0
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    return read


def _time_phases(backend_cpu) -> dict[str, list[float]]:
    """Wrap the functions that make up the import's phases; their totals fill the dict:
    [wall clock, Python CPU, PostgreSQL backend CPU] (nested phases count in each enclosing one)."""
    from collections import defaultdict

    from eduplatform.imports import runner
    from eduplatform.stats import rollup
    from eduplatform.students import importing, schema, services

    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])

    def wrap(module, attr: str, label, *, per_row: bool = False) -> None:
        original = getattr(module, attr)
        if per_row:  # called for each row: no server clock (reading /proc costs more than a row)
            def timed_row(*args, **kwargs):
                started, python = time.perf_counter(), time.thread_time()
                try:
                    return original(*args, **kwargs)
                finally:
                    entry = totals[label]
                    entry[0] += time.perf_counter() - started
                    entry[1] += time.thread_time() - python

            setattr(module, attr, timed_row)
            return

        def timed_call(*args, **kwargs):
            started, python, server = time.perf_counter(), time.thread_time(), backend_cpu()
            try:
                return original(*args, **kwargs)
            finally:
                name = label(*args, **kwargs) if callable(label) else label
                entry = totals[name]
                entry[0] += time.perf_counter() - started
                entry[1] += time.thread_time() - python
                entry[2] += backend_cpu() - server

        setattr(module, attr, timed_call)

    # The shared import job reads and checks; the student kind's write service registers.
    wrap(runner, "submit_import", "submit (store the file)")
    wrap(rollup, "refresh_dirty_schools", "roll-up refresh after commit")
    from eduplatform.history.services import AFTER_COMMIT_REFRESHERS  # holds the function itself

    AFTER_COMMIT_REFRESHERS[:] = [rollup.refresh_dirty_schools if f.__name__ == "refresh_dirty_schools" else f
                                  for f in AFTER_COMMIT_REFRESHERS]
    reader = runner if hasattr(runner, "read_table") else importing
    wrap(reader, "read_table", "read xlsx (read_table)")
    if hasattr(schema, "RowChecker"):
        wrap(schema.RowChecker, "check", "check rows (RowChecker.check)", per_row=True)
    else:  # an older tree, for a same-run comparison
        wrap(importing, "clean_student", "check rows (clean_student)", per_row=True)
    wrap(importing, "register_students", "register_students (total)")
    wrap(services, "_existing_by_index", "province-wide look-ups")
    wrap(services, "_numbers_taken", "province-wide look-ups")
    wrap(services, "_write_registrations", "write (total)")
    wrap(services, "insert_rows", lambda model, *a, **k: f"  COPY {model._meta.db_table}")
    wrap(services, "_write_trace", "  events + audit + feed")
    return totals


if __name__ == "__main__":
    main()

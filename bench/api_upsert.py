"""Batch upsert of students through the open API, beside the spreadsheet import and a bare COPY of
the same rows, in the province database (``PROVINCE_DATABASE_URL``).

    make bench                                  (bench/run.py runs this after bench/import_province.py)
    .venv/bin/python bench/api_upsert.py        (alone; --rows N, --as-is to use the database as it is)

The rows are bench/students.py's primary-school rows (valid, distinct resident ID numbers, guardians,
phones) as an external school system sends them: JSON records of 10,000 per request to
``POST /api/v1/students/batch`` (``accept_valid``, with an ``Idempotency-Key``), through Django's
test client — the whole request path: JSON parsing, the generated pydantic model, rights, the
import's ``check_row`` and ``register_students`` (province-wide duplicate checks, students,
enrolments, events, audit, change feed, roll-up marks), the idempotency record. The clock covers
every request. The same rows then go through the spreadsheet path (the worker's import job, as
bench/import_province.py times it) and a bare COPY of their text columns; what each wrote is
removed between runs and at the end (bench/import_province.py's cleanup), and the counts of every
table written must be as before.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import atexit  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

from bench.statistics import URL, ensure_data, say  # noqa: E402  (sets DATABASE_URL to the province's)

os.environ["TASKS_BACKEND"] = "immediate"

GOAL_RECORDS_PER_S = 5_000
BATCH = 10_000
CLIENTS = 2  # the processes sending at once in the second measurement
FIELDS = ("name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number", "entered_on",
          "phone", "migrant_child", "boarding_mode", "home_address", "guardian1_name", "guardian1_relation",
          "guardian1_phone")


def records_of(rows: list[list[str]], school_code: str) -> list[dict[str, object]]:
    """The spreadsheet rows as an external system's JSON: typed where JSON has a type."""
    out = []
    for row in rows:
        record: dict[str, object] = dict(zip(FIELDS, row, strict=True))
        record["class_number"] = int(row[7])
        record["migrant_child"] = row[10] == "是"
        record["school_code"] = school_code
        out.append(record)
    return out


def bench_api_upsert(report, timed, *, n: int, profile: bool = False) -> None:
    from django.db import transaction
    from django.test import Client, override_settings

    from bench import students
    from bench.import_province import CLERK, FILE_NAME, _counts, cleanup
    from eduplatform.accounts.models import User
    from eduplatform.core.models import ImportJob, ImportMode, JobStatus
    from eduplatform.exchange.models import IdempotencyRecord
    from eduplatform.history.models import DirtySchool
    from eduplatform.students import importing
    from eduplatform.students.models import SchoolClass

    clerk = User.objects.select_related("organization").get(username=CLERK)
    school = clerk.organization
    rows = students.import_rows(n)
    leftover = cleanup(school, rows)
    if leftover:
        say(f"  removed {leftover:,} students left by an interrupted earlier run")
    client = Client()
    from bench.run import sign_in
    sign_in(client, clerk)  # before the counts: signing in writes an audit entry of its own
    before = _counts(school)
    say(f"  school: {school.name} ({school.school_code}); {n:,} students, {BATCH:,} a request")
    records = records_of(rows, school.school_code)
    bodies = _bodies(records)
    keys = [f"bench-api-upsert-{time.time_ns()}-{i}" for i in range(len(bodies))]

    with transaction.atomic():
        copy_s, _ = timed(lambda: students.bare_copy(rows))
    # One request first: the first request of a process loads the URL configuration and the API
    # (about 2 s), which a running server has done long before.
    client.get("/api/v1/students", {"limit": 1})

    classes_after = SchoolClass.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # The API's requests are measured as production runs them: jobs go to the task table and a
    # worker (``manage.py db_worker``, production's interval) takes them — a large batch's roll-up
    # refresh among them (students.services.REFRESH_INLINE_ROWS). The clock stops when the last
    # answer has arrived *and* the school's roll-ups count every record (no mark left).
    worker_settings = override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
    worker_settings.enable()
    worker = _start_worker()
    atexit.register(worker.terminate)  # whatever fails below, the worker does not outlive the bench
    _until_queue_empty()

    def until_current() -> None:
        deadline = time.monotonic() + 120
        while DirtySchool.objects.filter(school_id=school.pk).exists():
            assert time.monotonic() < deadline, "the worker did not refresh the roll-ups within 120 s"
            time.sleep(0.02)

    def send_all() -> list[dict]:
        answers = []
        for body, key in zip(bodies, keys, strict=True):
            response = client.post("/api/v1/students/batch", data=body, content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY=key)
            assert response.status_code == 200, response.content[:500]
            answers.append(response.json())
        until_current()
        return answers

    if profile:  # where the API's time goes: its requests only (cProfile, cumulative, top 45)
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        original = send_all

        def send_all():  # noqa: F811 — the same requests, profiled
            return profiler.runcall(original)

    from bench.import_only import _backend_cpu_reader

    backend_cpu = _backend_cpu_reader()
    cpu_before = (time.process_time(), backend_cpu())
    try:
        api_s, answers = timed(send_all)
        cpu_used = (time.process_time() - cpu_before[0], backend_cpu() - cpu_before[1])
        created = sum(a["created"] for a in answers)
        assert created == n, [a["results"][:2] for a in answers if a["rejected"]][:1]
        replay_s, _ = timed(lambda: client.post("/api/v1/students/batch", data=bodies[0],
                                                content_type="application/json", HTTP_IDEMPOTENCY_KEY=keys[0]))
    finally:
        cleanup(school, rows, classes_after=classes_after)
        IdempotencyRecord.objects.filter(key__in=keys).delete()

    # The same requests from CLIENTS processes at once (fresh keys): what the server does when
    # several requests arrive together, as a web server's workers take them.
    shares = [_bodies(records[k * n // CLIENTS:(k + 1) * n // CLIENTS]) for k in range(CLIENTS)]  # an even share each
    together_keys = [f"bench-api-upsert-together-{time.time_ns()}-{k}-{i}" for k, share in enumerate(shares)
                     for i in range(len(share))]
    classes_after = SchoolClass.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        together_s, answers = _send_together(client, shares, together_keys, until_current)
        created = sum(a["created"] for a in answers)
        assert created == n, [a["results"][:2] for a in answers if a["rejected"]][:1]
    finally:
        cleanup(school, rows, classes_after=classes_after)
        IdempotencyRecord.objects.filter(key__in=together_keys).delete()
        worker.terminate()
        worker.wait(timeout=30)
        worker_settings.disable()

    content = students.xlsx_of(rows)

    def run_import() -> ImportJob:
        job = importing.submit_import(actor=clerk, school=school, file_name=FILE_NAME, content=content,
                                      mode=ImportMode.ALL_OR_NOTHING)
        return ImportJob.objects.get(pk=job.pk)

    classes_after = SchoolClass.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        import_s, job = timed(run_import)
        assert job.status == JobStatus.DONE and job.written_rows == n, (job.status, job.failure, job.problems[:3])
    finally:
        cleanup(school, rows, classes_after=classes_after)
    after = _counts(school)

    api_rate, import_rate, copy_rate = n / api_s, n / import_s, n / copy_s
    together_rate = n / together_s
    report(f"API batch upsert of {n:,} students", f"{api_rate:,.0f} rec/s", f"{copy_rate:,.0f} rows/s",
           api_rate / copy_rate, f"bare COPY of the same rows; {api_s:.1f} s for {len(bodies)} requests of "
           f"{BATCH:,}, one after the other; goal ≥ {GOAL_RECORDS_PER_S:,} records/s: "
           f"{'met' if api_rate >= GOAL_RECORDS_PER_S else 'NOT met'}")
    report(f"  … the same requests from {CLIENTS} clients at once", f"{together_rate:,.0f} rec/s",
           f"{api_rate:,.0f} rec/s", together_rate / api_rate,
           f"one client; {together_s:.1f} s; goal ≥ {GOAL_RECORDS_PER_S:,} records/s: "
           f"{'met' if together_rate >= GOAL_RECORDS_PER_S else 'NOT met'}")
    report("  … beside the spreadsheet import of the same rows", f"{api_rate:,.0f} rec/s",
           f"{import_rate:,.0f} rows/s", api_rate / import_rate, f"import job {import_s:.1f} s (read xlsx, check, write)")
    say(f"  one client's {api_s:.1f} s: Python {cpu_used[0]:.1f} s CPU, its PostgreSQL backend {cpu_used[1]:.1f} s CPU "
        "(what is left is waiting: the disk, the WAL flush, other processes)")
    say(f"  an idempotent retry of one {BATCH:,}-record request: {replay_s * 1000:.0f} ms (stored answer, nothing written)")
    if profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(os.environ.get("PROFILE_FILTER", "exchange|ninja|pydantic|json"), 20)
        if os.environ.get("PROFILE_CALLERS"):
            pstats.Stats(profiler).sort_stats("tottime").print_callers(os.environ["PROFILE_CALLERS"])
        if os.environ.get("PROFILE_CALLEES"):
            pstats.Stats(profiler).sort_stats("cumulative").print_callees(os.environ["PROFILE_CALLEES"])
    if after != before:
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        sys.exit(f"the cleanup did not restore the database: {changed}")
    say("  cleanup: everything the API and the import wrote deleted; counts of every table written as before")


def _bodies(records: list[dict]) -> list[str]:
    """The requests' JSON bodies: ``BATCH`` records each, the valid ones accepted."""
    return [json.dumps({"mode": "accept_valid", "records": records[i:i + BATCH]}, ensure_ascii=False)
            for i in range(0, len(records), BATCH)]


def _start_worker():
    """``manage.py db_worker`` on the province database, as production runs it beside the server."""
    import subprocess

    return subprocess.Popen([sys.executable, "manage.py", "db_worker", "--interval", "0.5", "--no-reload", "-v0"],
                            cwd=ROOT, env={**os.environ, "DATABASE_URL": URL, "TASKS_BACKEND": "database"})


def _until_queue_empty() -> None:
    """Wait until the worker has taken every job already queued (a generator's snapshot leaves its
    base tables to the worker): the measurement starts with a worker that has nothing else to do."""
    import datetime as dt

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    started, deadline = time.perf_counter(), time.monotonic() + 1800
    queued = DBTaskResult.objects.ready().count()
    # Running jobs count when they started in the last hour (an older one was left by a dead worker).
    running = DBTaskResult.objects.filter(status="RUNNING", started_at__gt=timezone.now() - dt.timedelta(hours=1))
    while DBTaskResult.objects.ready().exists() or running.exists():
        assert time.monotonic() < deadline, "the worker did not finish the jobs already queued within 30 min"
        time.sleep(0.5)
    if queued:
        say(f"  the worker first ran the {queued} job(s) already queued ({time.perf_counter() - started:.0f} s)")


def _send_together(client, shares: list[list[str]], keys: list[str], until_current) -> tuple[float, list[dict]]:
    """Each share of request bodies sent by a process of its own, all at once (forked, each on a
    database connection of its own, as a web server's workers are); the clock runs from the moment
    all are ready until the last answer and the roll-ups are current (``until_current``). The
    seconds and every answer."""
    import multiprocessing

    from django.db import connections

    context = multiprocessing.get_context("fork")
    ready, go, answers = context.Barrier(len(shares) + 1), context.Event(), context.Queue()
    starts = [sum(map(len, shares[:k])) for k in range(len(shares))]  # each share's first request number
    numbered = [list(enumerate(share, start=start)) for share, start in zip(shares, starts, strict=True)]

    def send_share(share: list[tuple[int, str]]) -> None:
        connections.close_all()  # the parent's connection is not the child's to use
        client.get("/api/v1/students", {"limit": 1})  # this process's first request loads the API
        ready.wait()
        go.wait()
        for i, body in share:
            response = client.post("/api/v1/students/batch", data=body, content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY=keys[i])
            answers.put((i, response.status_code, response.json() if response.status_code == 200
                         else response.content[:500].decode(errors="replace")))
        connections.close_all()

    connections.close_all()
    workers = [context.Process(target=send_share, args=(share,), daemon=True) for share in numbered]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.perf_counter()
    go.set()
    received = [answers.get(timeout=600) for _ in range(sum(map(len, shares)))]
    until_current()
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.join(timeout=60)
    failed = [(i, status, body) for i, status, body in received if status != 200]
    assert not failed, failed[:1]
    return seconds, [body for _i, _status, body in sorted(received, key=lambda r: r[0])]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000, help="students sent (10,000 a request)")
    parser.add_argument("--as-is", action="store_true",
                        help="use the database in PROVINCE_DATABASE_URL as it is (no marker check, no generation)")
    parser.add_argument("--profile", action="store_true", help="profile the API requests (cProfile, top 25)")
    args = parser.parse_args()
    if not URL.startswith("postgres"):
        sys.exit("bench/api_upsert.py measures PostgreSQL: set PROVINCE_DATABASE_URL=postgres://…")
    import django

    django.setup()
    from bench.run import report, timed

    say(f"\nStudent batch upsert through the API, database {urlparse(URL).path.lstrip('/')}")
    if not args.as_is:
        ensure_data()
    bench_api_upsert(report, timed, n=args.rows, profile=args.profile)


if __name__ == "__main__":
    main()

"""Concurrent registrations on the province database: 20 writers, 20 schools, 30 seconds.

    make bench                                  (bench/run.py runs this after bench/statistics.py)
    .venv/bin/python bench/concurrent_writes.py (alone; PROVINCE_DATABASE_URL as for statistics.py)

Each writer is a thread with its own database connection, registering one student at a time at a
school drawn at random from 20 primary schools of one county (the worst case for the per-school and
per-county refresh locks: every commit's inline refresh meets the others'), through
``students.services.enrol_student`` — validation, encryption, audit, change feed, dirty mark, and the
after-commit roll-up refresh the clerk waits for. Latency is the whole call, refresh included.

Baseline, measured in the same run: the same registrations by ONE writer (no contention).

Final check: no dirty mark is left for the 20 schools; their roll-up rows equal a recompute of those
schools from the records; their enrolled students equal a raw count; the county roll-up equals
their school rows summed. Then the bench's students are removed again (rows, events, audit and feed
entries) and the schools recomputed, so repeated runs leave the database as they found it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

import datetime as dt  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

URL = os.environ.get("PROVINCE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduplatform_province")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

WRITERS = 20
SCHOOLS = 20
SECONDS = float(os.environ.get("BENCH_CONCURRENT_SECONDS", "30"))
BASELINE_SECONDS = float(os.environ.get("BENCH_BASELINE_SECONDS", "15"))
COUNTY_PATH = "44/4401/440106/"  # 广州市天河区
BENCH_NAME = "压测学生"  # every bench student's name starts with it: how the clean-up finds them
# An area code the province generator never gives its students (新疆石河子): the bench's ID numbers
# cannot meet a generated person.
AREA = "659001"


def say(text: str) -> None:
    print(text, flush=True)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


class Numbers:
    """Unique valid ID numbers for the bench's students (thread-safe)."""

    def __init__(self) -> None:
        self.lock, self.next = threading.Lock(), 0

    def take(self) -> tuple[str, dt.date, bool]:
        from eduplatform.standards.validators import id_number_check_char

        with self.lock:
            n = self.next
            self.next += 1
        birth = dt.date(2019, 9, 1) + dt.timedelta(days=n // 500 % 365)
        female = n % 2 == 0
        body = f"{AREA}{birth:%Y%m%d}{(n % 500) // 2 * 2 + (0 if female else 1):03d}"
        return body + id_number_check_char(body), birth, female


def student_data(numbers: Numbers, rng: random.Random) -> dict[str, object]:
    id_number, birth, female = numbers.take()
    return {
        "name": f"{BENCH_NAME}{rng.randrange(10**6):06d}", "gender": "女" if female else "男",
        "birth_date": birth.isoformat(), "id_type": "1", "id_number": id_number, "ethnicity": "01",
        "grade": "一年级", "class_number": "", "entered_on": "2025-09", "phone": "13800138000",
        "guardian1_name": "压测家长", "guardian1_relation": "父亲", "guardian1_phone": "13900139000",
    }


def run_writers(count: int, seconds: float, schools, numbers: Numbers) -> tuple[list[float], int]:
    """``count`` threads registering for ``seconds``; (latencies of the registrations, refusals)."""
    from django.db import connections

    from eduplatform.demo.actor import GeneratorActor
    from eduplatform.orgs import capabilities
    from eduplatform.students import services

    actors = [GeneratorActor(s, capabilities.EDIT_STUDENTS) for s in schools]
    latencies: list[list[float]] = [[] for _ in range(count)]
    refused = [0] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def writer(i: int) -> None:
        rng = random.Random(i)
        try:
            barrier.wait(30)
            stop = time.perf_counter() + seconds
            while time.perf_counter() < stop:
                k = rng.randrange(len(schools))
                started = time.perf_counter()
                try:
                    services.enrol_student(actor=actors[k], school=schools[k], data=student_data(numbers, rng))
                except Exception as exc:  # a refused registration is counted, a defect stops the bench
                    from eduplatform.core.errors import BatchInvalid, RecordInvalid

                    if not isinstance(exc, (BatchInvalid, RecordInvalid)):
                        raise
                    refused[i] += 1
                    continue
                latencies[i].append(time.perf_counter() - started)
        except BaseException as exc:  # noqa: BLE001 — reported after the threads finish
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [x for per in latencies for x in per], sum(refused)


def rollup_rows(school_ids: list[int]) -> list:
    from eduplatform.stats.rollup import ROLLUPS

    return [sorted(model.objects.filter(school_id__in=school_ids).values_list(
        *[f.name for f in model._meta.fields if f.name != "id"])) for model in ROLLUPS]


def final_check(school_ids: list[int]) -> str:
    """The 20 schools' roll-ups against a recompute and a raw count; the county roll-up against the
    school rows. Raises on any difference."""
    from django.db import connection, transaction
    from django.db.models import Count, Sum

    from eduplatform.history.models import DirtySchool
    from eduplatform.stats.models import COUNTY_PATH_LENGTH, StudentRollup
    from eduplatform.stats.rollup import recompute_schools
    from eduplatform.students.models import Enrolment

    left = DirtySchool.objects.filter(school_id__in=school_ids).count()
    assert left == 0, f"{left} dirty marks left after the writers stopped"
    live = rollup_rows(school_ids)
    with transaction.atomic():
        recompute_schools(school_ids)
        rebuilt = rollup_rows(school_ids)
        transaction.set_rollback(True)
    assert live == rebuilt, "the live roll-ups of the 20 schools differ from a recompute"
    enrolled = dict(StudentRollup.objects.filter(school_id__in=school_ids).values_list("school_id")
                    .annotate(n=Sum("enrolled")))
    raw = dict(Enrolment.objects.filter(school_id__in=school_ids, is_active=True).values_list("school_id")
               .annotate(n=Count("pk")))
    assert enrolled == raw, "the roll-up's enrolled students differ from a raw count"
    key = StudentRollup.objects.filter(school_id=school_ids[0]).values_list("region_path", flat=True).first()
    key = key[:COUNTY_PATH_LENGTH]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT COALESCE(SUM(enrolled), 0) FROM stats_studentcountyrollup WHERE region_path = %s),"
            " (SELECT COALESCE(SUM(enrolled), 0) FROM stats_studentrollup WHERE substr(region_path, 1, %s) = %s)",
            [key, COUNTY_PATH_LENGTH, key])
        county, schools_summed = cursor.fetchone()
    assert county == schools_summed, f"county roll-up {county} ≠ its schools' rows {schools_summed}"
    return (f"roll-ups of the {len(school_ids)} schools = recompute ({sum(len(t) for t in live):,} rows) = raw count "
            f"({sum(raw.values()):,} students); county roll-up = its schools' rows ({county:,})")


def remove_bench_students(school_ids: list[int]) -> int:
    """Delete what the bench registered (found by its name prefix at these schools) with its trace,
    then recompute the schools: the database as the bench found it."""
    from django.db import connection, transaction

    from eduplatform.stats.rollup import recompute_schools

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_students ON COMMIT DROP AS SELECT s.id, s.student_number"
                       " FROM students_student s WHERE s.name LIKE %s AND s.school_id = ANY(%s)",
                       [BENCH_NAME + "%", school_ids])
        cursor.execute("SELECT count(*) FROM bench_students")
        (count,) = cursor.fetchone()
        if count:
            cursor.execute("DELETE FROM students_studentevent WHERE student_id IN (SELECT id FROM bench_students)")
            cursor.execute("DELETE FROM students_enrolment WHERE student_id IN (SELECT id FROM bench_students)")
            # The audit log is append-only (a trigger refuses deletes, issue 17): the bench's entries
            # stay, as any write's would.
            cursor.execute("DELETE FROM history_changefeedentry WHERE resource = 'student' AND school_id = ANY(%s)"
                           " AND natural_key IN (SELECT student_number FROM bench_students)", [school_ids])
            cursor.execute("DELETE FROM students_student WHERE id IN (SELECT id FROM bench_students)")
        recompute_schools(school_ids)
    return count


def main() -> None:
    if not URL.startswith("postgres"):
        sys.exit("bench/concurrent_writes.py measures PostgreSQL: set PROVINCE_DATABASE_URL=postgres://…")
    import django

    django.setup()
    from bench.run import report
    from bench.statistics import ensure_data, load
    from eduplatform.orgs.models import Organization, OrgKind
    from eduplatform.orgs.stages import Stage
    from eduplatform.stats import rollup

    say(f"\nConcurrent registrations, database {urlparse(URL).path.lstrip('/')}")
    if os.environ.get("BENCH_CONCURRENT_DATA") != "as-is":  # as-is: a smaller database, for trying the bench
        ensure_data()
    primary = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, school_type_code="211",
                                          stage_mask=int(Stage.PRIMARY)).order_by("pk")
    schools = list(primary.filter(region_path__startswith=COUNTY_PATH)[:SCHOOLS])
    if len(schools) < SCHOOLS:  # a small trial database: the rest from the city
        schools += list(primary.filter(region_path__startswith=COUNTY_PATH[:8]).exclude(
            pk__in=[s.pk for s in schools])[:SCHOOLS - len(schools)])
    assert len(schools) == SCHOOLS, f"only {len(schools)} primary schools in {COUNTY_PATH[:8]}"
    ids = [s.pk for s in schools]
    leftover = remove_bench_students(ids)  # an interrupted earlier run
    if leftover:
        say(f"  removed {leftover:,} students left by an earlier, interrupted run")
    refreshes: list[float] = []
    original = rollup.refresh_schools

    def timed_refresh(school_ids):
        started = time.perf_counter()
        try:
            return original(school_ids)
        finally:
            refreshes.append(time.perf_counter() - started)

    rollup.refresh_schools = timed_refresh
    numbers = Numbers()
    say(f"  load at start: {load()}")
    say(f"  baseline: 1 writer for {BASELINE_SECONDS:.0f} s …")
    one, one_refused = run_writers(1, BASELINE_SECONDS, schools, numbers)
    one_refresh = sum(refreshes) / max(1, len(refreshes))
    refreshes.clear()
    say(f"  {WRITERS} writers × {SCHOOLS} schools for {SECONDS:.0f} s …")
    many, many_refused = run_writers(WRITERS, SECONDS, schools, numbers)
    many_refresh = sum(refreshes) / max(1, len(refreshes))
    rollup.refresh_schools = original
    rate, base_rate = len(many) / SECONDS, len(one) / BASELINE_SECONDS
    report(f"registrations, {WRITERS} writers × {SCHOOLS} schools", f"{rate:,.1f} writes/s", f"{base_rate:,.1f} writes/s",
           rate / base_rate, f"baseline: 1 writer; {len(many):,} registrations in {SECONDS:.0f} s, {many_refused} refused")
    p95, base_p95 = percentile(many, 95), percentile(one, 95)
    report("  p95 latency per registration (incl. refresh)", f"{p95 * 1000:,.0f} ms", f"{base_p95 * 1000:,.0f} ms",
           p95 / base_p95, f"median {percentile(many, 50) * 1000:,.0f} ms vs {percentile(one, 50) * 1000:,.0f} ms;"
           f" mean inline refresh {many_refresh * 1000:,.0f} ms vs {one_refresh * 1000:,.0f} ms")
    say(f"  check: {final_check(ids)}")
    removed = remove_bench_students(ids)
    say(f"  removed the bench's {removed:,} students again (records, events, audit and feed entries); "
        f"{one_refused + many_refused} refused registrations; load at end: {load()}")


if __name__ == "__main__":
    main()

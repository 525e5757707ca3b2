"""Roll-ups under concurrent use, with transactions that really commit from several connections
(PostgreSQL): refreshes of one school, registrations and events in one school and across schools,
a refresh during a census snapshot, and writers marking one school at the same moment. After each,
the roll-ups equal a raw count of the enrolments and a full rebuild, and no dirty mark is left.

Some tests widen the race window the way production load does by chance: a short pause between a
refresh's DELETE and its INSERT … SELECT (``pause_before_rollup_insert``). They pass with real
timing as well (the ``widened=False`` cases). See docs/decisions/0005.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from eduplatform.history.models import DirtySchool
from eduplatform.history.services import mark_schools_dirty
from eduplatform.orgs.models import Organization
from eduplatform.quality import required
from eduplatform.quality.models import Database
from eduplatform.stats import rollup
from eduplatform.stats.models import (
    ClassRollup,
    IncompleteRollup,
    SnapshotClass,
    SnapshotStudent,
    StudentCountyRollup,
    StudentRollup,
)
from eduplatform.students import services
from eduplatform.students.models import Enrolment, EventKind, Student
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.students_support import second_primary_in_county_a, student_row
from tests.test_rollups import county_rows, school_rows_summed_per_county, table_rows

pytestmark = [committing, postgres_only]
PAUSE = 0.15  # seconds between a refresh's DELETE and its INSERT when the window is widened


@pytest.fixture
def pause_before_rollup_insert(monkeypatch):
    """Widen the window between deleting a school's student rows and inserting them again."""
    original = rollup.insert_select

    def paused(table, columns, queryset):
        if table == StudentRollup._meta.db_table:
            time.sleep(PAUSE)
        return original(table, columns, queryset)

    def widen(on: bool) -> None:
        if on:
            monkeypatch.setattr(rollup, "insert_select", paused)

    return widen


def enrolled_in_rollup(school_id: int) -> int:
    return StudentRollup.objects.filter(school_id=school_id).aggregate(n=Sum("enrolled"))["n"] or 0


def raw_count(school_id: int) -> int:
    return Enrolment.objects.filter(school_id=school_id, is_active=True).count()


def assert_rollups_equal_records(school_ids) -> None:
    """Per school: the roll-up equals a raw count; every table equals a full rebuild; the county
    roll-up equals the school rows summed; no mark is left."""
    for school_id in school_ids:
        assert enrolled_in_rollup(school_id) == raw_count(school_id), f"school {school_id}"
    assert county_rows() == school_rows_summed_per_county()
    assert not DirtySchool.objects.exists(), "a committed write left its school marked dirty"
    incremental = table_rows()
    rollup.rebuild_all()
    assert table_rows() == incremental


def register(actor, school, seqs, *, class_number: str = "") -> list[Enrolment]:
    return [services.enrol_student(actor=actor, school=school, data=student_row(seq, class_number=class_number))
            for seq in seqs]


@pytest.mark.parametrize("widened", [True, False])
def test_two_concurrent_refreshes_of_one_school_never_double_its_figures(world, pause_before_rollup_insert, widened):
    clerk, school = world.user("clerk_a1"), world.school_a1
    register(clerk, school, range(1, 31))
    assert enrolled_in_rollup(school.pk) == 30
    pause_before_rollup_insert(widened)
    for _round in range(3 if widened else 15):
        run_concurrently(lambda: rollup.recompute_schools([school.pk]), lambda: rollup.recompute_schools([school.pk]))
        assert enrolled_in_rollup(school.pk) == 30, "two refreshes of one school both inserted its rows"
    assert StudentCountyRollup.objects.filter(region_path__startswith="44/4401/440106").aggregate(
        n=Sum("enrolled"))["n"] == 30
    assert_rollups_equal_records([school.pk])


@pytest.mark.parametrize("widened", [True, False])
def test_parallel_registrations_in_one_school_count_every_student_once(world, pause_before_rollup_insert, widened):
    clerk, school = world.user("clerk_a1"), world.school_a1
    register(clerk, school, [1], class_number="1")  # the class exists before the writers start
    pause_before_rollup_insert(widened)
    per_thread = 4

    def writer(n: int):
        return lambda: register(clerk, school, range(100 + n * per_thread, 100 + (n + 1) * per_thread),
                                class_number="1")

    run_concurrently(*(writer(n) for n in range(8)))
    assert raw_count(school.pk) == 1 + 8 * per_thread
    assert ClassRollup.objects.filter(school_id=school.pk).aggregate(n=Sum("students"))["n"] == 1 + 8 * per_thread
    assert_rollups_equal_records([school.pk])


def test_parallel_registrations_and_events_across_schools(world, pause_before_rollup_insert):
    county, county_b = world.user("county_a_stat"), world.user("county_b_stat")
    second = second_primary_in_county_a()
    futian = Organization.objects.get(school_code="2144000003")
    writers_of = {world.school_a1.pk: county, second.pk: county, world.school_b1.pk: county_b,
                  futian.pk: world.user("county_c_stat")}
    schools = [world.school_a1, second, world.school_b1, futian]
    # Students to suspend and graduate while others register, two per school.
    existing = {s.pk: register(writers_of[s.pk], s, [900 + 10 * i, 901 + 10 * i]) for i, s in enumerate(schools)}
    pause_before_rollup_insert(True)

    def registrations(i: int):
        school = schools[i % len(schools)]
        return lambda: register(writers_of[school.pk], school, range(200 + 5 * i, 205 + 5 * i))

    def events(school):
        def run():
            first, second_one = existing[school.pk]
            services.apply_event(actor=writers_of[school.pk], enrolment=first, kind=EventKind.SUSPEND,
                                 on=timezone.localdate(), reason="病休")
            services.apply_event(actor=writers_of[school.pk], enrolment=second_one, kind=EventKind.DEATH, on=timezone.localdate(), reason="并发检查")
        return run

    run_concurrently(*(registrations(i) for i in range(8)), *(events(s) for s in schools))
    for school in schools:
        assert raw_count(school.pk) == 2 * 5 + 1  # two writers of five each, one of the two earlier left
        assert StudentRollup.objects.filter(school_id=school.pk).aggregate(n=Sum("suspended"))["n"] == 1
    assert_rollups_equal_records([s.pk for s in schools])


def test_a_snapshot_taken_during_refreshes_is_one_consistent_state(world, monkeypatch):
    """The snapshot copies the roll-up tables one after another; refreshes committing in between
    would freeze students of one moment beside classes of another. Every school's students in the
    snapshot must equal its students in classes there (all of them are in class 1)."""
    from eduplatform.stats import snapshots

    county = world.user("county_a_stat")
    schools = [world.school_a1, world.school_b1]
    actors = {world.school_a1.pk: county, world.school_b1.pk: world.user("county_b_stat")}
    for school in schools:
        register(actors[school.pk], school, [700 + school.pk], class_number="1")
    original = snapshots.insert_select

    def slow_copy(table, columns, queryset):
        original(table, columns, queryset)
        if table == SnapshotStudent._meta.db_table:
            time.sleep(0.6)  # registrations commit and refresh meanwhile, if they may

    monkeypatch.setattr(snapshots, "insert_select", slow_copy)
    started = threading.Event()

    def take():
        started.set()
        return snapshots.take_snapshot(actor=world.user("province"), census_date=timezone.localdate())

    def writer(i: int):
        school = schools[i % 2]

        def run():
            started.wait(5)
            time.sleep(0.1 + 0.1 * i)
            register(actors[school.pk], school, range(300 + 10 * i, 304 + 10 * i), class_number="1")
        return run

    snapshot, *_ = run_concurrently(take, *(writer(i) for i in range(6)))
    for school in schools:
        students = SnapshotStudent.objects.filter(snapshot=snapshot, school_id=school.pk).aggregate(
            n=Sum("enrolled"))["n"]
        in_classes = SnapshotClass.objects.filter(snapshot=snapshot, school_id=school.pk).aggregate(
            n=Sum("students"))["n"]
        assert students == in_classes, f"snapshot mixes two moments for school {school.pk}"
        assert 1 <= students <= raw_count(school.pk)
    assert snapshot.totals["students"] == SnapshotStudent.objects.filter(snapshot=snapshot).aggregate(
        n=Sum("enrolled"))["n"]
    assert_rollups_equal_records([s.pk for s in schools])


def test_writers_marking_one_school_at_once_neither_fail_nor_wait_for_each_other(world):
    """Sixteen transactions mark the same two schools (in either order) and hold their transaction
    open a moment; a seventeenth marks while another still holds its mark uncommitted, and commits
    first. None fails; every mark is refreshed and removed."""
    a1, b1 = world.school_a1.pk, world.school_b1.pk
    register(world.user("clerk_a1"), world.school_a1, [1])
    holding, other_done = threading.Event(), threading.Event()

    def marker(i: int):
        def run():
            with transaction.atomic():
                mark_schools_dirty([a1, b1] if i % 2 else [b1, a1])
                time.sleep(random.Random(i).uniform(0, 0.05))
        return run

    def long_holder():
        with transaction.atomic():
            mark_schools_dirty([a1])
            holding.set()
            # The other writer must commit while this mark is still uncommitted.
            return other_done.wait(10)

    def quick_writer():
        holding.wait(10)
        with transaction.atomic():
            mark_schools_dirty([a1])
        other_done.set()

    results = run_concurrently(*(marker(i) for i in range(16)), long_holder, quick_writer)
    assert results[16] is True, "a writer marking a school waited for another writer's transaction"
    assert_rollups_equal_records([a1, b1])


def test_a_refresh_failing_after_commit_keeps_the_write_logs_and_leaves_the_school_for_the_worker(
        world, monkeypatch, caplog):
    from eduplatform.stats import tasks

    queued = []
    monkeypatch.setattr(tasks, "refresh_rollups", SimpleNamespace(enqueue=lambda *a, **k: queued.append(1)))

    def broken(*args, **kwargs):
        raise RuntimeError("roll-up table unavailable")

    monkeypatch.setattr(rollup, "recompute_schools", broken)
    with caplog.at_level(logging.ERROR, logger="eduplatform.stats.rollup"):
        enrolment = services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(5))
    assert Enrolment.objects.filter(pk=enrolment.pk, is_active=True).exists()  # committed, no error raised
    assert [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert DirtySchool.objects.filter(school_id=world.school_a1.pk).exists()
    assert queued, "the worker was not asked to retry"
    monkeypatch.undo()
    assert rollup.drain_dirty() >= 1  # the worker's retry
    assert_rollups_equal_records([world.school_a1.pk])


def test_an_import_whose_refresh_fails_after_commit_is_done_not_failed(world, monkeypatch):
    from eduplatform.core.models import ImportMode, JobStatus
    from eduplatform.students import importing
    from tests.students_support import xlsx_file

    monkeypatch.setattr(rollup, "enqueue_worker", lambda: None)

    def broken(school_ids):
        raise RuntimeError("roll-up table unavailable")

    monkeypatch.setattr(rollup, "refresh_schools", broken)
    fields = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number",
              "entered_on", "phone"]
    headers = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月", "联系电话"]
    rows = [[str(student_row(seq)[f]) for f in fields] for seq in range(40, 52)]
    job = importing.submit_import(actor=world.user("clerk_a1"), school=world.school_a1, file_name="学生.xlsx",
                                  content=xlsx_file(headers, rows), mode=ImportMode.ALL_OR_NOTHING)
    job = importing.run_student_import(job.pk)
    assert (job.status, job.written_rows) == (JobStatus.DONE, 12)
    assert raw_count(world.school_a1.pk) == 12
    assert DirtySchool.objects.filter(school_id=world.school_a1.pk).exists()
    monkeypatch.undo()
    rollup.drain_dirty()
    assert_rollups_equal_records([world.school_a1.pk])


def test_the_worker_and_inline_refreshes_share_a_burst_without_double_work_or_leftovers(world):
    """A burst marks many schools at once (as a promotion would): the commit hands them to the
    worker; two workers and inline refreshes of some of the same schools run together; every
    school ends refreshed once its marks are read, none twice at the same time."""
    from eduplatform.orgs import services as orgs
    from tests.world import TOWN_A, school_row

    extra = orgs.register_schools(actor=None, rows=[
        school_row(f"21449{i:05d}", f"天河并发测试小学{i}", "211", TOWN_A) for i in range(12)])
    county = world.user("county_a_stat")
    for i, school in enumerate(extra):
        register(county, school, [1000 + i])
    ids = [s.pk for s in extra]
    # Marks as a set-based writer leaves them for the worker (two per school: two commits).
    DirtySchool.objects.bulk_create([DirtySchool(school_id=i) for i in ids * 2])
    run_concurrently(lambda: rollup.drain_dirty(batch=5), lambda: rollup.drain_dirty(batch=5),
                     lambda: rollup.refresh_schools(ids[:6]), lambda: rollup.refresh_schools(ids[3:]))
    assert_rollups_equal_records(ids)


def _advisory_locks_held() -> dict[int, int]:
    """This connection's advisory locks by class (the first key of the two-key form)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT classid::int, count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                       " AND pid = pg_backend_pid() GROUP BY classid")
        return dict(cursor.fetchall())


@postgres_only
@pytest.mark.parametrize("limit, per_school", [(10, True), (1, False)])
def test_a_recompute_of_many_schools_holds_one_lock_not_one_per_school(world, monkeypatch, limit, per_school):
    """PostgreSQL keeps all sessions' locks in one fixed table (6,400 by default): locking each of a
    province's 38,000 schools failed with "out of shared memory". Past SCHOOL_LOCK_LIMIT schools
    the recompute holds the roll-ups' exclusive lock instead — and still gives the same rows."""
    monkeypatch.setattr(rollup, "SCHOOL_LOCK_LIMIT", limit)
    schools = [world.school_a1.pk, world.school_a2.pk, world.school_b1.pk]
    register(world.user("clerk_a1"), world.school_a1, [901, 902])
    with transaction.atomic():
        rollup.recompute_schools(schools)
        held = _advisory_locks_held()
    assert held.get(rollup.SCHOOL_LOCK_CLASS, 0) == (len(schools) if per_school else 0)
    assert held.get(rollup.FREEZE_LOCK[0], 0) == 1
    assert_rollups_equal_records(schools)


def incomplete_pupils_in_rollup(school_id: int) -> int:
    return IncompleteRollup.objects.filter(school_id=school_id, database=Database.STUDENTS).aggregate(
        n=Sum("incomplete"))["n"] or 0


def incomplete_pupils_counted_live(school_id: int) -> int:
    return sum(n for school, database, _stage, n in required.incomplete_counts([school_id])
               if database == Database.STUDENTS and school == school_id)


def test_the_completeness_roll_up_stays_exact_while_clerks_add_incomplete_records_and_complete_others(
        world, pause_before_rollup_insert):
    """建库进度 reads IncompleteRollup: writers that add pupils without a 现住址 and writers that fill
    it in for others, committing at once, leave it equal to a live count and to a rebuild."""
    clerk, school = world.user("clerk_a1"), world.school_a1
    to_complete = register(clerk, school, range(300, 308), class_number="1")
    for enrolment in to_complete:  # made incomplete around the services, as an old import left them
        Student.objects.filter(pk=enrolment.student_id).update(home_address="")
    mark_schools_dirty([school.pk])
    rollup.refresh_schools([school.pk])
    assert incomplete_pupils_in_rollup(school.pk) == 8
    pause_before_rollup_insert(True)

    def adder(n: int):
        return lambda: [services.enrol_student(actor=clerk, school=school,
                                               data=student_row(400 + 3 * n + i, home_address=""))
                        for i in range(3)]

    def completer(enrolment):
        return lambda: services.update_student(actor=clerk, student=Student.objects.get(pk=enrolment.student_id),
                                               data={"home_address": "天河区补录路1号"})

    run_concurrently(*(adder(n) for n in range(4)), *(completer(e) for e in to_complete[:6]))
    expected = 4 * 3 + 2  # twelve added incomplete, two of the eight never completed
    assert incomplete_pupils_counted_live(school.pk) == expected
    assert incomplete_pupils_in_rollup(school.pk) == expected
    assert_rollups_equal_records([school.pk])


def test_parallel_registrations_opening_the_same_new_class_all_succeed(world, monkeypatch):
    """Two batches of one school that name a class not opened yet: both read "no such class", both
    open it; the second waits for the first's commit and joins that class instead of failing."""
    from django.db.models.query import QuerySet

    from eduplatform.students.models import SchoolClass

    clerk, school = world.user("clerk_a1"), world.school_a1
    both_read = threading.Barrier(2)
    original = QuerySet.bulk_create

    def bulk_create(self, objs, *args, **kwargs):
        if self.model is SchoolClass:
            both_read.wait(timeout=30)  # each batch has found the class missing before either opens it
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", bulk_create)
    run_concurrently(lambda: register(clerk, school, [301], class_number="7"),
                     lambda: register(clerk, school, [302], class_number="7"))
    (seventh,) = SchoolClass.objects.filter(school=school, number=7)
    assert Enrolment.objects.filter(school_class=seventh, is_active=True).count() == 2
    assert_rollups_equal_records([school.pk])


def test_large_registrations_left_to_the_worker_count_every_student_once_while_it_drains(world, monkeypatch):
    """Registrations larger than ``REFRESH_INLINE_ROWS`` commit from several connections while a
    worker drains the marks they leave, beside small registrations that refresh their school right
    after their commit: every large one queues the worker's job instead of refreshing, and at the
    end every student is counted once, by school and by county, with no mark left."""
    import datetime as dt

    from django_tasks_db.models import DBTaskResult

    from eduplatform.students.schema import clean_student

    monkeypatch.setattr(services, "REFRESH_INLINE_ROWS", 5)
    today = dt.date(2026, 9, 10)
    clerk, county = world.user("clerk_a1"), world.user("county_a_stat")
    second = second_primary_in_county_a()
    register(clerk, world.school_a1, [1], class_number="1")  # the class exists before the writers start
    rollup.drain_dirty()
    jobs = DBTaskResult.objects.filter(task_path__endswith="refresh_rollups")
    queued_before = jobs.count()
    refreshed_inline: list[frozenset[int]] = []
    original_refresh = rollup.refresh_schools

    def spying_refresh(ids, *args, **kwargs):
        refreshed_inline.append(frozenset(ids))
        return original_refresh(ids, *args, **kwargs)

    monkeypatch.setattr(rollup, "refresh_schools", spying_refresh)

    def registration(school, first: int, n: int):
        rows = [(i, clean_student(student_row(first + i, class_number="1"), stage_mask=school.stage_mask, today=today))
                for i in range(1, n + 1)]
        return lambda: services.register_students(actor=county, school=school, rows=rows, accept_valid=False,
                                                  today=today, policy=None)

    large = [registration(world.school_a1 if i % 2 else second, 1000 + 100 * i, 8) for i in range(4)]
    small = [registration(world.school_a1 if i % 2 else second, 5000 + 100 * i, 3) for i in range(2)]
    writers_done = threading.Event()

    def worker() -> None:
        while not writers_done.is_set():
            rollup.drain_dirty(batch=1)
            time.sleep(0.01)

    def writers() -> None:
        try:
            run_concurrently(*large, *small)
        finally:
            writers_done.set()

    run_concurrently(worker, writers)
    assert jobs.count() == queued_before + len(large), "each large registration queues the worker's refresh"
    assert sorted(refreshed_inline, key=sorted) == sorted([frozenset({world.school_a1.pk}), frozenset({second.pk})], key=sorted), \
        "only the small registrations refresh their school inline, each its own"
    rollup.drain_dirty()  # the queued jobs' run after the burst
    assert raw_count(world.school_a1.pk) == 1 + 2 * 8 + 1 * 3
    assert raw_count(second.pk) == 2 * 8 + 1 * 3
    assert_rollups_equal_records([world.school_a1.pk, second.pk])

"""Student-register benchmarks: a 50,000-row import end to end, and promotion of a million students.

Called from bench/run.py after the province's schools exist. Each prints its figure beside a
baseline measured in the same run on the same rows.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from collections.abc import Callable

import xlsxwriter
from django.db import connection, transaction

IMPORT_ROWS = 50_000
PROMOTION_STUDENTS = 1_000_000
HEADERS = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月", "联系电话",
           "是否进城务工人员随迁子女", "就读方式", "现住址", "成员1姓名", "成员1关系", "成员1联系电话"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程"
GIVEN = "子梓浩宇轩然欣怡涵诗雨晨博文嘉佳俊杰思睿明慧安琪泽瑞锦鑫一诺依若彤可馨"


def _id_number(area: str, birth: dt.date, seq: int, female: bool) -> str:
    """A valid number in the upper half of the day's sequence (250–499): the province generator
    counts each place, day and sex up from 0 and stays far below (天河: at most 90), so the bench's
    people are new to the register rather than other schools' pupils."""
    from eduplatform.standards.validators import id_number_check_char

    body = f"{area}{birth:%Y%m%d}{(250 + seq % 250) * 2 + (0 if female else 1):03d}"
    return body + id_number_check_char(body)


def import_rows(n: int, seed: int = 7) -> list[list[str]]:
    """Primary-school rows as a school clerk's file holds them: unique valid IDs, names, guardians
    (unique up to 180,000 rows: the birth days repeat after that)."""
    assert n <= 180_000, n
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        grade = 1 + i % 6
        birth = dt.date(2025 - 6 - grade, 9, 1) + dt.timedelta(days=(i // 500) % 360)
        female = rng.random() < 0.48
        surname = rng.choice(SURNAMES)
        rows.append([
            surname + rng.choice(GIVEN) + rng.choice(GIVEN), "女" if female else "男", birth.isoformat(), "1",
            _id_number("440106", birth, i, female), "01" if rng.random() > 0.01 else "08", f"{grade}年级" if grade > 1
            else "一年级", str(1 + (i // 45) % 12), f"{2025 - grade + 1}-09", f"13{rng.randrange(10**9):09d}",
            "是" if rng.random() < 0.3 else "否", "走读", "天河路 100 号", surname + "建国", "父亲", f"139{rng.randrange(10**8):08d}",
        ])
    return rows


def xlsx_of(rows: list[list[str]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("数据")
    sheet.write_row(0, 0, HEADERS)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return buffer.getvalue()


def bare_copy(rows: list[list[str]]) -> None:
    """The baseline of every import benchmark: the same rows COPYed into a plain text table."""
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE import_baseline (" + ", ".join(f"c{i} text" for i in range(len(HEADERS))) + ")")
        with cur.copy("COPY import_baseline FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute("DROP TABLE import_baseline")


def bench_import(report: Callable[..., None], timed: Callable, school, clerk) -> None:
    from eduplatform.core.models import ImportMode, JobStatus
    from eduplatform.students import importing

    rows = import_rows(IMPORT_ROWS)
    content = xlsx_of(rows)

    with transaction.atomic():
        copy_s, _ = timed(lambda: bare_copy(rows))
    # Set-up, not measured: the schools registered before leave roll-up refreshes pending, more than a
    # commit refreshes inline. With them done, the import's own refresh runs inline after its commit,
    # as it does for a school's import in the worker, and is part of the figure.
    from eduplatform.stats.rollup import process_dirty

    process_dirty()

    def run_import():
        job = importing.submit_import(actor=clerk, school=school, file_name="bench.xlsx", content=content,
                                      mode=ImportMode.ALL_OR_NOTHING)
        return importing.run_student_import(job.pk)

    import_s, job = timed(run_import)
    assert job.status == JobStatus.DONE and job.written_rows == IMPORT_ROWS, (job.status, job.problems[:3])
    report("import 50,000 students (near-empty register)", f"{IMPORT_ROWS / import_s:,.0f} rows/s",
           f"{IMPORT_ROWS / copy_s:,.0f} rows/s", (IMPORT_ROWS / import_s) / (IMPORT_ROWS / copy_s),
           f"bare COPY of the same rows; {import_s:.1f} s incl. parse, checks, audit, feed; goal ≥ 10,000 rows/s")


def _fill_region(region_path: str, n: int) -> int:
    """A million students in the region's primary schools, written with COPY (set-up, not measured)."""
    from eduplatform.core.bulk import reserve_ids
    from eduplatform.orgs.models import Organization
    from eduplatform.students.models import SchoolClass, Student

    schools = list(Organization.objects.filter(kind="school", region_path__startswith=region_path,
                                               stage_mask__gte=2).filter(stage_mask__lt=4)
                   .values_list("pk", "region_path"))
    per_school = n // len(schools) + 1
    now = dt.datetime.now(dt.UTC)
    classes = []
    for pk, path in schools:
        for grade in range(11, 17):
            for number in range(1, per_school // (6 * 45) + 2):
                classes.append((pk, path, 2025, str(grade), number, f"{grade}年级（{number}）班", "10", ""))
    _copy("students_schoolclass (school_id, region_path, school_year, grade, number, name, class_type,"
          " head_teacher)", classes)
    class_ids = dict(((s, g, num), pk) for pk, s, g, num in SchoolClass.objects.filter(
        region_path__startswith=region_path, school_year=2025).values_list("pk", "school", "grade", "number"))
    student_ids = reserve_ids(Student, n)
    # "B…" numbers cannot collide with real G/J/L numbers; nothing here reads them.
    _copy("students_student (id, student_number, name, former_name, gender, birth_date, id_type, id_number_cipher,"
          " id_number_index, id_number_masked, ethnicity, nationality, hk_macao_taiwan, birthplace_code, native_place,"
          " hukou_place_code, hukou_nature, political_status, health_status, disability_type, migrant_child,"
          " left_behind, only_child, boarding_mode, home_address, phone_cipher, phone_masked, guardians, school_id,"
          " region_path, created_at, updated_at)",
          ((sid, f"B{i:018d}", f"学生{i}", "", "1" if i % 2 else "2", dt.date(2016, 1, 1), "Z", "", "", "", "01",
            "CHN", "00", "", "", "", "", "", "10", "", False, "0", False, "1", "", "", "", "[]",
            *schools[i % len(schools)], now, now) for i, sid in enumerate(student_ids)))
    classes_per_grade = max(1, per_school // (6 * 45) + 1)

    def enrolment(i: int, sid: int) -> tuple:
        pk, path = schools[i % len(schools)]
        grade = str(11 + (i // len(schools)) % 6)
        number = 1 + (i // (len(schools) * 6)) % classes_per_grade
        return (sid, pk, path, 2, grade, class_ids.get((pk, grade, number)), "01", True, dt.date(2020, 9, 1), "11",
                None, "", None, "", i % 97 == 0, now, now)

    _copy("students_enrolment (student_id, school_id, region_path, stage, grade, school_class_id, status, is_active,"
          " entered_on, entry_mode, left_on, major, programme_length, level, repeat_next_promotion, created_at,"
          " updated_at)", (enrolment(i, sid) for i, sid in enumerate(student_ids)))
    with connection.cursor() as cur:
        cur.execute("ANALYZE students_enrolment; ANALYZE students_schoolclass; ANALYZE students_student")
    return len(schools)


def _copy(target: str, rows) -> None:
    with connection.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def bench_promotion(report: Callable[..., None], timed: Callable, actor, region_path: str) -> None:
    from eduplatform.students import promotion

    started = time.perf_counter()
    with transaction.atomic():
        schools = _fill_region(region_path, PROMOTION_STUDENTS)
    fill_s = time.perf_counter() - started
    scope = promotion.promotion_scope(actor, region_path=region_path)
    preview_s, preview = timed(lambda: promotion.preview_promotion(scope))

    def bare_update() -> None:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("UPDATE students_enrolment SET grade = grade WHERE region_path LIKE %s AND is_active",
                        [region_path + "%"])
            transaction.set_rollback(True)

    bare_s, _ = timed(bare_update)
    execute_s, batch = timed(lambda: promotion.execute_promotion(
        actor=actor, scope=scope, from_year=2025, graduation_date=dt.date(2026, 7, 10)))
    assert (batch.promoted, batch.graduated, batch.kept) == (preview.promote, preview.graduate, preview.stay)
    total = batch.promoted + batch.graduated + batch.kept
    report("year-end promotion of a region (1M students)", f"{execute_s:.1f} s", f"{bare_s:.1f} s",
           execute_s / bare_s, f"bare UPDATE of the same rows; {total:,} students in {schools:,} schools; "
           f"preview {preview_s:.1f} s; goal < 60 s (set-up {fill_s:.0f} s)")
    undo_s, _ = timed(lambda: promotion.undo_promotion(actor=actor, batch=batch))
    report("undo of that promotion", f"{undo_s:.1f} s", f"{execute_s:.1f} s", undo_s / execute_s,
           "baseline: the promotion itself")

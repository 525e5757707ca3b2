"""Province-wide duplicate checks of a registration batch: found row by row, asked in a few statements."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from eduplatform.students import services
from eduplatform.students.duplicates import KEYS_PER_QUERY
from eduplatform.students.models import Enrolment
from eduplatform.students.schema import clean_student

from .students_support import student_row

TODAY = dt.date(2026, 3, 2)


def undocumented(seq: int, **overrides) -> dict[str, object]:
    return student_row(seq, id_type="Z", id_number="", **overrides)


def register(world, user_key: str, school, raws: list[dict], *, accept_valid: bool = True):
    rows = [(n, clean_student(raw, stage_mask=school.stage_mask, today=TODAY)) for n, raw in enumerate(raws, start=2)]
    return services.register_students(actor=world.user(user_key), school=school, rows=rows, accept_valid=accept_valid,
                                       today=TODAY)


def test_undocumented_duplicates_in_a_large_batch_are_found_with_a_few_statements(world):
    # Two students without ID numbers already active at school A1.
    register(world, "clerk_a1", world.school_a1, [undocumented(5), undocumented(6)], accept_valid=False)
    batch = [undocumented(seq) for seq in range(100, 100 + 2 * KEYS_PER_QUERY + 50)]
    batch[10] = undocumented(5)  # same person: name, sex, birth date and guardian 家长5
    batch[20] = undocumented(6, guardian1_name="另一位家长")  # same name, sex, birth, other guardian: someone else
    with CaptureQueriesContext(connection) as queries:
        result = register(world, "clerk_b1", world.school_b1, batch)
    look_ups = [q["sql"] for q in queries.captured_queries if "IN (VALUES" in q["sql"]]
    assert len(look_ups) == 3  # 650 rows, 300 keys per statement — not one query per row
    assert [(p.row, p.field) for p in result.rejected] == [(12, "name")]
    assert "天河测试小学" in result.rejected[0].message and "监护人均相同" in result.rejected[0].message
    assert len(result.enrolment_ids) == len(batch) - 1
    # The student with another guardian was registered at B1; the duplicate stays only at A1.
    assert Enrolment.objects.filter(is_active=True, student__name="测试学生6").count() == 2
    assert list(Enrolment.objects.filter(is_active=True, student__name="测试学生5")
                .values_list("school_id", flat=True)) == [world.school_a1.pk]


def test_undocumented_row_without_guardian_matches_on_name_sex_and_birth_date(world):
    register(world, "clerk_a1", world.school_a1, [undocumented(7)], accept_valid=False)
    result = register(world, "clerk_b1", world.school_b1, [undocumented(8), undocumented(7, guardian1_name="",
                                                                                       guardian1_phone="")])
    assert [(p.row, p.field) for p in result.rejected] == [(3, "name")]
    assert len(result.enrolment_ids) == 1

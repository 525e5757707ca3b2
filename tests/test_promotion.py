"""Year-end promotion: the preview predicts the execution, and undo restores the exact state."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import ChangeFeedEntry
from eduplatform.students import promotion, services
from eduplatform.students.models import Enrolment, EventKind, SchoolClass, StudentEvent

from .students_support import student_row

TODAY = dt.date(2026, 3, 2)
GRADUATION = dt.date(2026, 7, 10)


def enrolment_state() -> list[tuple]:
    return sorted(Enrolment.objects.values_list(
        "id", "grade", "school_class_id", "status", "is_active", "left_on", "repeat_next_promotion"))


@pytest.fixture
def school_a1_students(world):
    """Grade 1 in classes 1 and 2, grade 6 in class 1, one unplaced, one suspended, one repeating."""
    clerk = world.user("clerk_a1")
    rows = [student_row(i, grade="一年级", class_number=str(1 + i % 2)) for i in range(1, 9)]
    rows += [student_row(i, grade="六年级", class_number="1", birth_date=None) for i in range(20, 25)]
    rows += [student_row(30, grade="三年级", class_number="")]
    for row in rows:
        if row["birth_date"] is None:
            row["birth_date"] = row["id_number"][6:14]
    enrolments = [services.enrol_student(actor=clerk, school=world.school_a1, data=row, today=TODAY) for row in rows]
    services.apply_event(actor=clerk, enrolment=enrolments[0], kind=EventKind.SUSPEND, on=TODAY, reason="病休")
    services.apply_event(actor=clerk, enrolment=enrolments[1], kind=EventKind.REPEAT, on=TODAY, reason="学业")
    # Another county's school is outside a county-A promotion.
    services.enrol_student(actor=world.user("clerk_b1"), school=world.school_b1, data=student_row(50), today=TODAY)
    return enrolments


def test_preview_and_execution_agree_and_undo_restores_exactly(world, school_a1_students):
    actor = world.user("county_a_stat")
    scope = promotion.promotion_scope(actor, region_path=world.county_a.region_path)
    preview = promotion.preview_promotion(scope)
    assert (preview.promote, preview.graduate, preview.stay, preview.suspended) == (7, 5, 1, 1)
    assert preview.without_class == 1
    assert any("休学" in e[3] for e in preview.exceptions) and any("留级" in e[3] for e in preview.exceptions)
    before = enrolment_state()
    classes_before = SchoolClass.objects.count()
    events_before = StudentEvent.objects.count()
    executed_at = timezone.now()

    batch = promotion.execute_promotion(actor=actor, scope=scope, from_year=2025, graduation_date=GRADUATION,
                                        now=executed_at)
    assert (batch.promoted, batch.graduated, batch.kept) == (preview.promote, preview.graduate, preview.stay)
    grades = dict(Enrolment.objects.filter(school=world.school_a1, status="01").values_list("student__name", "grade"))
    assert grades["测试学生2"] == "11"  # repeating
    assert grades["测试学生3"] == "12" and grades["测试学生30"] == "14"
    assert Enrolment.objects.get(student__name="测试学生1").status == "02"  # suspended, untouched
    grads = Enrolment.objects.filter(status="07")
    assert grads.count() == 5 and not grads.filter(is_active=True).exists()
    assert set(grads.values_list("left_on", flat=True)) == {GRADUATION}
    promoted_class = Enrolment.objects.get(student__name="测试学生3").school_class
    assert (promoted_class.school_year, promoted_class.grade, promoted_class.number) == (2026, "12", 2)
    assert promoted_class.name == "二年级（2）班"
    assert Enrolment.objects.get(student__name="测试学生50").grade == "11"  # county B untouched
    # Each student's record of the promotion is its snapshot row, read back for the timeline.
    timeline = promotion.promotions_of([e.pk for e in school_a1_students])
    assert sorted(r.outcome for r in timeline).count("毕业") == 5
    assert sum(r.outcome.startswith("升入") for r in timeline) == 7
    assert sum(r.outcome == "留级" for r in timeline) == 1
    assert StudentEvent.objects.count() == events_before
    assert ChangeFeedEntry.objects.filter(resource="student", occurred_at=executed_at).count() == 13
    # A second run of the same year is refused.
    with pytest.raises(RecordInvalid):
        promotion.execute_promotion(actor=actor, scope=scope, from_year=2025, graduation_date=GRADUATION)

    promotion.undo_promotion(actor=actor, batch=batch, now=executed_at + dt.timedelta(hours=1))
    assert enrolment_state() == before
    assert SchoolClass.objects.count() == classes_before
    assert all(r.undone for r in promotion.promotions_of([e.pk for e in school_a1_students]))


def test_undo_is_refused_after_later_changes_or_the_window(world, school_a1_students):
    actor = world.user("clerk_a1")
    scope = promotion.promotion_scope(actor, school=world.school_a1)
    batch = promotion.execute_promotion(actor=actor, scope=scope, from_year=2025, graduation_date=GRADUATION)
    late = batch.undo_until + dt.timedelta(seconds=1)
    assert any("期限" in r for r in promotion.undo_blockers(batch, late))
    moved = Enrolment.objects.get(student__name="测试学生3")
    services.apply_event(actor=actor, enrolment=moved, kind=EventKind.SUSPEND, on=TODAY, reason="升级后休学")
    with pytest.raises(RecordInvalid) as caught:
        promotion.undo_promotion(actor=actor, batch=batch)
    assert "再次变动" in str(caught.value)


def test_promotion_scope_is_the_actors_jurisdiction(world):
    with pytest.raises(NotPermitted):
        promotion.promotion_scope(world.user("principal_a1"), school=world.school_a1)
    with pytest.raises(OutOfScope):
        promotion.promotion_scope(world.user("clerk_a1"), school=world.school_b1)
    with pytest.raises(OutOfScope):
        promotion.promotion_scope(world.user("county_a_stat"), region_path=world.county_b.region_path)
    with pytest.raises(NotPermitted):
        promotion.promotion_scope(world.user("clerk_a1"), region_path=world.county_a.region_path)


def test_a_region_run_skips_schools_that_promoted_themselves(world, school_a1_students):
    """A school promotes itself first; the county's run for the same year leaves it alone instead of
    refusing, and a second run for that school is refused."""
    clerk, county = world.user("clerk_a1"), world.user("county_a_stat")
    own = promotion.execute_promotion(actor=clerk, scope=promotion.promotion_scope(clerk, school=world.school_a1),
                                      from_year=2025, graduation_date=GRADUATION)
    other = services.enrol_student(actor=county, school=world.college_a, today=TODAY,
                                   data=student_row(60, grade="大一", major="计算机科学与技术", programme_length="4"))
    after_own = enrolment_state()
    region = promotion.promotion_scope(county, region_path=world.county_a.region_path)
    preview = promotion.preview_promotion(region, from_year=2025)
    assert preview.already_promoted == ["天河测试小学"]
    assert (preview.promote, preview.graduate, preview.stay) == (1, 0, 0)
    batch = promotion.execute_promotion(actor=county, scope=region, from_year=2025, graduation_date=GRADUATION)
    assert (batch.promoted, batch.graduated, batch.kept) == (1, 0, 0)
    assert Enrolment.objects.get(pk=other.pk).grade == "52"
    changed = {row[0] for row in set(enrolment_state()) - set(after_own)}
    assert changed == {other.pk}  # school A1's students were not promoted a second time
    with pytest.raises(RecordInvalid):
        promotion.execute_promotion(actor=clerk, scope=promotion.promotion_scope(clerk, school=world.school_a1),
                                    from_year=2025, graduation_date=GRADUATION)
    assert own.undone_at is None

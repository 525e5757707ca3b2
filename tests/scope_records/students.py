"""Student-register records outside each group's reach: a student, a change request, an
import job and a promotion batch at the group's outside school."""

from __future__ import annotations

from tests.scope_records import outside_school
from tests.students_support import student_row, xlsx_file
from tests.world import World

_SEQ = {"county_a_stat": 901, "clerk_a1": 902, "k12_officer": 903, "higher_officer": 904, "city_stat": 905}
_OVERRIDES = {
    "clerk_a1": {"grade": "小班"},  # the outside school is a kindergarten
    "k12_officer": {"grade": "大学一年级", "major": "计算机科学与技术", "programme_length": "4"},
}
_WRITER = {"county_a_stat": "clerk_b1", "clerk_a1": "county_a_stat", "k12_officer": "county_a_stat",
           "higher_officer": "county_a_stat", "city_stat": "county_c_stat"}


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from django.utils import timezone

    from eduplatform.core.models import ImportMode
    from eduplatform.students import approvals, importing, promotion, services

    school = outside_school(world, group)
    writer, today = world.user(_WRITER[group]), timezone.localdate()
    enrolment = services.enrol_student(actor=writer, school=school, data=student_row(_SEQ[group], **_OVERRIDES.get(group, {})))
    request = approvals.apply_drop_out(actor=writer, enrolment=enrolment, on=today, reason="矩阵检查")
    job = importing.submit_import(actor=writer, school=school, file_name=f"{school.name}.xlsx",
                                  content=xlsx_file(["姓名"], [["矩阵检查"]]), mode=ImportMode.DRY_RUN)
    batch = promotion.execute_promotion(actor=writer, scope=promotion.promotion_scope(writer, school=school),
                                        from_year=services.current_school_year(today), graduation_date=today)
    from eduplatform.students.models import StudentEvent

    event = StudentEvent.objects.filter(student=enrolment.student).order_by("pk").first()
    school_class = enrolment.school_class
    # The API names records by their natural keys (/api/v1/students/{student_number}, classes by
    # school year, grade and number, events by id).
    return {"student_ref": str(enrolment.student.public_id), "request_id": str(request.pk),
            "job_id": str(job.pk), "batch_id": str(batch.pk),
            "student_number": enrolment.student.student_number, "id": str(event.pk),
            "school_year": str(school_class.school_year) if school_class else "2026",
            "grade": school_class.grade if school_class else "11",
            "number": str(school_class.number) if school_class else "1"}

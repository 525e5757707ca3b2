"""The student register: identity protection, 一人一籍, events, transfers, dropouts, classes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from eduplatform.core import crypto
from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.students import approvals, services
from eduplatform.students.models import (
    ChangeRequest,
    Enrolment,
    EventKind,
    RequestStatus,
    RetiredStudentNumber,
    Student,
    StudentEvent,
)

from .students_support import make_id, second_primary_in_county_a, student_row

TODAY = dt.date(2026, 3, 2)


def enrol(world, user_key: str, school, seq: int = 1, **overrides) -> Enrolment:
    return services.enrol_student(actor=world.user(user_key), school=school, data=student_row(seq, **overrides),
                                  today=TODAY)


def active_schools(student: Student) -> list[int]:
    return list(Enrolment.objects.filter(student=student, is_active=True).values_list("school_id", flat=True))


def test_registration_encrypts_indexes_and_masks_identifiers(world):
    row = student_row(1)
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    student = enrolment.student
    assert student.student_number == "G" + row["id_number"]
    assert row["id_number"] not in student.id_number_cipher
    assert crypto.decrypt(student.id_number_cipher) == row["id_number"]
    assert student.id_number_masked == row["id_number"][:6] + "********" + row["id_number"][-4:]
    assert student.phone_masked == "138****8000" and "13800138000" not in student.phone_cipher
    assert student.guardians[0]["phone_masked"] == "139****9000"
    # Nothing in the raw table row holds the plain ID number.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM students_student WHERE id = %s", [student.pk])
        assert all(row["id_number"] not in str(v) for v in cursor.fetchone() if not str(v).startswith("G"))
    audit = AuditEntry.objects.get(object_type="students.student", object_id=str(student.pk))
    assert audit.changes["id_number"]["after"] == student.id_number_masked
    assert ChangeFeedEntry.objects.filter(resource="student", natural_key=student.student_number).exists()
    assert StudentEvent.objects.filter(student=student, kind=EventKind.ENROL).count() == 1


def test_second_active_enrolment_is_refused_naming_the_holding_school(world):
    enrol(world, "clerk_a1", world.school_a1, 1)
    with pytest.raises(RecordInvalid) as caught:
        enrol(world, "clerk_b1", world.school_b1, 1, name="测试学生1")
    assert "天河测试小学" in str(caught.value)
    assert "转学" in str(caught.value)
    student = Student.objects.get()
    assert active_schools(student) == [world.school_a1.pk]


def test_database_constraint_holds_even_when_services_are_bypassed(world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(student=enrolment.student, school=world.school_b1,
                                 region_path=world.school_b1.region_path, stage=2, grade="11",
                                 entered_on=TODAY, is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Student.objects.create(student_number="G" + make_id(dt.date(2018, 1, 1), 999),
                               name="重复", gender="1", birth_date=dt.date(2018, 1, 1),
                               id_number_index=enrolment.student.id_number_index, school=world.school_b1,
                               region_path=world.school_b1.region_path)


def test_graduate_re_enrols_elsewhere_under_the_same_lifelong_number(world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    services.apply_event(actor=world.user("clerk_a1"), enrolment=enrolment, kind=EventKind.GRADUATE, on=TODAY,
                         reason="小学毕业")
    again = enrol(world, "clerk_b1", world.school_b1, 1)
    assert again.student_id == enrolment.student_id
    assert Student.objects.count() == 1
    assert active_schools(again.student) == [world.school_b1.pk]


def test_undocumented_duplicate_is_found_by_name_birth_sex_and_guardian(world):
    enrol(world, "clerk_a1", world.school_a1, 5, id_type="Z", id_number="")
    with pytest.raises(RecordInvalid) as caught:
        enrol(world, "clerk_b1", world.school_b1, 5, id_type="Z", id_number="")
    assert "天河测试小学" in str(caught.value)


def test_bad_values_get_field_level_messages(world):
    with pytest.raises(RecordInvalid) as caught:
        enrol(world, "clerk_a1", world.school_a1, 1, id_number="440106201803011234", ethnicity="火星族",
              grade="高三")
    fields = caught.value.by_field()
    assert "校验码" in "".join(fields["id_number"]) or "无效" in "".join(fields["id_number"])
    assert "民族" in "".join(fields["ethnicity"])
    assert "本校不设" in "".join(fields["grade"])
    assert Student.objects.count() == 0


def test_school_clerk_cannot_register_into_another_school(world):
    with pytest.raises(OutOfScope):
        enrol(world, "clerk_a1", world.school_b1, 1)
    with pytest.raises(NotPermitted):
        enrol(world, "principal_a1", world.school_a1, 1)


def test_revealing_the_id_number_is_allowed_to_some_and_always_audited(world):
    student = enrol(world, "clerk_a1", world.school_a1, 1).student
    full = services.reveal_identifiers(actor=world.user("clerk_a1"), student=student)
    assert full["id_number"] == student_row(1)["id_number"]
    assert AuditEntry.objects.filter(action="view_sensitive", object_id=str(student.pk)).count() == 1
    with pytest.raises(NotPermitted):
        services.reveal_identifiers(actor=world.user("principal_a1"), student=student)


def test_id_correction_keeps_the_student_number(world):
    student = enrol(world, "clerk_a1", world.school_a1, 1).student
    number = student.student_number
    new_id = make_id(student.birth_date, 77)
    services.correct_id_number(actor=world.user("clerk_a1"), student=student, id_type="1", id_number=new_id,
                               reason="户籍更正")
    student.refresh_from_db()
    assert student.student_number == number
    assert crypto.decrypt(student.id_number_cipher) == new_id
    assert student.id_number_index == services.id_index("1", new_id)


def test_temporary_number_is_replaced_by_an_event_and_never_reissued(world):
    student = enrol(world, "clerk_a1", world.school_a1, 3, id_type="Z", id_number="").student
    assert student.student_number.startswith("L440106")
    services.correct_id_number(actor=world.user("clerk_a1"), student=student, id_type="1",
                               id_number=student_row(3)["id_number"], reason="补登身份证")
    old = student.student_number
    services.replace_temporary_number(actor=world.user("clerk_a1"), student=Student.objects.get(pk=student.pk))
    student.refresh_from_db()
    assert student.student_number == "G" + student_row(3)["id_number"]
    assert RetiredStudentNumber.objects.filter(number=old, student=student).exists()
    assert StudentEvent.objects.filter(student=student, kind=EventKind.NUMBER_CHANGE, detail__to=student.student_number
                                       ).exists()
    assert Student.objects.count() == 1
    assert services._numbers_taken([old]) == {old}


def test_suspend_and_resume_keep_the_registration_active(world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    clerk = world.user("clerk_a1")
    services.apply_event(actor=clerk, enrolment=enrolment, kind=EventKind.SUSPEND, on=TODAY, reason="病休")
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.is_active) == ("02", True)
    with pytest.raises(RecordInvalid):
        services.apply_event(actor=clerk, enrolment=enrolment, kind=EventKind.SUSPEND, on=TODAY, reason="再次")
    services.apply_event(actor=clerk, enrolment=enrolment, kind=EventKind.RESUME, on=TODAY, reason="康复")
    enrolment.refresh_from_db()
    assert enrolment.status == "01"
    history = AuditEntry.objects.filter(object_type="students.student", action="update")
    assert any(e.changes.get("status", {}).get("after") == "休学" for e in history)


def test_same_county_transfer_end_to_end_with_a_return(world):
    receiving = second_primary_in_county_a()
    from eduplatform.accounts import services as accounts
    from eduplatform.accounts.roles import Role

    clerk_a3 = accounts.create_user(actor=None, username="clerk_a3", password="Test@2026pass",
                                    organization=receiving, display_name="clerk_a3")
    accounts.grant_role(actor=None, user=clerk_a3, role=Role.SCHOOL_CLERK)
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    student = enrolment.student
    found = approvals.find_transfer_candidate(actor=clerk_a3, student_number=student.student_number, name="测试学生1")
    assert found.pk == enrolment.pk
    with pytest.raises(RecordInvalid):
        approvals.find_transfer_candidate(actor=clerk_a3, student_number=student.student_number, name="别人")

    def apply():
        return approvals.apply_transfer(actor=clerk_a3, to_school=receiving, enrolment=found, to_grade="11",
                                        effective_on=TODAY, reason="随父母搬家")

    request = apply()
    titles = [s.title for s in request.steps.order_by("order")]
    assert titles == ["转出学校确认", "县级教育行政部门审核"]
    # The county cannot act before the sending school.
    county_step, school_step = request.steps.get(order=2), request.steps.get(order=1)
    with pytest.raises(RecordInvalid):
        approvals.decide(actor=world.user("county_a_reviewer"), step=county_step, approve=True)
    approvals.decide(actor=world.user("clerk_a1"), step=school_step, approve=True)
    assert active_schools(student) == [world.school_a1.pk]
    # Returned by the county, with a reason: nothing moves.
    with pytest.raises(RecordInvalid):
        approvals.decide(actor=world.user("county_a_reviewer"), step=county_step, approve=False, comment="")
    approvals.decide(actor=world.user("county_a_reviewer"), step=county_step, approve=False, comment="材料不全")
    request.refresh_from_db()
    assert request.status == RequestStatus.RETURNED
    assert active_schools(student) == [world.school_a1.pk]
    # Applied again and approved through: the registration moves in one step.
    request = apply()
    approvals.decide(actor=world.user("clerk_a1"), step=request.steps.get(order=1), approve=True)
    assert active_schools(student) == [world.school_a1.pk]
    approvals.decide(actor=world.user("county_a_reviewer"), step=request.steps.get(order=2), approve=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert active_schools(student) == [receiving.pk]
    old = Enrolment.objects.get(pk=enrolment.pk)
    assert (old.status, old.left_on) == ("10", TODAY)
    kinds = set(StudentEvent.objects.filter(student=student).values_list("kind", flat=True))
    assert {"transfer_out", "transfer_in"} <= kinds
    student.refresh_from_db()
    assert student.school_id == receiving.pk


def test_cross_county_transfer_follows_the_four_party_chain(world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    clerk_b1 = world.user("clerk_b1")
    found = approvals.find_transfer_candidate(actor=clerk_b1, student_number=enrolment.student.student_number,
                                              name="测试学生1")
    request = approvals.apply_transfer(actor=clerk_b1, to_school=world.school_b1, enrolment=found, to_grade="11",
                                       effective_on=TODAY, reason="跨区转学")
    steps = list(request.steps.order_by("order"))
    assert [s.organization_id for s in steps] == [world.county_b.pk, world.school_a1.pk, world.county_a.pk]
    # Only the organization of the open step may decide it.
    with pytest.raises(OutOfScope):
        approvals.decide(actor=world.user("county_a_reviewer"), step=steps[0], approve=True)
    approvals.decide(actor=world.user("county_b_stat"), step=steps[0], approve=True)
    assert active_schools(enrolment.student) == [world.school_a1.pk]
    approvals.decide(actor=world.user("clerk_a1"), step=steps[1], approve=True)
    assert active_schools(enrolment.student) == [world.school_a1.pk]
    approvals.decide(actor=world.user("county_a_reviewer"), step=steps[2], approve=True)
    assert active_schools(enrolment.student) == [world.school_b1.pk]
    assert ChangeRequest.objects.get(pk=request.pk).status == RequestStatus.APPROVED


def test_only_one_open_request_per_registration(world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    approvals.apply_transfer(actor=world.user("clerk_b1"), to_school=world.school_b1, enrolment=enrolment,
                             to_grade="11", effective_on=TODAY, reason="转学")
    with pytest.raises(RecordInvalid):
        approvals.apply_drop_out(actor=world.user("clerk_a1"), enrolment=enrolment, on=TODAY, reason="退学")


def test_compulsory_age_dropout_needs_county_approval(world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    clerk = world.user("clerk_a1")
    with pytest.raises(RecordInvalid) as caught:
        services.apply_event(actor=clerk, enrolment=enrolment, kind=EventKind.DROP_OUT, on=TODAY, reason="家庭原因")
    assert "控辍保学" in str(caught.value)
    request = approvals.apply_drop_out(actor=clerk, enrolment=enrolment, on=TODAY, reason="家庭原因")
    step = request.steps.get()
    assert step.organization_id == world.county_a.pk
    approvals.decide(actor=world.user("county_a_reviewer"), step=step, approve=True)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.is_active) == ("03", False)


def test_classes_and_assignment(world):
    clerk = world.user("clerk_a1")
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1, class_number="")
    klass = services.create_class(actor=clerk, school=world.school_a1, school_year=2025, grade="11", number=7)
    with pytest.raises(RecordInvalid):
        services.create_class(actor=clerk, school=world.school_a1, school_year=2025, grade="11", number=7)
    services.assign_class(actor=clerk, enrolment=enrolment, school_class=klass)
    assert Enrolment.objects.get(pk=enrolment.pk).school_class_id == klass.pk
    wrong = services.create_class(actor=clerk, school=world.school_a1, school_year=2025, grade="12", number=1)
    with pytest.raises(RecordInvalid):
        services.assign_class(actor=clerk, enrolment=enrolment, school_class=wrong)


def test_key_rotation_reseals_with_the_new_key_and_keeps_lookups(world, settings):
    from eduplatform.core.identity import id_index

    student = enrol(world, "clerk_a1", world.school_a1, 1).student
    old_spec = settings.FIELD_ENCRYPTION_KEYS
    assert student.id_number_cipher.startswith("demo1:")
    # A new key goes first; the old one stays so existing rows still decrypt.
    settings.FIELD_ENCRYPTION_KEYS = "k2026:" + "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=," + old_spec
    assert crypto.decrypt(Student.objects.get(pk=student.pk).id_number_cipher) == student_row(1)["id_number"]
    from eduplatform.core.key_rotation import rotate_all, sealed_census

    assert sum(rotate_all().values()) == 3  # ID number, phone and the guardians' phones
    rotated = Student.objects.get(pk=student.pk)
    assert rotated.id_number_cipher.startswith("k2026:") and rotated.phone_cipher.startswith("k2026:")
    assert rotated.guardians[0]["phone_cipher"].startswith("k2026:")
    assert crypto.decrypt(rotated.id_number_cipher) == student_row(1)["id_number"]
    assert sum(rotate_all().values()) == 0  # nothing left to do
    assert not any(sealed_census().values())
    # With only the new key the data still reads, and the ID look-up finds the same person.
    settings.FIELD_ENCRYPTION_KEYS = "k2026:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="
    assert crypto.decrypt(rotated.phone_cipher) == "13800138000"
    assert Student.objects.filter(id_number_index=id_index("1", student_row(1)["id_number"])).count() == 1

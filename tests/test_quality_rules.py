"""The record-level quality rules: each finds the record that breaks it and not its valid neighbour,
the scan over a region and the write-time check of the same records agree, and a scan of one county
finds nothing in another."""

from __future__ import annotations

import datetime as dt

import pytest

from eduplatform.quality import engine, issues
from eduplatform.quality.models import QualityIssue
from eduplatform.quality.rules import RULES, ScanScope
from eduplatform.students.models import RetiredStudentNumber
from tests.students_support import make_id
from tests.test_quality_rules_support import (
    TODAY,
    birth_for,
    building,
    county_path,
    ids_of,
    record,
    scan,
    staff,
    student,
)

pytestmark = pytest.mark.django_db

CODES = {
    "S_ID_INVALID", "S_ID_SEX_BIRTH", "S_DUP_PERSON", "S_NUMBER_REUSED", "S_AGE_GRADE", "S_REQUIRED_MISSING",
    "T_ID_INVALID", "T_ID_SEX_BIRTH", "T_DUP_PERSON", "T_AGE", "T_REQUIRED_MISSING", "X_STUDENT_IS_STAFF",
    "X_CLASS_GRADE", "X_STAFF_LOAD", "X_AREA_STUDENTS", "O_NO_TEACHERS", "O_NO_STUDENTS", "O_AREA_OUTLIER",
    "O_EQUIPMENT_OUTLIER", "C_CLASS_SIZE", "F_DANGEROUS_IN_USE", "F_REQUIRED_MISSING", "A_REQUIRED_MISSING",
}


def bad_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def test_every_rule_code_of_the_contract_is_registered_with_chinese_text():
    from eduplatform.quality import checks  # noqa: F401

    assert set(RULES) == CODES
    for rule in RULES.values():
        assert rule.title and rule.description and rule.fields and rule.kind in (
            "identity", "plausibility", "consistency", "completeness")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rule.title + rule.description)
        assert rule.record is None or rule.object_type


def test_student_id_check_digit_scan_and_record_agree_and_stay_in_scope(world):
    birth = birth_for("11")
    bad = student(world.school_a1, id_number=bad_check_digit(make_id(birth, 7, area="440303")))
    good = student(world.school_a1)
    bad_b = student(world.school_b1, id_number=bad_check_digit(make_id(birth, 9, area="440303")))
    county_a = county_path(world.school_a1)
    found = scan("S_ID_INVALID", county_a)
    assert ids_of(found) == {bad.pk}
    (f,) = found
    assert f.school_id == world.school_a1.pk and f.fields == ("id_number",)
    assert "校验" in f.message and bad.id_number_masked in f.message
    assert make_id(birth, 7, area="440303")[6:14] not in f.object_label  # masked label
    assert ids_of(record("students.student", [bad.pk, good.pk], "S_ID_INVALID")) == {bad.pk}
    assert ids_of(scan("S_ID_INVALID", county_path(world.school_b1))) == {bad_b.pk}
    assert ids_of(scan("S_ID_INVALID", county_a, (world.school_a2.pk,))) == set()


def test_student_sex_and_birth_against_id(world):
    birth = birth_for("12")
    wrong_sex = student(world.school_a1, grade="12", birth=birth, gender="2", id_number=make_id(birth, 3, area="440303"))
    wrong_birth = student(world.school_a1, grade="12", birth=birth + dt.timedelta(days=2),
                          id_number=make_id(birth, 5, area="440303"))
    good = student(world.school_a1, grade="12")
    found = {f.object_id: f for f in scan("S_ID_SEX_BIRTH", county_path(world.school_a1))}
    assert set(found) == {wrong_sex.pk, wrong_birth.pk}
    assert found[wrong_sex.pk].fields == ("gender",) and "第17位" in found[wrong_sex.pk].message
    assert found[wrong_birth.pk].fields == ("birth_date",) and f"{birth:%Y-%m-%d}" in found[wrong_birth.pk].message
    recorded = record("students.student", [wrong_sex.pk, wrong_birth.pk, good.pk], "S_ID_SEX_BIRTH")
    assert ids_of(recorded) == set(found)
    assert not scan("S_ID_SEX_BIRTH", county_path(world.school_b1))


def test_staff_id_rules(world):
    birth = dt.date(1980, 3, 3)
    invalid = staff(world.school_a1, birth=birth, id_number=bad_check_digit(make_id(birth, 11, area="440303")))
    wrong_sex = staff(world.school_a1, birth=birth, gender="2", id_number=make_id(birth, 13, area="440303"))
    good = staff(world.school_a1)
    other_county = staff(world.school_b1, birth=birth, id_number=bad_check_digit(make_id(birth, 15, area="440303")))
    county_a = county_path(world.school_a1)
    assert ids_of(scan("T_ID_INVALID", county_a)) == {invalid.pk}
    assert ids_of(scan("T_ID_SEX_BIRTH", county_a)) == {wrong_sex.pk}
    ids = [invalid.pk, wrong_sex.pk, good.pk]
    assert ids_of(record("staff.staffmember", ids, "T_ID_INVALID")) == {invalid.pk}
    assert ids_of(record("staff.staffmember", ids, "T_ID_SEX_BIRTH")) == {wrong_sex.pk}
    assert ids_of(scan("T_ID_INVALID", county_path(world.school_b1))) == {other_county.pk}


def test_same_undocumented_student_in_two_schools_found_on_both_sides_with_one_group(world):
    birth = birth_for("13")
    a = student(world.school_a1, grade="13", name="王小明", birth=birth, id_number=None, guardian="王大明")
    b = student(world.school_b1, grade="13", name="王小明", birth=birth, id_number=None, guardian="王大明")
    # Neighbours: the same name and birth date but another guardian, another sex, or the same school.
    student(world.school_b1, grade="13", name="李小红", birth=birth, id_number=None, guardian="李父", gender="2")
    student(world.school_a1, grade="13", name="李小红", birth=birth, id_number=None, guardian="李另一个", gender="2")
    student(world.school_b1, grade="13", name="王小明", birth=birth, id_number=None, gender="2")
    province = {f.object_id: f for f in scan("S_DUP_PERSON")}
    assert set(province) == {a.pk, b.pk}
    assert province[a.pk].group == province[b.pk].group != ""
    assert province[a.pk].school_id == world.school_a1.pk and province[b.pk].school_id == world.school_b1.pk
    assert world.school_b1.name in province[a.pk].message
    # A county scan finds its own side only.
    assert ids_of(scan("S_DUP_PERSON", county_path(world.school_a1))) == {a.pk}
    assert ids_of(scan("S_DUP_PERSON", county_path(world.school_b1))) == {b.pk}
    assert ids_of(scan("S_DUP_PERSON", "44/", (world.school_b1.pk,))) == {b.pk}


def test_documented_and_undocumented_student_of_the_same_name_sex_and_birth(world):
    birth = birth_for("14")
    documented = student(world.school_a1, grade="14", name="陈一", birth=birth)
    undocumented = student(world.school_b1, grade="14", name="陈一", birth=birth, id_number=None, guardian=None)
    # Two documented students with different ID numbers are two people.
    student(world.school_a1, grade="14", name="陈二", birth=birth)
    student(world.school_b1, grade="14", name="陈二", birth=birth)
    assert ids_of(scan("S_DUP_PERSON")) == {documented.pk, undocumented.pk}
    assert ids_of(scan("S_DUP_PERSON", county_path(world.school_a1))) == {documented.pk}


def test_inactive_students_are_not_duplicates(world):
    birth = birth_for("15")
    student(world.school_a1, grade="15", name="赵一", birth=birth, id_number=None, guardian=None)
    student(world.school_b1, grade="15", name="赵一", birth=birth, id_number=None, guardian=None, active=False)
    assert scan("S_DUP_PERSON") == []


def test_staff_duplicate_person_across_document_types(world):
    birth = dt.date(1979, 4, 4)
    card = staff(world.school_a1, name="周老师", birth=birth)
    passport = staff(world.school_b1, name="周老师", birth=birth, id_type="2", id_number="E12345678")
    # Two resident ID cards of one name and birth date are two people.
    staff(world.school_a1, name="吴老师", birth=birth)
    staff(world.school_b1, name="吴老师", birth=birth)
    found = {f.object_id: f for f in scan("T_DUP_PERSON")}
    assert set(found) == {card.pk, passport.pk}
    assert found[card.pk].group == found[passport.pk].group
    assert ids_of(scan("T_DUP_PERSON", county_path(world.school_b1))) == {passport.pk}


def test_student_who_is_also_staff(world):
    birth = birth_for("31")
    number = make_id(birth, 21, area="440303")
    pupil = student(world.school_a1, grade="31", birth=birth, id_number=number)
    worker = staff(world.school_b1, birth=birth, id_number=number)
    student(world.school_a1, grade="31")
    staff(world.school_b1)
    found = scan("X_STUDENT_IS_STAFF")
    assert {(f.object_type, f.object_id) for f in found} == {("students.student", pupil.pk),
                                                            ("staff.staffmember", worker.pk)}
    assert len({f.group for f in found}) == 1
    assert [(f.object_type, f.object_id) for f in scan("X_STUDENT_IS_STAFF", county_path(world.school_a1))] == [
        ("students.student", pupil.pk)]
    assert [(f.object_type, f.object_id) for f in scan("X_STUDENT_IS_STAFF", county_path(world.school_b1))] == [
        ("staff.staffmember", worker.pk)]
    assert number not in " ".join(f.message + f.object_label + str(f.evidence) for f in found)


def test_student_number_reused(world):
    old = student(world.school_a1)
    holder = student(world.school_a1, number="L44010620190101" + "0001")
    RetiredStudentNumber.objects.create(number=holder.student_number, student=old)
    # A G number built from another pupil's ID number.
    birth = birth_for("11")
    owner_id = make_id(birth, 31, area="440303")
    owner = student(world.school_b1, birth=birth, id_number=owner_id, number="L440104" + f"{birth:%Y%m%d}" + "0009")
    squatter = student(world.school_a1, birth=birth, id_number=make_id(birth, 33, area="440303"), number="G" + owner_id)
    found = scan("S_NUMBER_REUSED")
    assert ids_of(found) == {holder.pk, squatter.pk}
    assert owner.pk not in ids_of(found) and old.pk not in ids_of(found)
    assert owner_id not in " ".join(f.message + f.object_label for f in found)
    assert scan("S_NUMBER_REUSED", county_path(world.school_b1)) == []


def test_age_for_grade(world):
    over = student(world.school_a1, grade="11", birth=birth_for("11", offset=3))
    under = student(world.school_a1, grade="21", birth=birth_for("21", offset=-2))
    # Judged whatever the pupil's document: one without an ID number, one with a passport.
    undocumented = student(world.school_a1, grade="11", birth=birth_for("11", offset=3), id_number=None)
    passport = student(world.school_a1, grade="31", birth=birth_for("31", offset=-3), id_type="A",
                       id_number="E12345678")
    ok_old = student(world.school_a1, grade="11", birth=birth_for("11", offset=2))
    ok = student(world.school_a1, grade="11")
    exempt = student(world.school_a1, grade="11", birth=birth_for("11", offset=4), disability_type="6")
    special = student(world.school_a1, grade="71", birth=birth_for("11", offset=5))
    student(world.school_b1, grade="11", birth=birth_for("11", offset=4))
    found = scan("S_AGE_GRADE", county_path(world.school_a1))
    assert ids_of(found) == {over.pk, under.pk, undocumented.pk, passport.pk}
    assert "5–8" in next(f for f in found if f.object_id == over.pk).message
    assert undocumented.name in next(f for f in found if f.object_id == undocumented.pk).message
    ids = [over.pk, under.pk, undocumented.pk, passport.pk, ok_old.pk, ok.pk, exempt.pk, special.pk]
    assert ids_of(record("students.student", ids, "S_AGE_GRADE")) == {over.pk, under.pk, undocumented.pk, passport.pk}


def test_staff_age(world):
    teen = staff(world.school_a1, birth=TODAY.replace(year=TODAY.year - 17) - dt.timedelta(days=3))
    old = staff(world.school_a1, birth=dt.date(TODAY.year - 66, 1, 1))
    old_woman = staff(world.school_a1, gender="2", birth=dt.date(TODAY.year - 61, 1, 1))
    kept = staff(world.school_a1, birth=dt.date(TODAY.year - 66, 1, 1), status="12")  # 延聘
    adult = staff(world.school_a1, birth=TODAY.replace(year=TODAY.year - 18) - dt.timedelta(days=1))
    found = {f.object_id: f for f in scan("T_AGE", county_path(world.school_a1))}
    assert set(found) == {teen.pk, old.pk, old_woman.pk}
    assert found[teen.pk].key == "under_18" and "18" in found[teen.pk].message
    assert found[old.pk].evidence["severity"] == "warning"
    ids = [teen.pk, old.pk, old_woman.pk, kept.pk, adult.pk]
    assert ids_of(record("staff.staffmember", ids, "T_AGE")) == set(found)
    assert scan("T_AGE", county_path(world.school_b1)) == []
    # As issues, the two cases keep their weight: under 18 an error, past retirement age a warning.
    issues.sync_findings(scope=ScanScope(county_path(world.school_a1)), codes=["T_AGE"], findings=found.values())
    severities = dict(QualityIssue.objects.filter(rule="T_AGE").values_list("object_id", "severity"))
    assert severities == {teen.pk: "error", old.pk: "warning", old_woman.pk: "warning"}


def test_dangerous_building_in_use(world):
    d_in_use = building(world.school_a1, condition="24")
    building(world.school_a1, condition="24", in_use=False)
    building(world.school_a1, condition="21")  # A 级: safe to use
    demolished = building(world.school_a1, condition="23", demolished_on=TODAY)
    building(world.school_b1, condition="23")
    found = scan("F_DANGEROUS_IN_USE", county_path(world.school_a1))
    assert ids_of(found) == {d_in_use.pk}
    assert "D级" in found[0].message
    assert ids_of(record("facilities.building", [d_in_use.pk, demolished.pk], "F_DANGEROUS_IN_USE")) == {d_in_use.pk}


def test_scan_of_one_county_finds_nothing_in_another(world):
    birth = birth_for("11")
    for school in (world.school_a1, world.school_b1):
        student(school, id_number=bad_check_digit(make_id(birth, school.pk, area="440303")))
        student(school, birth=birth_for("11", offset=4))
        staff(school, birth=TODAY.replace(year=TODAY.year - 16))
        building(school, condition="24")
        student(school, ethnicity="")
    county_a = county_path(world.school_a1)
    found = list(engine.scan_findings(ScanScope(county_a)))
    assert {f.rule for f in found} >= {"S_ID_INVALID", "S_AGE_GRADE", "T_AGE", "F_DANGEROUS_IN_USE",
                                       "S_REQUIRED_MISSING"}
    assert all(f.region_path.startswith(county_a) for f in found)
    assert world.school_b1.pk not in {f.school_id for f in found}


def test_record_findings_names_the_rules_it_ran():
    codes, found = engine.record_findings("students.student", [])
    assert set(codes) == {"S_ID_INVALID", "S_ID_SEX_BIRTH", "S_AGE_GRADE", "S_REQUIRED_MISSING"} and found == []
    assert set(engine.record_findings("staff.staffmember", [])[0]) == {
        "T_ID_INVALID", "T_ID_SEX_BIRTH", "T_AGE", "T_REQUIRED_MISSING"}
    assert set(engine.record_findings("facilities.building", [])[0]) == {"F_DANGEROUS_IN_USE", "F_REQUIRED_MISSING"}
    assert engine.record_findings("nothing.here", [1]) == ([], [])


def test_a_rescan_after_a_fix_sees_the_fix(world):
    """The ID rules of one scan share what they decrypt; the next scan reads again."""
    from eduplatform.core.identity import seal_id_number
    from eduplatform.students.models import Student

    birth = birth_for("11")
    bad = student(world.school_a1, birth=birth, id_number=bad_check_digit(make_id(birth, 41, area="440303")))
    county_a = county_path(world.school_a1)
    first = list(engine.scan_findings(ScanScope(county_a), ["S_ID_INVALID", "S_ID_SEX_BIRTH"]))
    assert [f.rule for f in first] == ["S_ID_INVALID"]
    sealed = seal_id_number("1", make_id(birth, 41, area="440303"))
    Student.objects.filter(pk=bad.pk).update(id_number_cipher=sealed.cipher, id_number_index=sealed.index,
                                             id_number_masked=sealed.masked)
    assert list(engine.scan_findings(ScanScope(county_a), ["S_ID_INVALID", "S_ID_SEX_BIRTH"])) == []

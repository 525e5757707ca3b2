"""The reporting engine (reporting.evaluation, reporting.record_refs): cell type checks, computed
cells, hard and soft rules with the blank semantics of REPORTING.md, cross-form rules, and prefill
from a real school's roll-ups — live and from a snapshot — equal to the figures counted
independently from the raw records."""

from __future__ import annotations

import decimal
import json
from pathlib import Path

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eduplatform.reporting import record_refs
from eduplatform.reporting.evaluation import (
    check_values,
    compute_values,
    numeric_cells,
    parse_definition,
    prefill_many,
    prefill_values,
)
from eduplatform.reporting.expressions import parse
from eduplatform.staff import services as staff_services
from eduplatform.staff.models import StaffMember
from eduplatform.stats import measures
from eduplatform.stats.models import StaffRollup, StudentRollup
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from eduplatform.students.models import Enrolment
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.test_rollups import committed

D = decimal.Decimal
FORMS = Path(__file__).resolve().parent.parent / "data" / "forms"
CODE_TABLES = {"staff_category_k12"}


def shipped(code: str):
    return parse_definition(json.loads((FORMS / f"{code}.json").read_text(encoding="utf-8")), code_tables=CODE_TABLES)


def small_form(**extra) -> dict:
    return {
        "code": "JC442", "title": "教师培训情况",
        "tables": [
            {"code": "T1", "title": "专任教师培训情况", "unit": "人",
             "rows": [{"code": "R1", "label": "合计"}, {"code": "R2", "label": "其中：女"},
                      {"code": "R3", "label": "其中：男"}],
             "columns": [{"code": "C1", "label": "参加培训人数", "type": "integer"},
                         {"code": "C2", "label": "培训学时", "type": "decimal", "decimals": 1},
                         {"code": "C3", "label": "岗位类别", "type": "code", "code_table": "staff_category_k12"},
                         {"code": "C4", "label": "备注", "type": "text"},
                         {"code": "C5", "label": "日期", "type": "date"}],
             "cells": {"R1.C1": {"computed": "[T1.R2.C1] + [T1.R3.C1]"},
                       "R1.C2": {"computed": "ROUND(([T1.R2.C2] + [T1.R3.C2]) / 3, 1)"},
                       "R3.C4": {"disabled": True}}},
            {"code": "T2", "title": "经费", "rows": [{"code": "R1", "label": "合计"}],
             "columns": [{"code": "C1", "label": "经费", "type": "decimal", "decimals": 2, "allow_negative": True}],
             "cells": {}},
        ],
        "rules": [
            {"code": "V1", "kind": "hard", "expression": "[T1.R1.C1] >= [T1.R2.C1]",
             "message": "女教师参加培训人数不能大于合计", "cells": ["T1.R2.C1"]},
            {"code": "V2", "kind": "hard", "expression": "[T1.R2.C2] <= 1000", "message": "学时过大"},
            {"code": "E1", "kind": "soft", "expression": "[T2.R1.C1] <= [T1.R1.C1] * 0.5",
             "message": "人均经费超过 5000 元", "cells": ["T2.R1.C1"]},
            {"code": "E2", "kind": "soft", "expression": "[T1.R1.C3] = '1' OR ISBLANK([T1.R1.C3])",
             "message": "负责人一般是专任教师"},
        ],
        **extra,
    }


@pytest.fixture
def spec():
    return parse_definition(small_form(), code_tables=CODE_TABLES)


# --------------------------------------------------------------------------------------------
# Cell types


@pytest.mark.django_db
def test_cell_values_are_checked_against_their_column_type(spec):
    values = {
        "T1.R2.C1": "3.5", "T1.R3.C1": "-2", "T1.R2.C2": "1.25", "T1.R3.C2": "abc",
        "T1.R1.C3": "8", "T1.R2.C3": "1", "T1.R1.C5": "2026-02-30", "T1.R2.C5": "2026/09/01", "T1.R3.C5": "2026-09-01",
        "T1.R3.C4": "不该填", "T1.R1.C4": "x" * 2001, "T2.R1.C1": "-12.50", "T9.R1.C1": "1",
    }
    report = check_values(spec, values)
    assert set(report.cell_errors) == {"T1.R2.C1", "T1.R3.C1", "T1.R2.C2", "T1.R3.C2", "T1.R1.C3", "T1.R1.C5",
                                       "T1.R2.C5", "T1.R3.C4", "T1.R1.C4", "T9.R1.C1"}
    errors = report.cell_errors
    assert "应填整数" in errors["T1.R2.C1"] and "其中：女·参加培训人数" in errors["T1.R2.C1"]
    assert "不能为负数" in errors["T1.R3.C1"]
    assert "最多 1 位小数" in errors["T1.R2.C2"]
    assert "不是数字" in errors["T1.R3.C2"]
    assert "「8」不在代码表中" in errors["T1.R1.C3"] and "1 专任教师" in errors["T1.R1.C3"]
    assert "YYYY-MM-DD" in errors["T1.R1.C5"] and "YYYY-MM-DD" in errors["T1.R2.C5"]
    assert "不需填报" in errors["T1.R3.C4"]
    assert "没有单元格" in errors["T9.R1.C1"]
    assert not report.ok
    fine = check_values(spec, {"T1.R2.C1": "1,234", "T1.R2.C3": "1", "T1.R3.C5": "2026-09-01", "T2.R1.C1": "-1.5",
                               "T1.R2.C2": " 12.5 "})
    assert fine.cell_errors == {} and fine.ok


# --------------------------------------------------------------------------------------------
# Computed cells


@pytest.mark.django_db
def test_compute_values_fills_computed_cells_rounded_to_their_column(spec):
    out = compute_values(spec, {"T1.R2.C1": "3", "T1.R3.C1": "4", "T1.R2.C2": "1.1", "T1.R3.C2": "1.0"})
    assert out["T1.R1.C1"] == str(3 + 4)
    assert out["T1.R1.C2"] == "0.7"  # (1.1 + 1.0) / 3 = 0.7 after ROUND(…, 1)
    assert out["T1.R2.C1"] == "3"
    partly = compute_values(spec, {"T1.R2.C1": "5"})
    assert partly["T1.R1.C1"] == "5"  # a blank input counts as 0
    assert compute_values(spec, {})["T1.R1.C1"] == ""  # all inputs blank: the total stays blank
    assert compute_values(spec, {"T1.R1.C1": "999", "T1.R2.C1": "1"})["T1.R1.C1"] == "1"  # typed-over is replaced
    assert compute_values(spec, {"T1.R2.C1": "x", "T1.R3.C1": "2"})["T1.R1.C1"] == ""  # a bad input: no total


@pytest.mark.django_db
def test_values_come_back_in_the_text_they_are_stored_as(spec):
    out = compute_values(spec, {"T1.R2.C1": "1,234", "T1.R3.C1": "９", "T1.R2.C2": " 12 ", "T2.R1.C1": "-0.5",
                                "T1.R3.C2": "-0", "T1.R2.C3": " 1 ", "T1.R1.C4": "  备注 ", "T1.R2.C4": "bad",
                                "T1.R1.C5": "2026-9-1", "T9.R1.C1": "7"})
    assert out == {"T1.R2.C1": "1234", "T1.R3.C1": "9", "T1.R2.C2": "12.0", "T2.R1.C1": "-0.50",
                   "T1.R3.C2": "0.0", "T1.R2.C3": "1", "T1.R1.C4": "备注", "T1.R2.C4": "bad",
                   "T1.R1.C5": "2026-9-1",  # a bad date is kept as typed, beside its error
                   "T9.R1.C1": "7", "T1.R1.C1": str(1234 + 9), "T1.R1.C2": "4.0"}
    assert check_values(spec, out).values == out  # storing the answer changes nothing


@pytest.mark.django_db
def test_a_computed_result_too_large_to_store_is_a_cell_error_not_a_crash():
    data = small_form()
    data["tables"][0]["rows"].append({"code": "R4", "label": "乘积"})
    data["tables"][0]["cells"]["R4.C1"] = {"computed": "[T1.R2.C1] * [T1.R3.C1] * [T1.R2.C1]"}
    spec = parse_definition(data, code_tables=CODE_TABLES)
    big = "9" * 18
    values = {"T1.R2.C1": big, "T1.R3.C1": big}
    assert compute_values(spec, values)["T1.R4.C1"] == ""
    report = check_values(spec, values)
    assert "超过 18 位整数" in report.cell_errors["T1.R4.C1"] and not report.ok
    assert check_values(spec, {"T1.R2.C1": "3", "T1.R3.C1": "4"}).values["T1.R4.C1"] == str(3 * 4 * 3)


@pytest.mark.django_db
def test_computed_chains_follow_the_dependency_order():
    data = small_form()
    data["tables"][0]["rows"].append({"code": "R4", "label": "两倍"})
    data["tables"][0]["cells"]["R4.C1"] = {"computed": "[T1.R1.C1] * 2"}
    data["tables"][0]["cells"]["R4.C2"] = {"computed": "[T1.R4.C1] / 0"}
    spec = parse_definition(data, code_tables=CODE_TABLES)
    out = compute_values(spec, {"T1.R2.C1": "2", "T1.R3.C1": "5"})
    assert out["T1.R4.C1"] == str((2 + 5) * 2)
    assert out["T1.R4.C2"] == ""  # division by zero: blank, not an error


# --------------------------------------------------------------------------------------------
# Rules


def results(report) -> dict[str, tuple[bool, bool]]:
    return {r.code: (r.passed, r.applicable) for r in report.results}


@pytest.mark.django_db
def test_hard_and_soft_rules_and_their_failures(spec):
    report = check_values(spec, {"T1.R2.C1": "5", "T1.R3.C1": "1", "T1.R2.C2": "1200", "T2.R1.C1": "10",
                                 "T1.R1.C3": "2"})
    got = results(report)
    assert got["V1"] == (True, True)  # the computed total (6) is at least the women (5)
    assert got["V2"] == (False, True)
    assert got["E1"] == (False, True)  # 10 > 6 × 0.5
    assert got["E2"] == (False, True)
    assert [r.code for r in report.hard_failures] == ["V2"]
    assert [r.code for r in report.soft_failures] == ["E1", "E2"]
    e1 = report.soft_failures[0]
    assert e1.message == "人均经费超过 5000 元" and e1.cells == ["T2.R1.C1"] and e1.detail == "左边 10，右边 3"
    assert report.hard_failures[0].cells == ["T1.R2.C2"]  # no cells given: the cells it reads
    assert report.values["T1.R1.C1"] == "6"
    assert not report.ok
    assert set(report.by_cell()) == {"T1.R2.C2", "T2.R1.C1", "T1.R1.C3"}


@pytest.mark.django_db
def test_a_rule_over_blank_cells_only_passes_as_not_applicable(spec):
    report = check_values(spec, {})
    assert all(r.passed for r in report.results)
    assert results(report)["V1"] == (True, False) and results(report)["E1"] == (True, False)
    assert report.ok
    # One side filled, the other blank: the blank counts as 0 and the rule applies.
    got = results(check_values(spec, {"T2.R1.C1": "5"}))
    assert got["E1"] == (False, True)


@pytest.mark.django_db
def test_a_rule_reading_a_cell_with_a_type_error_is_not_evaluated(spec):
    report = check_values(spec, {"T1.R2.C2": "abc"})
    v2 = next(r for r in report.results if r.code == "V2")
    assert v2.passed and not v2.applicable and "T1.R2.C2" in v2.detail
    assert "T1.R2.C2" in report.cell_errors and not report.ok


@pytest.mark.django_db
def test_rules_across_forms_read_the_other_forms_values():
    data = small_form(other_forms=["SV01"])
    data["rules"].append({"code": "X1", "kind": "hard", "expression": "[T1.R1.C1] <= [SV01:T1.R1.C2]",
                          "message": "参训人数不能多于调查表的人数"})
    spec = parse_definition(data, code_tables=CODE_TABLES)
    values = {"T1.R2.C1": "3", "T1.R3.C1": "4"}
    missing = next(r for r in check_values(spec, values).results if r.code == "X1")
    assert missing.passed and not missing.applicable and "SV01" in missing.detail
    low = check_values(spec, values, other_forms={"SV01": {"T1.R1.C2": "6"}})
    assert [r.code for r in low.hard_failures] == ["X1"]
    enough = check_values(spec, values, other_forms={"SV01": {"T1.R1.C2": "7"}})
    assert not enough.hard_failures


@pytest.mark.django_db
def test_numeric_cells_are_the_filled_integer_and_decimal_cells(spec):
    cells = numeric_cells(spec)
    assert cells == [k for k, c in spec.cells.items() if c.type in ("integer", "decimal") and not c.spec.disabled]
    assert "T1.R1.C1" in cells and "T2.R1.C1" in cells and "T1.R1.C3" not in cells and "T1.R1.C4" not in cells


# --------------------------------------------------------------------------------------------
# Prefill and rules against the records of a real school


@pytest.fixture
def school_records(world, django_capture_on_commit_callbacks):
    """School A1 (primary) with students (some migrant) and staff of several kinds, written through
    the services and rolled up as a commit would."""
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    school = world.school_a1
    committed(capture, lambda: [students.enrol_student(actor=county, school=school, data=student_row(
        700 + i, migrant_child="是" if i % 3 == 0 else "否")) for i in range(7)])
    committed(capture, lambda: [staff_services.hire(actor=county, unit=school, data=staff_row(
        800 + i, backbone_level="县级骨干教师" if i == 1 else "0", education_level="研究生" if i == 2 else "本科"))
        for i in range(5)])
    committed(capture, lambda: staff_services.hire(actor=county, unit=school, data=staff_row(
        820, post_category="3", gender="女")))  # 教辅人员: not a teacher
    return school


def school_without_staff():
    """School B1 of the test world (another county): no staff records at all."""
    from eduplatform.orgs.models import Organization

    return Organization.objects.filter(school_code="2144000002").get()


def _raw_teachers(school, **conditions) -> int:
    return StaffMember.objects.filter(unit=school, post_category="1", **conditions).count()


@pytest.mark.django_db
def test_prefill_equals_the_records_counted_independently(school_records):
    school = school_records
    spec = shipped("JC442")
    prefill = prefill_values(spec, school=school)
    # Raw records, not the roll-ups.
    assert prefill["T1.R1.C1"] == _raw_teachers(school) > 0
    assert prefill["T1.R2.C1"] == _raw_teachers(school, gender="2") > 0
    assert prefill["T1.R3.C1"] == _raw_teachers(school, backbone_level__in=["1", "2", "3"]) == 1
    bachelor = _raw_teachers(school, education_level__startswith="1") + _raw_teachers(
        school, education_level__startswith="2")
    assert prefill["T1.R4.C1"] == bachelor > 0
    # The measure is the official figure: the same as Figure.total over the school's roll-up rows.
    figure = measures.MEASURES["teachers"].total(lambda model: model.objects.filter(school_id=school.pk))
    assert prefill["T1.R1.C1"] == figure
    assert set(prefill) == set(spec.prefilled_cells)
    assert all(isinstance(v, D) for v in prefill.values())

    survey = shipped("SV01")
    got = prefill_values(survey, school=school)
    active = Enrolment.objects.filter(school=school, is_active=True)
    assert got["T1.R2.C1"] == active.filter(stage=2).count() == 7
    assert got["T1.R2.C2"] == active.filter(stage=2, student__migrant_child=True).count() > 0
    assert got["T1.R3.C1"] == 0 and got["T1.R3.C2"] == 0  # no junior pupils at a primary school


@pytest.mark.django_db
def test_rules_against_the_records_use_the_schools_figures(school_records):
    school = school_records
    spec = shipped("JC442")
    teachers = _raw_teachers(school)
    right = {"T1.R1.C1": str(teachers), "T1.R1.C2": "2", "T1.R3.C2": "0", "T2.R2.C1": "3"}
    report = check_values(spec, right, school=school)
    got = results(report)
    assert got["E2"] == (True, True)  # 专任教师数 as the records have it
    assert got["E1"] == (False, True)  # the school has a 骨干教师 who took no training
    wrong = check_values(spec, {**right, "T1.R1.C1": str(teachers + 1), "T1.R3.C2": "1"}, school=school)
    assert results(wrong)["E2"] == (False, True) and results(wrong)["E1"] == (True, True)
    e2 = next(r for r in wrong.results if r.code == "E2")
    assert e2.detail == f"左边 {teachers + 1}，右边 {teachers}"
    without_school = check_values(spec, right)
    assert results(without_school)["E2"] == (True, False)
    # A rule that asks ISBLANK itself is evaluated even over blank cells: an empty 442 table of a
    # school with 骨干教师 is flagged (DOMAIN V7), while other rules over blank cells do not apply.
    empty = check_values(spec, {}, school=school)
    assert results(empty)["E1"] == (False, True) and results(empty)["V1"] == (True, False)
    assert results(check_values(spec, {}, school=school_without_staff()))["E1"] == (True, True)


@pytest.mark.django_db
def test_record_references_are_resolved_with_one_query_per_rollup(school_records, django_assert_max_num_queries):
    school = school_records
    refs = [parse(text).ast for text in (
        "RECORD('measure:teachers')", "RECORD('measure:staff')", "RECORD('staff.staff', gender='2')",
        "RECORD('staff.backbone', post_category='1|2', education_level='2*')", "RECORD('students.migrant')",
        "RECORD('measure:students')", "RECORD('students.enrolled', stage='2', gender='1')")]
    with django_assert_max_num_queries(2):  # StaffRollup and StudentRollup, once each
        values = record_refs.resolve(refs, school=school)
    staff_rows = StaffRollup.objects.filter(school_id=school.pk)
    assert values[refs[2].key] == sum(r.staff for r in staff_rows if r.gender == "2")
    assert values[refs[3].key] == sum(r.backbone for r in staff_rows if r.post_category in "12"
                                      and r.education_level.startswith("2"))
    student_rows = StudentRollup.objects.filter(school_id=school.pk)
    assert values[refs[4].key] == sum(r.migrant for r in student_rows)
    assert values[refs[6].key] == sum(r.enrolled for r in student_rows if r.stage == 2 and r.gender == "1")
    assert values[refs[5].key] == measures.MEASURES["students"].total(
        lambda model: model.objects.filter(school_id=school.pk))
    assert record_refs.resolve([], school=school) == {}


@pytest.mark.django_db
def test_prefill_from_a_snapshot_reads_its_frozen_figures(world, school_records, django_capture_on_commit_callbacks):
    school = school_records
    spec = shipped("JC442")
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    at_census = prefill_values(spec, school=school, snapshot=snapshot)
    committed(django_capture_on_commit_callbacks, lambda: staff_services.hire(
        actor=world.user("county_a_stat"), unit=school, data=staff_row(900)))
    live = prefill_values(spec, school=school)
    assert live["T1.R1.C1"] == at_census["T1.R1.C1"] + 1 == _raw_teachers(school)
    assert prefill_values(spec, school=school, snapshot=snapshot) == at_census


@pytest.mark.django_db
def test_prefill_for_many_schools_equals_prefill_one_by_one(world, school_records, django_capture_on_commit_callbacks,
                                                            django_assert_max_num_queries):
    committed(django_capture_on_commit_callbacks, lambda: [staff_services.hire(
        actor=world.user("county_b_stat"), unit=world.school_b1, data=staff_row(950 + i)) for i in range(3)])
    schools = [world.school_a1, world.school_b1, world.school_a2]
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    for code in ("JC442", "SV01"):
        spec = shipped(code)
        for frozen in (None, snapshot):
            with django_assert_max_num_queries(2):  # one grouped query per roll-up model (chunk of 1)
                many = prefill_many(spec, schools=[s.pk for s in schools[:2]], snapshot=frozen)
            many = prefill_many(spec, schools=schools, snapshot=frozen)
            assert many == {s.pk: prefill_values(spec, school=s, snapshot=frozen) for s in schools}
    assert prefill_many(shipped("JC442"), schools=[world.school_b1])[world.school_b1.pk]["T1.R1.C1"] == 3
    from eduplatform.reporting import record_refs

    refs = [parse("RECORD('measure:teachers')").ast]
    chunked = record_refs.resolve_many(refs, school_ids=[s.pk for s in schools], chunk=1)
    assert chunked == record_refs.resolve_many(refs, school_ids=[s.pk for s in schools])


@pytest.mark.django_db
def test_prefill_of_another_school_or_an_empty_one_is_zero(world, school_records):
    prefill = prefill_values(shipped("JC442"), school=world.school_b1)
    assert all(value == 0 for value in prefill.values())


def test_whitelist_is_derived_from_the_rollup_models():
    rollups = record_refs.rollups()
    assert set(rollups) == {"students", "staff", "classes", "buildings", "assets"}
    for rollup in rollups.values():
        fields = {f.name for f in rollup.model._meta.concrete_fields}
        assert set(rollup.measures) <= fields and set(rollup.dims) <= fields
        assert not set(rollup.measures) & set(rollup.dims)
        assert not {"id", "school_id", "region_path"} & (set(rollup.measures) | set(rollup.dims))
    assert "migrant" in rollups["students"].measures and "stage" in rollups["students"].dims
    assert "education_level" in rollups["staff"].dims and "total_area" in rollups["buildings"].measures
    catalogue = record_refs.catalogue()
    assert "teachers" in catalogue["measures"] and catalogue["rollups"]["staff"]["dims"]["gender"] == "性别"


@pytest.mark.django_db
def test_values_sent_for_computed_cells_are_ignored_and_recomputed(spec):
    report = check_values(spec, {"T1.R1.C1": "garbage", "T1.R2.C1": "2", "T1.R3.C1": "3"})
    assert report.cell_errors == {}
    assert report.values["T1.R1.C1"] == "5"


@pytest.mark.django_db
def test_changed_prefills_are_the_cells_to_explain(school_records):
    from eduplatform.reporting.evaluation import changed_prefills

    spec = shipped("JC442")
    prefill = prefill_values(spec, school=school_records)
    same = {key: format(value, "f") for key, value in prefill.items()}
    assert changed_prefills(spec, same, prefill) == {}
    teachers = prefill["T1.R1.C1"]
    changed = {**same, "T1.R1.C1": str(teachers + 2), "T1.R2.C1": ""}
    assert changed_prefills(spec, changed, prefill) == {
        "T1.R1.C1": (str(teachers), str(teachers + 2)),
        "T1.R2.C1": (str(prefill["T1.R2.C1"]), ""),
    }
    assert changed_prefills(spec, {**same, "T1.R1.C1": f"{teachers:,}"}, prefill) == {}


@pytest.mark.django_db
def test_the_training_form_as_opened_shows_no_warning_until_trainees_are_entered(school_records):
    """JC442 opened by a school: the teachers are prefilled from the records, the trainees not yet
    entered — the participation ratio (a computed cell) has no numerator, so its soft rule (E4, at
    least 50 %) does not warn a clerk who has typed nothing; entered, it does."""
    form = shipped("JC442")
    prefill = {key: format(value, "f") for key, value in prefill_values(form, school=school_records).items()}
    teachers = int(prefill["T1.R1.C1"])
    assert teachers >= 2
    opened = check_values(form, compute_values(form, prefill), school=school_records)
    # E1 reminds on purpose (the school has backbone teachers: their training "不得为空"); E4 is silent.
    assert opened.ok and "E4" not in {r.code for r in opened.soft_failures}, opened.soft_failures
    few = compute_values(form, {**prefill, "T1.R1.C2": "1"})
    assert {r.code for r in check_values(form, few, school=school_records).soft_failures} >= {"E4"}
    most = compute_values(form, {**prefill, "T1.R1.C2": str(teachers)})
    assert "E4" not in {r.code for r in check_values(form, most, school=school_records).soft_failures}


@pytest.mark.django_db
def test_the_survey_prefilled_from_the_records_passes_its_rules_until_a_figure_departs(school_records):
    school = school_records
    survey = shipped("SV01")
    prefill = prefill_values(survey, school=school)
    entered = {key: format(value, "f") for key, value in prefill.items()}
    migrants = int(prefill["T1.R2.C2"])
    entered |= {"T1.R2.C3": "0", "T1.R2.C4": str(migrants), "T2.R1.C1": str(migrants + 2),
                "T2.R1.C2": str(migrants), "T3.R1.C2": "2026-09-30", "T3.R1.C1": "王老师"}
    values = compute_values(survey, entered)
    assert values["T1.R1.C2"] == str(migrants) and values["T2.R1.C4"] == "2"
    assert values["T1.R1.C5"] == format(D(100 * migrants) / D(int(prefill["T1.R2.C1"])), ".1f")
    report = check_values(survey, values, school=school)
    assert report.ok and not report.soft_failures, [r for r in report.results if not r.passed]
    assert all(r.applicable for r in report.results if r.code in ("V1", "E1", "E2"))
    # One more migrant pupil than the student records hold: a soft failure against the records, and
    # the new entrants no longer match the applications table (a soft rule across tables).
    departed = compute_values(survey, {**values, "T1.R2.C2": str(migrants + 1)})
    report = check_values(survey, departed, school=school)
    assert report.ok and {r.code for r in report.soft_failures} == {"E2"}
    report = check_values(survey, {**departed, "T1.R2.C4": str(migrants + 1)}, school=school)
    assert {r.code for r in report.soft_failures} == {"E1", "E2"}
    # More admitted than applied: a hard failure that blocks submission.
    blocked = check_values(survey, {**values, "T2.R1.C2": str(migrants + 3)}, school=school)
    assert [r.code for r in blocked.hard_failures] == ["V3"] and not blocked.ok


# --------------------------------------------------------------------------------------------
# Fuzzing: whatever a school (or an uploaded spreadsheet) sends, checking answers with a report.


VALUE = (st.text(max_size=12) | st.sampled_from(["", "0", "-1", "1,000", "12.5", "1e3", "NaN", "Infinity", "01",
                                                 "2026-09-01", "2026-13-01", " 7 ", "９", "1" * 40, "9" * 18,
                                                 "9" * 12 + ".5"])
         | st.integers(-10**20, 10**20) | st.decimals(allow_nan=True, allow_infinity=True) | st.none()
         | st.booleans() | st.floats())


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_any_values_give_a_report(data):
    spec = shipped(data.draw(st.sampled_from(["JC442", "SV01"])))
    keys = st.sampled_from([*spec.cells, "T9.R9.C9", "x", ""])
    values = data.draw(st.dictionaries(keys, VALUE, max_size=12))
    report = check_values(spec, values, other_forms={"JC442": values})
    assert all(isinstance(message, str) and message for message in report.cell_errors.values())
    computed = compute_values(spec, values)
    for key in spec.computed_order:
        text = computed[key]
        assert text == "" or decimal.Decimal(text).as_tuple().exponent == -spec.cells[key].decimals

"""Messages written by services and parsers follow the interface language (docs/i18n.md): a failed save
in an English session is explained in English, in Chinese otherwise; records' own names stay as stored."""

from __future__ import annotations

import types

import pytest
from django.utils import translation

from eduplatform.core import approval_steps
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.normalize import parse_date, parse_month
from eduplatform.orgs import services
from tests.world import TOWN_A, school_row


def _message(call) -> str:
    with pytest.raises(ValueError) as caught:
        call()
    return str(caught.value)


def test_parse_errors_follow_the_language():
    with translation.override("en"):
        assert _message(lambda: parse_date("")) == (
            "The date is required; write it as 2015-09-01, 2015/9/1, 20150901 or 2015.9.1")
        assert _message(lambda: parse_date("2015-02-30")) == "No such date: month 2 of 2015 has no day 30"
    with translation.override("zh-hans"):
        assert _message(lambda: parse_date("2015-02-30")) == "日期不存在：2015年2月没有30日"


def test_a_month_that_is_no_date_keeps_its_own_reason_in_english():
    # parse_month passes on "no such date" and replaces any other failure by its format hint: the test
    # for that must not depend on the (translated) wording.
    with translation.override("en"):
        assert _message(lambda: parse_month("2015-02-30")).startswith("No such date")
        assert "year-and-month format" in _message(lambda: parse_month("2015-02-xx"))


def test_the_approval_chain_explains_a_closed_step_in_the_language_of_the_session():
    record = types.SimpleNamespace(status="pending", closed_at=None)
    step = types.SimpleNamespace(decision="waiting", title="县级教育行政部门审核")
    with translation.override("en"):
        message = approval_steps.closed_step_message("this transfer request", record, step)
    assert message == ("Step “县级教育行政部门审核” of this transfer request is not due yet; "
                       "wait for the earlier steps to be reviewed")  # the step's title is data
    with translation.override("zh-hans"):
        assert approval_steps.closed_step_message("该调动申请", record, step) == (
            "该调动申请的「县级教育行政部门审核」环节尚未轮到，请等待前序环节审核")


@pytest.mark.django_db
def test_a_refused_or_invalid_school_is_explained_in_english(world):
    with translation.override("en"), pytest.raises(NotPermitted) as refused:
        services.update_school(actor=world.user("clerk_a1"), school=world.school_a1, data={"name": "改名小学"})
    assert refused.value.message == "Your role may not change these details of the school"
    row = school_row("2144009999", "天河新建小学", "211", TOWN_A)
    row["name"] = ""
    with translation.override("en"), pytest.raises(RecordInvalid) as invalid:
        services.create_school(actor=world.user("county_a_stat"), data=row)
    assert invalid.value.by_field()["name"] == ["The school name is required"]


def test_the_import_mapping_report_is_written_in_the_language_of_the_page():
    from eduplatform.core.imports import mapping_summary

    mapping = {"sheet": "花名册", "sheets": ["花名册", "说明"], "header_rows": [1, 2],
               "columns": [{"field": "name"}, {"field": None}], "skipped_count": 1}
    with translation.override("en"):
        assert mapping_summary(mapping) == [
            "Worksheet holding the data: “花名册” (2 worksheets)", "Header: rows 1、2 (a two-row header)",
            "2 columns: 1 imported, 1 not imported",
            "1 non-data rows skipped (titles, examples, signatures, totals or notes)"]
    with translation.override("zh-hans"):
        assert mapping_summary(mapping)[:2] == ["数据所在工作表：「花名册」（共 2 个工作表）", "表头：第1、2行（两行表头）"]

"""Student spreadsheet import: the student register as one kind of the shared import machinery
(``eduplatform/imports``), with its own per-file row checker and the province-wide registration
service behind it.

The job reads the whole file first and checks every row (its own fields, then against the whole
province), so the error report lists every problem at once. Then, by the mode the user chose:
a dry run stops there; *all or nothing* writes only when no row has a problem; *accept valid rows*
writes exactly the rows without problems and reports the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy

from eduplatform.core.models import ImportJob, WritePolicy
from eduplatform.imports import runner
from eduplatform.imports.registry import ImportKind, ImportOutcome, register
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import Actor
from eduplatform.students.schema import SCHEMA, CleanStudent, RowChecker, clean_student
from eduplatform.students.services import can_write_school, register_students

KIND = "students"

INSTRUCTIONS = (
    gettext_lazy("每行填写一名学生；带 * 的列为必填。"),
    gettext_lazy("代码列可填写代码、名称或“代码-名称”（如 01、汉族 或 01-汉族），下拉框中可直接选择。"),
    gettext_lazy("日期可写作 2015-09-01、2015/9/1、20150901 或 2015.9.1；入学年月可写作 202509 或 2025-09。"),
    gettext_lazy("身份证件号请以文本格式填写，避免 Excel 把后几位变成 0；小写 x 会自动转为大写。"),
    gettext_lazy("也可直接上传全国中小学生学籍信息管理系统导出的“学生基本信息”表，无需调整列名。"),
    gettext_lazy("同一学生在全省只能有一个有效学籍：已在其他学校在籍的学生请走转学申请。"),
)


def _write(*, actor: Any, unit: Organization, rows: Sequence[tuple[int, CleanStudent]], accept_valid: bool,
           dry_run: bool, source: str, today: dt.date, policy: str = WritePolicy.CREATE_ONLY) -> ImportOutcome:
    result = register_students(actor=actor, school=unit, rows=rows, accept_valid=accept_valid, dry_run=dry_run,
                               source=source, today=today, policy=policy)
    return ImportOutcome(written=len(result.enrolment_ids) + result.updated, rejected=result.rejected,
                         summary=f"新建 {result.created}，原有学籍号 {result.re_enrolled}，更新 {result.updated}",
                         rows=result.row_outcomes, keys=result.numbers)


STUDENTS = register(ImportKind(
    key=KIND, label=gettext_lazy("学生"), schema=SCHEMA,
    check_row=lambda raw, ctx: clean_student(raw, stage_mask=ctx.unit.stage_mask, today=ctx.today, memo=ctx.memo),
    file_checker=lambda index, ctx: RowChecker(index, stage_mask=ctx.unit.stage_mask, today=ctx.today).check,
    write=_write, can_write=can_write_school, capability=capabilities.EDIT_STUDENTS, instructions=INSTRUCTIONS,
    list_url="students:list", nav_slug="students", template_title=gettext_lazy("学生信息导入模板"),
))


def student_template() -> bytes:
    return runner.template(STUDENTS)


def submit_import(*, actor: Actor, school: Organization, file_name: str, content: bytes, mode: str,
                  write_policy: str = WritePolicy.CREATE_ONLY) -> ImportJob:
    """Store the file as a job and queue it for the worker (after this transaction commits)."""
    return runner.submit_import(kind=STUDENTS, actor=actor, unit=school, file_name=file_name, content=content,
                                mode=mode, write_policy=write_policy)


def run_student_import(job_id: int) -> ImportJob:
    return runner.run_import(job_id)


def problems_report(job: ImportJob) -> bytes:
    return runner.problems_report(job)

"""The pages of the collection cycle (报表与审核) through the Django client: a task created and opened
through the form, each page for the roles that may see it and refused to the others, the school's
entry (auto-save, a stale save, submit blocked by a hard rule and by an unexplained soft rule), the
county's return with a cell reason, the chain approved up to the province, the printable history,
and the form as a workbook downloaded, filled and uploaded (a broken file changes nothing)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.reporting import grid, selectors, services, spreadsheet
from eduplatform.reporting.models import (
    CollectionTask,
    RegionApproval,
    ReviewAction,
    Submission,
    SubmissionStatus,
    TaskStatus,
)

GZ, TIANHE = "44/4401/", "44/4401/440106/"
TIANHE_CODE, GZ_CODE = "440106000000", "440100000000"
HTMX = {"HTTP_HX_REQUEST": "true"}


def definition(code: str = "JC442") -> dict:
    """A small 基础基442: hard V1 (合计 ≥ 女), soft E1 (学时 ≤ 1000), computed R3.C2, prefilled R1.C3."""
    return {
        "code": code, "title": "教师培训情况",
        "tables": [{
            "code": "T1", "title": "专任教师培训情况", "unit": "人",
            "rows": [{"code": "R1", "label": "合计"}, {"code": "R2", "label": "其中：女"},
                     {"code": "R3", "label": "学时合计"}],
            "columns": [{"code": "C1", "label": "参加培训人数", "type": "integer", "unit": "人"},
                        {"code": "C2", "label": "培训学时", "type": "decimal", "decimals": 1},
                        {"code": "C3", "label": "在校生", "type": "integer"},
                        {"code": "C4", "label": "备注", "type": "text"}],
            "cells": {"R3.C2": {"computed": "[T1.R1.C2] + [T1.R2.C2]"},
                      "R1.C3": {"prefill": "RECORD('measure:students')"},
                      "R3.C4": {"disabled": True}},
        }],
        "rules": [
            {"code": "V1", "kind": "hard", "expression": "[T1.R1.C1] >= [T1.R2.C1]",
             "message": "女教师参加培训人数不能大于合计", "cells": ["T1.R2.C1"]},
            {"code": "E1", "kind": "soft", "expression": "[T1.R1.C2] <= 1000",
             "message": "培训学时超过 1000，请核实", "cells": ["T1.R1.C2"]},
        ],
    }


@pytest.fixture(autouse=True)
def fresh_form_specs():
    """selectors keeps parsed published versions per process by primary key; a rolled-back test
    gives the next one the same key for another form."""
    selectors._published_spec.cache_clear()
    yield
    selectors._published_spec.cache_clear()


def login(client, world, user: str):
    client.force_login(world.user(user))
    return client


def published(world):
    officer = world.user("province")
    draft = services.save_form_draft(actor=officer, code="JC442", definition=definition())
    return services.publish_form_version(actor=officer, version=draft)


def task_through_the_form(client, world, *, regions: list[str], school_types: list[str]) -> CollectionTask:
    version = published(world)
    login(client, world, "province")
    assert client.get("/reports/tasks/new/").status_code == 200
    response = client.post("/reports/tasks/new/", {
        "form_version": version.pk, "title": "2026年教师培训情况", "period": "2026",
        "deadline": (timezone.localdate() + dt.timedelta(days=10)).isoformat(), "remind_days": 3,
        "regions": regions, "school_types": school_types, "review_levels": ["county", "city", "province"]})
    task = CollectionTask.objects.get(title="2026年教师培训情况")
    assert response.status_code == 302 and response["Location"] == f"/reports/tasks/{task.pk}/"
    assert task.status == TaskStatus.DRAFT and task.targets["school_types"] == school_types
    assert client.post(f"/reports/tasks/{task.pk}/open/").status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    return task


def entry_values(**cells: str) -> dict[str, str]:
    base = {"T1.R1.C1": "", "T1.R2.C1": "", "T1.R3.C1": "", "T1.R1.C2": "", "T1.R2.C2": "",
            "T1.R1.C3": "", "T1.R2.C3": "", "T1.R3.C3": "", "T1.R1.C4": "", "T1.R2.C4": ""}
    base.update({k.replace("_", "."): v for k, v in cells.items()})
    return base


def test_task_pages_render_for_the_right_roles_and_refuse_the_others(client, world):
    task = task_through_the_form(client, world, regions=[GZ], school_types=["211"])
    a1 = Submission.objects.get(task=task, school=world.school_a1)
    b1 = Submission.objects.get(task=task, school=world.school_b1)
    assert Submission.objects.filter(task=task).count() == 2  # the two primary schools of 广州

    for user in ("province", "city_stat", "county_a_stat", "county_a_reviewer"):
        page = login(client, world, user).get("/reports/").content.decode()
        assert "2026年教师培训情况" in page, user
        assert login(client, world, user).get(f"/reports/tasks/{task.pk}/").status_code == 200, user
    # The county sees its school, not the other county's.
    page = login(client, world, "county_a_stat").get(f"/reports/tasks/{task.pk}/").content.decode()
    assert "天河测试小学" in page and "越秀泄漏检测小学" not in page
    assert login(client, world, "county_a_stat").get(f"/reports/submissions/{b1.pk}/").status_code == 404
    # The city drills down from its counties.
    page = login(client, world, "city_stat").get(f"/reports/tasks/{task.pk}/").content.decode()
    assert "天河区" in page and "越秀区" in page and f"?region={TIANHE_CODE}" in page
    # 深圳's county sees neither the task nor a 广州 submission.
    login(client, world, "county_c_stat")
    assert "2026年教师培训情况" not in client.get("/reports/").content.decode()
    assert client.get(f"/reports/tasks/{task.pk}/").status_code == 404
    assert client.get(f"/reports/submissions/{a1.pk}/entry/").status_code == 404
    # A school opens its own entry page from the list; another school's is not there.
    login(client, world, "clerk_a1")
    assert f"/reports/submissions/{a1.pk}/entry/" in client.get("/reports/").content.decode()
    assert client.get(f"/reports/tasks/{task.pk}/")["Location"] == f"/reports/submissions/{a1.pk}/entry/"
    assert client.get(f"/reports/submissions/{b1.pk}/entry/").status_code == 404
    # Who may not create, open, review or fill.
    assert client.get("/reports/tasks/new/").status_code == 403
    assert client.post(f"/reports/tasks/{task.pk}/close/").status_code == 403
    assert client.post(f"/reports/submissions/{a1.pk}/review/", {"decision": "approve"}).status_code == 403
    login(client, world, "principal_a1")
    page = client.get(f"/reports/submissions/{a1.pk}/entry/").content.decode()
    assert 'name="T1.R1.C1"' not in page  # read-only for the principal
    assert client.post(f"/reports/submissions/{a1.pk}/save/", entry_values(T1_R1_C1="5")).status_code == 403
    assert client.get("/reports/", {"format": "xlsx"}).status_code == 200


def test_entry_auto_save_stale_save_and_submit_through_the_pages(client, world):
    task = task_through_the_form(client, world, regions=[TIANHE], school_types=["211"])
    sub = Submission.objects.get(task=task, school=world.school_a1)
    login(client, world, "clerk_a1")
    url = f"/reports/submissions/{sub.pk}/"
    page = client.get(url + "entry/").content.decode()
    assert 'name="T1.R1.C1"' in page and 'hx-post="' in page
    assert "预填" in page and 'id="cv-T1-R3-C2"' in page  # the prefilled and the computed cell
    assert 'name="T1.R3.C2"' not in page and 'name="T1.R3.C4"' not in page  # computed and disabled: no input

    # Auto-save (htmx): the women outnumber the total → V1 beside T1.R2.C1; the hours add up to 42.5.
    response = client.post(url + "save/", {**entry_values(T1_R1_C1="10", T1_R2_C1="12", T1_R1_C2="30",
                                                          T1_R2_C2="12.5"), "lock_version": 0}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and 'data-status="saved"' in body
    sub.refresh_from_db()
    assert sub.values["T1.R1.C1"] == "10" and sub.status == SubmissionStatus.DRAFT and sub.lock_version == 1
    assert 'id="notes-T1-R2-C1"' in body and "女教师参加培训人数不能大于合计" in body
    assert 'id="lock-version" value="1"' in body and ">42.5</output>" in body

    # A save over an older version (another tab saved meanwhile): refused, nothing changes, said plainly.
    response = client.post(url + "save/", {**entry_values(T1_R1_C1="99"), "lock_version": 0}, **HTMX)
    body = response.content.decode()
    assert 'data-status="stale"' in body and "未保存" in body and "您填写的内容仍在页面上" in body
    sub.refresh_from_db()
    assert sub.values["T1.R1.C1"] == "10" and sub.lock_version == 1
    # Without htmx the page comes back with the typed value still in the field.
    response = client.post(url + "save/", {**entry_values(T1_R1_C1="99"), "lock_version": 0})
    assert response.status_code == 409 and 'value="99"' in response.content.decode()
    # A value of the wrong type is refused beside its cell, nothing saved.
    response = client.post(url + "save/", {**entry_values(T1_R1_C1="十个"), "lock_version": 1}, **HTMX)
    assert 'data-status="error"' in response.content.decode()
    sub.refresh_from_db()
    assert sub.values["T1.R1.C1"] == "10"

    # 上报 is blocked by the failing hard rule, which is listed.
    response = client.post(url + "save/", {**entry_values(T1_R1_C1="10", T1_R2_C1="12"), "lock_version": 1,
                                           "action": "submit"})
    assert response.status_code == 400
    assert "逻辑校验 V1 未通过" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.DRAFT
    # Fixed, but 1200 training hours trip the soft rule: it needs an explanation.
    values = entry_values(T1_R1_C1="10", T1_R2_C1="6", T1_R1_C2="1200", T1_R1_C3=str(sub.prefill.get("T1.R1.C3", "")))
    response = client.post(url + "save/", {**values, "lock_version": sub.lock_version, "action": "submit"})
    assert response.status_code == 400 and "经验校验 E1 未通过" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.DRAFT and sub.values["T1.R2.C1"] == "6"
    response = client.post(url + "save/", {**values, "lock_version": sub.lock_version, "action": "submit",
                                           "explain:E1": "本年度集中开展了全员轮训"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SUBMITTED and sub.explanations["E1"] == "本年度集中开展了全员轮训"
    page = client.get(url + "entry/").content.decode()
    assert 'name="T1.R1.C1"' not in page and "等待上级审核" in page


def test_a_changed_prefill_needs_an_explanation_and_shows_the_difference(client, world):
    task = task_through_the_form(client, world, regions=[TIANHE], school_types=["211"])
    sub = Submission.objects.get(task=task, school=world.school_a1)
    sub.refresh_from_db()
    recorded = sub.prefill.get("T1.R1.C3")
    assert recorded not in (None, "")  # the records' value, shown beside the cell
    login(client, world, "clerk_a1")
    url = f"/reports/submissions/{sub.pk}/"
    changed = str(int(recorded) + 3)
    client.post(url + "save/", {**entry_values(T1_R1_C1="4", T1_R2_C1="2", T1_R1_C3=changed), "lock_version": 0}, **HTMX)
    page = client.get(url + "entry/").content.decode()
    assert "差 +3" in page and 'name="explain:T1.R1.C3"' in page
    response = client.post(url + "save/", {**entry_values(T1_R1_C1="4", T1_R2_C1="2", T1_R1_C3=changed),
                                           "lock_version": 1, "action": "submit"})
    assert response.status_code == 400 and "与业务数据不一致" in response.content.decode()


def _submit(client, world, sub, **cells):
    sub.refresh_from_db()
    values = entry_values(**cells)
    values["T1.R1.C3"] = str(sub.prefill.get("T1.R1.C3", ""))
    login(client, world, "clerk_a1")
    response = client.post(f"/reports/submissions/{sub.pk}/save/", {**values, "lock_version": sub.lock_version,
                                                                      "action": "submit"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SUBMITTED


def test_return_with_a_cell_reason_then_approval_up_to_the_province(client, world):
    task = task_through_the_form(client, world, regions=[TIANHE], school_types=["211"])
    sub = Submission.objects.get(task=task, school=world.school_a1)
    _submit(client, world, sub, T1_R1_C1="10", T1_R2_C1="4")
    # The city may return a school's return but not approve it for the county: no approve button.
    page = login(client, world, "city_stat").get(f"/reports/submissions/{sub.pk}/").content.decode()
    assert 'data-testid="review-form"' in page and 'data-testid="approve"' not in page

    # The county opens the submission read-only and returns it with a reason on one cell.
    login(client, world, "county_a_stat")
    page = client.get(f"/reports/tasks/{task.pk}/?region={TIANHE_CODE}").content.decode()
    assert f"/reports/submissions/{sub.pk}/" in page and "审核" in page
    response = client.get(f"/reports/tasks/{task.pk}/schools.xlsx", {"region": TIANHE_CODE, "status": "submitted"})
    with CalamineWorkbook.from_filelike(io.BytesIO(response.content)) as book:
        rows = book.get_sheet_by_index(0).to_python()
    assert [r[:3] for r in rows[1:]] == [["2144000001", "天河测试小学", "已上报"]]
    page = client.get(f"/reports/submissions/{sub.pk}/").content.decode()
    assert 'data-testid="review-form"' in page and 'name="cell_reason:T1.R1.C1"' in page
    assert 'name="T1.R1.C1"' not in page  # read-only
    response = client.post(f"/reports/submissions/{sub.pk}/review/", {"decision": "return", "reason": ""})
    assert response.status_code == 400 and "退回时请填写退回原因" in response.content.decode()
    response = client.post(f"/reports/submissions/{sub.pk}/review/", {
        "decision": "return", "reason": "请核对参加培训人数", "cell_reason:T1.R1.C1": "与人事系统的 12 人不符"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.RETURNED and sub.return_cells == {"T1.R1.C1": "与人事系统的 12 人不符"}

    # The school sees the reason beside the cell, corrects and resubmits.
    page = login(client, world, "clerk_a1").get(f"/reports/submissions/{sub.pk}/entry/").content.decode()
    assert "请核对参加培训人数" in page and "与人事系统的 12 人不符" in page and "rp-returned" in page
    _submit(client, world, sub, T1_R1_C1="12", T1_R2_C1="4")

    # County approves the school, then its node; the city, then the province approve theirs.
    login(client, world, "county_a_stat")
    assert client.post(f"/reports/submissions/{sub.pk}/review/", {"decision": "approve"}).status_code == 302
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.APPROVED
    client.post(f"/reports/tasks/{task.pk}/approve/", {"region": TIANHE_CODE})
    assert RegionApproval.objects.filter(task=task, region_path=TIANHE).exists()
    # The approval locks the school: the county can no longer withdraw the school's approval alone.
    client.post(f"/reports/submissions/{sub.pk}/unapprove/", {"reason": "复核"})
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.APPROVED
    login(client, world, "city_stat")
    page = client.get(f"/reports/tasks/{task.pk}/").content.decode()
    assert 'data-testid="region-approve"' in page
    client.post(f"/reports/tasks/{task.pk}/approve/", {"region": GZ_CODE})
    assert RegionApproval.objects.filter(task=task, region_path=GZ).exists()
    login(client, world, "province")
    client.post(f"/reports/tasks/{task.pk}/approve/", {"region": "440000000000"})
    assert RegionApproval.objects.filter(task=task, region_path="44/").exists()

    # The history of the submission and of the county: every step, with the cell reason; printable.
    page = login(client, world, "county_a_stat").get(f"/reports/submissions/{sub.pk}/history/").content.decode()
    for label in ("上报", "退回", "审核通过", "与人事系统的 12 人不符", "data-print"):
        assert label in page, label
    page = client.get(f"/reports/tasks/{task.pk}/history/?region={TIANHE_CODE}").content.decode()
    assert page.count('data-action="approve"') >= 2  # the school's and the county node's
    assert ReviewAction.objects.filter(task=task, action="return").count() == 1
    for url in (f"/reports/submissions/{sub.pk}/", f"/reports/submissions/{sub.pk}/history/"):
        response = client.get(url, {"format": "pdf"})
        assert response.status_code == 200 and response.content.startswith(b"%PDF"), url
    response = client.get(f"/reports/submissions/{sub.pk}/history/", {"format": "xlsx"})
    with CalamineWorkbook.from_filelike(io.BytesIO(response.content)) as book:
        rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["时间", "操作", "对象"]
    assert ["退回" in r[1] for r in rows].count(True) == 1 and any("与人事系统的 12 人不符" in r[6] for r in rows)
    assert len(rows) - 1 == ReviewAction.objects.filter(submission=sub).count()

    # The province withdraws its approval with a reason; the page says so.
    login(client, world, "province")
    client.post(f"/reports/tasks/{task.pk}/unapprove/", {"region": "440000000000", "reason": "复核全省数据"})
    assert not RegionApproval.objects.filter(task=task, region_path="44/").exists()


def test_download_fill_and_upload_the_form_and_a_broken_file_changes_nothing(client, world):
    task = task_through_the_form(client, world, regions=[TIANHE], school_types=["211"])
    sub = Submission.objects.get(task=task, school=world.school_a1)
    login(client, world, "clerk_a1")
    response = client.get(f"/reports/submissions/{sub.pk}/blank.xlsx")
    assert response.status_code == 200
    with CalamineWorkbook.from_filelike(io.BytesIO(response.content)) as book:
        assert book.sheet_names[0].startswith("T1 ")
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert rows[spreadsheet.CODE_ROW][spreadsheet.FIRST_COL:spreadsheet.FIRST_COL + 4] == ["C1", "C2", "C3", "C4"]
    assert [r[spreadsheet.CODE_COL] for r in rows[spreadsheet.FIRST_ROW:]] == ["R1", "R2", "R3"]

    def workbook(**cells) -> io.BytesIO:
        sub.refresh_from_db()
        g = grid.build(task.form_version.definition, values=entry_values(**cells), prefill=sub.prefill)
        content = io.BytesIO(spreadsheet.form_workbook(g, task=task, school=world.school_a1, blank=False))
        content.name = "JC442.xlsx"
        return content

    # A broken file: a word in a number cell and a decimal with too many places. Nothing is saved.
    before = dict(sub.values)
    response = client.post(f"/reports/submissions/{sub.pk}/upload/",
                           {"file": workbook(T1_R1_C1="十二", T1_R2_C1="3", T1_R1_C2="1.25")})
    body = response.content.decode()
    assert response.status_code == 400 and 'data-testid="upload-problems"' in body
    assert "工作表「T1 专任教师培训情况」第 6 行 C 列（合计 · 参加培训人数）：「十二」不是数字" in body
    assert "第 6 行 D 列" in body and "小数位多于 1 位" in body
    sub.refresh_from_db()
    assert sub.values == before and sub.lock_version == 0

    # A filled file: read by codes, saved like an auto-save, the computed cell recomputed.
    response = client.post(f"/reports/submissions/{sub.pk}/upload/",
                           {"file": workbook(T1_R1_C1="12", T1_R2_C1="5", T1_R1_C2="40.5", T1_R1_C4="集中培训")})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.values["T1.R1.C1"] == "12" and sub.values["T1.R1.C2"] == "40.5" and sub.values["T1.R1.C4"] == "集中培训"
    assert sub.values.get("T1.R3.C2") == "40.5"
    # The filled download carries the values.
    response = client.get(f"/reports/submissions/{sub.pk}/form.xlsx")
    with CalamineWorkbook.from_filelike(io.BytesIO(response.content)) as book:
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert rows[spreadsheet.FIRST_ROW][spreadsheet.FIRST_COL] == 12


@pytest.mark.parametrize("name,content", [("表.xlsx", b"not a zip"), ("表.csv", b"a,b")])
def test_an_unreadable_upload_is_refused_in_chinese(client, world, name, content):
    task = task_through_the_form(client, world, regions=[TIANHE], school_types=["211"])
    sub = Submission.objects.get(task=task, school=world.school_a1)
    upload = io.BytesIO(content)
    upload.name = name
    response = login(client, world, "clerk_a1").post(f"/reports/submissions/{sub.pk}/upload/", {"file": upload})
    assert response.status_code == 400 and "未导入" in response.content.decode()
    sub.refresh_from_db()
    assert sub.lock_version == 0


def test_zero_report_through_the_page(client, world):
    task = task_through_the_form(client, world, regions=[TIANHE], school_types=["211"])
    sub = Submission.objects.get(task=task, school=world.school_a1)
    login(client, world, "clerk_a1")
    client.post(f"/reports/submissions/{sub.pk}/zero/", {"reason": ""})
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.NOT_STARTED
    client.post(f"/reports/submissions/{sub.pk}/zero/", {"reason": "本校本年度无教师参加培训"})
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SUBMITTED and sub.zero_report
    page = login(client, world, "county_a_stat").get(f"/reports/submissions/{sub.pk}/").content.decode()
    assert "本校本年度无教师参加培训" in page


def test_census_sign_off_task_shows_the_schools_figures_and_a_confirm_button(client, world):
    from eduplatform.stats.snapshots import take_snapshot

    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    login(client, world, "province")
    page = client.get(f"/reports/tasks/new/?snapshot={snapshot.pk}").content.decode()
    assert snapshot.title in page and 'name="form_version"' not in page
    response = client.post(f"/reports/tasks/new/?snapshot={snapshot.pk}", {
        "snapshot": snapshot.pk, "title": "统计时点数据确认", "period": "2026",
        "deadline": (timezone.localdate() + dt.timedelta(days=5)).isoformat(), "remind_days": 2,
        "regions": [TIANHE], "school_types": ["211"], "review_levels": ["county", "city", "province"]})
    task = CollectionTask.objects.get(title="统计时点数据确认")
    assert response.status_code == 302 and task.kind == "census" and task.snapshot_id == snapshot.pk
    client.post(f"/reports/tasks/{task.pk}/open/")
    sub = Submission.objects.get(task=task, school=world.school_a1)

    login(client, world, "clerk_a1")
    page = client.get(f"/reports/submissions/{sub.pk}/entry/").content.decode()
    assert 'data-testid="census-confirm"' in page and 'data-testid="census-tables"' in page
    assert 'name="T1.R1.C1"' not in page  # no grid: the figures are the snapshot's
    assert "快照中没有本校的数据" not in page and 'data-testid="findings"' in page  # the school's 基表 checks
    assert client.get(f"/reports/submissions/{sub.pk}/form.xlsx").status_code == 404
    client.post(f"/reports/submissions/{sub.pk}/confirm/")
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SUBMITTED
    page = login(client, world, "county_a_stat").get(f"/reports/submissions/{sub.pk}/").content.decode()
    assert 'data-testid="review-form"' in page and "查看该校基表" in page


def test_a_rejected_explanation_returns_the_submission_and_reopening_after_closing(client, world):
    task = task_through_the_form(client, world, regions=[TIANHE], school_types=["211"])
    sub = Submission.objects.get(task=task, school=world.school_a1)
    sub.refresh_from_db()
    values = entry_values(T1_R1_C1="10", T1_R2_C1="4", T1_R1_C2="1500",
                          T1_R1_C3=str(int(sub.prefill.get("T1.R1.C3") or 0) + 2))
    login(client, world, "clerk_a1")
    response = client.post(f"/reports/submissions/{sub.pk}/save/", {
        **values, "lock_version": sub.lock_version, "action": "submit", "explain:E1": "含寒暑假集中研修",
        "explain:T1.R1.C3": "含本学期新转入学生"})
    assert response.status_code == 302
    # The county sees both explanations; rejecting one (with its reason) returns the submission.
    login(client, world, "county_a_stat")
    page = client.get(f"/reports/submissions/{sub.pk}/").content.decode()
    assert "含寒暑假集中研修" in page and "含本学期新转入学生" in page and 'name="verdict:T1.R1.C3"' in page
    response = client.post(f"/reports/submissions/{sub.pk}/review/", {
        "decision": "approve", "verdict:E1": "reject", "verdict_reason:E1": "学时与培训证书不符",
        "verdict:T1.R1.C3": "accept"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.RETURNED and "学时与培训证书不符" in sub.return_reason
    assert sub.verdicts["E1"]["accepted"] is False and sub.verdicts["T1.R1.C3"]["accepted"] is True

    # The province closes the task; the school can no longer save until it is reopened for it.
    login(client, world, "province")
    client.post(f"/reports/tasks/{task.pk}/close/")
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED
    page = login(client, world, "clerk_a1").get(f"/reports/submissions/{sub.pk}/entry/").content.decode()
    assert 'name="T1.R1.C1"' not in page and 'data-testid="task-closed"' in page
    login(client, world, "province")
    client.post(f"/reports/tasks/{task.pk}/reopen/", {"school_code": "2144000001", "reason": ""})
    sub.refresh_from_db()
    assert not sub.reopened
    client.post(f"/reports/tasks/{task.pk}/reopen/", {"school_code": "2144000001", "reason": "补报培训证书"})
    sub.refresh_from_db()
    assert sub.reopened
    page = login(client, world, "clerk_a1").get(f"/reports/submissions/{sub.pk}/entry/").content.decode()
    assert 'name="T1.R1.C1"' in page

"""Input that never crashes and jobs that never hang (issue 11, point 9): a spreadsheet's used area is
checked before calamine builds its grid, a job whose worker died is found and can be retried, and
uploaded files do not outlive their use."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
import xlsxwriter

from eduplatform.core import imports
from eduplatform.core.imports import Column, ImportFileError, read_table

COLUMNS = (Column("name", "姓名", required=True), Column("gender", "性别", required=True))


def _xlsx(cells: dict[tuple[int, int], str], *, sheet: str = "数据") -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet(sheet)
    for (row, col), value in cells.items():
        ws.write_string(row, col, value)
    book.close()
    return buffer.getvalue()


def _rewrite_sheet(content: bytes, change) -> bytes:
    """The same workbook with its first worksheet's XML passed through ``change``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            dst.writestr(item, data)
    return out.getvalue()


HEADER = {(0, 0): "姓名", (0, 1): "性别", (1, 0): "张三", (1, 1): "男"}


def _refused_quickly(content: bytes) -> str:
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as refused:
        read_table(content, "学生.xlsx", COLUMNS)
    assert time.perf_counter() - started < 1.0
    return refused.value.message


def test_a_far_cell_spreadsheet_is_refused_in_under_a_second_and_the_process_lives():
    # 5 KB on disk; calamine would allocate 550 GB for its grid and abort the whole process.
    content = _xlsx({**HEADER, (1048575, 16383): "x"})
    assert len(content) < 10_000
    message = _refused_quickly(content)
    assert "XFD1048576" in message and "最多 200 列" in message


def test_a_far_cell_behind_a_lying_dimension_is_still_refused():
    content = _xlsx({**HEADER, (1048575, 16383): "x"})
    lying = _rewrite_sheet(content, lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:B2"/>', xml))
    assert b'ref="A1:B2"' in zipfile.ZipFile(io.BytesIO(lying)).read("xl/worksheets/sheet1.xml")
    message = _refused_quickly(lying)
    assert "1,048,576" in message or "XFD1048576" in message


def test_a_sheet_without_a_dimension_but_far_rows_is_refused():
    content = _xlsx({**HEADER, (900_000, 0): "x"})
    stripped = _rewrite_sheet(content, lambda xml: re.sub(rb"<dimension [^>]*/>", b"", xml))
    assert "900,001" in _refused_quickly(stripped)


def test_many_rows_and_many_columns_together_are_refused_by_cell_count():
    # 150,000 rows and 150 columns are each allowed, together they are a 22-million-cell grid.
    content = _xlsx({**HEADER, (149_999, 0): "x", (5, 149): "y"})
    stripped = _rewrite_sheet(content, lambda xml: re.sub(rb"<dimension [^>]*/>", b"", xml))
    _refused_quickly(stripped)


def test_the_data_sheet_is_checked_not_a_big_instructions_sheet():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    notes = book.add_worksheet("填写说明")
    notes.write_string(0, 300, "wide notes are not read")
    data = book.add_worksheet("数据")
    for (row, col), value in HEADER.items():
        data.write_string(row, col, value)
    book.close()
    table = read_table(buffer.getvalue(), "学生.xlsx", COLUMNS)
    assert [cells[:2] for _, cells in table.rows] == [["张三", "男"]]


def test_ordinary_files_within_the_limits_still_read(monkeypatch):
    cells = dict(HEADER)
    for r in range(2, 300):
        cells[(r, 0)], cells[(r, 1)] = f"学生{r}", "女"
    cells[(5, 150)] = "far but allowed"
    table = read_table(_xlsx(cells), "学生.xlsx", COLUMNS)
    assert len(table.rows) == 299 and table.rows[-1][0] == 300


def test_the_limits_are_settings_of_the_module(monkeypatch):
    monkeypatch.setattr(imports, "MAX_COLUMNS", 10)
    with pytest.raises(ImportFileError, match="最多 10 列"):
        read_table(_xlsx({**HEADER, (1, 10): "x"}), "学生.xlsx", COLUMNS)
    read_table(_xlsx({**HEADER, (1, 9): "x"}), "学生.xlsx", COLUMNS)


# ---------------------------------------------------------------------------
# Production settings (point 7)
# ---------------------------------------------------------------------------

import base64  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _production_env(tmp_path, **overrides: str) -> dict[str, str]:
    """The environment docs/deployment.md documents, with fresh keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "FIELD_", "EDU_", "DEBUG", "SECURE_"))}
    env.update({
        "EDU_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": "k2026:" + base64.b64encode(os.urandom(32)).decode(),
        "FIELD_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "edu.gd.example.cn",
        "CSRF_TRUSTED_ORIGINS": "https://edu.gd.example.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "EDU_VAR_DIR": str(tmp_path),
        # Hashed static names need a collectstatic manifest (make serve builds it); these probes check
        # settings and headers, so they serve static files from the sources as the tests do.
        "STATIC_MANIFEST": "0",
        **overrides,
    })
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120)


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("variable", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "FIELD_INDEX_KEY"])
def test_production_with_a_demo_key_refuses_to_start_naming_the_variable(tmp_path, variable):
    from django.conf import settings

    demo = {"SECRET_KEY": settings.DEMO_SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": f"new:{base64.b64encode(os.urandom(32)).decode()},demo1:{settings.DEMO_FIELD_ENCRYPTION_KEY}",
            "FIELD_INDEX_KEY": settings.DEMO_FIELD_INDEX_KEY}
    result = _manage(_production_env(tmp_path, **{variable: demo[variable]}), "check")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "生产环境（EDU_ENV=production）不能使用仓库自带的演示密钥" in last and variable in last
    assert "Refusing to start in production" in last


def test_a_server_with_a_real_host_name_is_production_even_without_edu_env(tmp_path):
    env = _production_env(tmp_path)
    for name in ("EDU_ENV", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "FIELD_INDEX_KEY"):
        env.pop(name)
    result = _manage(env, "check")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr.splitlines()[-1]


def test_production_refuses_debug(tmp_path):
    result = _manage(_production_env(tmp_path, DEBUG="1"), "check")
    assert result.returncode != 0 and "DEBUG=0" in result.stderr.splitlines()[-1]


def test_demo_accounts_cannot_be_created_in_production(tmp_path):
    env = _production_env(tmp_path)
    assert _manage(env, "migrate", "--noinput", "-v0").returncode == 0
    result = _manage(env, "generate_demo", "--scale", "0.001", "--students", "0")
    assert result.returncode != 0
    assert "生产环境（EDU_ENV=production）不能生成演示数据和演示账号" in result.stderr
    count = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                            "from eduplatform.accounts.models import User; print(User.objects.count())"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert count.stdout.strip().splitlines()[-1] == "0"


def test_the_demo_account_helper_itself_refuses_in_production(db, settings):
    from eduplatform.accounts.roles import Role
    from eduplatform.demo import province
    from eduplatform.orgs.models import Organization

    settings.IS_PRODUCTION = True
    with pytest.raises(Exception, match="不能生成演示数据"):
        province._account("demo_x", Role.PROVINCE_OFFICER, Organization(name="x"), [], display="x")


# ---------------------------------------------------------------------------
# Jobs whose worker died; uploaded files sealed and purged (points 9b and 5)
# ---------------------------------------------------------------------------

import datetime as dt  # noqa: E402

from django.utils import timezone  # noqa: E402

from eduplatform.core.models import ImportJob, ImportMode, JobStatus  # noqa: E402
from eduplatform.students import importing  # noqa: E402

from .students_support import student_row, xlsx_file  # noqa: E402

IMPORT_HEADERS = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月", "联系电话"]
IMPORT_FIELDS = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number",
                 "entered_on", "phone"]


def _students_file(count: int = 3) -> tuple[bytes, list[dict]]:
    rows = [student_row(seq) for seq in range(1, count + 1)]
    return xlsx_file(IMPORT_HEADERS, [[r[f] for f in IMPORT_FIELDS] for r in rows]), rows


def _submit(world, mode=ImportMode.ALL_OR_NOTHING) -> tuple[ImportJob, bytes, list[dict]]:
    content, rows = _students_file()
    job = importing.submit_import(actor=world.user("clerk_a1"), school=world.school_a1, file_name="学生.xlsx",
                                  content=content, mode=mode)
    return job, content, rows


def _stored(job: ImportJob) -> bytes:
    return bytes(ImportJob.objects.values_list("content", flat=True).get(pk=job.pk))


def test_an_uploaded_file_is_stored_sealed_not_in_clear(world):
    job, content, rows = _submit(world)
    stored = _stored(job)
    assert stored.startswith(b"EDUSEAL1:") and content not in stored
    # An xlsx is a zip: its local-file signature would be in the clear bytes.
    assert b"PK\x03\x04" not in stored
    from eduplatform.core.crypto import open_file

    assert open_file(stored) == content
    done = importing.run_student_import(job.pk)
    assert done.status == JobStatus.DONE and done.written_rows == len(rows)
    assert _stored(job) == b"" and not ImportJob.objects.get(pk=job.pk).file_kept


def test_a_job_left_running_by_a_dead_worker_is_failed_with_a_reason_and_can_be_retried(client, world, settings):
    settings.IMPORT_STALE_SECONDS = 600
    job, content, rows = _submit(world)
    # The worker took the job and was killed: status running, last heartbeat 20 minutes ago.
    long_ago = timezone.now() - dt.timedelta(minutes=20)
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago)
    recent, _, _ = _submit(world)
    ImportJob.objects.filter(pk=recent.pk).update(status=JobStatus.RUNNING, started_at=timezone.now(),
                                                  heartbeat_at=timezone.now())

    client.force_login(world.user("clerk_a1"))
    page = client.get(f"/students/import/{job.pk}/")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.failure == "处理进程中断，请重试" and job.finished_at
    assert ImportJob.objects.get(pk=recent.pk).status == JobStatus.RUNNING  # a live job is left alone
    body = page.content.decode()
    assert "处理进程中断，请重试" in body and 'id="import-retry"' in body

    response = client.post(f"/students/import/{job.pk}/commit/")
    retried = ImportJob.objects.exclude(pk__in=[job.pk, recent.pk]).get()
    assert response.status_code == 302 and response["Location"].endswith(f"/students/import/{retried.pk}/")
    assert retried.status == JobStatus.QUEUED and retried.mode == job.mode
    assert not ImportJob.objects.get(pk=job.pk).file_kept  # the file moved to the new job
    done = importing.run_student_import(retried.pk)
    assert done.status == JobStatus.DONE and done.written_rows == len(rows)


def test_the_worker_fails_interrupted_jobs_before_taking_the_next(world, settings):
    settings.IMPORT_STALE_SECONDS = 60
    stuck, _, _ = _submit(world)
    ImportJob.objects.filter(pk=stuck.pk).update(status=JobStatus.RUNNING, heartbeat_at=None,
                                                 started_at=timezone.now() - dt.timedelta(minutes=5))
    later, _, _ = _submit(world, ImportMode.DRY_RUN)
    assert importing.run_student_import(later.pk).status == JobStatus.DONE
    assert ImportJob.objects.get(pk=stuck.pk).status == JobStatus.FAILED


def test_a_running_job_beats_while_it_works(world):
    job, _, _ = _submit(world)
    before = timezone.now()
    importing.run_student_import(job.pk)
    job.refresh_from_db()
    assert job.heartbeat_at is not None and job.heartbeat_at >= before


def test_a_dry_runs_file_is_purged_after_the_retention_time_by_command_and_worker(client, world, settings):
    from django.core.management import call_command

    settings.UPLOAD_RETENTION_HOURS = 2
    job, _, _ = _submit(world, ImportMode.DRY_RUN)
    assert importing.run_student_import(job.pk).status == JobStatus.DONE
    assert ImportJob.objects.get(pk=job.pk).file_kept  # kept: it may be committed with one click
    call_command("purge_uploads", stdout=io.StringIO())
    assert ImportJob.objects.get(pk=job.pk).file_kept  # one hour old: still kept

    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(hours=3))
    out = io.StringIO()
    call_command("purge_uploads", stdout=out)
    assert "已删除过期上传文件 1 个" in out.getvalue()
    purged = ImportJob.objects.get(pk=job.pk)
    assert not purged.file_kept and _stored(purged) == b""
    client.force_login(world.user("clerk_a1"))
    body = client.get(f"/students/import/{job.pk}/").content.decode()
    assert "文件已超过保留期限被删除" in body and 'id="import-commit"' not in body

    # The worker's own round does the same before each job.
    other, _, _ = _submit(world, ImportMode.DRY_RUN)
    importing.run_student_import(other.pk)
    ImportJob.objects.filter(pk=other.pk).update(finished_at=timezone.now() - dt.timedelta(hours=3))
    third, _, _ = _submit(world, ImportMode.DRY_RUN)
    importing.run_student_import(third.pk)
    assert not ImportJob.objects.get(pk=other.pk).file_kept
    assert ImportJob.objects.get(pk=third.pk).file_kept


# ---------------------------------------------------------------------------
# Unique violations as Chinese messages (point 9d)
# ---------------------------------------------------------------------------

from django.db.models.query import QuerySet  # noqa: E402

from eduplatform.assets import services as asset_services  # noqa: E402
from eduplatform.assets.models import Equipment  # noqa: E402
from eduplatform.core.errors import RecordInvalid  # noqa: E402
from eduplatform.facilities import services as facility_services  # noqa: E402
from eduplatform.facilities.models import Building  # noqa: E402

from .assets_support import line  # noqa: E402
from .concurrency import committing, postgres_only, run_concurrently  # noqa: E402
from .facilities_support import building_row  # noqa: E402


@pytest.fixture
def checks_see_nothing(monkeypatch):
    """The moment of a race: the service's "is this number free?" look finds nothing (the other
    clerk's row is not committed yet), but the unique index sees it."""
    def blind():
        monkeypatch.setattr(QuerySet, "exists", lambda self: False)
        monkeypatch.setattr(QuerySet, "first", lambda self: None)
    return blind


def test_a_building_number_taken_meanwhile_is_reported_naming_the_school(world, checks_see_nothing):
    clerk = world.user("clerk_a1")
    facility_services.create_building(actor=clerk, school=world.school_a1, data=building_row(1))
    checks_see_nothing()
    with pytest.raises(RecordInvalid) as refused:
        facility_services.create_building(actor=clerk, school=world.school_a1, data=building_row(1, name="新楼"))
    problem = refused.value.problems[0]
    assert problem.field == "number" and problem.code == "value.taken"
    assert f"建筑物编号「JZ001」已存在于{world.school_a1.name}" in problem.message
    assert Building.objects.filter(school=world.school_a1).count() == 1


def test_an_equipment_number_taken_meanwhile_is_reported_naming_the_school(world, checks_see_nothing):
    clerk = world.user("clerk_a1")
    asset_services.create_equipment(actor=clerk, school=world.school_a1, data=line("ZC-1"))
    checks_see_nothing()
    with pytest.raises(RecordInvalid) as refused:
        asset_services.create_equipment(actor=clerk, school=world.school_a1, data=line("ZC-1"))
    assert f"资产编号「ZC-1」已存在于{world.school_a1.name}" in refused.value.problems[0].message
    assert Equipment.objects.filter(school=world.school_a1).count() == 1


def test_a_class_created_twice_meanwhile_is_reported(world, checks_see_nothing):
    from eduplatform.students import services as student_services

    clerk = world.user("clerk_a1")
    student_services.create_class(actor=clerk, school=world.school_a1, school_year=2025, grade="11", number=7)
    checks_see_nothing()
    with pytest.raises(RecordInvalid, match="（7）班已存在"):
        student_services.create_class(actor=clerk, school=world.school_a1, school_year=2025, grade="11", number=7)


def test_a_building_number_entered_twice_on_the_page_shows_a_form_error_not_a_500(client, world, checks_see_nothing):
    clerk = world.user("clerk_a1")
    facility_services.create_building(actor=clerk, school=world.school_a1, data=building_row(1))
    checks_see_nothing()
    client.force_login(clerk)
    response = client.post("/facilities/new/", building_row(1, name="新楼"))
    assert response.status_code == 200
    assert "建筑物编号「JZ001」已存在于" in response.content.decode()


@postgres_only
@committing
def test_two_clerks_saving_the_same_building_and_equipment_number_at_once_get_one_record_and_one_message(world):
    clerk = world.user("clerk_a1")
    school = world.school_a1

    def save(create, data):
        def run():
            try:
                return create(actor=clerk, school=school, data=data)
            except RecordInvalid as err:
                return err
        return run

    for create, data, model, taken in (
        (facility_services.create_building, building_row(5), Building, "建筑物编号「JZ005」已存在于"),
        (asset_services.create_equipment, line("ZC-9"), Equipment, "资产编号「ZC-9」已存在于"),
    ):
        results = run_concurrently(save(create, data), save(create, dict(data)))
        refused = [r for r in results if isinstance(r, RecordInvalid)]
        saved = [r for r in results if isinstance(r, model)]
        assert len(saved) == 1 and len(refused) == 1, results
        assert any(taken in p.message or "已登记" in p.message or "已有建筑物编号" in p.message
                   for p in refused[0].problems)
        assert model.objects.filter(school=school).count() == 1


@postgres_only
@committing
def test_two_hires_in_one_county_at_once_both_succeed_with_their_own_staff_numbers(world):
    """Two clerks of one school (any two units of a county) draw from the county's one sequence of 教职工号."""
    from eduplatform.staff import services as staff_services
    from eduplatform.staff.models import StaffMember
    from tests.staff_support import staff_row

    def hire(user, unit, seq):
        return lambda: staff_services.hire(actor=world.user(user), unit=unit, data=staff_row(seq))

    first, second = run_concurrently(hire("clerk_a1", world.school_a1, 71), hire("clerk_a1", world.school_a1, 72))
    assert first.staff_number != second.staff_number
    assert first.staff_number[:6] == second.staff_number[:6] == world.school_a1.region.code[:6]
    assert StaffMember.objects.filter(pk__in=[first.pk, second.pk], is_active=True).count() == 2

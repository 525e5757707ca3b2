"""Exports never truncate silently, and large ones run in the worker (issue 11, point 8)."""

from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook

from eduplatform.core import exports, spreadsheets
from eduplatform.core.models import ExportJob, JobStatus


def _sheets(content: bytes) -> dict[str, list[list[object]]]:
    with CalamineWorkbook.from_filelike(io.BytesIO(content)) as book:
        return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_rows_past_the_sheet_limit_continue_on_further_sheets_with_the_header(monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_ROW_LIMIT", 11)  # a header and 10 rows per sheet
    rows = [[f"学生{i}", i] for i in range(1, 36)]
    sheets = _sheets(spreadsheets.xlsx_bytes(["姓名", "序号"], rows, sheet="学生名单"))
    assert list(sheets) == ["学生名单", "学生名单 (2)", "学生名单 (3)", "学生名单 (4)"]
    assert all(s[0] == ["姓名", "序号"] for s in sheets.values())
    assert [len(s) for s in sheets.values()] == [11, 11, 11, 6]
    every_row = [row for s in sheets.values() for row in s[1:]]
    assert every_row == [[f"学生{i}", float(i)] for i in range(1, 36)]


def test_exactly_full_sheet_makes_no_empty_extra_sheet(monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_ROW_LIMIT", 11)
    sheets = _sheets(spreadsheets.xlsx_bytes(["编号"], [[str(i)] for i in range(10)], sheet="名单"))
    assert list(sheets) == ["名单"]
    empty = _sheets(spreadsheets.xlsx_bytes(["编号"], [], sheet="名单"))
    assert empty == {"名单": [["编号"]]}


def test_a_list_page_export_keeps_every_row_across_sheets(client, world, monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_ROW_LIMIT", 3)
    client.force_login(world.user("province"))
    whole = client.get("/orgs/schools/?status=all")
    assert whole.status_code == 200
    response = client.get("/orgs/schools/?status=all&format=xlsx")
    assert response.status_code == 200
    sheets = _sheets(response.content)
    codes = [row[0] for s in sheets.values() for row in s[1:]]
    from eduplatform.orgs.models import Organization

    expected = set(Organization.objects.filter(school_code__isnull=False).values_list("school_code", flat=True))
    assert len(sheets) >= 2 and len(codes) == len(set(codes)) and set(codes) == expected


def test_a_large_export_becomes_a_background_job_with_a_page_and_a_download(client, world, settings):
    client.force_login(world.user("province"))
    inline = _sheets(client.get("/orgs/schools/?status=all&format=xlsx").content)
    settings.EXPORT_BACKGROUND_ROWS = 2
    response = client.get("/orgs/schools/?status=all&format=xlsx")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{job.pk}/"
    assert job.status == JobStatus.QUEUED and job.query == "status=all&format=xlsx"
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "正在后台生成" in page and 'hx-trigger="every 1s"' in page

    done = exports.run_export(job.pk)  # the worker
    assert done.status == JobStatus.DONE, done.failure
    assert done.written_rows == sum(len(s) - 1 for s in inline.values())
    assert bytes(ExportJob.objects.values_list("content", flat=True).get(pk=job.pk)).startswith(b"EDUSEAL1:")
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert 'id="export-download"' in page
    download = client.get(f"/exports/{job.pk}/download/")
    assert download.status_code == 200 and _sheets(download.content) == inline

    # Only its requester can see or fetch it.
    client.force_login(world.user("clerk_a1"))
    assert client.get(f"/exports/{job.pk}/").status_code == 404
    assert client.get(f"/exports/{job.pk}/download/").status_code == 404


def test_the_background_export_keeps_the_users_scope(client, world, settings):
    settings.EXPORT_BACKGROUND_ROWS = 1
    clerk = world.user("county_a_stat")
    client.force_login(clerk)
    inline_settings = settings.EXPORT_BACKGROUND_ROWS
    settings.EXPORT_BACKGROUND_ROWS = 10_000
    inline = _sheets(client.get("/orgs/schools/?format=xlsx").content)
    settings.EXPORT_BACKGROUND_ROWS = inline_settings
    client.get("/orgs/schools/?format=xlsx")
    job = exports.run_export(ExportJob.objects.get().pk)
    assert job.status == JobStatus.DONE
    content = client.get(f"/exports/{job.pk}/download/").content
    assert _sheets(content) == inline


@pytest.mark.parametrize("status", [JobStatus.DONE])
def test_finished_exports_are_purged_after_the_retention_time(world, status, settings):
    import datetime as dt

    from django.utils import timezone

    job = ExportJob.objects.create(label="x", path="/orgs/schools/", region_path="44/", requested_by_id=1,
                                   requested_by="x", status=status, content=b"sealed", file_kept=True,
                                   finished_at=timezone.now() - dt.timedelta(hours=settings.UPLOAD_RETENTION_HOURS + 1))
    assert exports.purge_exports() == 1
    job.refresh_from_db()
    assert not job.file_kept and bytes(job.content) == b""

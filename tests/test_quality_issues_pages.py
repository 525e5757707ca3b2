"""The pages of data quality: the list with its filters, counts and export, an issue with the school's
and the county's forms, the review queue, duplicate groups, scans with progress, the inbox — and
nothing of another jurisdiction (404) or another role's action (403)."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from eduplatform.quality import issues
from eduplatform.quality.models import IssueStatus, QualityIssue, QualityScan, ScanStatus
from eduplatform.quality.rules import ScanScope
from eduplatform.web import inbox
from tests.quality_issues_support import DUPS, FLAGGED, evidence_files, test_rules_fixture  # noqa: F401 — fixtures
from tests.world import LEAK_MARKER_B


def scan():
    codes = ["Z_SCHOOL", "Z_NAME", "Z_DUP"]
    scope = ScanScope(region_path="44/")
    return issues.sync_findings(scope=scope, codes=codes, findings=issues.scan_findings(scope, codes))


def login(client, world, key):
    client.force_login(world.user(key))
    return client


def test_list_filters_counts_and_export(client, world, test_rules):
    FLAGGED[world.school_a1.pk] = "天河的标记问题"
    FLAGGED[world.school_b1.pk] = "越秀的标记问题"
    DUPS["g"] = [(world.school_a1.pk, 1), (world.school_b1.pk, 2)]
    scan()
    login(client, world, "county_a_stat")
    page = client.get("/quality/")
    body = page.content.decode()
    assert page.status_code == 200 and "天河的标记问题" in body and "越秀的标记问题" not in body
    assert 'data-testid="counts-by-rule"' in body and "Z_SCHOOL" in body and "Z_DUP" in body
    only = client.get("/quality/", {"rule": "Z_DUP"}).content.decode()
    assert "同一人" in only and "天河的标记问题" not in only
    assert "天河的标记问题" not in client.get("/quality/", {"severity": "error"}).content.decode()
    assert "天河的标记问题" not in client.get("/quality/", {"status": "confirmed"}).content.decode()
    export = client.get("/quality/", {"format": "xlsx"})
    assert export.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(export.content))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert rows[0][0] == "规则" and len(rows) == 3  # header + A's two issues, nothing of county B
    assert all(r[6] == "天河测试小学" for r in rows[1:])


def test_school_explains_and_county_confirms_through_the_pages(client, world, test_rules):
    FLAGGED[world.school_a1.pk] = "学校被标记"
    scan()
    issue = QualityIssue.objects.get()
    url = f"/quality/issues/{issue.pk}/"
    login(client, world, "clerk_a1")
    body = client.get(url).content.decode()
    assert 'data-testid="school-actions"' in body and 'data-testid="county-actions"' not in body
    refused = client.post(url + "explain/", {"explanation": ""})
    assert refused.status_code == 400 and "请填写情况说明" in refused.content.decode()
    bad = client.post(url + "explain/", {"explanation": "说明", "attachment": SimpleUploadedFile("a.exe", b"x")})
    assert bad.status_code == 400 and "只能上传 PDF、JPG 或 PNG" in bad.content.decode()
    still = client.post(url + "correct/", {})
    assert still.status_code == 400 and "复核未通过" in still.content.decode()
    assert client.post(url + "confirm/", {}).status_code == 403  # a school does not confirm
    done = client.post(url + "explain/", {"explanation": "新建校，教师尚未到岗",
                                          "attachment": SimpleUploadedFile("批文.pdf", b"%PDF-1.4 x")})
    assert done.status_code == 302
    download = client.get(url + "attachment/")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 x"
    assert download["Content-Type"] == "application/pdf"
    # On disk the evidence is sealed (AES-GCM, like every upload): the plain bytes are not there.
    stored = QualityIssue.objects.get(pk=download.wsgi_request.resolver_match.kwargs["issue_id"]).attachment
    with stored.open("rb") as f:
        on_disk = f.read()
    assert b"%PDF-1.4 x" not in on_disk and on_disk.startswith(b"EDUSEAL1:")

    login(client, world, "county_b_stat")
    assert client.get(url).status_code == 404
    assert client.post(url + "confirm/", {}).status_code == 404
    assert client.get(url + "attachment/").status_code == 404
    login(client, world, "clerk_b1")
    assert client.get(url).status_code == 404

    login(client, world, "county_a_stat")
    queue = client.get("/quality/review/").content.decode()
    assert "新建校，教师尚未到岗" in queue
    assert {s.key: n for s, n in inbox.counts(world.user("county_a_stat"))}.get("quality_review") == 1
    body = client.get(url).content.decode()
    assert 'data-testid="county-actions"' in body and "新建校，教师尚未到岗" in body
    assert client.post(url + "reopen/", {"note": ""}).status_code == 400
    assert client.post(url + "confirm/", {"note": "同意"}).status_code == 302
    issue.refresh_from_db()
    assert issue.status == IssueStatus.CONFIRMED
    history = client.get(url).content.decode()
    assert "说明" in history and "确认" in history and "clerk_a1" in history


def test_school_inbox_lists_its_open_issues_only(world, test_rules):
    FLAGGED[world.school_a1.pk] = "A"
    FLAGGED[world.school_b1.pk] = "B"
    scan()
    counts = {s.key: n for s, n in inbox.counts(world.user("clerk_a1"))}
    assert counts.get("quality_open") == 1 and not counts.get("quality_review")
    counts_b = {s.key: n for s, n in inbox.counts(world.user("clerk_b1"))}
    assert counts_b.get("quality_open") == 1
    assert not {s.key: n for s, n in inbox.counts(world.user("county_a_stat"))}.get("quality_open")


def test_duplicate_groups_show_both_sides_and_the_county_keeps_one(client, world, test_rules):
    DUPS["p"] = [(world.school_a1.pk, 11), (world.school_b1.pk, 12)]
    scan()
    side_a = QualityIssue.objects.get(school=world.school_a1)
    side_b = QualityIssue.objects.get(school=world.school_b1)
    for key in ("clerk_a1", "clerk_b1", "county_a_stat", "county_b_stat"):
        body = login(client, world, key).get("/quality/duplicates/").content.decode()
        assert "天河测试小学" in body and LEAK_MARKER_B in body, key  # both sides, by design
    assert "没有重复人员" in login(client, world, "county_c_stat").get("/quality/duplicates/").content.decode()
    login(client, world, "county_b_stat")
    assert client.post(f"/quality/issues/{side_a.pk}/keep/", {}).status_code == 404
    login(client, world, "county_a_stat")
    body = client.get(f"/quality/issues/{side_a.pk}/").content.decode()
    assert f'data-testid="keep-{side_a.pk}"' in body and f'data-testid="keep-{side_b.pk}"' not in body
    assert client.post(f"/quality/issues/{side_a.pk}/keep/", {}).status_code == 302
    side_a.refresh_from_db()
    side_b.refresh_from_db()
    assert side_a.status == IssueStatus.CONFIRMED and side_b.status == IssueStatus.OPEN
    note = login(client, world, "clerk_b1").get(f"/quality/issues/{side_b.pk}/").content.decode()
    assert "核销重复记录" in note


def test_scan_page_starts_a_scan_and_polls_its_progress(client, world, test_rules, django_capture_on_commit_callbacks,
                                                      settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    FLAGGED[world.school_a1.pk] = "A"
    assert login(client, world, "clerk_a1").get("/quality/scans/").status_code == 403
    login(client, world, "county_a_stat")
    page = client.get("/quality/scans/").content.decode()
    assert "开始扫描" in page
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/quality/scans/", {})
    scan_obj = QualityScan.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/quality/scans/{scan_obj.pk}/"
    assert scan_obj.region_path == world.county_a.region_path
    scan_obj.refresh_from_db()
    assert scan_obj.status == ScanStatus.DONE and scan_obj.opened == 1
    partial = client.get(f"/quality/scans/{scan_obj.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="scan-progress"' in partial and "100%" in partial and "<html" not in partial
    assert "hx-trigger" not in partial  # finished: no more polling
    running = QualityScan.objects.create(region_path=world.county_a.region_path, total=4, done=1,
                                         status=ScanStatus.RUNNING)
    body = client.get(f"/quality/scans/{running.pk}/").content.decode()
    assert "25%" in body and 'hx-trigger="every 2s"' in body
    login(client, world, "county_b_stat")
    assert client.get(f"/quality/scans/{running.pk}/").status_code == 404

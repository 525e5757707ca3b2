"""The staff pages for users in scope: lists with filters and export, the record with its history,
hiring through the form, and a transfer approved through the pages."""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook

from eduplatform.history.models import AuditAction, AuditEntry
from eduplatform.staff import services
from eduplatform.staff.models import StaffMember, TransferStatus

from .staff_support import admin_row, staff_row


def login(client, world, user: str):
    client.force_login(world.user(user))
    return client


def test_staff_list_filters_and_exports_masked(client, world):
    services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(1, title="高级教师"))
    services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(2, post_category="4", title=""))
    login(client, world, "county_a_stat")
    page = client.get("/staff/", {"post_category": "1"}).content.decode()
    assert "测试教师1" in page and "测试教师2" not in page
    page = client.get("/staff/", {"title": "12"}).content.decode()
    assert "测试教师1" in page and "测试教师2" not in page
    response = client.get("/staff/", {"format": "xlsx", "purpose": "编制核查"})
    with CalamineWorkbook.from_filelike(io.BytesIO(response.content)) as book:
        rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][:2] == ["教职工号", "姓名"] and len(rows) == 3
    assert all(staff_row(1)["id_number"] not in str(r) for r in rows)
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_label="教职工名单").exists()


def test_administrators_list_shows_bureau_staff_and_school_leaders_only(client, world):
    services.hire(actor=world.user("county_a_stat"), unit=world.county_a, data=admin_row(3))
    services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(4, is_school_leader="是", position="校长"))
    services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(5))
    page = login(client, world, "county_a_stat").get("/staff/administrators/").content.decode()
    assert "测试干部3" in page and "测试教师4" in page and "测试教师5" not in page
    assert "基础教育科" in page and "乡科级正职" in page


def test_hiring_through_the_form_shows_field_errors_then_the_record(client, world):
    login(client, world, "clerk_a1")
    bad = {**staff_row(6), "id_number": staff_row(6)["id_number"][:17] + "0", "ethnicity": ""}
    if staff_row(6)["id_number"][17] == "0":
        bad["id_number"] = staff_row(6)["id_number"][:17] + "1"
    page = client.post("/staff/new/", bad).content.decode()
    assert 'data-field="id_number"' in page and 'data-field="ethnicity"' in page
    assert StaffMember.objects.count() == 0
    response = client.post("/staff/new/", staff_row(6))
    staff = StaffMember.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/staff/{staff.pk}/"
    page = client.get(f"/staff/{staff.pk}/").content.decode()
    assert staff.id_number_masked in page and staff_row(6)["id_number"] not in page
    assert "聘用（入职）" in page and 'data-testid="history"' in page


def test_a_transfer_through_the_pages(client, world):
    staff = services.hire(actor=world.user("clerk_b1"), unit=world.school_b1, data=staff_row(7))
    login(client, world, "clerk_a1").post("/staff/transfers/new/", {
        "staff_number": staff.staff_number, "name": staff.name, "effective_on": "2026-03-01", "reason": "调动"})
    transfer = staff.transfers.get()
    for user in ("clerk_b1", "county_a_stat", "county_b_stat"):
        login(client, world, user)
        assert f"#{transfer.pk}" in client.get("/staff/transfers/inbox/").content.decode()
        assert client.post(f"/staff/transfers/{transfer.pk}/decide/", {"decision": "approve"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.APPROVED
    page = login(client, world, "clerk_a1").get(f"/staff/{transfer.new_post_id}/").content.decode()
    assert "调入" in page and "越秀泄漏检测小学" in page  # the career shows the earlier post


def test_title_promotion_and_leaving_through_the_pages(client, world):
    staff = services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(8))
    login(client, world, "clerk_a1")
    client.post(f"/staff/{staff.pk}/title/", {"title": "12", "on": "2026-01-10", "reason": "评审"})
    client.post(f"/staff/{staff.pk}/leave/", {"outcome": "retire:01", "on": "2026-02-01", "reason": "到龄"})
    staff.refresh_from_db()
    assert (staff.title, staff.status, staff.is_active) == ("12", "01", False)
    page = client.get(f"/staff/{staff.pk}/").content.decode()
    assert "职称晋升" in page and "退休" in page

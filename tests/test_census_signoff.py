"""Census sign-off before publication: a snapshot reaches the public portal only after the province
approved its census sign-off (reporting calls ``record_census_signoff``), and only after a preview of
exactly what the public will see."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from eduplatform.core.errors import RecordInvalid
from eduplatform.history.models import AuditEntry
from eduplatform.portal import public
from eduplatform.stats import selectors
from eduplatform.stats.snapshots import publish_snapshot, take_snapshot, withdraw_census_signoff
from eduplatform.students import services
from tests.census_support import signed_off
from tests.students_support import student_row
from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
from tests.test_rollups import committed


def _portal_table(html: str) -> str:
    return re.search(r'<table class="table table-sm card-table" id="portal-table">.*?</table>', html, re.S)[0]


def test_a_snapshot_the_province_has_not_signed_off_cannot_be_published(world):
    officer = world.user("province")
    snapshot = take_snapshot(actor=officer, census_date=timezone.localdate())
    with pytest.raises(RecordInvalid) as refused:
        publish_snapshot(actor=officer, snapshot=snapshot)
    (problem,) = refused.value.problems
    assert problem.code == "snapshot.not_signed_off" and "尚未通过省级审核" in problem.message
    snapshot.refresh_from_db()
    assert snapshot.published_at is None
    assert not AuditEntry.objects.filter(object_type="stats.snapshot", note__startswith="公布").exists()

    signed_off(snapshot, actor=officer)
    withdraw_census_signoff(actor=officer, snapshot=snapshot, reason="某县学校数据有误，退回重报")
    with pytest.raises(RecordInvalid):  # the withdrawal closes the gate again
        publish_snapshot(actor=officer, snapshot=snapshot)

    signed_off(snapshot, actor=officer)
    assert publish_snapshot(actor=officer, snapshot=snapshot).published_at is not None


def test_the_portal_shows_only_published_signed_off_snapshots(client, world):
    officer = world.user("province")
    today = timezone.localdate()
    first = signed_off(take_snapshot(actor=officer, census_date=today), actor=officer)
    assert public.published_years() == []  # signed off is not published
    assert "尚无已公布的统计数据" in client.get("/public/").content.decode()
    publish_snapshot(actor=officer, snapshot=first)
    second = signed_off(take_snapshot(actor=officer, census_date=today), actor=officer)  # a later version, unpublished
    assert public.published_years() == [first] and public.published_for(today.year) == first
    assert client.get("/public/").context["snapshot"] == first
    take_snapshot(actor=officer, census_date=today)  # not signed off: cannot reach the portal at all
    with pytest.raises(RecordInvalid):
        publish_snapshot(actor=officer, snapshot=public.Snapshot.objects.order_by("-version").first())
    publish_snapshot(actor=officer, snapshot=second)
    assert client.get("/public/").context["snapshot"] == second
    assert all(s.signed_off_at is not None for s in public.published_years())


def test_publishing_previews_exactly_what_the_public_will_see_then_confirms(client, world,
                                                                          django_capture_on_commit_callbacks):
    county = world.user("county_a_stat")
    for seq in range(1, 4):  # 3 pupils: a small count the portal must hide
        committed(django_capture_on_commit_callbacks,
                  lambda seq=seq: services.enrol_student(actor=county, school=world.school_a1, data=student_row(seq)))
    officer = world.user("province")
    snapshot = take_snapshot(actor=officer, census_date=timezone.localdate())
    url = f"/statistics/snapshots/{snapshot.pk}/publish/"

    client.force_login(county)
    assert client.get(url).status_code == 403 and client.post(url, {"confirmed": "yes"}).status_code == 403

    client.force_login(officer)
    detail = client.get(f"/statistics/snapshots/{snapshot.pk}/").content.decode()
    assert 'data-signed-off="no"' in detail and "未通过省级审核" in detail
    assert f'href="/reports/tasks/new/?snapshot={snapshot.pk}"' in detail and "发起逐级审核" in detail
    preview = client.get(url).content.decode()
    assert 'data-testid="preview-banner"' in preview and "预览" in preview
    assert 'data-testid="not-signed-off"' in preview and 'id="confirm-publish"' not in preview
    client.post(url, {"confirmed": "yes"})  # refused with the reason
    snapshot.refresh_from_db()
    assert snapshot.published_at is None

    signed_off(snapshot, actor=officer)
    detail = client.get(f"/statistics/snapshots/{snapshot.pk}/").content.decode()
    assert 'data-signed-off="yes"' in detail and "已通过省级审核" in detail
    preview = client.get(url).content.decode()
    assert 'id="confirm-publish"' in preview and 'name="confirmed" value="yes"' in preview
    previewed = _portal_table(preview)
    assert '<td class="num">*</td>' in previewed and ">3<" not in previewed
    assert client.get("/public/").context["snapshot"] is None  # previewing publishes nothing

    response = client.post(url)  # no confirmation: back to the preview, nothing published
    assert response["Location"] == url
    snapshot.refresh_from_db()
    assert snapshot.published_at is None

    client.post(url, {"confirmed": "yes"})
    snapshot.refresh_from_db()
    assert snapshot.published_at is not None
    client.logout()
    assert _portal_table(client.get("/public/").content.decode()) == previewed  # the very same table


def test_a_schools_census_summary_has_its_figures_and_its_failing_base_table_checks(world,
                                                                                  django_capture_on_commit_callbacks):
    """What the school confirms in the census task: its frozen figures, and the 基表 rules it fails —
    here 一年级 pupils who entered last year, so this year's 招生 (0) is not the 一年级 count (3)."""
    county = world.user("county_a_stat")
    last_year = f"{timezone.localdate().year - 1}-09"
    for seq in range(1, 4):
        committed(django_capture_on_commit_callbacks, lambda seq=seq: services.enrol_student(
            actor=county, school=world.school_a1, data=student_row(seq, grade="一年级", entered_on=last_year)))
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())

    summary = selectors.school_census_summary(world.user("clerk_a1"), snapshot, world.school_a1)
    assert summary.school_id == world.school_a1.pk and summary.series_name == "基础基"
    assert dict((key, value) for key, _label, value in summary.figures)["students"] == 3
    assert [label for _key, label, _value in summary.figures][:2] == ["在校生", "教职工"]
    assert summary.failing and all(f.holds is False for f in summary.failing)
    assert {f.rule for f in summary.failing} <= {f.rule for f in summary.findings}
    assert any(f.rule.startswith("V3 ") for f in summary.failing), [f.rule for f in summary.failing]
    # The county reads the same summary; a school or county elsewhere gets nothing.
    by_county = selectors.school_census_summary(county, snapshot, world.school_a1)
    assert by_county.figures == summary.figures and by_county.failing == summary.failing
    assert selectors.school_census_summary(world.user("clerk_b1"), snapshot, world.school_a1) is None
    assert selectors.school_census_summary(world.user("county_b_stat"), snapshot, world.school_a1) is None


@pytest.mark.browser
def test_an_officer_previews_then_confirms_the_publication_in_the_browser(site, tab, live_server):  # noqa: F811
    """The preview shows the portal's table with the small counts withheld; confirming publishes it
    and the anonymous portal shows the very same table."""
    from playwright.sync_api import expect

    for seq in range(3):
        services.enrol_student(actor=site.user("county_a_stat"), school=site.school_a1, data=student_row(800 + seq))
    officer = site.user("province")
    snapshot = signed_off(take_snapshot(actor=officer, census_date=timezone.localdate()), actor=officer)
    log_in(tab, "province")
    tab.goto(f"/statistics/snapshots/{snapshot.pk}/")
    expect(tab.locator('[data-testid="signoff"]')).to_contain_text("已通过省级审核")
    tab.locator("#publish").click()
    expect(tab.locator('[data-testid="preview-banner"]')).to_contain_text("预览")
    previewed = tab.locator("#portal-table").inner_text()
    assert "*" in previewed
    screenshot(tab, "census-publish-preview.png")
    tab.locator("#confirm-publish").click()
    expect(tab.locator('[data-testid="publication"]')).to_contain_text("已公布")
    tab.context.clear_cookies()
    tab.goto("/public/")
    assert tab.locator("#portal-table").inner_text() == previewed
    screenshot(tab, "census-public-portal.png")

"""Data quality and database-building progress in a real browser (issue 16): a county statistician
sees the progress figures on the home page, opens the progress map, drills to a lagging school, opens
one of its issues and confirms the school's explanation.

Screenshots go to var/screenshots/ (looked at when the test was written). Uses the browser fixtures
of tests/test_browser.py (Debian's chromium, the committed test world).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from eduplatform.accounts import services as accounts
from eduplatform.accounts.roles import Role
from eduplatform.quality import issues
from eduplatform.quality.models import IssueStatus, QualityIssue
from eduplatform.students import services
from tests.students_support import student_row
from tests.test_browser import chromium, log_in, reference_restored, site, tab  # noqa: F401
from tests.world import PASSWORD, World

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
EXPLANATION = "该生已于 2025 年转入本校，身份证件号已按户口簿核对无误，佐证材料见附件。"


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _county_with_a_lagging_school(world: World) -> QualityIssue:
    """天河测试小学 has pupils; 天河测试幼儿园 has no record in any base database (the lagging school)
    and an issue its clerk has explained, waiting for the county to confirm it."""
    for seq in range(3):  # committed for real: the roll-ups refresh after each commit
        services.enrol_student(actor=world.user("county_a_stat"), school=world.school_a1, data=student_row(900 + seq))
    school = world.school_a2
    issue = QualityIssue.objects.create(
        rule="O_NO_STUDENTS", severity="warning", database="schools", status=IssueStatus.OPEN, school=school,
        region_path=school.region_path, stage_mask=school.stage_mask, object_type="orgs.organization",
        object_id=school.pk, object_label=school.name, fingerprint=f"O_NO_STUDENTS:orgs.organization:{school.pk}:",
        message="有教职工但没有在籍学生")
    # The school's clerk explains it through the service (its history shows the explanation).
    clerk = accounts.create_user(actor=None, username="clerk_a2", password=PASSWORD, organization=school)
    accounts.grant_role(actor=None, user=clerk, role=Role.SCHOOL_CLERK)
    issues.explain(actor=clerk, issue=issue, explanation=EXPLANATION)
    open_one = QualityIssue.objects.create(
        rule="S_ID_INVALID", severity="error", database="students", status=IssueStatus.OPEN, school=world.school_a1,
        region_path=world.school_a1.region_path, stage_mask=world.school_a1.stage_mask, object_type="students.student",
        object_id=1, object_label="测试学生900", fingerprint="S_ID_INVALID:students.student:1:",
        message="身份证件号校验位错误")
    assert open_one.pk
    return issue


@pytest.mark.browser
def test_county_home_page_shows_progress_lagging_schools_and_issues_to_confirm(site: World, tab: Page, live_server):  # noqa: F811
    _county_with_a_lagging_school(site)
    log_in(tab, "county_a_stat")
    tab.goto("/")
    expect(tab.locator("h2.page-title")).to_contain_text("天河区")
    expect(tab.locator('[data-testid="key-students"]')).to_have_text("3")
    progress = tab.locator('[data-testid="home-progress"]')
    expect(progress).to_contain_text("建库进度与数据质量")
    expect(tab.locator('[data-testid="with-data-students"]')).to_have_text("1")  # of the county's 3 schools
    expect(tab.locator('[data-testid="issues-open-errors"]')).to_have_text("1")
    expect(tab.locator('[data-testid="issues-to-confirm"]')).to_have_text("1")
    lagging = tab.locator('[data-testid="lagging-schools"]')
    expect(lagging.locator("tbody tr").first).to_contain_text("天河测试幼儿园")
    expect(tab.locator('[data-testid="issues-to-review"]')).to_contain_text("天河测试幼儿园")
    expect(tab.locator("body")).not_to_contain_text("越秀泄漏检测小学")
    shot(tab, "quality-home-county.png")
    expect(tab.locator('[data-testid="progress-link"]')).to_have_attribute("href", "/progress/")


@pytest.mark.browser
def test_county_drills_from_progress_map_to_a_lagging_school_and_confirms_it(site: World, tab: Page, live_server):  # noqa: F811
    """Needs the progress pages (/progress/) and the issue pages (/quality/) of the other helpers of
    issue 16: written to the URLs and Chinese texts they are expected to show."""
    issue = _county_with_a_lagging_school(site)
    log_in(tab, "county_a_stat")
    tab.goto("/")
    tab.locator('[data-testid="progress-link"]').click()
    tab.wait_for_url("**/progress/**")
    expect(tab.locator("h2.page-title")).to_contain_text("建库进度")
    ranking = tab.locator('[data-testid="progress-ranking"]')
    expect(ranking).to_contain_text("五山街道")
    shot(tab, "quality-progress-map.png")
    # Drill down to the town, then to the lagging school (links of the ranking table).
    ranking.get_by_role("link", name="五山街道").click()
    expect(tab.locator('[data-testid="progress-ranking"]')).to_contain_text("天河测试幼儿园")
    tab.locator('[data-testid="progress-ranking"]').get_by_role("link", name="天河测试幼儿园").click()
    tab.wait_for_url("**/progress/school/**")
    expect(tab.locator("h2.page-title")).to_contain_text("天河测试幼儿园")
    shot(tab, "quality-progress-school.png")
    # Its issues, from the school's progress page; the one waiting for the county, with the explanation.
    tab.locator('[data-testid="school-issues-link"]').click()
    tab.wait_for_url("**/quality/?school=*")
    tab.get_by_role("link", name="天河测试幼儿园").first.click()
    tab.wait_for_url(f"**/quality/issues/{issue.pk}/")
    expect(tab.locator("body")).to_contain_text("说明")  # the school's explanation in the history
    expect(tab.locator("body")).to_contain_text(EXPLANATION)
    tab.locator('[data-testid="confirm"]').click()
    expect(tab.locator("body")).to_contain_text("已确认")
    shot(tab, "quality-issue-confirmed.png")
    issue.refresh_from_db()
    assert issue.status == IssueStatus.CONFIRMED


@pytest.mark.browser
def test_province_progress_map_colours_the_cities_and_drills_to_a_city(site: World, tab: Page, live_server):  # noqa: F811
    _county_with_a_lagging_school(site)
    log_in(tab, "province")
    tab.goto("/progress/")
    expect(tab.locator("#progress-map[data-ready=yes]")).to_be_visible()
    expect(tab.locator("#progress-map svg path").first).to_be_attached()  # the outlines were drawn
    shot(tab, "quality-progress-province.png")
    tab.locator('[data-testid="progress-ranking"]').get_by_role("link", name="广州市").click()
    expect(tab.locator("h2.page-title")).to_contain_text("广州市")
    expect(tab.locator('[data-testid="progress-ranking"]')).to_contain_text("天河区")


@pytest.mark.browser
def test_every_roles_home_page_runs_without_script_errors(site: World, tab: Page, live_server):  # noqa: F811
    """A school's home has no region chart: its page must not load (or break on) the chart's script."""
    _county_with_a_lagging_school(site)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    for user in ("clerk_a1", "county_a_stat", "province"):
        log_in(tab, user)
        tab.goto("/")
        expect(tab.locator("h2.page-title")).to_be_visible()
        tab.wait_for_load_state("load")
        tab.context.clear_cookies()
    assert not errors, errors

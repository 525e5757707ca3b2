"""Accessibility in a real browser (issue 18, point 4): axe-core — the engine behind most
accessibility checkers, installed pinned from npm and injected here, never served to users — runs on
every main page of the platform, as the users who open them; no serious or critical violation is
allowed. Beside it, what axe cannot judge: the skip link is the first Tab stop and lands on the
content, and a self-submitting select does not reload the page on a keyboard arrow.

Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.test_browser import chromium, log_in, pick, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import World

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

# The main pages, as the user who works on each (one login per user keeps the test short): every
# area of the navigation, plus record and form pages.
def main_pages() -> dict[str, list[str]]:
    from django.urls import reverse

    from eduplatform.web.navigation import AREAS

    return {
        "county_a_stat": [reverse(area.url_name) for area in AREAS] + [
            "/orgs/schools/",
            "/orgs/schools/2144000001/",
            "/orgs/schools/2144000001/edit/",
            reverse("students:transfer_create"),
            reverse("accounts:security"),
        ],
        "clerk_a1": [reverse("students:create"), reverse("students:import")],
        "sysadmin": [reverse("accounts:users"), reverse("accounts:user_create")],
    }


ANONYMOUS_PAGES = ["/accounts/login/", "/public/"]


def axe_violations(page: Page) -> list[dict]:
    """Serious and critical axe-core violations on the page as rendered now (WCAG 2.x A and AA rules
    plus axe's best practices, which include the landmark and skip-link rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not
        # govern — an injected <script> element would be refused, as it should be.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + n.failureSummary.split('\\n').slice(1, 2).join(''))}));
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING]


def require_axe() -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (package.json pins axe-core).", pytrace=False)


@pytest.mark.browser
def test_main_pages_have_no_serious_or_critical_axe_violations(site: World, tab: Page, live_server):  # noqa: F811
    require_axe()
    found: dict[str, list[dict]] = {}
    checked = 0

    def check(path: str) -> None:
        nonlocal checked
        response = tab.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        tab.wait_for_load_state("networkidle")
        checked += 1
        violations = axe_violations(tab)
        if violations:
            found[f"{path} ({tab.url})"] = violations

    for path in ANONYMOUS_PAGES:
        check(path)
    pages = main_pages()
    for username, paths in pages.items():
        tab.context.clear_cookies()
        log_in(tab, username)
        for path in paths:
            check(path)
    assert checked == len(ANONYMOUS_PAGES) + sum(len(p) for p in pages.values())
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


@pytest.mark.browser
def test_the_skip_link_is_the_first_tab_stop_and_lands_on_the_content(site: World, tab: Page, live_server):  # noqa: F811
    log_in(tab, "county_a_stat")
    tab.goto("/students/")
    tab.keyboard.press("Tab")
    skip = tab.get_by_test_id("skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # shown when focused (off screen otherwise)
    expect(skip).to_have_text("跳到主要内容")
    screenshot(tab, "a11y-skip-link.png")
    tab.keyboard.press("Enter")
    expect(tab.locator("main#main")).to_be_focused()
    # One navigation landmark and one main on the page.
    assert tab.locator("nav, [role=navigation]").count() == 1
    assert tab.locator("main").count() == 1
    expect(tab.locator("nav")).to_have_attribute("aria-label", "主导航")


@pytest.mark.browser
def test_a_self_submitting_select_waits_for_enter_instead_of_reloading_on_an_arrow(site: World, tab: Page, live_server):  # noqa: F811
    log_in(tab, "county_a_stat")
    tab.goto("/statistics/")
    select = tab.locator("select[data-autosubmit]").first
    expect(select).to_be_visible()
    before_value = select.input_value()
    tab.evaluate("window.__same_page = true")
    select.focus()
    tab.keyboard.press("ArrowDown")
    tab.wait_for_timeout(800)
    assert tab.evaluate("window.__same_page === true"), "an arrow key reloaded the page"
    assert select.input_value() != before_value, "the arrow did not move to the next option"
    chosen = select.input_value()
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.evaluate("window.__same_page === undefined")  # a new page: the form was submitted
    expect(tab.locator("select[data-autosubmit]").first).to_have_value(chosen)


@pytest.mark.browser
def test_a_county_statistician_picks_a_school_by_name(site: World, tab: Page, live_server):  # noqa: F811
    log_in(tab, "county_a_stat")
    tab.goto("/students/new/")
    control = tab.locator("#id_school_code-ts-control")
    expect(control).to_be_visible()
    control.click()
    control.press_sequentially("测试小")
    options = tab.locator("#id_school_code-ts-dropdown .option")
    expect(options).to_have_count(1)  # what the scoped search answered for 测试小, in this county
    option = options.filter(has_text="天河测试小学")
    expect(option).to_be_visible()
    screenshot(tab, "picker-school.png")
    option.click()
    expect(tab.locator("input[name=school_code]")).to_have_value("2144000001")
    # The field is announced as required and named by its label.
    expect(control).to_have_attribute("aria-required", "true")
    # A primary school: no 专业、学制、培养层次 to fill in.
    for name in ("major", "programme_length", "level"):
        expect(tab.locator(f"[name={name}]")).to_be_hidden()
    # 出生地 by name; the form posts its code.
    pick(tab, "id_birthplace_code", "越秀", "广州市越秀区")
    expect(tab.locator("input[name=birthplace_code]")).to_have_value("440104")
    screenshot(tab, "picker-birthplace.png")
    assert axe_violations(tab) == []


@pytest.mark.browser
def test_the_administrator_picks_a_unit_among_thousands_by_typing(site: World, tab: Page, live_server):  # noqa: F811
    log_in(tab, "sysadmin")
    tab.goto("/accounts/users/new/")
    pick(tab, "id_organization", "天河区", "天河区教育局")
    tab.locator("input[name=username]").fill("th_new_clerk")
    tab.locator("input[name=display_name]").fill("新同事")
    tab.locator("input[name=password]").fill("Tianhe#2026xq")
    tab.get_by_role("button", name="保存").click()
    expect(tab.locator(".alert-success")).to_contain_text("th_new_clerk")
    from eduplatform.accounts.models import User

    assert User.objects.get(username="th_new_clerk").organization_id == site.county_a.pk


# --- phones -----------------------------------------------------------------------------------

PHONE = {"width": 375, "height": 740}


def enrol_some_students(world: World, count: int = 6) -> None:
    from eduplatform.students import services
    from tests.students_support import student_row

    for seq in range(1, count + 1):
        services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(seq))


@pytest.mark.browser
def test_list_and_record_pages_fit_a_phone(site: World, chromium, live_server):  # noqa: F811
    enrol_some_students(site)
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=PHONE,
                                   device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, "county_a_stat")
        for path, shot in [("/orgs/schools/", "phone-schools.png"), ("/students/", "phone-students.png"),
                           ("/orgs/schools/2144000001/", "phone-school.png"), ("/staff/", "phone-staff.png")]:
            phone.goto(path)
            phone.wait_for_load_state("networkidle")
            # The page itself never scrolls sideways; a wide table scrolls inside its own box.
            screenshot(phone, shot)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"] + 1, f"{path}: the page is {width} px wide on a {PHONE['width']} px phone"
        phone.goto("/orgs/schools/")
        table = phone.get_by_test_id("school-list")
        first_cell = table.locator("tbody tr td:first-child").first
        assert first_cell.evaluate("c => getComputedStyle(c).position") == "sticky"
        # A school's name is not wrapped one character per line: it keeps at least four characters a line.
        name = table.locator("tbody tr", has_text="天河测试小学").get_by_text("天河测试小学", exact=True)
        box = name.bounding_box()
        font = float(name.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
        assert box is not None and box["width"] >= 4 * font, box
        phone.goto("/students/")
        rows = phone.get_by_test_id("student-list").locator("tbody tr")
        assert rows.count() == 6
        scroller = phone.get_by_test_id("student-list").locator("xpath=..")
        assert scroller.evaluate("e => getComputedStyle(e).overflowX") in ("auto", "scroll")
    finally:
        context.close()

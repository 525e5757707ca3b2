"""Issue 17 acceptance: two-factor login is enforced for the roles that need it, in a real browser."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from tests import test_browser as browser
from tests.conftest import totp_code, totp_device
from tests.world import PASSWORD, World

# The shared browser fixtures, by name (assigned rather than imported so F811 does not read the
# test's parameters as redefinitions).
chromium, reference_restored, site, tab = browser.chromium, browser.reference_restored, browser.site, browser.tab
heading, screenshot = browser.heading, browser.screenshot


def type_password(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.mark.browser
def test_a_province_user_logs_in_with_a_totp_code(site: World, tab: Page, live_server):
    device = totp_device(site.user("province"))
    type_password(tab, "province")
    expect(tab).to_have_url(re.compile(r"/accounts/login/code/"))
    # The password alone opens nothing: any page leads back to the code step.
    tab.goto("/students/")
    expect(tab).to_have_url(re.compile(r"/accounts/login/code/\?next=%2Fstudents%2F"))
    tab.locator("input[name=token]").fill("000000" if totp_code(device) != "000000" else "111111")
    tab.get_by_role("button", name="验证").click()
    expect(tab.locator("[data-testid=two-factor-error]")).to_contain_text("动态验证码不正确")
    tab.wait_for_timeout(1100)  # django-otp waits a second after a wrong code
    tab.locator("input[name=token]").fill(totp_code(device))
    tab.get_by_role("button", name="验证").click()
    expect(tab).to_have_url(re.compile(r"/students/$"))
    tab.goto("/")
    expect(heading(tab)).to_contain_text("概况")


@pytest.mark.browser
def test_an_auditor_enrols_an_authenticator_from_the_qr_page(site: World, tab: Page, live_server):
    type_password(tab, "auditor")
    expect(tab).to_have_url(re.compile(r"/accounts/two-factor/"))
    qr = tab.locator("[data-testid=two-factor-qr]")
    expect(qr).to_be_visible()
    assert tab.evaluate("document.querySelector('[data-testid=two-factor-qr]').naturalWidth") > 0  # the SVG drew
    screenshot(tab, "two-factor-setup.png")
    # What a person would type into the authenticator app: the secret shown as text.
    secret = tab.locator("[data-testid=two-factor-secret]").inner_text().strip()
    code = f"{TOTP(base64.b32decode(secret)).token():06d}"
    tab.locator("input[name=token]").fill(code)
    tab.get_by_role("button", name="完成绑定").click()
    expect(tab).to_have_url(f"{live_server.url}/")
    tab.goto("/accounts/audit/")
    expect(heading(tab)).to_contain_text("审计日志")

"""The security administrator registers an external system in a real browser, sees its secret
once (with the warning and a copy button), then suspends it with a reason.

See tests/test_browser.py for the fixtures (live server, reference data, async-unsafe ORM).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from eduplatform.exchange.models import ApiClient, ClientStatus
from tests import test_browser as browser
from tests.api_clients_support import install_test_resource
from tests.world import World

chromium, reference_restored, site, tab = browser.chromium, browser.reference_restored, browser.site, browser.tab
log_in, screenshot = browser.log_in, browser.screenshot


@pytest.mark.browser
def test_register_a_client_see_the_secret_once_and_suspend_it(site: World, tab: Page, live_server, monkeypatch):
    resource = install_test_resource(monkeypatch)  # the live server runs in this process
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(tab, "secadmin")
    tab.get_by_role("link", name="接口客户端").click()
    expect(tab.locator("[data-testid=api-clients]")).to_contain_text("尚未登记接口客户端")
    tab.locator("[data-testid=register-client]").click()

    form = tab.locator("[data-testid=client-form]")
    form.locator("#id_name").fill("天河区学籍管理系统")
    form.locator("#id_vendor").fill("某教育软件公司")
    browser.pick(tab, "id_organization", "天河区", "天河区教育局")
    form.locator("#id_rate_limit_per_minute").fill("120")
    form.locator(f"input[name=write_{resource.key}]").check()
    tab.locator("[data-testid=save-client]").click()

    expect(tab.locator("[data-testid=secret-warning]")).to_contain_text("只显示这一次")
    secret = tab.locator("[data-testid=client-secret]").inner_text().strip()
    client = ApiClient.objects.get(name="天河区学籍管理系统")
    assert len(secret) >= 40 and client.application.client_id in tab.locator("[data-testid=client-id]").inner_text()
    tab.locator("[data-testid=copy-secret]").click()
    expect(tab.locator("[data-testid=copy-secret]")).to_have_text("已复制")
    screenshot(tab, "api-client-secret.png")

    tab.get_by_role("link", name="我已保存，查看客户端").click()
    expect(tab.locator("[data-testid=client-status]")).to_contain_text("启用")
    assert secret not in tab.content()
    tab.locator("[data-testid=suspend-form] input[name=reason]").fill("对接测试结束，暂停使用")
    tab.locator("[data-testid=suspend]").click()
    expect(tab.locator("[data-testid=client-status]")).to_contain_text("已停用（对接测试结束，暂停使用）")
    screenshot(tab, "api-client-suspended.png")
    client.refresh_from_db()
    assert client.status == ClientStatus.SUSPENDED

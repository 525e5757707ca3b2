"""The API's documentation and the data standard in a real browser: Swagger UI from the platform's
own static files (nothing fetched from another host, no Content-Security-Policy violation) lists the
feed, code-table and record routes; the public standard page links its code tables and downloads.
Screenshots in test-artifacts/. See tests/test_browser.py for the fixtures."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import World


def watch(page: Page, base_url: str) -> tuple[list[str], list[str]]:
    """Requests to other hosts, and console errors (a CSP refusal is one), as they happen."""
    foreign: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base_url) or r.url.startswith("data:") else foreign.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return foreign, errors


@pytest.mark.browser
def test_the_api_docs_are_served_locally_and_list_the_routes(site: World, tab: Page, live_server):  # noqa: F811
    foreign, errors = watch(tab, live_server.url)
    log_in(tab, "province")
    tab.goto("/api/v1/docs")
    expect(tab.locator(".swagger-ui .info .title")).to_contain_text("广东省教育信息平台开放接口")
    for path in ("/api/v1/changes", "/api/v1/codes/{table_key}", "/api/v1/students/batch", "/api/v1/statistics/live"):
        expect(tab.locator(f".opblock-summary-path[data-path='{path}']").first).to_be_visible()
    # Try one out: the change feed answers the signed-in officer.
    block = tab.locator(".opblock-summary-path[data-path='/api/v1/changes']").first
    block.click()
    tab.get_by_role("button", name="Try it out").first.click()
    tab.get_by_role("button", name="Execute").first.click()
    expect(tab.locator(".live-responses-table tbody .response-col_status").first).to_contain_text("200")
    screenshot(tab, "api-docs.png")
    assert foreign == [], f"the docs fetched from other hosts: {foreign[:5]}"
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


@pytest.mark.browser
def test_the_data_standard_page_is_public(site: World, tab: Page, live_server):  # noqa: F811
    foreign, errors = watch(tab, live_server.url)
    tab.goto("/exchange/standard/")
    expect(tab.locator("h2.page-title")).to_contain_text("统一数据标准")
    expect(tab.locator("#resource-students [data-testid=fields-students]")).to_contain_text("学籍号")
    expect(tab.locator("[data-testid=example]").first).to_contain_text("grant_type=client_credentials")
    screenshot(tab, "data-standard.png")
    tab.locator("[data-testid=code-tables] a").first.click()
    expect(tab.locator("[data-testid=codes] tbody tr").first).to_be_visible()
    assert foreign == [] and not [e for e in errors if "favicon" not in e and "404" not in e], (foreign, errors)

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

from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
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

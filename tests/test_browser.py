"""End-to-end checks in a real browser: Debian's chromium driven by Playwright against
pytest-django's live server.

Run with ``pytest -m browser``; ``scripts/run-tests.sh`` runs them in its SQLite pass only.
Screenshots go to ``test-artifacts/`` (git-ignored) so a person can look at what was rendered.

Two things about the database that this module has to handle itself:

* ``live_server`` implies ``transactional_db``: the live server thread cannot see data inside the
  test's transaction, so each test really commits, and pytest-django FLUSHES every table when the
  test ends. That erases the code tables and divisions ``tests/conftest.py`` loads once per
  session. The flush runs in pytest-django's own teardown, after any function-scoped fixture of
  ours has already been torn down, so restoring from a function fixture would be undone
  immediately. Instead every test reloads the reference data when it starts (an earlier
  transactional test may have flushed it), and a module-scoped fixture reloads it once more
  after the last test's flush, so tests that run later in the session find it in place.
* Playwright's sync API keeps an asyncio loop running in the main thread while it is started,
  so Django refuses ORM calls from the test (``SynchronousOnlyOperation``), including
  pytest-django's own flush. ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set for as long as the browser runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import load_reference, totp_code, totp_device
from tests.world import LEAK_MARKER_B, PASSWORD, TOWN_A, World, build_world

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
TABLER_CSS = Path(settings.BASE_DIR) / "var" / "vendor" / "tabler" / "tabler.min.css"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
CJK_FONT = "Noto Sans CJK SC"

COUNTY_A = "440106000000"  # 天河区
COUNTY_B = "440104000000"  # 越秀区


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_restored(django_db_blocker) -> Iterator[None]:
    """Put the session's reference data back after the module's last test has been flushed.

    Module teardown runs after the last test's function-level teardown, i.e. after
    pytest-django's flush, and after the browser has stopped (see ``chromium``).
    """
    yield
    with django_db_blocker.unblock():
        load_reference()


@pytest.fixture(scope="module")
def chromium(reference_restored) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: browser tests drive Debian's chromium package (never "
            "`playwright install`). `make test` installs it, together with fonts-noto-cjk, "
            "through scripts/install-system-packages.sh.",
            pytrace=False,
        )
    if not TABLER_CSS.exists():
        pytest.fail(
            f"{TABLER_CSS} is missing, so pages would render without styles. Run "
            "`bash scripts/vendor-assets.sh` (`make install` does this).",
            pytrace=False,
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
        finally:
            playwright.stop()


@pytest.fixture
def site(chromium, live_server) -> World:
    """The test world, committed so the live server thread sees it."""
    load_reference()  # idempotent; an earlier transactional test may have flushed it
    return build_world()


@pytest.fixture
def tab(chromium: Browser, live_server) -> Iterator[Page]:
    context = chromium.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    # Assertions wait as long as actions: on two cores shared with the PostgreSQL pass, an htmx
    # round trip can take longer than Playwright's default 5 s; a wrong page still fails.
    expect.set_options(timeout=15_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Password, then — for a user who needs it — the code step, typing the TOTP code an
    authenticator app would show for the user's device (created here if the user has none)."""
    from eduplatform.accounts.models import User
    from eduplatform.accounts.twofactor import needs_code_step

    user = User.objects.filter(username=username).first()
    device = totp_device(user) if user is not None and needs_code_step(user) else None
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    if device is not None and "/accounts/login/code/" in page.url:
        page.locator("input[name=token]").fill(totp_code(device))
        page.get_by_role("button", name="验证").click()
        page.wait_for_load_state()


def heading(page: Page):
    return page.locator("h2.page-title")


def pick(page: Page, field_id: str, typed: str, option: str) -> None:
    """Choose in a searchable picker (web/picker.js) as a person does: type, then click the option."""
    control = page.locator(f"#{field_id}-ts-control")
    control.click()
    control.press_sequentially(typed)
    page.locator(f"#{field_id}-ts-dropdown .option", has_text=option).first.click()
    expect(page.locator(f"#{field_id}-ts-dropdown")).to_be_hidden()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.browser
def test_county_user_sees_only_their_county_in_the_tree(site: World, tab: Page, live_server):
    log_in(tab, "county_a_stat")
    expect(tab).to_have_url(f"{live_server.url}/")
    expect(heading(tab)).to_contain_text("本辖区概况")

    tab.goto("/orgs/")
    expect(tab).to_have_url(f"{live_server.url}/orgs/regions/{COUNTY_A}/")
    expect(heading(tab)).to_contain_text("天河区")
    expect(tab.locator(".breadcrumb")).to_contain_text("天河区")

    towns = tab.locator("[data-testid=region-children]")
    expect(towns).to_contain_text("五山街道")
    expect(towns).not_to_contain_text("北京街道")  # a town of 越秀区
    codes = towns.locator("tbody tr td:first-child").all_inner_texts()
    assert codes, "the county page lists no towns"
    assert all(code.startswith(COUNTY_A[:6]) for code in codes), codes
    screenshot(tab, "county-tree.png")

    towns.get_by_role("link", name="五山街道", exact=True).click()
    expect(tab).to_have_url(f"{live_server.url}/orgs/regions/{TOWN_A}/")
    expect(tab.locator("[data-testid=town-schools]")).to_contain_text("天河测试小学")

    tab.goto("/orgs/schools/")
    school_list = tab.locator("[data-testid=school-list]")
    expect(school_list).to_contain_text("天河测试小学")
    expect(tab.locator("body")).not_to_contain_text(LEAK_MARKER_B)

    response = tab.goto(f"/orgs/regions/{COUNTY_B}/")
    assert response is not None and response.status == 404
    expect(heading(tab)).to_contain_text("未找到")
    expect(tab.locator("body")).not_to_contain_text("北京街道")


@pytest.mark.browser
def test_dashboard_renders_chinese_text(site: World, tab: Page, live_server):
    failed: list[str] = []
    tab.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))

    log_in(tab, "city_stat")
    expect(tab).to_have_url(f"{live_server.url}/")
    chart = tab.locator("#chart-children svg")
    chart.wait_for(state="visible")
    # ECharts draws the axis labels as SVG text: the counties of 广州市 are on the chart.
    expect(tab.locator("#chart-children")).to_contain_text("天河区")
    expect(tab.locator("#chart-children")).to_contain_text("越秀区")

    text = tab.locator("body").inner_text()
    assert "本辖区概况" in text
    assert "在办学校（机构）" in text
    expect(tab.locator("[data-testid=count-schools]")).to_have_text(re.compile(r"^\d[\d,]*$"))
    screenshot(tab, "dashboard.png")

    # Styles arrived: Tabler's rules apply (the navbar is a flex container) and no request failed.
    assert tab.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    assert not [f for f in failed if not f.endswith("/favicon.ico")], failed
    assert not errors, errors

    # The requested checks. Note document.fonts.check() also answers true for a family that is
    # not installed at all (it only says nothing is still loading), hence the check below it.
    assert tab.evaluate(f"document.fonts.check('16px \"{CJK_FONT}\"')") is True
    assert CJK_FONT in tab.evaluate("getComputedStyle(document.body).fontFamily")

    # The proof that glyphs are not tofu: ask chromium which platform font actually drew the
    # heading's Chinese characters.
    cdp = tab.context.new_cdp_session(tab)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "h2.page-title"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    assert fonts and all(f["familyName"] == CJK_FONT for f in fonts), fonts


@pytest.mark.browser
def test_login_with_wrong_password_shows_chinese_error(site: World, tab: Page, live_server):
    log_in(tab, "county_a_stat", password="wrong-" + PASSWORD)
    expect(tab).to_have_url(re.compile(r"/accounts/login/"))
    expect(tab.locator("[data-testid=login-error]")).to_contain_text("用户名或密码错误")
    expect(tab.locator("[data-testid=current-user]")).to_have_count(0)

"""Content-Security-Policy without inline script, and the security headers of real responses
(issue 17, point 4).

Every page route (discovered from the URL configuration like the input fuzzing, so a page added
later is checked too) is rendered for a province officer, a school clerk and an anonymous visitor.
A page fails if it holds an inline ``<script>`` with code (``json_script`` data blocks are fine),
an ``on*=`` event-handler attribute or a ``javascript:`` link — all of which the policy blocks, so
they would be dead code in the browser — or if its policy lets inline script or eval run.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.test_fuzz_routes import discover_routes, fill, own_values

SKIP = re.compile(r"^(api/|oauth/|static/|accounts/logout/|.*\.(xlsx|pdf|csv|json|geojson)$|.*/(export|download)/)")
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "importmap"}


class InlineCode(HTMLParser):
    """Collects what a strict CSP blocks: inline script, handler attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script: str | None = None  # "code" while inside an inline code script
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…> (event-handler attribute)")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}> (javascript: URL)")
            if name.startswith("hx-on") or (name == "hx-vals" and (value or "").lstrip().startswith("js:")):
                self.found.append(f"<{tag} {name}=…> (htmx eval)")
        if tag == "script":
            kind = (values.get("type") or "").strip().lower()
            self._in_script = None if values.get("src") or kind in DATA_SCRIPT_TYPES else "code"
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            if self._in_script and "".join(self._text).strip():
                self.found.append("inline <script> with code: " + "".join(self._text).strip()[:80])
            self._in_script = None


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = [w.lower() for w in words[1:]]
    return parsed


def script_policy_problems(header: str) -> list[str]:
    policy = directives(header)
    scripts = policy.get("script-src", policy.get("default-src"))
    problems = []
    if scripts is None:
        problems.append("no script-src or default-src")
    else:
        problems += [f"script-src allows {bad}" for bad in ("'unsafe-inline'", "'unsafe-eval'", "data:", "*", "http:", "https:")
                     if bad in scripts]
    for name in ("script-src-elem", "script-src-attr"):
        problems += [f"{name} allows {bad}" for bad in ("'unsafe-inline'", "'unsafe-eval'") if bad in policy.get(name, [])]
    if policy.get("object-src") != ["'none'"]:
        problems.append("object-src is not 'none'")
    if policy.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors is not 'none'")
    if policy.get("base-uri") != ["'self'"]:
        problems.append("base-uri is not 'self'")
    if "'unsafe-inline'" in policy.get("style-src-elem", ["'unsafe-inline'"]):
        problems.append("style-src-elem allows inline <style> elements")
    return problems


def page_urls(world, actor: str | None) -> list[str]:
    own = own_values(world, actor or "province")
    urls = []
    for route, parameters in discover_routes():
        if SKIP.match(route):
            continue
        urls.append(fill(route, {p: own.get(p, "1") for p in parameters}))
    return urls


def page_problems(url: str, response) -> list[str]:
    """What a strict CSP would block on an HTML page, or a policy that would let it run."""
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    header = response.get("Content-Security-Policy")
    if not header:
        return [f"{url}: no Content-Security-Policy header"]
    problems = [f"{url}: {p}" for p in script_policy_problems(header)]
    parser = InlineCode()
    parser.feed(response.content.decode("utf-8", "replace"))
    return problems + [f"{url}: {f}" for f in parser.found]


def test_no_public_page_holds_inline_script_or_handlers(world):
    """The pages of a visitor who has not signed in. Signed-in pages are checked by the walk of
    tests/test_hostile_inputs.py, which renders every page for five roles (one walk for both)."""
    client = Client()
    checked, failures = 0, []
    for url in page_urls(world, None):
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"{url}: {response.status_code}")
        elif response.get("Content-Type", "").startswith("text/html"):
            failures += page_problems(url, response)
            checked += 1
    assert checked >= 5, checked
    assert not failures, "\n".join(sorted(set(failures))[:60])


def test_the_checker_finds_what_it_looks_for():
    parser = InlineCode()
    parser.feed('<div onclick="go()"></div><a href="JavaScript:x()">x</a><script>alert(1)</script>'
                '<script type="application/json" id="d">{"a": 1}</script><script src="/static/x.js"></script>'
                '<button hx-on:click="x()"></button>')
    assert len(parser.found) == 4, parser.found
    assert script_policy_problems("default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; "
                                  "frame-ancestors 'none'; base-uri 'self'; style-src-elem 'self'")
    assert script_policy_problems("default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
                                  "style-src-elem 'self'") == []


def test_the_error_page_for_refused_input_has_no_inline_script(client, world):
    client.force_login(world.user("province"))
    response = client.get("/orgs/schools/", {"q": "\x00"})
    assert response.status_code == 400
    parser = InlineCode()
    parser.feed(response.content.decode())
    assert parser.found == []
    assert 'data-history-back' in response.content.decode()


# ---------------------------------------------------------------------------------------------
# The headers every response carries


LEAKY_HEADERS = ("Server", "X-Powered-By", "X-AspNet-Version", "X-Runtime")


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/orgs/schools/", "/api/v1/codes", "/api/v1/openapi.json",
                                  "/no-such-page/"])
def test_real_responses_carry_the_security_headers(client, world, path):
    client.force_login(world.user("province"))
    response = client.get(path)
    assert response.status_code < 500
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    for name in LEAKY_HEADERS:
        assert name not in response, name
    if response.get("Content-Type", "").startswith("text/html"):
        policy = response["Content-Security-Policy"]
        assert script_policy_problems(policy) == [], policy
        assert directives(policy)["form-action"] == ["'self'"]


# Rendered by WeasyPrint into PDF, never by a browser under the CSP.
STYLE_ATTRIBUTES_ALLOWED = re.compile(r"(_pdf\.html|_print_header\.html|standard/document\.html)$")


def test_templates_carry_no_fixed_style_attributes():
    """Fixed sizes live in platform.css; a style attribute is left only where its value is computed
    (a progress bar's width). The CSP allows style attributes (docs/hardening.md), so this keeps
    their number small, not zero."""
    from pathlib import Path

    from django.conf import settings

    found = []
    for path in (Path(settings.BASE_DIR) / "eduplatform").glob("*/templates/**/*.html"):
        if STYLE_ATTRIBUTES_ALLOWED.search(str(path)):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for value in re.findall(r'\sstyle="([^"]*)"', line):
                if "{{" not in value:
                    found.append(f"{path.name}:{number}: style=\"{value}\"")
    assert not found, "\n".join(found)

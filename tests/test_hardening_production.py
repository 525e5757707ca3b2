"""Production settings, checked in a separate process started with the production environment
(docs/deployment.md), the way the settings decide IS_PRODUCTION: HSTS, secure cookies, the redirect to
HTTPS, frame, sniffing and referrer policies are on — in the settings and in real responses — and the
demo (the test process itself) keeps plain HTTP working (issue 17, point 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from django.conf import settings as demo_settings

from tests.test_hardening import ROOT, _production_env

PROBE = textwrap.dedent("""
    import json, django
    django.setup()
    from django.conf import settings as s
    from django.test import Client
    names = ["IS_PRODUCTION", "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
             "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
             "SESSION_COOKIE_SAMESITE", "X_FRAME_OPTIONS", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
             "SECURE_CROSS_ORIGIN_OPENER_POLICY", "UPLOAD_MAX_REQUEST_BYTES"]
    out = {n: getattr(s, n, None) for n in names}
    client = Client(HTTP_HOST="edu.gd.example.cn")
    plain = client.get("/accounts/login/")
    out["http_status"], out["http_location"] = plain.status_code, plain.get("Location")
    secure = client.get("/accounts/login/", secure=True)
    out["https_status"] = secure.status_code
    out["headers"] = {k: v for k, v in secure.items()}
    cookie = secure.cookies.get("csrftoken")
    out["csrf_cookie"] = cookie and {"secure": bool(cookie["secure"]), "samesite": cookie["samesite"]}
    print("PROBE" + json.dumps(out))
""")


def probe(tmp_path, **env: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT,  # noqa: S603 — our own probe
                            env={**_production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("PROBE"))
    return json.loads(line[len("PROBE"):])


def test_production_turns_on_hsts_secure_cookies_and_the_https_redirect(tmp_path):
    found = probe(tmp_path)
    assert found["IS_PRODUCTION"] is True and found["DEBUG"] is False
    assert found["SECURE_SSL_REDIRECT"] is True
    assert found["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and found["SECURE_HSTS_PRELOAD"] is True
    assert found["SESSION_COOKIE_SECURE"] is True and found["CSRF_COOKIE_SECURE"] is True
    assert found["SESSION_COOKIE_HTTPONLY"] is True and found["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert found["X_FRAME_OPTIONS"] == "DENY" and found["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert found["SECURE_REFERRER_POLICY"] == "same-origin"
    assert found["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert found["UPLOAD_MAX_REQUEST_BYTES"] <= 64 * 1024 * 1024

    # Real responses: plain HTTP is sent to HTTPS; the HTTPS answer carries HSTS, a secure CSRF
    # cookie and the other headers, and names no server software.
    assert found["http_status"] == 301
    assert found["http_location"] == "https://edu.gd.example.cn/accounts/login/"
    assert found["https_status"] == 200
    headers = {k.lower(): v for k, v in found["headers"].items()}
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin" and headers["cross-origin-opener-policy"] == "same-origin"
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy + ";"
    assert "unsafe-eval" not in policy
    assert "server" not in headers and "x-powered-by" not in headers
    assert found["csrf_cookie"] == {"secure": True, "samesite": "Lax"}


def test_the_demo_keeps_plain_http_working():
    assert not demo_settings.IS_PRODUCTION
    assert not demo_settings.SECURE_SSL_REDIRECT and demo_settings.SECURE_HSTS_SECONDS == 0
    assert not demo_settings.SESSION_COOKIE_SECURE
    # …but the headers that cost nothing over HTTP are on in the demo too.
    assert demo_settings.X_FRAME_OPTIONS == "DENY" and demo_settings.SECURE_CONTENT_TYPE_NOSNIFF

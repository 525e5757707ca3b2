"""The English interface (issue 18, point 7): every UI string is marked for translation and translated,
and the main pages rendered in English show no Chinese except data (names of people, schools,
regions, organizations, national code tables, stored messages).

When a test here fails it prints exactly what is missing — the template lines outside translate tags,
the msgids without an English translation, or the Chinese left on a page — so that strings added in
another branch are easy to find and translate (docs/i18n.md says how).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from eduplatform.web import i18n_audit

CATALOG = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


# --------------------------------------------------------------------------------------------
# Templates and catalog (no database)


def test_templates_have_no_chinese_outside_translate_tags():
    found = i18n_audit.untranslated_template_text()
    assert not found, "Chinese outside {% translate %} / {% blocktranslate %} / _(\"…\"):\n" + "\n".join(
        f"  {path}:{line}: {text}" for path, line, text in found)


def test_the_template_scanner_sees_text_outside_translate_tags():
    # Guards the guard: the scanner must flag bare text, a filter argument and a tag argument, and
    # accept the three marked forms and comments.
    flagged = i18n_audit.scan_template(
        '{% load i18n %}<p>学生</p>{{ x|default:"无" }}{% include "a.html" with unit=" 人" %}\n'
        '{% translate "学生" %}{% blocktranslate %}共 {{ n }} 人{% endblocktranslate %}{{ x|default:_("无") }}'
        '{# 注释 #}{% comment %}说明{% endcomment %}')
    assert [text for _line, text in flagged] == ["<p>学生</p>", 'x|default:"无"', 'include "a.html" with unit=" 人"']


def test_every_msgid_of_the_english_catalog_has_a_translation():
    entries = i18n_audit.read_po(CATALOG)
    assert len(entries) > 1000
    missing = [e for e in entries if not e.translated]
    assert not missing, f"{len(missing)} msgids without a (non-fuzzy) English translation in {CATALOG}:\n" + "\n".join(
        f"  {e.where}: {e.msgid!r}{' (fuzzy)' if e.fuzzy else ''}" for e in missing)


def test_the_compiled_catalog_matches_the_po_file():
    # The .mo is committed (a fresh clone needs no msgfmt); it must say what the .po says.
    stale = i18n_audit.stale_compiled_entries(CATALOG)
    assert not stale, "django.mo is older than django.po; run `manage.py compilemessages -l en`:\n" + "\n".join(
        f"  {msgid!r}" for msgid in stale[:50])


@pytest.mark.skipif(not i18n_audit.have_gettext_tools(), reason="GNU gettext (xgettext) is not installed")
def test_every_marked_string_in_the_code_is_in_the_catalog(tmp_path):
    missing = i18n_audit.msgids_missing_from_catalog(CATALOG, tmp_path)
    assert not missing, (f"{len(missing)} marked strings are not in {CATALOG}; run `manage.py makemessages -l en` "
                         "and translate them:\n" + "\n".join(f"  {where}: {msgid!r}" for msgid, where in missing))


# --------------------------------------------------------------------------------------------
# The main pages in English, on the small demo province


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("generate_demo", "--scale", "0.002", "--students", "0.02", "--anomalies", stdout=io.StringIO())
        call_command("quality_scan", "--region", "440000000000", stdout=io.StringIO())
        yield i18n_audit.data_strings()
        transaction.set_rollback(True)


def _pages() -> dict[str, list[str]]:
    """username → the main pages it opens (URL names or paths); None is the anonymous visitor.

    Not here: the unified data standard (exchange_standard:standard), a normative document generated
    from the exchange schemas' Chinese field descriptions for the schools' and cities' systems; its page
    chrome is translated, its text is the standard's (docs/i18n.md)."""
    from eduplatform.accounts.models import User
    from eduplatform.students.models import Enrolment

    clerk = User.objects.get(username="school_clerk")
    student = Enrolment.objects.filter(school=clerk.organization, is_active=True).order_by("pk").first().student
    common = ["web:dashboard", "web:inbox", "orgs:browse", "orgs:schools", "students:list", "students:classes",
              "students:requests", "staff:list", "staff:administrators", "staff:transfers", "facilities:list",
              "facilities:land", "facilities:summary", "assets:list", "assets:holdings", "stats:live",
              "stats:indicators", "stats:map", "stats:snapshots", "stats:staffing", "funding:allocation",
              "/statistics/pivot/?subject=students&rows=area&cols=stage", "reporting:tasks", "quality:issues",
              "quality:rules", "progress:overview", "standards:dictionary",
              "accounts:security", "accounts:password_change"]
    return {
        None: ["accounts:login", "portal:home"],
        "province": common,
        "th_stat": ["web:dashboard", "students:list", "stats:indicators", "quality:issues"],
        "school_clerk": ["web:dashboard", "students:list", f"/students/{student.public_id}/", "staff:list", "facilities:list", "assets:list", "reporting:tasks"],
        "sysadmin": ["accounts:users"],
        "auditor": ["accounts:audit_log"],
    }


@pytest.mark.django_db
def test_main_pages_in_english_show_no_chinese_but_data(client, demo):
    from eduplatform.accounts.models import User

    leftovers: dict[str, list[str]] = {}
    visited = 0
    for username, pages in _pages().items():
        client.logout()
        if username:
            client.force_login(User.objects.get(username=username))
        client.post(reverse("set_language"), {"language": "en", "next": "/"})
        for page in pages:
            url = page if page.startswith("/") else reverse(page)
            response = client.get(url, follow=True)
            assert response.status_code == 200, (username, url, response.status_code)
            html = response.content.decode()
            assert '<html lang="en"' in html, (username, url)
            visited += 1
            left = i18n_audit.chinese_outside_data(html, demo)
            if left:
                leftovers[f"{username or 'anonymous'} {url}"] = left
    assert visited > 40
    assert not leftovers, "Chinese UI text left on pages rendered in English (not data):\n" + "\n".join(
        f"  {page}: {' | '.join(texts[:40])}" for page, texts in leftovers.items())


@pytest.mark.django_db
def test_the_language_switch_remembers_english_for_the_session_and_goes_back(client, demo):
    from eduplatform.accounts.models import User

    client.force_login(User.objects.get(username="th_stat"))
    body = client.get("/").content.decode()
    assert 'data-testid="language-switch"' in body and 'value="en"' in body and "English" in body
    assert "学生" in body
    response = client.post(reverse("set_language"), {"language": "en", "next": "/students/"})
    assert response.status_code == 302 and response["Location"] == "/students/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    body = client.get("/students/").content.decode()
    assert '<html lang="en"' in body and "Students" in body and 'value="zh-hans"' in body
    assert re.search(r">\s*简体中文\s*<", body)  # the way back is named in its own language
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert '<html lang="zh-Hans"' in client.get("/").content.decode()


def test_the_page_check_tells_data_from_interface_text():
    data = i18n_audit.DataStrings.of(["广州市天河区", "天河中学", "张三"])
    html = ('<html><body><p>天河中学</p><p>Students of 广州市天河区</p><p title="张三的学籍">x</p>'
            '<script>var s = "学生";</script><button lang="zh-hans">简体中文</button></body></html>')
    assert i18n_audit.chinese_outside_data(html, data) == ["title: 张三的学籍"]


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
# Every page in English, on the small demo province


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("generate_demo", "--scale", "0.002", "--students", "0.02", "--anomalies", stdout=io.StringIO())
        call_command("quality_scan", "--region", "440000000000", stdout=io.StringIO())
        _records_the_demo_lacks()
        yield i18n_audit.data_strings()
        transaction.set_rollback(True)


def _records_the_demo_lacks() -> None:
    """What the pages of records need and the demo does not make: a published census snapshot (its
    pages, the 基表, the public portal), a staff transfer and a dropout request awaiting approval, a
    shared saved analysis, import jobs with problems (buildings; students) and an export job."""
    from django.utils import timezone

    from eduplatform.accounts.models import User
    from eduplatform.core.models import ExportJob, ImportMode
    from eduplatform.imports import registry, runner
    from eduplatform.orgs.models import Organization, OrgKind
    from eduplatform.staff import transfers
    from eduplatform.staff.models import StaffMember
    from eduplatform.stats import services as stats_services
    from eduplatform.stats.snapshots import publish_snapshot, record_census_signoff, take_snapshot
    from eduplatform.students import approvals
    from eduplatform.students.models import Enrolment

    officer = User.objects.get(username="province")
    publish_snapshot(actor=officer, snapshot=record_census_signoff(
        actor=officer, snapshot=take_snapshot(actor=officer, census_date=timezone.localdate())))
    clerk = User.objects.get(username="school_clerk")
    school = clerk.organization
    other = StaffMember.objects.filter(is_active=True, unit__kind=OrgKind.SCHOOL).exclude(unit=school).order_by("pk").first()
    transfers.apply_transfer(actor=clerk, to_unit=school, staff=other, effective_on=timezone.localdate(), reason="调入")
    kind = registry.get("buildings")
    headers = [c.label for c in kind.schema.columns]
    row = ["JZ900", "", "", "", "", "二〇〇八"] + [""] * (len(headers) - 6)
    content = ("\n".join([",".join(headers), ",".join(row)]) + "\n").encode("utf-8-sig")
    job = runner.submit_import(kind=kind, actor=clerk, unit=school, file_name="buildings.csv", content=content,
                               mode=ImportMode.DRY_RUN)
    runner.run_import(job.pk)
    kind = registry.get("students")
    headers = [c.label for c in kind.schema.columns]
    content = ("\n".join([",".join(headers), ",".join(["王小明"] + [""] * (len(headers) - 1))]) + "\n").encode("utf-8-sig")
    job = runner.submit_import(kind=kind, actor=clerk, unit=school, file_name="students.csv", content=content,
                               mode=ImportMode.DRY_RUN)
    runner.run_import(job.pk)
    enrolment = Enrolment.objects.filter(school=school, is_active=True).order_by("pk").last()
    approvals.apply_drop_out(actor=clerk, enrolment=enrolment, on=timezone.localdate(), reason="随家长出国")
    county = User.objects.get(username="th_stat")
    stats_services.save_analysis(actor=county, title="天河区小学在校生", region=county.organization.region, shared=True,
                                 params={"subject": "students", "rows": "area", "cols": "stage", "measure": "enrolled"})
    ExportJob.objects.create(label="students", path="/students/", region_path=school.region_path, school_id=school.pk,
                             requested_by_id=clerk.pk, requested_by=clerk.username)
    assert Organization.objects.filter(pk=school.pk).exists()


# The roles the pages are walked as (demo accounts, eduplatform/demo/province.py); None is the anonymous
# visitor. Every route is requested by every role: what a role may not open answers 302/403/404.
ROLES: dict[str, str | None] = {
    "anonymous": None, "province": "province", "city": "gz_stat", "county": "th_stat",
    "school clerk": "school_clerk", "system administrator": "sysadmin", "security administrator": "secadmin",
    "security auditor": "auditor",
}
# Routes that are not pages a person opens in a browser: the API and OAuth endpoints answer systems
# (JSON; their texts are the exchange's, docs/i18n.md), static files, the language switch and sign-out
# (POST only).
NOT_PAGES = re.compile(r"^(api/|oauth/|static/|i18n/setlang/$|accounts/logout/$)")
# GET routes of the URL configuration that render no page for any role on the demo data, each with why.
# Every other route must be rendered (HTML, status 200) by at least one role, answer a download (a
# spreadsheet, CSV or PDF: not HTML) or refuse GET (405: a POST-only action) — the test fails otherwise,
# naming the route.
SKIPPED_ROUTES: dict[str, str] = {
    "accounts/login/code/": "the sign-in's second step: only in the middle of a password sign-in (tests/test_auth_*)",
    "orgs/": "redirects to the reader's own region page (orgs/regions/<region_code>/, walked)",
    "facilities/summary/": "redirects to the reader's region or school summary (walked through facilities/schools/…)",
    "students/promotion/batches/<int:batch_id>/undo/": "a promotion batch exists only once a year's promotion is executed",
    "statistics/analyses/<int:analysis_id>/": "opens a saved analysis: redirects to the pivot page with its query "
                                              "(statistics/pivot/, walked)",
    "exports/<int:job_id>/download/": "the workbook of a finished export (a download, not a page); the export job "
                                      "made here is only queued (its page, exports/<job_id>/, is walked)",
    "quality/issues/<int:issue_id>/attachment/": "an issue's attached file (a download, not a page); the demo's "
                                                 "issues have none",
}


def _demo_values() -> dict[str, str | None]:
    """A real record of the demo for each URL parameter, inside the county and the school clerk's school
    where it has one, so that every region and school role may open it (None: the demo has no such record)."""
    from eduplatform.accounts.models import User, UserSession
    from eduplatform.assets.models import AssetHoldings, Equipment
    from eduplatform.core.models import ExportJob, ImportJob
    from eduplatform.exchange.models import ApiClient
    from eduplatform.facilities.models import Building, LandParcel
    from eduplatform.funding.conditions import REGULAR_HEI_PREFIX
    from eduplatform.orgs.models import Organization, OrgKind
    from eduplatform.quality.models import QualityIssue, QualityScan
    from eduplatform.reporting.models import CollectionTask, FormVersion, Submission
    from eduplatform.staff.models import StaffMember, StaffTransfer
    from eduplatform.stats.models import SavedAnalysis, Snapshot
    from eduplatform.students.models import ChangeRequest, Enrolment, PromotionBatch

    clerk = User.objects.get(username="school_clerk")
    school = clerk.organization
    county = User.objects.get(username="th_stat").organization

    def pk(qs) -> str | None:
        found = qs.order_by("pk").values_list("pk", flat=True).first()
        return None if found is None else str(found)

    enrolment = Enrolment.objects.filter(school=school, is_active=True).order_by("pk").first()
    snapshot = Snapshot.objects.order_by("-pk").first()
    submission = (Submission.objects.filter(school=school).order_by("pk").first()
                  or Submission.objects.order_by("pk").first())
    task = submission.task if submission else CollectionTask.objects.order_by("pk").first()
    return {
        "session_id": pk(UserSession.objects.filter(user=clerk)),
        "user_id": str(User.objects.get(username="th_stat").pk),
        "table_key": "ethnicity",
        "region_code": county.region.code,
        "school_code": school.school_code,
        # statistics/higher-education/<school_code>/: a regular higher education institution's
        "higher_school_code": Organization.objects.filter(kind=OrgKind.SCHOOL, school_type_code__startswith=REGULAR_HEI_PREFIX)
        .order_by("school_code").values_list("school_code", flat=True).first(),
        "request_id": pk(ChangeRequest.objects.filter(from_school=school)) or pk(ChangeRequest.objects.all()),
        "batch_id": pk(PromotionBatch.objects.all()),
        "job_id": pk(ImportJob.objects.filter(school_id=school.pk, kind="buildings")),
        "students_job_id": pk(ImportJob.objects.filter(school_id=school.pk, kind="students")),  # students/import/…
        "export_job_id": pk(ExportJob.objects.filter(school_id=school.pk)),  # job_id of exports/…
        "student_ref": str(enrolment.student.public_id) if enrolment else None,
        "import_kind": "students",
        "transfer_id": pk(StaffTransfer.objects.all()),
        "staff_id": pk(StaffMember.objects.filter(unit=school)),
        "building_id": pk(Building.objects.filter(school=school)),
        "parcel_id": pk(LandParcel.objects.filter(school=school)),
        "holdings_id": pk(AssetHoldings.objects.filter(school=school)),
        "equipment_id": pk(Equipment.objects.filter(school=school)),
        "analysis_id": pk(SavedAnalysis.objects.all()),
        "snapshot_id": str(snapshot.pk) if snapshot else None,
        "task_id": str(task.pk) if task else None,
        "submission_id": str(submission.pk) if submission else None,
        "version_id": pk(FormVersion.objects.all()),
        "year": str(snapshot.census_date.year) if snapshot else None,
        "client_id": pk(ApiClient.objects.all()),
        "issue_id": pk(QualityIssue.objects.filter(school=school)) or pk(QualityIssue.objects.all()),
        "scan_id": pk(QualityScan.objects.all()),
        "school_id": str(school.pk),
    }


def _page_routes() -> list[tuple[str, str | None]]:
    """(route, its URL filled with demo records, or None when a parameter has no demo record) for every
    route of the URL configuration that could be a page."""
    from tests.routes import url_routes

    values = _demo_values()
    found = []
    for route, parameters in url_routes():
        if NOT_PAGES.match(route):
            continue
        url: str | None = "/" + route
        own = {**values, "job_id": values["export_job_id"]} if route.startswith("exports/") else values
        if route.startswith("students/import/"):
            own = {**values, "job_id": values["students_job_id"]}
        if route.startswith("statistics/higher-education/"):
            own = {**values, "school_code": values["higher_school_code"]}
        for name in parameters:
            if own.get(name) is None:
                url = None
                break
            url = re.sub(rf"<(?:\w+:)?{name}>", own[name], url)
        found.append((route, url))
    # Bodies a route shows only for a query: the other 基表 series and one school's tables (its 111).
    tables = f"/statistics/snapshots/{values['snapshot_id']}/tables/"
    found += [(tables + "?series=vocational", tables + "?series=vocational"),
              (tables + "?series=higher", tables + "?series=higher"),
              (tables + "?school=" + values["school_code"], tables + "?school=" + values["school_code"])]
    return found


@pytest.mark.django_db
def test_every_page_in_english_shows_no_chinese_but_data(demo, capsys):
    """Every GET page of the URL configuration, as every role that may open it, rendered in English on
    the small demo province: prints page → the Chinese found on it that is not data, and fails if any."""
    import time

    from django.test import Client

    from eduplatform.accounts.models import User

    clients = {}
    took: dict[str, float] = {}
    for role, username in ROLES.items():
        client = Client()
        if username:
            client.force_login(User.objects.get(username=username))
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        clients[role] = client
    leftovers: dict[str, list[str]] = {}
    rendered: dict[str, list[str]] = {}
    outcome: dict[str, set[str]] = {}
    for route, url in _page_routes():
        if route in SKIPPED_ROUTES:
            outcome[route] = {"skipped"}
            continue
        outcome[route] = set() if url is not None else {"no demo record"}
        for role, client in clients.items() if url is not None else ():
            started = time.monotonic()
            response = client.get(url)
            took[f"{role} {url}"] = time.monotonic() - started
            status = response.status_code
            assert status < 500, (role, url, status)
            if status != 200:
                outcome[route].add(str(status))
                continue
            if not response.get("Content-Type", "").startswith("text/html"):
                outcome[route].add("download")
                continue
            outcome[route].add("page")
            rendered.setdefault(url, []).append(role)
            html = response.content.decode()
            if "<html" in html:
                assert '<html lang="en"' in html, (role, url)
            left = i18n_audit.chinese_outside_data(html, demo)
            if left:
                leftovers[f"{role} {url}"] = left
    # POST-only: refused with 405 to whoever may act (anonymous is sent to sign in, others refused first).
    post_only = {route for route, seen in outcome.items() if "405" in seen and not seen & {"page", "download"}}
    unexplained = sorted(route for route, seen in outcome.items()
                         if not seen & {"page", "download", "skipped"} and route not in post_only)
    with capsys.disabled():
        print(f"\n{len(rendered)} pages rendered in English ({sum(map(len, rendered.values()))} renders), "
              f"{len(post_only)} POST-only routes, "
              f"{sum(1 for s in outcome.values() if 'download' in s)} downloads, "
              f"{sum(1 for s in outcome.values() if 'skipped' in s)} skipped; {sum(took.values()):.0f} s of requests, "
              "the slowest: " + ", ".join(f"{page} {t:.1f} s" for page, t in sorted(took.items(), key=lambda p: -p[1])[:5]))
        for page, texts in leftovers.items():
            print(f"  {page} → {' | '.join(texts[:40])}")
    assert not unexplained, ("routes rendering no page for any role (give them a demo record or list them in "
                             "SKIPPED_ROUTES with the reason):\n"
                             + "\n".join(f"  {r}: {sorted(outcome[r])}" for r in unexplained))
    assert len(rendered) > 100
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
            '<script>var s = "学生";</script><button lang="zh-hans">简体中文</button>'
            '<p>张*</p><p>广州市天河****</p><p>学*</p><span translate="no">李老师</span></body></html>')
    # A masked value (张*) is data when its visible part begins a stored value; 学* begins none.
    assert i18n_audit.chinese_outside_data(html, data) == ["title: 张三的学籍", "学*"]



def test_base_tables_are_kept_in_chinese_and_shown_in_the_readers_language():
    # The tables and findings are built, stored and exported in Chinese (the national forms); the page
    # translates their marked texts, a finding's numbers included, and leaves data (a grade) as it is.
    import pickle

    from django.utils import translation

    from eduplatform.stats.basetables import stored
    from eduplatform.stats.basetables.basic import TOTAL, BaseTable, Finding, Said
    from eduplatform.stats.templatetags.base_tables import form_text

    detail = Said("专任教师 %(teachers)s，教职工 %(staff)s", teachers=3, staff=5)
    assert detail == "专任教师 3，教职工 5" and pickle.loads(pickle.dumps(detail)).template == detail.template  # noqa: S301 — our own bytes
    table = BaseTable("基础基411", "教职工（按岗位类别；代课、兼任教师不计入教职工数）", [TOTAL, "专任教师"],
                      [(TOTAL, [5, 3]), ("一年级", [1, 1])])
    period = Said("%(start)s 至 %(end)s", start="2025-09-01", end="2026-08-31")
    nested = Said("记录中没有上学年（%(period)s）的离园记录，无法核验", period=period)
    tables, findings = stored.decode(stored.encode([table], [Finding("V12 专任教师 ≤ 教职工", True, detail),
                                                             Finding("V6 离园幼儿应为 6 周岁", None, nested)]))
    assert tables[0].cell(TOTAL, "专任教师") == 3 and findings[0].detail == "专任教师 3，教职工 5"
    assert findings[1].detail == "记录中没有上学年（2025-09-01 至 2026-08-31）的离园记录，无法核验"
    with translation.override("en"):
        assert form_text(findings[0].detail) == "full-time teachers 3, staff 5"
        assert form_text(findings[0].rule) == "V12 full-time teachers ≤ staff"
        assert form_text(tables[0].title).startswith("Staff by post category")
        assert [form_text(c) for c in tables[0].columns] == ["Total", "Full-time teachers"]
        assert form_text("7岁") == "7" and form_text("一年级") == "一年级"
        assert form_text(findings[1].detail) == ("The records hold no kindergarten leavers of the previous school "
                                                 "year (2025-09-01 to 2026-08-31): cannot be verified")
    with translation.override("zh-hans"):
        assert form_text(findings[0].detail) == "专任教师 3，教职工 5"

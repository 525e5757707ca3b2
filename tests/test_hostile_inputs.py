"""A hostile-input corpus through every form and every import (issue 17, point 4).

Forms are found, not listed: every page route (tests/routes.py) is rendered for a school clerk, a
county statistician and the security administrator, with path values naming real records of their
own jurisdiction, and every ``<form method="post">`` on those pages is submitted with its own
pre-filled values and each text field replaced by each hostile value. No answer may be a server
error, and nothing may be stored that no field should hold (control characters, direction
overrides, a 100,000-character value). A test fails when a template gets a POST form the walk does
not reach (``UNREACHED`` must then name why).

Imports: each kind's file carries one valid row and rows whose text cells hold the corpus (script
and SQL injection, formula cells, huge and control-character values); the job ends, never with an
exception; hostile rows are refused or stored exactly as text; a stored script string is shown
escaped on the record's page.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.urls import Resolver404, resolve

from tests.test_fuzz_routes import discover_routes, fill, own_values
from tests.test_hardening_csp import page_problems

SCRIPT = "<script>alert('xss')</script>"
HOSTILE = {
    "injection": "'; DROP TABLE students_student; --" + SCRIPT,
    "script": SCRIPT,
    "attribute": '"><img src=x onerror=alert(1)>',
    "sql": "'; DROP TABLE students_student; --",
    "sql_or": "1' OR '1'='1",
    "formula_dde": "=cmd|' /C calc'!A0",
    "formula_plus": "+1+1",
    "formula_at": "@SUM(A1:A9)",
    "huge": "长" * 100_000,
    "nul": "名\x00字",
    "control": "名\x1b[31m字\x07",
    "bidi": "名\u202e字",
    "astral": "𠀀😀\ufeff",
}
# These three reach every form (the budget of the walk): markup and SQL in one value, size, a character
# refused at the door. Formulas, bidi and control characters go through the imports and the targeted tests below, and
# the fuzz walk (test_fuzz_routes.py) posts control characters and bidi overrides to every route.
FORM_VALUES = ("injection", "huge", "nul")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
SKIP = re.compile(r"^(api/|oauth/|static/|accounts/logout/|.*\.(xlsx|pdf|csv|json|geojson)$)")
# Who walks which routes: a county statistician and the province see nearly every form; the others
# only where their own forms are (user accounts, API clients, a school's report entry).
ACTORS: dict[str, tuple[str, ...] | None] = {
    "county_a_stat": None, "province": None, "secadmin": ("accounts/", "exchange/clients/"),
    "sysadmin": ("accounts/",), "clerk_a1": ("reports/submissions/", "students/<uuid"),
}
TEXT_TYPES = {"", "text", "search", "email", "tel", "url", "textarea", "password", "number", "date", "month"}

# Templates with a POST form the walk cannot open, and why (each is covered by its app's tests).
UNREACHED = {
    "accounts/templates/accounts/login.html": "anonymous only; login is fuzzed in the anonymous check below",
    "accounts/templates/accounts/two_factor.html": "second-factor enrolment, shown before the code step to users "
                                                   "without a device; tests/test_auth_hardening.py posts to it",
    "reporting/templates/reporting/census_entry.html": "census confirm button: no text field",
    "students/templates/students/promotion_preview.html": "preview after a promotion form: button only",
    "stats/templates/stats/snapshot_publish.html": "publish button of a draft snapshot",
}


class Forms(HTMLParser):
    """The POST forms of a page: action and fields (name, type, value, first option)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: list | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "post": a.get("method", "").lower() == "post",
                          "fields": [], "multipart": "multipart" in a.get("enctype", "")}
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = a.get("type", "").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                if kind == "radio" and not any(f[0] == a["name"] for f in self._form["fields"]):
                    self._form["fields"].append([a["name"], kind, a.get("value", "on")])
                return
            self._form["fields"].append([a["name"], kind, a.get("value", "")])
        elif tag == "select":
            self._select = [a["name"], "select", None]
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            if self._select[2] is None or "selected" in a:
                value = a.get("value", "")
                if value or self._select[2] is None or "selected" in a:
                    self._select[2] = value
        elif tag == "textarea":
            self._textarea = [a["name"], "textarea", ""]
            self._form["fields"].append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[2] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def path_values(world) -> dict[str, str]:
    """Real records inside county A for every path parameter the routes use."""
    from tests.scope_records import outside_records

    values = {k: v for k, v in outside_records(world, "higher_officer").items() if v is not None}
    values.update(own_values(world, "clerk_a1"))
    values["user_id"] = str(world.user("clerk_a1").pk)  # not 1: PostgreSQL's sequences do not restart
    values.update(_reporting_values())
    return values


def _reporting_values() -> dict[str, str]:
    """A draft form version (the designer's edit form) and a task of the province (its open and close
    forms), real records: without them the walk fell back to id 1, which exists only while the
    sequences are fresh, so in a full PostgreSQL run the designer and task forms went unreached."""
    from eduplatform.reporting.models import (
        CollectionTask,
        FormDefinition,
        FormVersion,
        FormVersionStatus,
        TaskStatus,
    )
    from tests.scope_records.reporting_design import DEFINITION

    form = FormDefinition.objects.create(code="ZZ902", title="走查测试报表", owner_path="44/")
    draft = FormVersion.objects.create(form=form, version=1, definition={**DEFINITION, "code": "ZZ902"},
                                       status=FormVersionStatus.DRAFT)
    published = FormVersion.objects.create(form=form, version=2, definition={**DEFINITION, "code": "ZZ902"},
                                           status=FormVersionStatus.PUBLISHED)
    task = CollectionTask.objects.create(title="走查测试任务", form_version=published, period="2026",
                                         deadline=dt.date(2026, 12, 31), status=TaskStatus.DRAFT, owner_path="44/",
                                         review_levels=["county", "city", "province"])
    return {"version_id": str(draft.pk), "task_id": str(task.pk)}


def form_templates() -> set[str]:
    """Every template (app-relative path) holding a POST form."""
    root = Path(settings.BASE_DIR) / "eduplatform"
    found = set()
    for path in root.glob("*/templates/**/*.html"):
        if re.search(r'<form[^>]*method="post"', path.read_text(), re.IGNORECASE):
            found.add(str(path.relative_to(root)))
    return found


def _route_of(path: str) -> str | None:
    try:
        return resolve(path).route
    except Resolver404:
        return None


class Walk:
    def __init__(self, client, world) -> None:
        self.client, self.world = client, world
        self.values = path_values(world)
        self.forms: dict[tuple, tuple[str, str, dict]] = {}  # (route, field names) → (actor, url, form)
        self.templates: set[str] = set()
        self.pages = 0  # HTML pages rendered
        self.page_problems: list[str] = []  # CSP: inline script, handlers, a weak policy (test_hardening_csp)

    def visit(self, actor: str, prefixes: tuple[str, ...] | None) -> None:
        self.client.force_login(self.world.user(actor))
        for route, parameters in discover_routes():
            if SKIP.match(route) or (prefixes and not route.startswith(prefixes)):
                continue
            url = fill(route, {p: self.values.get(p, "1") for p in parameters})
            response = self.client.get(url)
            if response.status_code >= 500:
                self.page_problems.append(f"{actor} GET {url}: {response.status_code}")
            self.page_problems += [f"{actor} {p}" for p in page_problems(url, response)]
            self.pages += response.get("Content-Type", "").startswith("text/html")
            if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
                continue
            parser = Forms()
            parser.feed(response.content.decode())
            posts = [f for f in parser.forms if f["post"]]
            if not posts:
                continue
            for template in response.templates:
                if template.origin and template.origin.name:
                    self.templates.add(template.origin.name)
            for form in posts:
                action = urljoin(url, form["action"] or url)
                route_of = _route_of(urlsplit(action).path)
                key = (route_of, tuple(sorted(f[0] for f in form["fields"])))
                self.forms.setdefault(key, (actor, action, form))


def _hostile_data(form: dict, value: str) -> dict[str, str]:
    data = {}
    for name, kind, current in form["fields"]:
        if name == "csrfmiddlewaretoken":
            continue
        data[name] = value if kind in TEXT_TYPES or kind == "textarea" else (current or "")
    return data


def _long_text_stored(tables: set[str]) -> list[str]:
    """Text columns of the written tables that hold a control character or a huge value."""
    found = []
    for model in apps.get_models():
        if model._meta.db_table not in tables:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, (models.CharField, models.TextField)):
                hits = model.objects.filter(**{f"{field.name}__contains": "长" * 1000}).count()
                if hits:
                    found.append(f"{model._meta.label}.{field.name} holds a 100,000-character value")
    return found


WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def _post(client, url: str, data: dict, *, multipart: bool) -> tuple[int | None, str | None, set[str]]:
    """POST in a savepoint rolled back afterwards; (status, error, tables written)."""
    written: set[str] = set()

    def spy(execute, sql, params, many, context):
        if found := WRITE.match(sql):
            written.add(found[1])
        return execute(sql, params, many, context)

    savepoint = transaction.savepoint()
    try:
        with connection.execute_wrapper(spy):
            response = client.post(url, data)  # multipart, as a browser sends a form with a file field
            stored = _long_text_stored(written) if data and any(len(v) > 50_000 for v in data.values()) else []
        return response.status_code, "; ".join(stored) or None, written
    except Exception as exc:  # the test client re-raises a view's exception: that is a 500
        return None, f"{exc.__class__.__name__}: {str(exc)[:160]}", written
    finally:
        transaction.savepoint_rollback(savepoint)
        connection.needs_rollback = False


def test_every_page_is_csp_clean_and_every_post_form_takes_the_corpus_without_a_server_error(client, world):
    """One walk for two checks: each page rendered is checked for what the CSP blocks (no inline
    script, no on*= handler, a policy without 'unsafe-inline' or eval for scripts), and each POST
    form found is submitted with the corpus."""
    started, cpu_started = time.monotonic(), time.process_time()
    walk = Walk(client, world)
    for actor, prefixes in ACTORS.items():
        walk.visit(actor, prefixes)
    assert not walk.page_problems, "\n".join(sorted(set(walk.page_problems))[:60])
    assert walk.pages >= 200, walk.pages
    walked = time.monotonic() - started
    failures, posts = [], 0
    for (route, _fields), (actor, url, form) in sorted(walk.forms.items(), key=lambda item: str(item[0])):
        client.force_login(world.user(actor))
        for name in FORM_VALUES:
            status, error, _written = _post(client, url, _hostile_data(form, HOSTILE[name]), multipart=form["multipart"])
            posts += 1
            if error or (status or 500) >= 500:
                failures.append(f"{actor} POST {url} [{route}] with {name}: {error or status}")
            elif name in ("nul", "bidi") and status != 400 and any(
                    kind in TEXT_TYPES for _n, kind, _v in form["fields"] if _n != "csrfmiddlewaretoken"):
                failures.append(f"{actor} POST {url} with {name}: {status}, not refused at the door")

    reached = {t.split("/templates/", 1)[-1] for t in walk.templates}
    missing = sorted(t for t in form_templates()
                     if t.split("/templates/", 1)[-1] not in reached and t not in UNREACHED)
    assert not missing, "POST forms the walk does not reach (reach them or add to UNREACHED with why):\n" + "\n".join(missing)
    stale = sorted(t for t in UNREACHED if t.split("/templates/", 1)[-1] in reached)
    assert not stale, f"reached now, remove from UNREACHED: {stale}"
    print(f"walk {walked:.1f} s, {len(walk.forms)} forms, {posts} posts, {time.monotonic() - started:.1f} s")
    assert len(walk.forms) >= 20 and posts >= 80, (len(walk.forms), posts)
    assert not failures, "\n".join(failures[:60])
    assert time.process_time() - cpu_started < 120  # CPU time: wall time depends on what else the machine runs


def test_the_login_form_takes_the_corpus(client, world):
    for name, value in HOSTILE.items():
        response = client.post("/accounts/login/", {"username": value, "password": value})
        assert response.status_code in (200, 400, 403, 429), (name, response.status_code)
        if name not in ("nul", "control", "bidi"):
            assert SCRIPT not in response.content.decode()  # echoed escaped, if at all


def test_a_body_in_a_wrong_encoding_is_refused_or_read_as_text_never_a_500(client, world):
    client.force_login(world.user("clerk_a1"))
    for body in (b"name=%FF%FE%FD&number=JZ9", "name=教学楼".encode("gbk"), b"name=\xff\xfe\x00\x00"):
        response = client.post("/facilities/new/", body, content_type="application/x-www-form-urlencoded")
        assert response.status_code in (200, 400), response.status_code


# ---------------------------------------------------------------------------------------------
# Stored only when valid, and shown escaped


def test_a_script_string_is_stored_as_text_and_shown_escaped(client, world):
    from eduplatform.facilities.models import Building
    from tests.facilities_support import building_row

    client.force_login(world.user("clerk_a1"))
    response = client.post("/facilities/new/", building_row(7, name=SCRIPT))
    assert response.status_code == 302, response.content.decode()[:500]
    building = Building.objects.get(school=world.school_a1, number="JZ007")
    assert building.name == SCRIPT  # a name may be any text: stored exactly, never "cleaned"
    for url in (response["Location"], "/facilities/"):
        page = client.get(url).content.decode()
        assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in page, url
        assert SCRIPT not in page, url


@pytest.mark.parametrize("name", ["huge", "nul", "bidi", "control"])
def test_a_value_no_field_takes_is_refused_and_the_record_is_unchanged(client, world, name):
    from eduplatform.facilities.models import Building
    from tests.facilities_support import building_row

    client.force_login(world.user("clerk_a1"))
    before = Building.objects.count()
    response = client.post("/facilities/new/", building_row(8, name=HOSTILE[name]))
    assert response.status_code in (200, 400)
    assert Building.objects.count() == before


# ---------------------------------------------------------------------------------------------
# Every import


IMPORT_TEXT = ("script", "attribute", "sql", "sql_or", "formula_dde", "formula_plus", "formula_at", "huge", "nul",
               "control", "bidi", "astral")


def _rows(kind: str):
    from tests.assets_support import line
    from tests.facilities_support import building_row, land_row
    from tests.staff_support import admin_row, staff_row
    from tests.students_support import student_row

    return {"students": lambda i: student_row(i), "staff": lambda i: staff_row(i), "administrators": lambda i: admin_row(i),
            "buildings": lambda i: building_row(i), "land": lambda i: land_row(i),
            "equipment": lambda i: line(f"ZC-{i}")}[kind]


# The free-text column each kind's hostile rows carry the corpus in (codes, dates and numbers
# are checked by their own parsers; the fuzz of those is the "every column" case below).
TEXT_COLUMN = {"students": "name", "staff": "name", "administrators": "name", "buildings": "name", "land": "name",
               "equipment": "name"}


def _text_values(model) -> list[str]:
    fields = [f.name for f in model._meta.concrete_fields if isinstance(f, (models.CharField, models.TextField))]
    return [str(v) for row in model.objects.values_list(*fields) for v in row if v]


@pytest.mark.parametrize("key", list(TEXT_COLUMN))
def test_every_import_takes_the_corpus_refusing_or_storing_it_as_text(world, key):
    from eduplatform.core.models import ImportMode, JobStatus
    from eduplatform.imports import registry, runner
    from tests.students_support import xlsx_file

    kind = registry.get(key)
    build = _rows(key)
    sample = build(1)
    columns = [c for c in kind.schema.columns if c.field in sample]
    rows = [sample]
    for i, name in enumerate(IMPORT_TEXT, start=2):
        rows.append({**build(i), TEXT_COLUMN[key]: HOSTILE[name]})
    # A row whose every cell is a formula: each column's parser refuses it or takes it as text.
    rows.append({f: "=1+1" for f in sample})
    content = xlsx_file([c.label for c in columns], [[str(r.get(c.field, "")) for c in columns] for r in rows])
    # Into a school by its clerk; administrators into the county bureau by its statistician.
    user, unit = ("clerk_a1", world.school_a1) if kind.for_schools else ("county_a_stat", world.county_a)
    job = runner.submit_import(kind=kind, actor=world.user(user), unit=unit, file_name="恶意.xlsx", content=content,
                               mode=ImportMode.ACCEPT_VALID)
    job = runner.run_import(job.pk)
    assert job.status == JobStatus.DONE, job.failure
    problem_rows = {p["row"] for p in job.problems}
    assert 2 not in problem_rows, job.problems[:3]  # the valid row was written
    # A huge value is refused; a control character or direction override is refused or dropped from
    # the text (the scan below finds none stored).
    assert IMPORT_TEXT.index("huge") + 3 in problem_rows, job.problems
    nul_row = IMPORT_TEXT.index("nul") + 3
    assert [p["value"] for p in job.problems if p["row"] == nul_row] == ["名\ufffd字"]  # refused, shown safely
    assert len(rows) + 1 in problem_rows  # the all-formula row

    model = {"students": "students.Student", "staff": "staff.StaffMember", "administrators": "staff.StaffMember",
             "buildings": "facilities.Building", "land": "facilities.LandParcel", "equipment": "assets.Equipment"}[key]
    stored = _text_values(apps.get_model(model))
    assert not [v for v in stored if CONTROL.search(v) or len(v) > 10_000]
    # What was stored is the cell's text exactly (no formula evaluated, nothing half-cleaned).
    for name in ("script", "sql", "formula_dde", "formula_plus", "formula_at"):
        assert HOSTILE[name] in stored or any(r == IMPORT_TEXT.index(name) + 3 for r in problem_rows), name
    assert "=1+1" not in stored or len(rows) + 1 not in problem_rows


def test_a_csv_with_hostile_cells_in_gb18030_and_utf16_imports_without_a_server_error(world):
    from eduplatform.core.models import ImportMode, JobStatus
    from eduplatform.imports import registry, runner
    from tests.students_support import student_row
    from tests.test_hardening import IMPORT_FIELDS, IMPORT_HEADERS

    lines = [",".join(IMPORT_HEADERS)]
    for i, name in enumerate(("script", "sql", "formula_dde", "astral"), start=1):
        row = student_row(40 + i, name=HOSTILE[name].replace(",", "，"))
        lines.append(",".join(str(row[f]) for f in IMPORT_FIELDS))
    text = "\r\n".join(lines) + "\r\n"
    for encoding in ("gb18030", "utf-16"):
        job = runner.submit_import(kind=registry.get("students"), actor=world.user("clerk_a1"), unit=world.school_a1,
                                   file_name="学生.csv", content=text.encode(encoding), mode=ImportMode.DRY_RUN)
        job = runner.run_import(job.pk)
        assert job.status == JobStatus.DONE, job.failure
        assert job.total_rows == 4

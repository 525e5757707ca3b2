"""The scope matrix: every page and API route, discovered from the URL configuration, is walked
as every user of tests/world.py (every role, each with its own jurisdiction) and as nobody, and
none may show or reach what lies outside the user's jurisdiction — named in the path, in the query
string or in the body of a form.

A route added later is covered without editing this file: an app adds a module to
``tests/scope_records`` that makes records outside each group's reach and names them by URL
parameter. An unknown path parameter fails ``test_every_url_parameter_is_known_to_the_matrix``; a
query parameter a view reads that the matrix does not know fails
``test_every_query_parameter_read_by_a_view_is_known_to_the_matrix``.

Every request ends in an explained status (``explain``): a 500, an unexpected status, a refusal
without the platform's error page, fails the test — nothing is skipped silently.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http import QueryDict
from django.utils.functional import cached_property

from tests.routes import url_routes
from tests.scope_records import (
    ACTORS,
    ANONYMOUS,
    GROUP_OF,
    GROUPS,
    LEAK_MARKERS,
    TOWN_USER,
    actor_user,
    far_school,
    outside_bureau,
    outside_records,
    outside_school,
    town_user,
)
from tests.world import LEAK_MARKER_B, LEAK_MARKER_HIGHER, TOWN_A, TOWN_A2, World

# Path parameters that name public data (national code tables, import kinds, the portal's years) or
# census snapshots, which cover the whole province and are read by each user for its jurisdiction only.
PUBLIC_PARAMETERS = {"table_key", "import_kind", "snapshot_id", "year"}
# Routes that are not pages of records: static files, auth plumbing, the language switch, API documentation.
SKIPPED_ROUTES = re.compile(r"^(static/|accounts/(login|logout)/$|i18n/setlang/$|api/v1/(docs|openapi\.json|$))")
# Routes open to anyone: the public portal publishes suppressed city figures of published snapshots;
# the data standard (exchange/standard/) holds definitions and national code tables, no records.
PUBLIC_ROUTES = re.compile(r"^(public/|exchange/standard/)")
# Routes for users without the right to read records (三员: the security administrator and auditor).
# The API clients' pages (exchange/clients/) are the security administrator's and auditor's too, and so
# is the unit picker (orgs/pick/units/: 所属单位 of a new account or API client) — still only the units
# of the user's own jurisdiction, which this matrix checks like any other route.
ACCOUNT_ROUTES = re.compile(r"^(accounts/|focus/$|$|api/v1/|exchange/clients/|orgs/pick/units/$)")
ROLES_WITHOUT_RECORDS = {"secadmin", "auditor", "county_a_secadmin"}
# Areas not built yet: a page saying so, with no records.
PLACEHOLDER_ROUTES = re.compile(r"^(forms|exchange)/$")
# What a route shows by design about a record outside the user's reach, and why.
DESIGNED_DISCLOSURES = {
    # The receiving school finds a student by 学籍号 *and* name, and sees the school holding the
    # student, to apply for the transfer (the sending school then approves): docs/students.md.
    "students/transfers/new/": "the holding school of a student named by number and name",
}

# Query parameters the views read, and what the matrix does with each (see QUERY_TARGETS):
# targets name a record or a place and are tried with foreign values; probes are filters tried with
# values that would reveal a foreign record; the rest only shape the page (paging, sorting, measures).
TARGET_QUERY = {"region", "school", "school_code", "class", "snapshot", "compare", "unit"}
# ``find`` names a search kept in the user's own session (core/search.py): a token of no session's
# (or of another user's) must find nothing and fail nothing.
PROBED_QUERY = {"q": ["泄漏", "测试"], "status": ["all"], "format": ["xlsx"], "find": ["0" * 32]}
PLAIN_QUERY = {
    "page", "after", "before", "year", "stage", "grade", "flag", "measure", "level", "gender", "from", "to", "cohort", "category", "type",
    "title", "teaching", "table", "subject", "structure", "source", "size_band", "rows", "cols", "rates", "rank",
    "property_right", "post_category", "kind", "indicator", "held", "ethnicity", "education_level", "direction",
    "condition", "born_to", "born_from", "backbone_level", "as_of", "action", "actor", "object_type", "date_from",
    "date_to", "user", "ip", "organization", "measure_a", "measure_b", "establishment", "teaching_stage", "title_grade",
    "from_year", "graduation_date", "series", "sort", "resources", "limit",
    "rule", "severity", "database",  # the quality issue list's filters
    "school_type", "urban_rural", "sponsor",  # the pivot's filters over the schools' attributes
}
KNOWN_QUERY = TARGET_QUERY | set(PROBED_QUERY) | PLAIN_QUERY
REFUSED = {403, 404}


# --------------------------------------------------------------------------------------------
# Routes


@dataclass(frozen=True)
class Route:
    route: str
    parameters: tuple[str, ...]

    def fill(self, values: dict[str, str]) -> str:
        url = self.route
        for name in self.parameters:
            url = re.sub(rf"<(?:\w+:)?{name}>", values[name], url)
            url = url.replace("{" + name + "}", values[name])
        return "/" + url

    @property
    def jurisdictional(self) -> tuple[str, ...]:
        return tuple(p for p in self.parameters if p not in PUBLIC_PARAMETERS)


def discover_routes() -> list[Route]:
    return [Route(route, names) for route, names in url_routes() if not SKIPPED_ROUTES.match(route)]


# --------------------------------------------------------------------------------------------
# What lies outside each user's reach


def shared_snapshot(world: World):
    """One census snapshot, taken after the outside records were made and published (the portal's
    year): its rows hold every group's foreign records and the far school's thousand students."""
    cache = world.__dict__
    if "_snapshot" not in cache:
        far_school(world)
        from django.utils import timezone

        from eduplatform.stats.snapshots import take_snapshot
        from tests.census_support import signed_off_and_published

        officer = world.user("province")
        cache["_snapshot"] = signed_off_and_published(take_snapshot(actor=officer, census_date=timezone.localdate()),
                                                      actor=officer)
    return cache["_snapshot"]


def public_values(parameter: str, own_region: str, world: World) -> list[str]:
    from eduplatform.imports import registry

    if parameter == "snapshot_id":
        return [str(shared_snapshot(world).pk)]
    if parameter == "year":
        return [str(shared_snapshot(world).census_date.year)]
    if parameter == "region_code":
        return [own_region]
    if parameter == "import_kind":
        return [kind.key for kind in registry.all_kinds()]
    if parameter == "table_key":
        return ["ethnicity"]
    raise AssertionError(f"no public values for {parameter}: add them here")


def _base_outside(world: World, actor: str) -> dict[str, str | None]:
    """The organizations and accounts outside ``actor``'s reach, named by URL parameter."""
    a, b, c = world.county_a.region.code, world.county_b.region.code, world.county_c.region.code
    user = {name: str(world.users[name].pk) for name in ("county_a_stat", "county_b_stat", "county_c_stat")}
    group = GROUP_OF[actor]
    school = outside_school(world, group or "county_a_stat").school_code
    if actor in ("county_a_stat", "county_a_reviewer", "county_a_secadmin"):
        return {"school_code": school, "region_code": b, "user_id": user["county_b_stat"]}
    if actor in ("clerk_a1", "principal_a1", TOWN_USER):
        # Same town (or county), other school: still outside a school's or a town's scope.
        return {"school_code": school, "region_code": a, "user_id": user["county_a_stat"]}
    if actor in ("county_b_stat", "clerk_b1"):
        return {"school_code": school, "region_code": a, "user_id": user["county_a_stat"]}
    if actor == "county_c_stat":
        return {"school_code": school, "region_code": b, "user_id": user["county_b_stat"]}
    if actor == "city_stat":
        return {"school_code": school, "region_code": c, "user_id": user["county_c_stat"]}
    if actor in ("k12_officer", "higher_officer"):
        # Regions and accounts are not stage-limited; a school of other stages is outside.
        return {"school_code": school, "region_code": None, "user_id": None}
    # The whole province is in reach (or nothing is read at all): the records are real, in reach.
    return {"school_code": school, "region_code": b, "user_id": user["county_b_stat"]}


def objects_outside(world: World, actor: str) -> dict[str, str | None]:
    """For each URL parameter, a value naming a record outside ``actor``'s jurisdiction: the
    organizations here, the records from every module of ``tests/scope_records``. For the users
    whose reach is the whole province, real records of county B (statuses are checked, not reach)."""
    return {**_base_outside(world, actor), **outside_records(world, GROUP_OF[actor] or "county_a_stat")}


def foreign_regions(world: World, actor: str) -> list[str]:
    """Region codes outside the actor's jurisdiction, sibling and wider, for ``?region=`` (users of
    one jurisdiction share the work: between them, every kind of foreign region is tried)."""
    province, gz, sz = "440000000000", world.city_gz.region.code, "440300000000"
    a, b, c = world.county_a.region.code, world.county_b.region.code, world.county_c.region.code
    return {
        "county_a_stat": [b, gz], "county_a_reviewer": [b, province], "county_a_secadmin": [b, gz],
        "clerk_a1": [TOWN_A, b], "principal_a1": [a, province],
        TOWN_USER: [TOWN_A2, a],
        "county_b_stat": [a, province], "clerk_b1": [a, gz], "county_c_stat": [a, sz],
        "city_stat": [c, province],
    }.get(actor, [])


def foreign_totals(world: World, actor: str) -> list[str]:
    """The province's totals as a page would print them, for a user whose jurisdiction has other
    totals: a summary showing them shows figures of records outside the user's reach."""
    from django.db.models import Sum

    from eduplatform.orgs.scope import scoped
    from eduplatform.stats.models import SnapshotStudent

    user = actor_user(world, actor)
    if GROUP_OF[actor] is None or user is None:
        return []
    snapshot = shared_snapshot(world)
    province = snapshot.totals["students"]
    own = scoped(SnapshotStudent.objects.filter(snapshot=snapshot), user).aggregate(n=Sum("enrolled"))["n"] or 0
    assert province >= 1000, "the far school's students make the province's total distinctive"
    return [f"{province:,}", f"[{province}]"] if own != province else []


def query_targets(world: World, actor: str) -> dict[str, list[str]]:
    """For each target query parameter, values naming foreign records for ``actor``."""
    from eduplatform.students.models import SchoolClass

    group = GROUP_OF[actor]
    if group is None:
        return {"snapshot": [str(shared_snapshot(world).pk)], "compare": [str(shared_snapshot(world).pk)]}
    school = outside_school(world, group)
    classes = [str(pk) for pk in SchoolClass.objects.filter(school=school).values_list("pk", flat=True)[:1]]
    bureau = outside_bureau(world, group)
    snapshot = str(shared_snapshot(world).pk)
    return {
        "region": foreign_regions(world, actor),
        "school": [school.school_code, str(school.pk)],
        "school_code": [school.school_code],
        "unit": [str(bureau.pk) if bureau else str(school.pk), school.school_code],
        "class": classes,
        "snapshot": [snapshot],
        "compare": [snapshot],
    }


# --------------------------------------------------------------------------------------------
# Query parameters the views read


class RecordingQueryDict(QueryDict):
    """``request.GET`` that notes every name a view reads."""

    read: set[str] | None = None

    def _note(self, key) -> None:
        if RecordingQueryDict.read is not None and isinstance(key, str):
            RecordingQueryDict.read.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self._note(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


@pytest.fixture
def reading_recorder(monkeypatch) -> Iterator[set[str]]:
    from django.core.handlers.wsgi import get_bytes_from_wsgi

    def recording_get(self):
        return RecordingQueryDict(get_bytes_from_wsgi(self.environ, "QUERY_STRING", ""), encoding=self._encoding)

    prop = cached_property(recording_get)
    prop.__set_name__(WSGIRequest, "GET")
    monkeypatch.setattr(WSGIRequest, "GET", prop)
    RecordingQueryDict.read = set()
    yield RecordingQueryDict.read
    RecordingQueryDict.read = None


def query_names_in_source() -> set[str]:
    """Names read from ``request.GET`` (or a ``params`` taken from it) anywhere in the code."""
    root = Path(__file__).resolve().parent.parent / "eduplatform"
    pattern = re.compile(r"""(?:request\.GET|\bparams)(?:\.get|\.getlist)?[\[(]\s*["']([A-Za-z_]\w*)["']""")
    chosen = re.compile(r"""chosen_snapshot\(request,\s*["'](\w+)["']\)""")
    names: set[str] = set()
    for source in root.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        names |= set(pattern.findall(text)) | set(chosen.findall(text))
    return names


# --------------------------------------------------------------------------------------------
# Responses


def text_of(response) -> str:
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        return "\n".join(
            ",".join(str(c) for c in row) for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
        )
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def explain(actor: str, method: str, url: str, response) -> str | None:
    """Why ``response`` is an acceptable answer, or None when it is not (the matrix then fails)."""
    status = response.status_code
    location = response.get("Location", "")
    api = url.startswith("/api/")
    if status >= 500:
        return None
    if actor == ANONYMOUS and not PUBLIC_ROUTES.match(url.lstrip("/")):
        if api:
            return "the API asks for credentials" if status in {401, 403, 405} else None
        if status == 302 and location.startswith("/accounts/login/"):
            return "redirected to the login page"
        return "a POST-only route refuses the method" if status == 405 else None
    if status == 200:
        return "answered"
    if status == 405:
        return "a route of another method"
    if status == 302:
        return "redirected inside the site" if location.startswith("/") and not location.startswith("//") else None
    if status in {400, 401, 403, 404}:
        body = response.content.decode("utf-8", "replace")
        if api:
            return "an RFC 9457 problem" if response.get("Content-Type", "").startswith("application/problem+json") else None
        if status in {403, 404} and 'class="alert alert-warning"' in body:
            return f"refused with the error page ({status})"
        if status == 400:
            return "a bad request"
    return None


# --------------------------------------------------------------------------------------------
# The walk


@dataclass
class Walk:
    """One actor's walk: every request it made, with the status and its explanation; every problem."""

    world: World
    actor: str
    client: object
    problems: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    # Filters (``?q=``, ``?status=all``, ``?format=xlsx``) are probed by the first user of each
    # jurisdiction only: its other users differ by role, which the targets and the statuses cover.
    probes_filters: bool = True

    def markers(self) -> list[str]:
        if "_markers" not in self.__dict__:
            self.__dict__["_markers"] = LEAK_MARKERS[self.actor] + foreign_totals(self.world, self.actor)
        return self.__dict__["_markers"]

    def request(self, method: str, url: str, data: dict | None = None, *, refuse: bool = False,
                disclosed: str = ""):
        response = getattr(self.client, method)(url, data) if data is not None else getattr(self.client, method)(url)
        self.requests += 1
        self.statuses[f"{method.upper()} {url}"] = response.status_code
        why = explain(self.actor, method, url, response)
        if why is None:
            self.problems.append(f"{self.actor} {method.upper()} {url} → unexplained {response.status_code}")
            return response
        if refuse and response.status_code not in REFUSED | {405} and not (
                self.actor == ANONYMOUS and response.status_code in {302, 401}):
            self.problems.append(f"{self.actor} {method.upper()} {url} → {response.status_code}, not refused")
        markers = self.markers()
        if PUBLIC_ROUTES.match(url.lstrip("/")):
            # The portal prints the province's published (suppressed) totals to anyone, anonymous
            # included: a signed-in reader sees no more there than the public. Names still leak.
            markers = LEAK_MARKERS[self.actor]
        if markers and response.status_code == 200:
            body = text_of(response)
            for marker in markers:
                if marker in body and marker != disclosed:
                    self.problems.append(f"{self.actor} {method.upper()} {url} shows {marker}")
        return response


def walk_foreign_paths(walk: Walk, routes: list[Route]) -> int:
    """Routes naming a record in their path: filled with records outside the actor's reach (public
    parameters with real public values), GET and POST must be refused and show nothing."""
    outside = objects_outside(walk.world, walk.actor)
    own_region = own_region_of(walk)
    foreign_reach = GROUP_OF[walk.actor] is not None or walk.actor == ANONYMOUS
    checked = 0
    for route in routes:
        if not route.jurisdictional or route.jurisdictional == ("region_code",) and outside["region_code"] is None:
            continue
        if any(outside[p] is None for p in route.jurisdictional):
            continue  # e.g. regions are not stage-limited; their pages are covered by the list walk
        public = {p: public_values(p, own_region, walk.world)[0] for p in route.parameters if p in PUBLIC_PARAMETERS}
        url = route.fill({**outside, **public})
        if foreign_reach:
            for method in ("get", "post"):
                walk.request(method, url, refuse=True)
        else:
            walk.request("get", url)  # in reach: an explained status is all that is asked
        checked += 1
    return checked


def own_region_of(walk: Walk) -> str:
    user = actor_user(walk.world, walk.actor)
    return user.organization.region.code if user is not None else "440000000000"


def needs_records_right(route: Route, url: str) -> bool:
    """Whether a route shows records (so the security administrator and auditor must be refused):
    not the account pages, the dashboard, the public portal, the data dictionary, the import
    templates, or the areas not built yet."""
    path = url.lstrip("/")
    return not (ACCOUNT_ROUTES.match(path) or PUBLIC_ROUTES.match(path) or PLACEHOLDER_ROUTES.match(path)
                or path.startswith("standards/") or PUBLIC_PARAMETERS & set(route.parameters) - {"snapshot_id"})


def walk_pages_and_queries(walk: Walk, routes: list[Route], recorder: set[str]) -> tuple[int, dict[str, set[str]]]:
    """Routes without a record in their path (public parameters filled with real values, a region
    with the user's own): each GET is answered with an explained status; every query parameter the
    view read is then tried with foreign targets (or probing filters), which must be refused,
    ignored or fall back to the user's scope — never show a foreign record."""
    targets = query_targets(walk.world, walk.actor)
    own_region = own_region_of(walk)
    read_by: dict[str, set[str]] = {}
    checked = 0
    for route in routes:
        if not set(route.parameters) <= PUBLIC_PARAMETERS | {"region_code"}:
            continue
        values = {p: public_values(p, own_region, walk.world) for p in route.parameters}
        urls = [route.fill({p: v[i % len(v)] for p, v in values.items()})
                for i in range(max([len(v) for v in values.values()] or [1]))]
        for url in urls:
            recorder.clear()
            response = walk.request("get", url)
            read = set(recorder)
            read_by[url] = read
            if walk.actor in ROLES_WITHOUT_RECORDS and needs_records_right(route, url) \
                    and response.status_code not in {403, 405}:
                walk.problems.append(f"{walk.actor} GET {url} → {response.status_code}, expected 403 (no right to records)")
            if response.status_code != 200:
                continue
            checked += 1
            for name in sorted(read & TARGET_QUERY):
                for value in targets.get(name, []):
                    walk.request("get", f"{url}?{urlencode({name: value})}")
            if not walk.probes_filters:
                continue
            for name in sorted(read & set(PROBED_QUERY)):
                for value in PROBED_QUERY[name]:
                    walk.request("get", f"{url}?{urlencode({name: value})}")
    return checked, read_by


# Bodies that would be accepted if they named a school in reach: each is posted naming foreign targets.
def body_templates(world: World, group: str) -> dict[str, dict[str, str]]:
    from django.utils import timezone

    from eduplatform.students.services import current_school_year
    from tests.facilities_support import building_row, land_row
    from tests.staff_support import staff_row
    from tests.students_support import student_row

    today = timezone.localdate()
    return {
        "students/new/": {k: str(v) for k, v in student_row(950).items()},
        "staff/new/": {k: str(v) for k, v in staff_row(950).items()},
        "facilities/new/": building_row(950, name="矩阵写入教学楼"),
        "facilities/land/new/": land_row(950, name="矩阵写入地块"),
        "assets/new/": {"asset_number": "MATRIX-950", "category": "01", "name": "矩阵写入计算机", "quantity": "1",
                        "unit_price": "3000", "purchased_on": "2020-03-01"},
        "assets/holdings/new/": {"year": str(today.year - 1), "books_volumes": "100", "teaching_equipment_value": "1",
                                 "fixed_asset_value": "1"},
        "students/promotion/preview/": {"from_year": str(current_school_year(today)),
                                        "graduation_date": today.isoformat()},
        "students/promotion/execute/": {"from_year": str(current_school_year(today)),
                                        "graduation_date": today.isoformat(), "confirm": "yes"},
        "students/classes/": {"school_year": str(current_school_year(today)), "grade": "一年级", "number": "9"},
        "exchange/clients/new/": {"name": "矩阵写入接口系统", "rate_limit_per_minute": "60"},
        "orgs/schools/new/": {"school_code": "2144000077", "name": "矩阵写入小学", "school_type_code": "211",
                              "sponsor_code": "831", "urban_rural_code": "111", "address": "某路一号"},
    }


def foreign_body(world: World, actor: str) -> dict[str, str]:
    """Form fields naming targets outside the actor's reach: school, class, region, student, unit."""
    from eduplatform.staff.models import StaffMember
    from eduplatform.students.models import Enrolment, SchoolClass

    group = GROUP_OF[actor]
    school = outside_school(world, group)
    enrolment = Enrolment.objects.filter(school=school).select_related("student").first()
    staff = StaffMember.objects.filter(unit=school).first()
    school_class = SchoolClass.objects.filter(school=school).first()
    regions = foreign_regions(world, actor) or ["440000000000"]
    return {
        "school_code": school.school_code, "school": str(school.pk), "unit": str(school.pk),
        "to_unit": str(school.pk), "school_class": str(school_class.pk) if school_class else "",
        "class": str(school_class.pk) if school_class else "", "region": regions[0], "town_code": school.region.code,
        "student_number": enrolment.student.student_number if enrolment else "",
        "name": enrolment.student.name if enrolment else "", "staff_number": staff.staff_number if staff else "",
        "organization": str(school.pk), "step": "apply",
    }


def rows_outside(actor_obj) -> dict[str, int]:
    """For every record table with a jurisdiction, how many rows lie outside the actor's reach."""
    from django.apps import apps

    from eduplatform.orgs.scope import scoped

    counts = {}
    for model in apps.get_models():
        spec = getattr(model, "SCOPE", None)
        if spec is None or spec.path_length is not None or model._meta.app_label in {"history", "stats"}:
            continue
        inside = scoped(model.objects.all(), actor_obj, with_focus=False).values("pk")
        counts[model._meta.label] = model.objects.exclude(pk__in=inside).count()
    return counts


def walk_foreign_bodies(walk: Walk, routes: list[Route]) -> int:
    """POST routes without a record in their path, posted naming foreign targets in the body: nothing
    is written outside the actor's reach (rows counted before and after), the answer is a form error
    or a refusal, never a success writing abroad."""
    from tests.students_support import xlsx_file

    user = actor_user(walk.world, walk.actor)
    templates = body_templates(walk.world, GROUP_OF[walk.actor])
    targets = foreign_body(walk.world, walk.actor)
    checked = 0
    for route in routes:
        if route.jurisdictional or route.route.startswith(("api/", "public/", "accounts/password")):
            continue
        own_region = own_region_of(walk)
        values = {p: public_values(p, own_region, walk.world) for p in route.parameters}
        for i in range(max([len(v) for v in values.values()] or [1])):
            url = route.fill({p: v[i % len(v)] for p, v in values.items()})
            body = {**templates.get(route.route, {}), **targets}
            if "import" in route.route:
                body["file"] = io.BytesIO(xlsx_file(["姓名"], [["矩阵写入"]]))
                body["file"].name = "matrix.xlsx"
                body["mode"] = "all_or_nothing"
            before = rows_outside(user)
            disclosed = outside_school(walk.world, GROUP_OF[walk.actor]).name if route.route in DESIGNED_DISCLOSURES else ""
            response = walk.request("post", url, body, disclosed=disclosed)
            after = rows_outside(user)
            written = {k: after[k] - before[k] for k in after if after[k] != before[k]}
            if written:
                walk.problems.append(f"{walk.actor} POST {url} naming foreign targets wrote outside its reach: {written}"
                                     f" (→ {response.status_code})")
            checked += 1
    return checked


def _groups() -> list[str | None]:
    return [*GROUPS, None]


@pytest.mark.parametrize("group", _groups(), ids=lambda g: g or "whole_province")
def test_no_route_reaches_or_shows_anything_outside_the_users_jurisdiction(client, world, group, reading_recorder):
    """Every actor of the group, every route: path, query and body targets outside its reach."""
    outside_records(world, group or "county_a_stat")
    shared_snapshot(world)
    routes = discover_routes()
    problems: list[str] = []
    totals = defaultdict(int)
    for actor in (a for a in ACTORS if GROUP_OF[a] == group):
        client.logout()
        user = actor_user(world, actor)
        if user is not None:
            client.force_login(user)
        walk = Walk(world, actor, client, probes_filters=actor == GROUP_OF[actor] or group is None)
        totals["paths"] += walk_foreign_paths(walk, routes)
        pages, _ = walk_pages_and_queries(walk, routes, reading_recorder)
        totals["pages"] += pages
        if group is not None:
            totals["bodies"] += walk_foreign_bodies(walk, routes)
        totals["requests"] += walk.requests
        problems += walk.problems
    assert not problems, f"{len(problems)} problems in {totals['requests']} requests:\n" + "\n".join(problems)
    assert totals["paths"] >= 20 and totals["pages"] >= 10, totals
    if group is not None:
        assert totals["bodies"] >= 10, totals


# --------------------------------------------------------------------------------------------
# The matrix knows every parameter


def test_every_url_parameter_is_known_to_the_matrix(world):
    known = set(objects_outside(world, "county_a_stat")) | PUBLIC_PARAMETERS
    unknown = {p for r in discover_routes() for p in r.parameters} - known
    assert not unknown, f"URL parameters unknown to the scope matrix (add them to objects_outside): {unknown}"


def test_every_query_parameter_read_by_a_view_is_known_to_the_matrix(client, world, reading_recorder):
    """Names read from ``request.GET`` in the code, and names the views read while the matrix walks
    them as a province officer and a school clerk: each is a target, a probe or
    a plain filter of the matrix. A view that starts reading ``?grade_group=`` fails here until the
    matrix knows whether it names a record."""
    read: set[str] = set(query_names_in_source())
    routes = discover_routes()
    for actor in ("province", "clerk_a1"):
        client.force_login(world.user(actor))
        walk = Walk(world, actor, client)
        _, read_by = walk_pages_and_queries(walk, routes, reading_recorder)
        for names in read_by.values():
            read |= names
    assert "region" in read and "school" in read and "snapshot" in read
    unknown = read - KNOWN_QUERY - {"csrfmiddlewaretoken", "next"}
    assert not unknown, f"query parameters read by views but unknown to the scope matrix: {sorted(unknown)}"


def test_route_discovery_sees_pages_and_api():
    routes = {r.route for r in discover_routes()}
    assert "orgs/schools/<str:school_code>/" in routes
    assert any(r.startswith("api/v1/schools/") for r in routes)
    assert len(routes) > 20


def test_every_role_is_walked(world):
    from eduplatform.accounts.roles import Role

    walked = {role for actor in ACTORS if actor != ANONYMOUS for role in actor_user(world, actor).role_set}
    assert walked >= {r.value for r in Role}, {r.value for r in Role} - walked
    assert town_user(world).organization.region.code == TOWN_A


def test_explain_refuses_a_server_error_and_unexplained_statuses():
    """The walk's judge: a 500, a 418 or a bare refusal is never an acceptable answer."""

    class Answer(dict):
        def __init__(self, status, body=b"", **headers):
            super().__init__(headers)
            self.status_code, self.content = status, body

    assert explain("county_a_stat", "get", "/students/", Answer(500)) is None
    assert explain("county_a_stat", "get", "/students/", Answer(418)) is None
    assert explain("county_a_stat", "get", "/students/", Answer(403, b"Forbidden")) is None
    assert explain("county_a_stat", "get", "/students/", Answer(302, Location="https://evil.example/")) is None
    assert explain(ANONYMOUS, "get", "/students/", Answer(200)) is None
    assert explain(ANONYMOUS, "get", "/students/", Answer(302, Location="/accounts/login/?next=/students/"))
    assert explain("county_a_stat", "get", "/students/", Answer(404, b'<div class="alert alert-warning">x</div>'))


# --------------------------------------------------------------------------------------------
# The region picker and the positive side


def test_region_picker_cannot_widen_the_scope(client, world):
    client.force_login(world.user("county_a_stat"))
    client.post("/focus/", {"region": world.county_b.region.code, "next": "/orgs/schools/"})
    body = client.get("/orgs/schools/?status=all").content.decode()
    assert LEAK_MARKER_B not in body
    assert "天河测试小学" in body


def test_region_picker_narrows_the_scope(client, world):
    client.force_login(world.user("city_stat"))
    assert LEAK_MARKER_B in client.get("/orgs/schools/").content.decode()
    client.post("/focus/", {"region": world.county_a.region.code, "next": "/"})
    body = client.get("/orgs/schools/").content.decode()
    assert LEAK_MARKER_B not in body
    assert "天河测试小学" in body


def test_county_user_sees_own_schools(client, world):
    """The positive side of the matrix: scoping does not hide what the user is entitled to."""
    client.force_login(world.user("county_a_stat"))
    body = client.get("/orgs/schools/").content.decode()
    assert "天河测试小学" in body and "天河测试幼儿园" in body
    assert client.get(f"/orgs/schools/{world.school_a1.school_code}/").status_code == 200
    assert client.get(f"/api/v1/schools/{world.school_a1.school_code}").status_code == 200


def test_stage_limited_officer_sees_only_those_stages(client, world):
    client.force_login(world.user("higher_officer"))
    body = client.get("/orgs/schools/?status=all").content.decode()
    assert LEAK_MARKER_HIGHER in body
    assert "天河测试小学" not in body
    assert client.get(f"/orgs/schools/{world.school_a1.school_code}/").status_code == 404
    client.force_login(world.user("k12_officer"))
    body = client.get("/orgs/schools/?status=all").content.decode()
    assert "天河测试小学" in body and LEAK_MARKER_HIGHER not in body


def test_breadcrumbs_link_only_places_inside_the_scope(client, world):
    client.force_login(world.user("county_a_stat"))
    body = client.get(f"/orgs/regions/{world.county_a.region.code}/").content.decode()
    assert f'href="/orgs/regions/{world.county_a.region.code}/"' in body
    assert 'href="/orgs/regions/440100000000/"' not in body and "广州市" in body





@pytest.mark.parametrize("route", ["students/new/", "staff/new/", "facilities/new/", "facilities/land/new/",
                                   "assets/new/", "assets/holdings/new/"])
def test_body_templates_are_accepted_for_a_school_in_reach(client, world, route):
    """The positive control of the body walk: the same bodies naming the user's own school are
    written, so the walk's refusals come from the foreign targets, not from a bad form."""
    from django.apps import apps

    client.force_login(world.user("county_a_stat"))
    body = {**body_templates(world, "county_a_stat")[route], "school_code": world.school_a1.school_code}

    def rows_at_a1() -> int:
        return sum(m.objects.filter(**{m.SCOPE.school: world.school_a1.pk}).count() for m in apps.get_models()
                   if getattr(m, "SCOPE", None) and m.SCOPE.school and m._meta.app_label not in {"history", "stats", "orgs"})

    before = rows_at_a1()
    response = client.post("/" + route, body)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert rows_at_a1() > before


# --------------------------------------------------------------------------------------------
# An external system bound to county A


class _TokenClient:
    """The test client speaking as an API client: every request carries its bearer token."""

    def __init__(self, client, auth: dict[str, str]) -> None:
        self.client, self.auth = client, auth

    def __getattr__(self, method: str):
        def send(url: str, data=None):
            if method in {"post", "put"}:
                return getattr(self.client, method)(url, data=json.dumps(data or {}), content_type="application/json",
                                                    **self.auth)
            return getattr(self.client, method)(url, data, **self.auth)
        return send


def test_an_api_client_of_county_a_reaches_nothing_of_county_b(client, world):
    """A token client bound to county A holding every grant (unmasked personal data included) walks
    every API route naming a record outside county A — GET and POST refused with a problem, nothing
    shown — reads every list with ``?school_code=`` of county B (403 naming the jurisdiction) and sends
    every writable resource a batch naming a county B school (each record rejected as outside)."""
    from eduplatform.exchange import clients as client_services
    from eduplatform.exchange.clients import GrantSpec
    from eduplatform.exchange.resources import all_resources
    from tests.api_clients_support import bearer, obtain_token

    outside_records(world, "county_a_stat")
    grants = {r.key: GrantSpec(read=True, write=r.writable) for r in all_resources()}
    api_client, secret = client_services.register_client(
        actor=world.user("secadmin"), name="天河区数据中心", organization=world.county_a, grants=grants,
        may_see_personal=True, rate_limit=100_000)
    auth = bearer(obtain_token(client, api_client, secret))
    client.logout()
    walk = Walk(world, "county_a_stat", _TokenClient(client, auth))
    api_routes = [r for r in discover_routes() if r.route.startswith("api/v1/")]
    assert walk_foreign_paths(walk, api_routes) >= 10
    foreign = outside_school(world, "county_a_stat").school_code
    lists = 0
    for resource in all_resources():
        source = resource.extra.get("source")
        if source is None or not source.school_filter:
            continue  # not a school's records (schools, codes, statistics, a bureau's administrators)
        response = walk.request("get", f"/api/v1/{resource.key}?school_code={foreign}", refuse=True)
        if response.status_code == 403:
            assert response.json()["jurisdiction"] == world.county_a.name
        lists += 1
        if resource.writable:
            answer = walk.request("post", f"/api/v1/{resource.key}/batch",
                                  {"mode": "accept_valid", "records": [{"school_code": foreign}]})
            assert answer.status_code == 200, answer.content
            assert answer.json()["results"][0]["result"] == "rejected"
            assert "scope.outside" in {p["code"] for p in answer.json()["results"][0]["problems"]}
    assert lists >= 8
    assert not walk.problems, "\n".join(walk.problems)

"""The scope matrix: every page and API route, discovered from the URL configuration, is walked
as users of different jurisdictions, and none may show or reach what lies outside theirs.

A route added later is covered without editing this file: an app adds a module to
``tests/scope_records`` that makes records outside each checked user's reach and names them by
URL parameter. An unknown parameter name fails ``test_every_url_parameter_is_known_to_the_matrix``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.scope_records import CHECKED_ACTORS, LEAK_MARKERS, outside_records
from tests.world import LEAK_MARKER_B, LEAK_MARKER_HIGHER, World

# Parameters that name public reference data (national code tables), not jurisdictional records.
# Census snapshots cover the whole province; each user reads them only for its own jurisdiction.
# The public portal's years are public by definition.
PUBLIC_PARAMETERS = {"table_key", "import_kind", "snapshot_id", "year"}
# Routes that are not pages of records: static files, auth plumbing, API documentation.
SKIPPED_ROUTES = re.compile(r"^(static/|accounts/(login|logout)/$|api/v1/(docs|openapi\.json))")


def public_values(parameter: str, own_region: str, world: World) -> list[str]:
    """Values to fill a list route's parameter with: the user's own region, every import kind, a
    snapshot taken after the records outside the user's reach were made …"""
    from eduplatform.imports import registry

    if parameter == "snapshot_id":
        from django.utils import timezone

        from eduplatform.stats.snapshots import take_snapshot

        return [str(take_snapshot(actor=world.user("province"), census_date=timezone.localdate()).pk)]
    if parameter == "year":
        from django.utils import timezone

        from eduplatform.stats.snapshots import publish_snapshot, take_snapshot

        officer = world.user("province")
        published = publish_snapshot(actor=officer, snapshot=take_snapshot(actor=officer, census_date=timezone.localdate()))
        return [str(published.census_date.year)]
    if parameter == "region_code":
        return [own_region]
    if parameter == "import_kind":
        return [kind.key for kind in registry.all_kinds()]
    if parameter == "table_key":
        return ["ethnicity"]
    raise AssertionError(f"no public values for {parameter}: add them here")


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


def discover_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                route = route.lstrip("^").rstrip("$")
                names = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
                routes.append(Route(route, names))

    walk(get_resolver().url_patterns, "")
    return [r for r in routes if not SKIPPED_ROUTES.match(r.route)]


def objects_outside(world: World, actor: str) -> dict[str, str | None]:
    """For each URL parameter, a value naming a record outside ``actor``'s jurisdiction: the
    organizations here, the records from every module of ``tests/scope_records``."""
    b_user = world.users["county_b_stat"].pk
    if actor == "county_a_stat":
        base = {"school_code": world.school_b1.school_code, "region_code": world.county_b.region.code,
                "user_id": str(b_user)}
    elif actor == "clerk_a1":
        # Same town, same county, other school: still outside a school clerk's scope.
        base = {"school_code": world.school_a2.school_code, "region_code": world.county_a.region.code,
                "user_id": str(world.users["county_a_stat"].pk)}
    elif actor == "k12_officer":
        # A college's records are outside a K-12 officer's stages; regions are not stage-limited.
        base = {"school_code": world.college_a.school_code, "region_code": None, "user_id": None}
    else:
        raise AssertionError(actor)
    return {**base, **outside_records(world, actor)}


def test_every_url_parameter_is_known_to_the_matrix(world):
    known = set(objects_outside(world, "county_a_stat")) | PUBLIC_PARAMETERS
    unknown = {p for r in discover_routes() for p in r.parameters} - known
    assert not unknown, f"URL parameters unknown to the scope matrix (add them to objects_outside): {unknown}"


def test_route_discovery_sees_pages_and_api():
    routes = {r.route for r in discover_routes()}
    assert "orgs/schools/<str:school_code>/" in routes
    assert any(r.startswith("api/v1/schools/") for r in routes)
    assert len(routes) > 20


@pytest.mark.parametrize("actor", CHECKED_ACTORS)
def test_no_route_reaches_a_record_outside_the_users_jurisdiction(client, world, actor):
    client.force_login(world.user(actor))
    outside = objects_outside(world, actor)
    checked = 0
    for route in discover_routes():
        if not route.parameters or set(route.parameters) & PUBLIC_PARAMETERS:
            continue
        if any(outside[p] is None for p in route.parameters):
            continue  # e.g. regions are not stage-limited; their pages are covered by the leak test
        url = route.fill(outside)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in {403, 404, 405}, f"{actor} {method.upper()} {url} → {response.status_code}"
            body = response.content.decode("utf-8", "replace")
            for marker in LEAK_MARKERS[actor]:
                assert marker not in body, f"{actor} {method.upper()} {url} shows {marker}"
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("actor", CHECKED_ACTORS)
def test_no_list_page_shows_records_outside_the_users_jurisdiction(client, world, actor):
    outside_records(world, actor)  # records outside the jurisdiction for the lists to (not) show
    client.force_login(world.user(actor))
    own_region = world.user(actor).organization.region.code
    probes = ["", "?q=测试", "?q=泄漏", "?status=all", "?q=2144000002", "?q=4144000001", "?format=xlsx"]
    checked = 0
    urls = []
    for route in discover_routes():
        if not set(route.parameters) <= {"region_code"} | PUBLIC_PARAMETERS:
            continue
        for values in itertools.product(*(public_values(p, own_region, world) for p in route.parameters)):
            urls.append(route.fill(dict(zip(route.parameters, values, strict=True))))
    for url in urls:
        for probe in probes:
            response = client.get(url + probe)
            if response.status_code != 200:
                continue
            body = _text_of(response)
            for marker in LEAK_MARKERS[actor]:
                assert marker not in body, f"{actor} GET {url}{probe} shows {marker}"
            checked += 1
    assert checked >= 10


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


def _text_of(response) -> str:
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        import io

        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        return "\n".join(
            ",".join(str(c) for c in row) for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
        )
    return response.content.decode("utf-8", "replace")


def test_breadcrumbs_link_only_places_inside_the_scope(client, world):
    client.force_login(world.user("county_a_stat"))
    body = client.get(f"/orgs/regions/{world.county_a.region.code}/").content.decode()
    assert f'href="/orgs/regions/{world.county_a.region.code}/"' in body
    assert 'href="/orgs/regions/440100000000/"' not in body and "广州市" in body

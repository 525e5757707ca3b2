"""Malformed input on every route: no 500, ever (issue 11, point 9).

Every route is discovered from the URL configuration (like the scope matrix), then requested as a
province officer and as a school clerk with each path parameter, and with the common filter names,
set to NUL bytes, control characters, bidirectional overrides, huge and negative numbers — by GET,
and by POST with the same names as form fields. A refusal (400), a 404 or a page that ignores the
value are all fine; a 500 or an exception is not.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from django.db import connection, transaction

from tests.routes import url_routes

SKIPPED = re.compile(r"^(static/|accounts/logout/$|api/v1/(docs|openapi\.json))")
FUZZ_VALUES = (
    "a\x00b",
    "\x01\x1b[31m",
    "\u202eabc\u202c",
    "x\u2066y\u2069",
    "99999999999999999999",
    "-99999999999999999999",
    "9223372036854775807",
    "-1",
)
FILTER_NAMES = (
    "q", "page", "cohort", "region", "school", "class", "snapshot", "year", "grade", "stage", "status", "level",
    "from", "to", "as_of", "kind", "measure", "compare", "born_from", "born_to", "unit", "id", "next", "school_code",
    "name", "username", "building_number", "equipment_number", "number", "date", "census_date", "mode", "dimension",
    "rows", "columns", "indicator", "base", "cursor", "limit", "region_code", "after", "before",
)
ACTORS = ("province", "clerk_a1")


def discover_routes() -> list[tuple[str, tuple[str, ...]]]:
    return [(route, names) for route, names in url_routes() if not SKIPPED.match(route)]


def fill(route: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        route = re.sub(rf"<(?:\w+:)?{name}>", quote(value, safe=""), route)
        route = route.replace("{" + name + "}", quote(value, safe=""))
    return "/" + route


def own_values(world, actor: str) -> dict[str, str]:
    """Path values that lead somewhere real for the actor, so the filters behind them are reached."""
    school = world.school_a1
    return {"school_code": school.school_code, "region_code": school.region.code, "table_key": "ethnicity",
            "import_kind": "students"}


def _request(client, method: str, url: str, data: dict | None = None):
    """One request in a savepoint rolled back afterwards, so that on PostgreSQL a failed statement
    cannot poison the requests after it (in production each request has its own transaction)."""
    savepoint = transaction.savepoint()
    try:
        return getattr(client, method)(url, data or {}), None
    except Exception as exc:  # the test client re-raises a view's exception: that is a 500
        return None, f"{exc.__class__.__name__}: {str(exc)[:120]}"
    finally:
        transaction.savepoint_rollback(savepoint)
        connection.needs_rollback = False


@pytest.mark.parametrize("actor", ACTORS)
def test_no_route_answers_malformed_input_with_a_500(client, world, actor):
    client.force_login(world.user(actor))
    own = own_values(world, actor)
    failures: list[str] = []
    requests = 0
    for route, parameters in discover_routes():
        base = {p: own.get(p, "1") for p in parameters}
        for value in FUZZ_VALUES:
            attempts = []
            # Each path parameter in turn.
            for p in parameters:
                attempts.append(("get", fill(route, {**base, p: value}), None))
                attempts.append(("post", fill(route, {**base, p: value}), {}))
            # The common filters as query parameters and as form fields.
            url = fill(route, base)
            attempts.append(("get", url + "?" + urlencode({n: value for n in FILTER_NAMES}), None))
            attempts.append(("get", url + "?" + urlencode({"format": "xlsx", "q": value, "page": value}), None))
            attempts.append(("post", url, {n: value for n in FILTER_NAMES}))
            for method, target, data in attempts:
                response, error = _request(client, method, target, data)
                requests += 1
                if error or response.status_code >= 500:
                    failures.append(f"{method.upper()} {target!r} {data and list(data)[:3]} → "
                                    f"{error or response.status_code}")
    assert requests > 1000
    unique = sorted(set(failures))
    assert not unique, f"{len(unique)} requests answered with a 500:\n" + "\n".join(unique[:80])


def test_a_nul_byte_in_a_search_box_is_refused_with_a_chinese_page(client, world):
    client.force_login(world.user("province"))
    response = client.get("/orgs/schools/", {"q": "天河\x00"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "查询参数「q」含有不允许的字符（空字符 U+0000）" in body


def test_a_bidi_override_in_a_form_field_is_refused(client, world):
    client.force_login(world.user("clerk_a1"))
    response = client.post("/facilities/new/", {"name": "教学楼\u202e1"})
    assert response.status_code == 400
    assert "文字方向控制符 U+202E" in response.content.decode()


def test_an_out_of_range_number_is_refused_on_pages_and_as_problem_json_in_the_api(client, world):
    client.force_login(world.user("province"))
    response = client.get("/students/", {"cohort": "99999999999999999999"})
    assert response.status_code == 400
    assert "超出允许范围" in response.content.decode()
    api = client.get("/api/v1/schools", {"cursor": "a\x00"})
    assert api.status_code == 400 and api["Content-Type"] == "application/problem+json"
    assert api.json()["code"] == "request.bad_input"


def test_line_breaks_and_tabs_in_a_text_area_are_still_accepted(client, world):
    from eduplatform.core.input_guard import problem_in

    assert problem_in("说明", "第一行\r\n第二行\t制表") is None
    assert problem_in("学号", "9223372036854775807") is None
    assert problem_in("学号", "9223372036854775808") is not None

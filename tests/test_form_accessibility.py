"""Forms tie each error and hint to its field (issue 18): a screen reader reading a field also reads
what is wrong with it and what it expects (``aria-invalid``, ``aria-describedby`` naming elements
that exist), and fields marked 「*」 carry ``required``."""

from __future__ import annotations

import re

import pytest

from tests.world import World

pytestmark = pytest.mark.django_db


def tag(page: str, name: str) -> str:
    return re.search(rf"<(?:input|select|textarea)[^>]*name=\"{name}\"[^>]*>", page).group(0)


def test_a_field_with_an_error_points_at_its_message_and_hint(client, world: World):
    client.force_login(world.user("clerk_a1"))
    page = client.post("/students/new/", {"name": "", "gender": "1"}).content.decode()
    field = tag(page, "name")
    assert 'aria-invalid="true"' in field
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    assert described == ["id_name_helptext", "id_name_error"]
    for element_id in described:
        assert f'id="{element_id}"' in page, element_id
    error = re.search(r'<div class="field-error" id="id_name_error"[^>]*>([^<]+)</div>', page)
    assert error and error.group(1).strip()
    untouched = tag(page, "former_name")
    assert "aria-invalid" not in untouched and " required" not in untouched


def test_fields_marked_required_carry_the_attribute(client, world: World):
    client.force_login(world.user("clerk_a1"))
    page = client.get("/students/new/").content.decode()
    for name in ("name", "gender", "birth_date", "ethnicity", "grade", "entered_on"):
        assert " required" in tag(page, name), name

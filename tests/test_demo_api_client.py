"""The demo's external system (printed by `make demo`): its published secret obtains a token over the
real token endpoint, the token reads 天河区's records and nothing outside, and registering it twice
changes nothing."""

from __future__ import annotations

import pytest

from eduplatform.demo import exchange as demo_exchange
from eduplatform.exchange.models import ApiClient
from tests.api_clients_support import bearer, token_response

pytestmark = pytest.mark.django_db


def test_the_demo_client_works_with_the_secret_make_demo_prints(client, world):
    api_client = demo_exchange.generate(seed=2026)
    assert api_client is not None and api_client.organization == world.county_a
    assert demo_exchange.generate(seed=2026) == api_client and ApiClient.objects.count() == 1
    lines = "\n".join(demo_exchange.describe(api_client))
    assert api_client.application.client_id in lines and demo_exchange.DEMO_SECRET in lines
    assert token_response(client, api_client.application.client_id, "wrong").status_code == 401
    response = token_response(client, api_client.application.client_id, demo_exchange.DEMO_SECRET)
    assert response.status_code == 200, response.content
    auth = bearer(response.json()["access_token"])
    assert client.get("/api/v1/students", **auth).status_code == 200
    refused = client.get("/api/v1/students", {"school_code": world.school_b1.school_code}, **auth)
    assert refused.status_code == 403 and refused.json()["code"] == "scope.outside"

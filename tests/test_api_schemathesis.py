"""schemathesis against the OpenAPI document, through the WSGI app (no network, no server).

Every operation of /api/v1/ — the GET routes and the batch and single-record writes — is called with
requests generated from its schema, as an external system holding a token with every grant of its
county: no answer may be a server error (5xx), and every documented answer must match its schema.
Bounded (few examples per operation, derandomized, no example database) so a pass stays near a
minute per database; everything written is rolled back with the test's transaction.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from functools import cache

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from eduplatform.exchange import resources as registry
from eduplatform.exchange.clients import GrantSpec
from eduplatform.exchange.clients import register_client as register_api_client
from tests.api_clients_support import obtain_token

MAX_EXAMPLES = 6  # per operation: a few valid-shaped requests each, enough to reach the handlers
BUDGET_SECONDS = 120  # CPU seconds of the whole walk, per database (measured 16 s wall on a quiet machine)
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@cache  # one load of the document per run (the app is the same WSGI handler)
def operations() -> list:
    schema = openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    found = [result.ok() for result in schema.get_all_operations()]
    assert found, "the OpenAPI document has no operations"
    return found


def client_token(world) -> str:
    """A county A system holding every grant there is (writes where the resource takes them)."""
    grants = {r.key: GrantSpec(read=True, write=r.writable) for r in registry.all_resources()}
    api_client, secret = register_api_client(
        actor=world.user("secadmin"), name="契约测试系统", organization=world.county_a, grants=grants,
        vendor="测试", contact="测试", rate_limit=100_000, may_see_personal=True)
    return obtain_token(Client(), api_client, secret)


def test_the_document_lists_the_resources_routes(db):
    found = operations()
    paths = {op.path for op in found}
    for expected in ("/changes", "/codes", "/codes/{table_key}", "/statistics/live", "/students/batch"):
        assert any(p.endswith(expected) for p in paths), expected
    assert {op.method.upper() for op in found} >= {"GET", "POST"}


@contextmanager
def connection_kept_across_requests():
    """What Django's test client does around each request: a WSGI request must not close the
    connection that holds the test's transaction (``close_old_connections`` on request start and
    end). (The test client reconnects the receiver after each of its own requests.)"""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def walk(operation, headers: dict[str, str], failures: list[str], statuses: dict[str, set[int]],
         known: dict[str, str] | None = None) -> None:
    """Call ``operation`` with a few generated requests; record its statuses and what failed."""
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    def call(case):
        # Every other example names a real unit of the client's county in the path, so writes get
        # past the scope check to the record checks (random codes alone only ever meet a 403).
        seen = statuses.setdefault(label + " #", set())
        if known and len(seen) % 2:
            for name in case.path_parameters or {}:
                if name in known:
                    case.path_parameters[name] = known[name]
        seen.add(len(seen))
        # Each example in its own savepoint, rolled back: a failed statement (PostgreSQL aborts the
        # transaction) or a write never leaks into the next example.
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=headers)
        finally:
            transaction.savepoint_rollback(savepoint)
        statuses.setdefault(label, set()).add(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    try:
        call()
    except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 — collected: one run names every failing route
        failures.append(f"{label}: {str(failure)[:1500]}")


def test_no_server_errors_and_no_schema_violations(world):
    # identity: the WSGI transport hands schemathesis the body as sent, and GZipMiddleware would zip it.
    headers = {"Authorization": f"Bearer {client_token(world)}", "Accept-Encoding": "identity"}
    started = time.process_time()  # CPU time: wall time depends on what else the machine runs
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    with connection_kept_across_requests():
        for operation in operations():
            walk(operation, headers, failures, statuses, {"school_code": world.school_a1.school_code})

    assert not failures, "\n\n".join(failures)
    # Every operation of the document was called, reads and writes (a route added later is walked too).
    statuses = {label: codes for label, codes in statuses.items() if not label.endswith(" #")}
    every = {f"{op.method.upper()} {op.path}" for op in operations()}
    assert set(statuses) == every, sorted(every - set(statuses))
    # Single-record writes reached the record checks in the client's own county (not only 403s).
    puts = {label: codes for label, codes in statuses.items() if label.startswith("PUT ") and "school_code" in label}
    assert puts and all(codes - {400, 401, 403} for codes in puts.values()), puts
    # The walk reached the handlers (not only 401s and 422s): reads answered 200 somewhere.
    answered = {label for label, codes in statuses.items() if 200 in codes}
    assert any("/changes" in label for label in answered) and any("/codes" in label for label in answered)
    assert any(label.split()[0] in WRITE_METHODS for label in statuses), "no write route was exercised"
    assert time.process_time() - started < BUDGET_SECONDS


@pytest.mark.parametrize("path", ["/api/v1/openapi.json"])
def test_the_document_is_served_without_signing_in(db, path):
    assert Client().get(path).status_code == 200

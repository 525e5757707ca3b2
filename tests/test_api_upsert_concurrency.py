"""Two identical batch requests with one Idempotency-Key, sent at the same moment from separate
connections (PostgreSQL, committing): the batch applies once. The first request's work is slowed
down so that the second surely arrives while it runs; the second is told ``idempotency.in_progress``
and a retry after the first finished gets the stored answer."""

from __future__ import annotations

import json
import time

from django.test import Client

from eduplatform.exchange import upsert
from eduplatform.exchange.models import IdempotencyRecord
from eduplatform.history.models import ChangeFeedEntry
from eduplatform.students.models import Student
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.students_support import student_row

pytestmark = [committing, postgres_only]


def test_simultaneous_requests_with_one_key_apply_once(world, monkeypatch):
    original = upsert.upsert

    def slow(**kwargs):
        time.sleep(1.0)  # the window in which the duplicate arrives
        return original(**kwargs)

    monkeypatch.setattr(upsert, "upsert", slow)
    body = json.dumps({"mode": "accept_valid",
                       "records": [student_row(i, school_code="2144000001") for i in range(1, 21)]})
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(world.user("clerk_a1"))

    def send(c: Client, delay: float):
        def run():
            time.sleep(delay)
            return c.post("/api/v1/students/batch", data=body, content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY="same-key")
        return run

    answers = run_concurrently(send(clients[0], 0), send(clients[1], 0.3))
    # Whichever claimed the key first (thread start-up varies) applies; the other is told to wait.
    first, second = sorted(answers, key=lambda a: a.status_code)
    assert first.status_code == 200 and first.json()["created"] == 20
    assert second.status_code == 409 and second.json()["code"] == "idempotency.in_progress"
    assert second["Retry-After"]
    assert Student.objects.count() == 20
    assert ChangeFeedEntry.objects.filter(resource="student").count() == 20
    retry = clients[1].post("/api/v1/students/batch", data=body, content_type="application/json",
                            HTTP_IDEMPOTENCY_KEY="same-key")
    assert retry.status_code == 200 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Student.objects.count() == 20 and IdempotencyRecord.objects.get().state == "done"


def test_simultaneous_requests_without_delay_still_apply_once(world):
    body = json.dumps({"records": [student_row(i, school_code="2144000001") for i in range(1, 11)]})
    clients = [Client() for _ in range(4)]
    for c in clients:
        c.force_login(world.user("clerk_a1"))

    def send(c: Client):
        return lambda: c.post("/api/v1/students/batch", data=body, content_type="application/json",
                              HTTP_IDEMPOTENCY_KEY="k-4")

    answers = run_concurrently(*(send(c) for c in clients))
    fresh = [a for a in answers if a.status_code == 200 and not a.has_header("Idempotent-Replayed")]
    assert len(fresh) == 1
    assert all(a.status_code == 409 or a.has_header("Idempotent-Replayed") for a in answers if a not in fresh)
    assert Student.objects.count() == 10

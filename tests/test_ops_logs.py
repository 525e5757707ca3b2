"""Structured logs (eduplatform/ops/logs.py): one JSON object a line, stamped with the request id
the response carries, at the application's key points — login failures, background jobs, errors."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

from eduplatform.ops.logs import JsonFormatter, RequestContextFilter
from eduplatform.ops.tasks import heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines(settings) -> Iterator[io.StringIO]:
    """Every line logged under eduplatform.* and django.request while the test runs, parsed."""
    settings.OPS_ACCESS_LOG = True
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    loggers = [logging.getLogger("eduplatform"), logging.getLogger("django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)


def read(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_login_failure_is_logged_with_the_request_id_of_its_response(client, world, log_lines):
    response = client.post("/accounts/login/", {"username": "clerk_a1", "password": "wrong-Password-1"})
    stranger = client.post("/accounts/login/", {"username": "MyPassword!2026", "password": "x"})
    lines = read(log_lines)
    failed = [line for line in lines if line.get("event") == "login_failed"]
    assert len(failed) == 2
    assert failed[0]["username"] == "clerk_a1" and failed[0]["account_exists"] is True
    assert failed[0]["request_id"] == response["X-Request-ID"]
    assert failed[0]["level"] == "WARNING" and failed[0]["logger"] == "eduplatform.security"
    # A name that is no account (often a password typed one field early) is not written down.
    assert failed[1]["username"] == "" and "MyPassword" not in json.dumps(lines)
    assert failed[1]["request_id"] == stranger["X-Request-ID"]
    access = [line for line in lines if line.get("event") == "request"]
    assert access[0]["route"] == "accounts:login" and access[0]["status"] == 200
    assert access[0]["request_id"] == response["X-Request-ID"] and access[0]["duration_ms"] >= 0


def test_a_background_job_logs_its_start_and_end_with_its_duration(log_lines, settings):
    # The backends send the same task_started/task_finished signals; the immediate one runs the job
    # here (db_worker's connection housekeeping would close the test's transaction on PostgreSQL).
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    result = heartbeat.enqueue()
    lines = [line for line in read(log_lines) if line.get("job_id") == str(result.id)]
    assert [line["event"] for line in lines] == ["job_started", "job_finished"]
    assert lines[1]["status"] == "SUCCESSFUL" and lines[1]["duration_ms"] >= 0
    assert lines[1]["task"] == "eduplatform.ops.tasks.heartbeat"


def _broken(request):
    raise RuntimeError("boom in a view")


urlpatterns = [path("broken/", _broken), path("ok/", lambda request: HttpResponse("ok"))]


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_logged_with_its_traceback_and_request_id(log_lines):
    client = Client(raise_request_exception=False)
    response = client.get("/broken/")
    assert response.status_code == 500
    errors = [line for line in read(log_lines) if line["logger"] == "django.request"]
    assert len(errors) == 1
    assert errors[0]["level"] == "ERROR" and "RuntimeError: boom in a view" in errors[0]["exc"]
    assert errors[0]["request_id"] == response["X-Request-ID"]


def test_the_json_formatter_keeps_chinese_and_extra_fields_on_one_line():
    record = logging.LogRecord("eduplatform.x", logging.INFO, __file__, 1, "已保存 %s", ("学生",), None)
    record.school_id = 7
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["msg"] == "已保存 学生" and entry["school_id"] == 7 and entry["ts"].endswith("+00:00")

"""/healthz, /readyz and /metrics (eduplatform/ops): what they answer, to whom, and that they
reveal nothing — the same answer for everyone, no session, no record."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from eduplatform.ops import health
from eduplatform.ops.tasks import HEARTBEAT_TASK_PATH, heartbeat

pytestmark = pytest.mark.django_db


def run_worker() -> None:
    """What ``db_worker`` does with each queued job — claim it, run it, store its result — without
    its connection housekeeping, which on PostgreSQL closes the test's transaction under it."""
    from django_tasks_db.models import DBTaskResult

    for job in DBTaskResult.objects.ready():
        job.claim("test-worker")
        job.set_successful(job.task.call(*job.args_kwargs["args"], **job.args_kwargs["kwargs"]))


def test_healthz_answers_probes_before_host_checks_and_https_redirects(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["edu.gd.example.cn"]
    # A docker or load-balancer probe: plain HTTP, an internal host name.
    response = client.get("/healthz", HTTP_HOST="10.0.0.5:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    # Any other path under the same conditions is still refused / redirected by Django.
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.5:8000").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="edu.gd.example.cn").status_code == 301


def test_probes_accept_get_only(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def test_readyz_waits_for_a_worker_heartbeat_then_is_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"
    assert "后台任务进程无响应" in body["checks"]["worker"]
    heartbeat.enqueue()
    run_worker()
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"


def test_readyz_fails_on_a_stale_heartbeat(client, settings):
    heartbeat.enqueue()
    run_worker()
    settings.OPS_WORKER_STALE_SECONDS = 60
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK_PATH).update(
        finished_at=timezone.now() - dt.timedelta(seconds=90))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "最近一次心跳在 90 秒前" in response.json()["checks"]["worker"]


def test_readyz_names_unapplied_migrations(client, monkeypatch):
    heartbeat.enqueue()
    run_worker()
    monkeypatch.setattr(health, "_migrations_applied", False)
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute("DELETE FROM django_migrations WHERE app = 'history' AND name = "
                       "(SELECT max(name) FROM django_migrations WHERE app = 'history')")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "有 1 个数据库迁移尚未执行" in response.json()["checks"]["migrations"]


def test_the_probes_reveal_nothing_and_are_the_same_for_everyone(client, world):
    heartbeat.enqueue()
    run_worker()
    anonymous = {path: client.get(path) for path in ("/healthz", "/readyz")}
    officer = Client()
    officer.force_login(world.user("province"))
    for path, answer in anonymous.items():
        signed_in = officer.get(path)
        assert signed_in.status_code == answer.status_code == 200
        assert set(json.loads(signed_in.content)) <= {"status", "checks"}
        # Only the worker's age in seconds may differ between the two answers.
        strip = lambda body: {k: v for k, v in json.loads(body).items() if k != "checks"}  # noqa: E731
        assert strip(signed_in.content) == strip(answer.content)
        assert "Set-Cookie" not in answer and not answer.cookies
    assert world.school_a1.name not in anonymous["/readyz"].content.decode()


def test_metrics_need_the_allow_list_or_the_token(settings):
    settings.OPS_METRICS_TOKEN = "scrape-token-0123456789"
    outsider = Client(REMOTE_ADDR="203.0.113.9")
    assert outsider.get("/metrics").status_code == 403
    assert outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    settings.OPS_METRICS_TOKEN = ""
    assert outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_metrics_report_latency_by_route_queue_depth_and_roll_up_lag(world):
    from eduplatform.history.models import DirtySchool

    client = Client(REMOTE_ADDR="127.0.0.1")
    client.force_login(world.user("province"))
    assert client.get("/students/").status_code == 200
    DirtySchool.objects.all().delete()  # the world's own marks (its commits never happened)
    DirtySchool.objects.create(school_id=world.school_a1.pk, marked_at=timezone.now() - dt.timedelta(minutes=2))
    DirtySchool.objects.create(school_id=world.school_a2.pk)
    heartbeat.enqueue()
    text = client.get("/metrics").content.decode()
    assert 'edu_http_request_duration_seconds_count{method="GET",route="students:list",status="2xx"}' in text
    assert f'edu_jobs{{state="READY",task="{HEARTBEAT_TASK_PATH}"}} 1.0' in text
    assert 120 <= value(text, "edu_rollup_lag_seconds") < 180  # the oldest mark's age
    assert value(text, "edu_rollup_dirty_marks") == 2
    assert "edu_worker_heartbeat_age_seconds -1.0" in text  # queued, never run
    assert "edu_metrics_database_up 1.0" in text


def value(text: str, name: str) -> float:
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(f"{name} ")))


def test_every_response_carries_a_request_id_and_a_proxys_id_is_kept(client):
    first, second = client.get("/accounts/login/"), client.get("/accounts/login/")
    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]
    kept = client.get("/accounts/login/", HTTP_X_REQUEST_ID="9f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f")
    assert kept["X-Request-ID"] == "9f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f"
    forged = client.get("/accounts/login/", HTTP_X_REQUEST_ID="x\" injected {}")
    assert forged["X-Request-ID"] != "x\" injected {}" and len(forged["X-Request-ID"]) == 32

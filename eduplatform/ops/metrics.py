"""Prometheus metrics at ``/metrics``: request latency by route, and figures read from the
database at scrape time — job queue depth, roll-up lag (age of the oldest dirty mark), the worker's
heartbeat age, and the replication lag of city nodes.

Under gunicorn each worker process keeps its own histogram; with ``PROMETHEUS_MULTIPROC_DIR`` set
(``deploy/gunicorn.conf.py`` and ``deploy/serve.sh`` set it) they are written to files there and
summed at scrape time, so any worker answering ``/metrics`` reports the whole server.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger("eduplatform.ops")

# Buckets around the platform's goals: a page in 300 ms (p95 at 50 users), a figure in 200 ms.
REQUEST_LATENCY = Histogram(
    "edu_http_request_duration_seconds",
    "Time from the request entering Django to the response leaving it, by URL route name.",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0),
)


def observe(route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in {"GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"} else "OTHER"
    REQUEST_LATENCY.labels(route=route, method=method, status=f"{status // 100}xx").observe(seconds)


class DatabaseCollector:
    """Figures read from the database when Prometheus scrapes (one small query each)."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        try:
            yield from self._jobs(now)
            yield from self._rollups(now)
            yield from self._nodes()
        except Exception:  # a scrape must answer even when the database does not
            log.exception("metrics: database figures unavailable")
            up = GaugeMetricFamily("edu_metrics_database_up", "Whether the database figures could be read.")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("edu_metrics_database_up", "Whether the database figures could be read.")
        up.add_metric([], 1)
        yield up

    def _jobs(self, now) -> Iterator[Metric]:
        from django_tasks_db.models import DBTaskResult

        from eduplatform.ops import health

        depth = GaugeMetricFamily("edu_jobs", "Background jobs by state (READY = queued) and task.",
                                  labels=["state", "task"])
        for row in (DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
                    .values("status", "task_path").annotate(n=Count("id")).order_by()):
            depth.add_metric([row["status"], row["task_path"]], row["n"])
        yield depth
        oldest = DBTaskResult.objects.filter(status="READY").aggregate(at=Min("enqueued_at"))["at"]
        wait = GaugeMetricFamily("edu_jobs_oldest_queued_seconds", "Age of the oldest job still waiting for a worker.")
        wait.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield wait
        age = health.worker_heartbeat_age() if health.uses_worker() else 0.0
        beat = GaugeMetricFamily("edu_worker_heartbeat_age_seconds",
                                 "Seconds since the worker last finished a heartbeat job (-1: never).")
        beat.add_metric([], -1.0 if age is None else age)
        yield beat

    def _rollups(self, now) -> Iterator[Metric]:
        from eduplatform.history.models import DirtySchool

        marks = DirtySchool.objects.aggregate(n=Count("id"), oldest=Min("marked_at"))
        count = GaugeMetricFamily("edu_rollup_dirty_marks", "Schools marked for a roll-up refresh, not yet refreshed.")
        count.add_metric([], marks["n"] or 0)
        yield count
        lag = GaugeMetricFamily("edu_rollup_lag_seconds", "Age of the oldest dirty mark: how stale the statistics may be.")
        lag.add_metric([], (now - marks["oldest"]).total_seconds() if marks["oldest"] else 0.0)
        yield lag

    def _nodes(self) -> Iterator[Metric]:
        from eduplatform.nodes import status

        published, subscribed = status.all_states(ask_province=False)
        lag_bytes = GaugeMetricFamily("edu_node_replication_lag_bytes",
                                      "City node replication lag in bytes (side = province or node).",
                                      labels=["city", "side"])
        lag_seconds = GaugeMetricFamily("edu_node_replication_lag_seconds",
                                        "City node replication lag in seconds (province: replay lag; node: last heartbeat).",
                                        labels=["city", "side"])
        for node, state in published:
            if state.lag_bytes is not None:
                lag_bytes.add_metric([node.city_code, "province"], state.lag_bytes)
            if state.replay_lag_s is not None:
                lag_seconds.add_metric([node.city_code, "province"], state.replay_lag_s)
        for node, state in subscribed:
            if state.lag_bytes is not None:
                lag_bytes.add_metric([node.city_code, "node"], state.lag_bytes)
            if state.heartbeat_lag_s is not None:
                lag_seconds.add_metric([node.city_code, "node"], state.heartbeat_lag_s)
        yield lag_bytes
        yield lag_seconds


class _ProcessCollector:
    """This process's own registry (the latency histogram, Python and process figures)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def allowed(client_ip: str, authorization: str) -> bool:
    """A scrape is let in by the bearer token (``OPS_METRICS_TOKEN``) or from an address of the
    allow-list (``OPS_METRICS_ALLOW``, CIDR, default this host only)."""
    import hmac

    token = settings.OPS_METRICS_TOKEN
    if token and authorization.startswith("Bearer ") and hmac.compare_digest(
            authorization[7:].strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in settings.OPS_METRICS_ALLOW)

"""Reading a client's call log for its traffic page: calls per day by status class, latency
percentiles, errors by problem code, recent calls (keyset-paged by the page)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from eduplatform.exchange.models import ApiCallLog, ApiClient

TRAFFIC_DAYS = 14
RECENT_CALLS_ORDER = ("-id",)


@dataclass(frozen=True)
class DayTraffic:
    day: dt.date
    calls: int
    ok: int  # 2xx/3xx
    client_errors: int  # 4xx
    server_errors: int  # 5xx
    records: int


@dataclass(frozen=True)
class Latency:
    calls: int
    p50: int | None
    p95: int | None
    slowest: int | None


def calls_of(client: ApiClient) -> QuerySet[ApiCallLog]:
    """Every call of ``client`` (the caller reached the client through a scoped selector)."""
    return ApiCallLog.objects.filter(client=client)


def since(days: int = TRAFFIC_DAYS) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def per_day(client: ApiClient, days: int = TRAFFIC_DAYS) -> list[DayTraffic]:
    from django.db.models import Sum

    rows = (
        calls_of(client).filter(occurred_at__gte=since(days))
        .annotate(day=TruncDate("occurred_at")).values("day")
        .annotate(calls=Count("id"), ok=Count("id", filter=Q(status__lt=400)),
                  client_errors=Count("id", filter=Q(status__gte=400, status__lt=500)),
                  server_errors=Count("id", filter=Q(status__gte=500)), records=Sum("records"))
        .order_by("-day")
    )
    return [DayTraffic(day=r["day"], calls=r["calls"], ok=r["ok"], client_errors=r["client_errors"],
                       server_errors=r["server_errors"], records=r["records"] or 0) for r in rows]


def latency(client: ApiClient, days: int = TRAFFIC_DAYS) -> Latency:
    """p50 and p95 by nearest rank (the same on SQLite and PostgreSQL): count, then read the row at
    rank ⌈p·n⌉ of the latencies in order."""
    qs = calls_of(client).filter(occurred_at__gte=since(days))
    n = qs.count()
    if n == 0:
        return Latency(calls=0, p50=None, p95=None, slowest=None)
    ordered = qs.order_by("latency_ms").values_list("latency_ms", flat=True)

    def at(fraction: float) -> int:
        return ordered[min(n - 1, max(0, math.ceil(fraction * n) - 1))]

    return Latency(calls=n, p50=at(0.50), p95=at(0.95), slowest=qs.aggregate(m=Max("latency_ms"))["m"])


def errors_by_code(client: ApiClient, days: int = TRAFFIC_DAYS) -> list[dict]:
    return list(
        calls_of(client).filter(occurred_at__gte=since(days), status__gte=400)
        .values("problem_code", "status").annotate(calls=Count("id"), last=Max("occurred_at"))
        .order_by("-calls", "problem_code")
    )

"""The call log: one ``ApiCallLog`` row per ``/api/v1/`` call, token or session, written after the
response is built — the traffic page of each client reads it.

Kept cheap: no query before the view, one INSERT after it, nothing parsed (the problem code rides
on the response as ``problem_code``, records on the request as ``api_records``, set by the views).
Logging never fails a call: a failed INSERT is logged and the response goes out unchanged.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from eduplatform.exchange.models import ApiCallLog

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_pattern(request: HttpRequest) -> str:
    """“/api/v1/students/{student_number}”: the route, not the path, so calls group by route."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return ""
    return "/" + _CONVERTER.sub(r"{\1}", match.route)


def _text(value: str, limit: int) -> str:
    """A path may carry a NUL byte (PostgreSQL text refuses it) or anything else a scanner sends."""
    return value.replace("\x00", "\ufffd")[:limit]


def _records(request: HttpRequest) -> int:
    value = getattr(request, "api_records", 0)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


class ApiCallLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        latency_ms = int((time.perf_counter() - started) * 1000)
        try:
            client = getattr(request, "api_client", None)
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
            row = ApiCallLog(
                client=client,
                user_id=user_id,
                occurred_at=timezone.now(),
                method=_text(request.method or "", 8),
                route=_text(route_pattern(request), 200) or "(未知路由)",
                path=_text(request.path, 500),
                status=response.status_code,
                latency_ms=latency_ms,
                records=_records(request),
                problem_code=_text(str(getattr(response, "problem_code", "")), 64),
                region_path=client.region_path if client is not None else "",
            )
            if connection.in_atomic_block:
                # Inside a transaction (a test's, or ATOMIC_REQUESTS): a failed INSERT must not
                # break it for what follows, so it gets its own savepoint.
                with transaction.atomic():
                    row.save(force_insert=True)
            else:
                row.save(force_insert=True)
        except Exception:  # noqa: BLE001 — the log must never fail the call it records
            log.exception("API call log row not written for %s %s", request.method, request.path)
        return response

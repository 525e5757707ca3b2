"""First in the middleware chain: answers the operations endpoints, and times and logs every other
request under its request id.

``/healthz``, ``/readyz`` and ``/metrics`` are answered here, before the rest of the chain, on
purpose: probes from the load balancer, docker or systemd arrive over plain HTTP with an internal
``Host`` (so ``ALLOWED_HOSTS`` and the HTTPS redirect must not turn them away), must not open a
session, count as a login attempt or be written to the API call log, and must stay cheap. They are
not URL routes of the platform and show nothing of its records (the same answer for everyone);
``/metrics`` is for the monitoring server only (token or address allow-list).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty
from django.utils.translation import gettext

from eduplatform.core import request_context
from eduplatform.ops import health, metrics

access_log = logging.getLogger("eduplatform.access")

PROBES = {"/healthz", "/readyz", "/metrics"}


def _json(payload: dict, status: int) -> HttpResponse:
    response = HttpResponse(json.dumps(payload, ensure_ascii=False), status=status,
                            content_type="application/json; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def answer_probe(request: HttpRequest) -> HttpResponse:
    response = _probe(request)
    # Django logs every 4xx/5xx as a warning or error: a load balancer polling a server that is not
    # ready yet would fill the log with one line every few seconds. The answer says it all.
    response._has_been_logged = True
    return response


def _probe(request: HttpRequest) -> HttpResponse:
    if request.method not in {"GET", "HEAD"}:
        response = HttpResponse(gettext("只接受 GET 请求"), status=405, content_type="text/plain; charset=utf-8")
        response["Allow"] = "GET, HEAD"
        return response
    if request.path == "/healthz":
        return _json({"status": "ok"}, 200)
    if request.path == "/readyz":
        checks = health.readiness()
        ready = all(c.ok for c in checks)
        return _json({"status": "ready" if ready else "not ready",
                      "checks": {c.name: c.detail for c in checks}}, 200 if ready else 503)
    client_ip = request_context.client_ip_of(request)
    if not metrics.allowed(client_ip, request.META.get("HTTP_AUTHORIZATION", "")):
        logging.getLogger("eduplatform.security").warning(
            "metrics refused", extra={"event": "metrics_refused", "client_ip": client_ip})
        return HttpResponse(gettext("无权读取监控指标"), status=403, content_type="text/plain; charset=utf-8")
    from prometheus_client import CONTENT_TYPE_LATEST

    response = HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name (``students:detail``): one series per page, not one per record."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "unnamed"
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    # Only a user the request already loaded: the log line must not cost a session query.
    if user is None or getattr(user, "_wrapped", None) is empty or not user.is_authenticated:
        return None
    return user.pk


class OpsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.access_log = settings.OPS_ACCESS_LOG

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in PROBES:
            return answer_probe(request)
        request_id = request_context.request_id_of(request)
        request.request_id = request_id
        token = request_context.bind_request_id(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            route = route_of(request)
            metrics.observe(route, request.method or "", response.status_code, seconds)
            if self.access_log and route != "static":
                access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                    "event": "request", "method": request.method, "path": request.path, "route": route,
                    "client_ip": request_context.client_ip_of(request),
                    "status": response.status_code, "duration_ms": round(seconds * 1000, 1),
                    "user_id": _user_id(request)})
        finally:
            request_context.unbind_request_id(token)
        if not response.has_header(request_context.REQUEST_ID_HEADER):
            response[request_context.REQUEST_ID_HEADER] = request_id
        return response

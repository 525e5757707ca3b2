"""The client IP and the id of the request being served, for audit entries and log lines written
deep inside services.

Services take the acting user explicitly; the IP and the request id are ambient request metadata,
so a middleware puts them in context variables instead of threading ``request`` through every
service call. The request id is the one the reverse proxy sent (``X-Request-ID``, nginx's
``$request_id``) when it looks like one, else a new one; it is echoed in the response header and
stamped on every log line of the request (eduplatform/ops/logs.py), so a user's complaint, the
proxy's access log and the application's log meet on one id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_client_ip: ContextVar[str] = ContextVar("client_ip", default="")
_request_id: ContextVar[str] = ContextVar("request_id", default="")
# What an incoming id may look like: nginx's 32 hex digits, a UUID, a load balancer's token. Anything
# else (too long, spaces, control characters) is replaced rather than copied into every log line.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REQUEST_ID_HEADER = "X-Request-ID"
# The request being served, for helpers deep inside a view that must hand work to the worker
# (a large export is replayed there as the same request by the same user).
_request: ContextVar[HttpRequest | None] = ContextVar("request", default=None)


def current_request() -> HttpRequest | None:
    return _request.get()


def current_client_ip() -> str:
    return _client_ip.get()


def current_request_id() -> str:
    return _request_id.get()


def request_id_of(request: HttpRequest) -> str:
    """The proxy's id for this request if it sent a well-formed one, else a fresh one."""
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def bind_request_id(request_id: str):
    """Set the current request id (for code outside a request, e.g. a background job); returns the
    token for ``unbind_request_id``."""
    return _request_id.set(request_id)


def unbind_request_id(token) -> None:
    _request_id.reset(token)


def client_ip_of(request: HttpRequest) -> str:
    # Behind the province's reverse proxy the first X-Forwarded-For hop is the client; only
    # trust it when the deployment says a proxy is in front (TRUST_X_FORWARDED_FOR).
    from django.conf import settings

    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The ops middleware (first in the chain) may have fixed the id already, to time and log the
        # whole request under it.
        request_id = getattr(request, "request_id", "") or request_id_of(request)
        request.request_id = request_id
        token = _client_ip.set(client_ip_of(request))
        request_token = _request.set(request)
        id_token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(id_token)
            _request.reset(request_token)
            _client_ip.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response

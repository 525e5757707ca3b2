"""The client IP of the request being served, for audit entries written deep inside services.

Services take the acting user explicitly; the IP is ambient request metadata, so a middleware
puts it in a context variable instead of threading ``request`` through every service call.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_client_ip: ContextVar[str] = ContextVar("client_ip", default="")
# The request being served, for helpers deep inside a view that must hand work to the worker
# (a large export is replayed there as the same request by the same user).
_request: ContextVar[HttpRequest | None] = ContextVar("request", default=None)


def current_request() -> HttpRequest | None:
    return _request.get()


def current_client_ip() -> str:
    return _client_ip.get()


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
        token = _client_ip.set(client_ip_of(request))
        request_token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(request_token)
            _client_ip.reset(token)

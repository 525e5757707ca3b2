"""Turning service errors into pages: the same Chinese message, the right status code."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from eduplatform.core.errors import NotPermitted, OutOfScope


def service_errors_to_pages(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """NotPermitted → 403 page, OutOfScope → 404 page (existence is not revealed)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotPermitted as err:
            return render(request, "web/error.html", {"status": 403, "message": err.message}, status=403)
        except OutOfScope as err:
            return render(request, "web/error.html", {"status": 404, "message": err.message}, status=404)

    return wrapped


def require_capability(capability: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.can(capability):
                raise NotPermitted()
            return view(request, *args, **kwargs)

        return service_errors_to_pages(wrapped)

    return decorator

"""Turning service errors into pages: the same Chinese message, the right status code."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid


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


def decide_open_step(
    request: HttpRequest, *, step: Any, form: Any, decide: Callable[..., Any],
    rerender: Callable[[Any], HttpResponse], done_url: str, settled: str = "",
) -> HttpResponse:
    """Approve or return ``step`` (the step of an approval chain this user may decide) as posted.

    ``decide(actor=, step=, approve=, comment=)`` is the chain's service; when it refuses (a return
    without a reason), the page is rendered again by ``rerender(form)`` with the problem on the form.
    A decision sent twice (a double click) is not an error: the repeat is sent back to the request
    with who decided it and when — ``settled`` when the step was closed before this request arrived,
    the service's ``step.closed`` problem when the first click committed while this one waited.
    """
    if step is None:
        if settled:
            messages.info(request, settled)
            return redirect(done_url)
        raise NotPermitted(gettext("当前审核环节不由您处理，或已处理完毕"))
    form.is_valid()
    approve = request.POST.get("decision") == "approve"
    try:
        decide(actor=request.user, step=step, approve=approve, comment=form.cleaned_data.get("comment", ""))
    except RecordInvalid as err:
        if any(p.code == "step.closed" for p in err.problems):
            messages.info(request, "；".join(p.message for p in err.problems))
            return redirect(done_url)
        for problem in err.problems:
            form.add_error("comment" if problem.field == "comment" else None, problem.message)
        return rerender(form)
    messages.success(request, (gettext("%(title)s：已同意") if approve else gettext("%(title)s：已退回")) % {"title": step.title})
    return redirect(done_url)

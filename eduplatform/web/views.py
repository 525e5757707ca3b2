from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from eduplatform.accounts.middleware import FOCUS_KEY
from eduplatform.orgs.capabilities import VIEW_RECORDS
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import path_in_scope, scope_of
from eduplatform.web.navigation import AREAS
from eduplatform.web.selectors import home_figures


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # The three security roles (三员) administer the platform; they do not read its records.
    # Every other role sees its jurisdiction's figures, by role (web.selectors.home_figures): a province
    # or city officer key figures, progress and quality; a county its lagging schools and the issues
    # waiting for it; a school its own completeness, issues and to-dos.
    figures = home_figures(request.user) if request.user.can(VIEW_RECORDS) else None
    return render(request, "web/dashboard.html", {"nav_active": "dashboard", "figures": figures})


@login_required
@require_POST
def set_focus(request: HttpRequest) -> HttpResponse:
    """Narrow every page to a region inside the user's jurisdiction (never wider)."""
    code = request.POST.get("region", "")
    region = Region.objects.filter(code=code).first()
    base = scope_of(request.user, with_focus=False)
    if region is None or not path_in_scope(request.user, region.path) or region.path == base.region_path:
        request.session.pop(FOCUS_KEY, None)
    else:
        request.session[FOCUS_KEY] = region.path
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


def placeholder_view(slug: str):
    area = next(a for a in AREAS if a.slug == slug)

    @login_required
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, "web/placeholder.html", {"nav_active": slug, "area": area})

    view.__name__ = f"area_{slug}"
    return view

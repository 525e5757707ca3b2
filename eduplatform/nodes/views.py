"""The node status page: state and lag of each city node, at the province and on the node."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from eduplatform.core.views import service_errors_to_pages

from . import selectors


@login_required
@service_errors_to_pages
def node_list(request: HttpRequest) -> HttpResponse:
    city_code = selectors.visible_city_code(request.user)
    published, subscribed = selectors.node_states_for(request.user)
    return render(request, "nodes/node_list.html", {
        "published": published, "subscribed": subscribed, "city_code": city_code,
        "supported": connection.vendor == "postgresql", "nav_active": "nodes",
    })

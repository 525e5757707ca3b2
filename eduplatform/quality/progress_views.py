from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    area = {"label": "建库进度", "summary": "各地基础库建设进度实时监测"}
    return render(request, "web/placeholder.html", {"nav_active": "progress", "area": area})

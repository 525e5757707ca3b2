from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def issue_list(request: HttpRequest) -> HttpResponse:
    area = {"label": "数据质量", "summary": "查重、合理性校验与问题整改"}
    return render(request, "web/placeholder.html", {"nav_active": "quality", "area": area})

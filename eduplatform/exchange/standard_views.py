"""The data standard's public pages and downloads (no sign-in: definitions only, no records)."""

from __future__ import annotations

from urllib.parse import quote

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, gettext

from eduplatform.core import pdf
from eduplatform.core.spreadsheets import XLSX_TYPE, xlsx_workbook
from eduplatform.exchange import standard as data_standard
from eduplatform.standards import selectors as standards
from eduplatform.standards.models import CodeSynonym


def _host(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def standard_page(request: HttpRequest) -> HttpResponse:
    """The standard on screen (``?format=pdf`` or ``?format=xlsx``: the downloadable document)."""
    standard = data_standard.build(host=_host(request))
    fmt = request.GET.get("format", "")
    filename = f"统一数据标准_{standard.api_version}_{standard.fingerprint}"
    if fmt == "xlsx":
        return _download(xlsx_workbook(data_standard.workbook_sheets(standard)), f"{filename}.xlsx", XLSX_TYPE)
    if fmt == "pdf":
        # A PDF takes seconds to lay out; the same standard (fingerprint) gives the same document.
        key = f"exchange:standard-pdf:{standard.fingerprint}:{_host(request)}:{get_language()}"
        content = cache.get(key)
        if content is None:
            content = pdf.render_pdf("exchange/standard/document.html", {
                "standard": standard, "print_title": gettext(standard.title), "print_region": gettext("广东省"),
                "print_period": gettext("接口版本 %(version)s") % {"version": standard.api_version},
                "print_version": gettext("标准指纹 %(fingerprint)s") % {"fingerprint": standard.fingerprint},
                "printed_at": timezone.now()})
            cache.set(key, content, 3600)
        return _download(content, f"{filename}.pdf", "application/pdf")
    return render(request, "exchange/standard/index.html", {"standard": standard})


def code_table_page(request: HttpRequest, table_key: str) -> HttpResponse:
    """One national code table's values, public like the standard that refers to it."""
    table = standards.code_table(table_key)
    if table is None:
        raise Http404(gettext("代码表不存在"))
    synonyms: dict[str, list[str]] = {}
    for code, synonym in CodeSynonym.objects.filter(table_key=table.key).values_list("code", "synonym"):
        synonyms.setdefault(code, []).append(synonym)
    codes = [(c, synonyms.get(c.code, [])) for c in table.codes.order_by("sort_order", "pk")]
    return render(request, "exchange/standard/code_table.html", {"table": table, "codes": codes})

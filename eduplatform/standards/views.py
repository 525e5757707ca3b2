from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.standards import codebook, selectors


@login_required
def dictionary(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    return render(
        request,
        "standards/dictionary.html",
        {
            "nav_active": "standards",
            "tables": selectors.code_tables(text=text),
            "matches": selectors.codes_matching(text),
            "q": text,
        },
    )


@login_required
def table(request: HttpRequest, table_key: str) -> HttpResponse:
    code_table = selectors.code_table(table_key)
    if code_table is None:
        raise Http404(gettext("代码表不存在"))
    codes = list(code_table.codes.order_by("sort_order"))
    # The other spellings imports accept for each code (data/reference/code_synonyms.csv).
    spellings: dict[str, list[str]] = {}
    for text, code in codebook.synonyms_of(table_key).items():
        spellings.setdefault(code, []).append(text)
    for code in codes:
        code.synonyms = spellings.get(code.code, [])
    if request.GET.get("format") == "xlsx":
        rows = ([c.code, c.name, c.parent_code, "、".join(c.synonyms), "；".join(f"{k}={v}" for k, v in c.extra.items())]
                for c in codes)
        return xlsx_response(f"{code_table.name}.xlsx", [gettext("代码"), gettext("名称"), gettext("上级代码"), gettext("其他写法"), gettext("说明")], rows,
                             sheet=code_table.name)
    return render(request, "standards/table.html", {"nav_active": "standards", "table": code_table, "codes": codes})

"""Reading the data dictionary. Code tables are national standards, public to every signed-in user."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from eduplatform.standards.models import Code, CodeTable


def code_tables(*, text: str = "") -> QuerySet[CodeTable]:
    qs = CodeTable.objects.annotate(code_count=Count("codes"))
    text = text.strip()
    if text:
        matching = Code.objects.filter(Q(name__contains=text) | Q(code=text)).values("table_id")
        qs = qs.filter(Q(name__contains=text) | Q(key__contains=text) | Q(standard__contains=text) | Q(pk__in=matching))
    return qs.order_by("source_file", "key")


def codes_matching(text: str) -> QuerySet[Code]:
    text = text.strip()
    if not text:
        return Code.objects.none()
    return Code.objects.filter(Q(name__contains=text) | Q(code=text)).select_related("table")[:200]


def code_table(key: str) -> CodeTable | None:
    return CodeTable.objects.filter(key=key).first()

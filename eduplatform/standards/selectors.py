"""Reading the data dictionary. Code tables are national standards, public to every signed-in user."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from eduplatform.standards.models import Code, CodeSynonym, CodeTable


def code_tables(*, text: str = "") -> QuerySet[CodeTable]:
    qs = CodeTable.objects.annotate(code_count=Count("codes"))
    text = text.strip()
    if text:
        matching = Code.objects.filter(Q(name__contains=text) | Q(code=text)).values("table_id")
        qs = qs.filter(Q(name__contains=text) | Q(key__contains=text) | Q(standard__contains=text) | Q(pk__in=matching))
    return qs.order_by("source_file", "key")


def codes_matching(text: str) -> QuerySet[Code]:
    """Codes whose name contains ``text``, whose code is ``text``, or that ``text`` is another way of
    writing (饭堂 finds 22 食堂)."""
    text = text.strip()
    if not text:
        return Code.objects.none()
    found = Q(name__contains=text) | Q(code=text)
    for table_key, code in CodeSynonym.objects.filter(synonym__contains=text).values_list("table_key", "code")[:50]:
        found |= Q(table__key=table_key, code=code)
    return Code.objects.filter(found).select_related("table")[:200]


def code_table(key: str) -> CodeTable | None:
    return CodeTable.objects.filter(key=key).first()

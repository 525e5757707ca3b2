"""Fast, cached lookups in the code tables, for validation and display.

Code tables change only when the reference data is reloaded, so each process keeps them in
memory; ``forget`` clears the cache after a reload (and between tests).
"""

from __future__ import annotations

from functools import lru_cache

from django.utils.translation import gettext

from eduplatform.core.errors import ProblemCollector
from eduplatform.standards.models import Code, CodeSynonym


@lru_cache(maxsize=256)
def codes_of(table_key: str) -> dict[str, str]:
    """code → name, in the table's order."""
    return dict(
        Code.objects.filter(table__key=table_key)
        .exclude(code="")
        .order_by("sort_order")
        .values_list("code", "name")
    )


@lru_cache(maxsize=256)
def extras_of(table_key: str) -> dict[str, dict]:
    return dict(
        Code.objects.filter(table__key=table_key).exclude(code="").values_list("code", "extra")
    )


@lru_cache(maxsize=256)
def synonyms_of(table_key: str) -> dict[str, str]:
    """synonym → code: the other ways people write the codes of ``table_key`` (code_synonyms.csv)."""
    if not table_key:
        return {}
    return dict(CodeSynonym.objects.filter(table_key=table_key).order_by("pk").values_list("synonym", "code"))


def forget() -> None:
    codes_of.cache_clear()
    synonyms_of.cache_clear()
    extras_of.cache_clear()
    leaf_codes.cache_clear()


def code_name(table_key: str, code: str | None) -> str:
    if not code:
        return ""
    return codes_of(table_key).get(code, code)


@lru_cache(maxsize=256)
def leaf_codes(table_key: str) -> dict[str, str]:
    """Codes that are not the parent of another code: the ones a record may carry."""
    table = codes_of(table_key)
    parents = set(
        Code.objects.filter(table__key=table_key).exclude(parent_code="").values_list("parent_code", flat=True)
    )
    return {c: n for c, n in table.items() if c not in parents}


def check_code(
    problems: ProblemCollector,
    *,
    field: str,
    label: str,
    table_key: str,
    value: str | None,
    required: bool = True,
    leaf_only: bool = False,
) -> None:
    """Add a problem when ``value`` is missing or not a code of ``table_key``."""
    if not value:
        if required:
            problems.add(field, "required", gettext("%(label)s不能为空") % {"label": label}, label)
        return
    allowed = leaf_codes(table_key) if leaf_only else codes_of(table_key)
    if value not in allowed:
        sample = "、".join(f"{c} {n}" for c, n in list(allowed.items())[:8])
        more = gettext(" 等") if len(allowed) > 8 else ""
        problems.add(
            field,
            "code.unknown",
            gettext("%(label)s代码「%(value)s」不存在；允许的值如：%(sample)s%(more)s（完整列表见数据字典）") % {
                "label": label, "value": value, "sample": sample, "more": more},
            label,
        )

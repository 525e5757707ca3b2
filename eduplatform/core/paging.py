"""Keyset paging for the record lists: a page after (or before) an opaque cursor, never OFFSET, never
a count of the whole scope.

A list is ordered by a unique key tuple (its default order with the primary key last). The next
page is "the first PAGE_SIZE rows whose key is greater than the last row's key", which an index on
the key answers by reading only those rows, however deep the page is; OFFSET would read and drop
every row before it, and Django's Paginator also counts the whole scope for "第 n / m 页" — 2 s for
the province's 27 million students (issue 13).

The cursor is the boundary row's key, encrypted and authenticated per list (AES-GCM, a key derived
from SECRET_KEY): it names no student in a URL, and it is only ever one this site produced for this
list, so a tampered, truncated or foreign cursor is refused and the list starts again at its first
page with a message, never a 500.

The count shown above a list is exact for small results and an estimate for large ones
(``count_rows``): an exact count is stopped at ``LIST_EXACT_COUNT_LIMIT`` rows (a LIMIT-ed subquery);
above it the caller's cheap exact figure (the statistics roll-ups for an unfiltered student list) or
PostgreSQL's planner estimate is shown as "约 2,746 万", or "超过 1 万" when neither is available.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import functools
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.contrib import messages
from django.db import OperationalError, connections, transaction
from django.db.models import BooleanField, Expression, F, Q, QuerySet, Value
from django.http import HttpRequest, QueryDict
from django.utils.translation import get_language, gettext, gettext_lazy

PAGE_SIZE = 50  # rows per page; settings.LIST_PAGE_SIZE overrides it (tests page through small lists)
# The query parameters of paging itself: dropped from the links a page builds (the other
# parameters — filters, search, region — are kept).
PAGING_PARAMS = ("after", "before", "page")
MAX_CURSOR = 2000  # characters; a real cursor is about 100–200


def page_size() -> int:
    return int(getattr(settings, "LIST_PAGE_SIZE", PAGE_SIZE))


def exact_count_limit() -> int:
    """Results up to this many rows are counted exactly; larger ones are estimated."""
    return int(getattr(settings, "LIST_EXACT_COUNT_LIMIT", 10_000))


# --------------------------------------------------------------------------------------------
# Counting


# Where an exact figure kept elsewhere, or an estimate, comes from (``RowCount.source``): codes that
# callers compare, and the labels shown beside the count.
SOURCE_ROLLUP = "rollup"
SOURCE_ESTIMATE = "estimate"
SOURCE_LABELS = {SOURCE_ROLLUP: gettext_lazy("统计汇总"), SOURCE_ESTIMATE: gettext_lazy("估算")}


@dataclasses.dataclass(frozen=True)
class RowCount:
    """How many rows a list holds, as far as it was worth finding out.

    ``value`` is the number shown; ``exact`` says whether it is a count (or an exact figure kept
    elsewhere, ``source``) or an estimate; ``at_least`` is set instead of ``value`` when only a
    lower bound is known ("超过 1 万"); neither when counting was given up at its time budget
    ("未计数")."""

    value: int | None
    exact: bool = True
    at_least: int | None = None
    source: str = ""  # a SOURCE_* code, or "" when counted from the rows

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS.get(self.source, self.source))

    @property
    def label(self) -> str:
        if self.value is None:
            return gettext("超过 %(count)s") % {"count": _chinese_number(self.at_least)} if self.at_least else gettext("未计数")
        if self.exact:
            return f"{self.value:,}"
        return gettext("约 %(count)s") % {"count": _chinese_number(self.value)}

    def __str__(self) -> str:
        return self.label


def _chinese_number(n: int) -> str:
    """1 万 and more in 万 (2,746 万), 1 亿 and more in 亿 (1.2 亿), otherwise with separators; in another
    language, a million and more in millions (27.5 million)."""
    if not (get_language() or "zh-hans").startswith("zh"):
        return f"{n / 1_000_000:,.1f}".removesuffix(".0") + " million" if n >= 1_000_000 else f"{n:,}"
    if n >= 100_000_000:
        value = f"{n / 100_000_000:,.1f}".removesuffix(".0")
        return gettext("%(count)s 亿") % {"count": value}
    if n >= 10_000:
        return gettext("%(count)s 万") % {"count": f"{round(n / 10_000):,}"}
    return f"{n:,}"


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows ``queryset`` returns (EXPLAIN, nothing executed), or None
    on another database."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg returns json already parsed; be safe
        import json

        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def count_budget_ms() -> int:
    return int(getattr(settings, "LIST_COUNT_BUDGET_MS", 100))


def _counted_within_budget(queryset: QuerySet) -> int | None:
    """``queryset.count()``, or None when PostgreSQL cancels it at the budget (in a savepoint, so the
    request's transaction, if any, goes on; the setting is put back either way)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.count()
    try:
        with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout'), "
                           "set_config('statement_timeout', %s, true)", [f"{count_budget_ms()}ms"])
            previous = cursor.fetchone()[0]
            counted = queryset.count()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
            return counted
    except OperationalError as err:  # QueryCanceled: the budget ran out (rolled back to the savepoint)
        if "statement timeout" not in str(err):
            raise
        return None


def count_rows(queryset: QuerySet, *, known_total: Callable[[], int | None] | None = None,
               source: str = "") -> RowCount:
    """The row count of a list: exact up to ``exact_count_limit()`` (counting stops there), else
    ``known_total()`` when the caller has an exact figure kept elsewhere (e.g. the roll-ups, only
    valid when no filter narrows the list), else the planner's estimate, else a lower bound."""
    limit = exact_count_limit()
    # SELECT count(*) FROM (SELECT 1 … LIMIT limit + 1): never returns more than limit + 1 rows, but
    # a rare match (a name searched by one character) may read the whole scope to find them: on
    # PostgreSQL the count also has a time budget, and is given up (not the page) when it runs out.
    capped = _counted_within_budget(queryset.order_by().values("pk")[: limit + 1])
    if capped is not None and capped <= limit:
        return RowCount(capped)
    if known_total is not None:
        total = known_total()
        if total is not None:
            return RowCount(total, exact=True, source=source)
    if capped is None:
        # Not even a lower bound: the planner's guess for a search would be a number out of thin air.
        return RowCount(None, exact=False)
    estimate = planner_estimate(queryset)
    if estimate is not None and estimate > limit:
        return RowCount(estimate, exact=False, source=SOURCE_ESTIMATE)
    return RowCount(None, exact=False, at_least=limit)


# --------------------------------------------------------------------------------------------
# Cursors


class BadCursor(ValueError):
    pass


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"n": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return dt.datetime.fromisoformat(value["t"])
        if "d" in value:
            return dt.date.fromisoformat(value["d"])
        if "n" in value:
            return decimal.Decimal(value["n"])
    return value


@functools.lru_cache(maxsize=4)
def _cursor_cipher(secret: str) -> AESGCM:
    return AESGCM(hashlib.sha256(f"paging-cursor|{secret}".encode()).digest())


def encode_cursor(values: Sequence[Any], salt: str) -> str:
    """The boundary row's key, encrypted and authenticated (AES-GCM, the list's name as associated
    data): a key holds a student's or a teacher's name, which must not be readable in a URL, an
    access log or the browser history; and a cursor is only ever one this site made for this list."""
    plain = json.dumps([_encode_value(v) for v in values], ensure_ascii=False, separators=(",", ":")).encode()
    nonce = os.urandom(12)
    sealed = _cursor_cipher(settings.SECRET_KEY).encrypt(nonce, plain, f"paging:{salt}".encode())
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def decode_cursor(cursor: str, salt: str, length: int) -> list[Any]:
    if len(cursor) > MAX_CURSOR:
        raise BadCursor(cursor[:40])
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = _cursor_cipher(settings.SECRET_KEY).decrypt(blob[:12], blob[12:], f"paging:{salt}".encode())
        raw = json.loads(plain)
    except (InvalidTag, ValueError, TypeError, UnicodeError) as err:  # binascii.Error is a ValueError
        raise BadCursor(cursor[:40]) from err
    if not isinstance(raw, list) or len(raw) != length:
        raise BadCursor(cursor[:40])
    try:
        return [_decode_value(v) for v in raw]
    except (ValueError, TypeError, KeyError) as err:
        raise BadCursor(cursor[:40]) from err


# --------------------------------------------------------------------------------------------
# The key condition


class RowCompare(Expression):
    """``(a, b, c) >= (x, y, z)`` — a row comparison, which a B-tree index on (a, b, c) uses as the
    start of its scan (PostgreSQL and SQLite ≥ 3.15 both have row values). Added beside the exact
    lexicographic condition so the planner can seek instead of filtering."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, fields: Sequence[str], values: Sequence[Any], op: str) -> None:
        super().__init__(output_field=BooleanField())
        self.lhs = [F(f) for f in fields]
        self.rhs = [Value(v) for v in values]
        self.op = op

    def get_source_expressions(self) -> list:
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs: list) -> None:
        n = len(self.lhs)
        self.lhs, self.rhs = list(exprs[:n]), list(exprs[n:])

    def as_sql(self, compiler, connection):
        left, right, params = [], [], []
        for expr in self.lhs:
            sql, p = compiler.compile(expr)
            left.append(sql)
            params.extend(p)
        for expr in self.rhs:
            sql, p = compiler.compile(expr)
            right.append(sql)
            params.extend(p)
        return f"({', '.join(left)}) {self.op} ({', '.join(right)})", params


def _key_condition(keys: Sequence[tuple[str, bool]], values: Sequence[Any], forward: bool, seek: int) -> Q:
    """Rows strictly after ``values`` in the order of ``keys`` ((field, descending) pairs), or
    strictly before them when not ``forward``: k1 > v1 OR (k1 = v1 AND (k2 > v2 OR …))."""
    condition: Q | None = None
    for (field, desc), value in reversed(list(zip(keys, values, strict=True))):
        greater = forward != desc
        beyond = Q(**{f"{field}__{'gt' if greater else 'lt'}": value})
        condition = beyond if condition is None else beyond | (Q(**{field: value}) & condition)
    assert condition is not None
    prefix = keys[:seek]
    if prefix and len({desc for _, desc in prefix}) == 1:
        greater = forward != prefix[0][1]
        condition &= Q(RowCompare([f for f, _ in prefix], values[:seek], ">=" if greater else "<="))
    return condition


def _key_of(row: Any, field: str) -> Any:
    value = row
    for part in field.split("__"):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


# --------------------------------------------------------------------------------------------
# A page


@dataclasses.dataclass
class Page:
    rows: list
    count: RowCount | None
    next_cursor: str | None
    previous_cursor: str | None
    is_first: bool
    query: str  # the request's other parameters, urlencoded, for the links

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous or not self.is_first

    @property
    def object_list(self) -> list:
        return self.rows

    def _link(self, **extra: str) -> str:
        params = QueryDict(self.query, mutable=True)
        for name, value in extra.items():
            params[name] = value
        return "?" + params.urlencode()

    @property
    def next_link(self) -> str:
        return self._link(after=self.next_cursor) if self.next_cursor else ""

    @property
    def previous_link(self) -> str:
        return self._link(before=self.previous_cursor) if self.previous_cursor else ""

    @property
    def first_link(self) -> str:
        return self._link()


def other_params(params: QueryDict) -> QueryDict:
    """The request's query parameters without the paging ones (and without an export format)."""
    query = params.copy()
    for name in (*PAGING_PARAMS, "format"):
        query.pop(name, None)
    return query


def keyset_page(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    keys: Sequence[str],
    name: str,
    size: int | None = None,
    seek: int = 0,
    count: bool = True,
    known_total: Callable[[], int | None] | None = None,
    total_source: str = "",
) -> Page:
    """One page of ``queryset`` in the order of ``keys`` (field paths, "-" for descending; the last
    must make the key unique, normally "pk"), after ``?after=`` or before ``?before=``.

    ``name`` salts the cursor (a cursor of one list is no cursor of another); ``seek`` is how many
    leading keys an index serves in this order (added as a row comparison the index can seek on);
    ``count`` whether to show a count (``count_rows``, with ``known_total`` as its exact figure for
    large results)."""
    parsed = [(k[1:], True) if k.startswith("-") else (k, False) for k in keys]
    params = request.GET
    after, before = params.get("after", ""), params.get("before", "")
    forward = True
    boundary: list[Any] | None = None
    cursor = after or before
    if cursor:
        try:
            boundary = decode_cursor(cursor, name, len(parsed))
            forward = bool(after)
        except BadCursor:
            messages.warning(request, gettext("分页位置无效或已过期，已回到第一页"))
            boundary = None
    # Going back reads the rows before the cursor in reverse order, then turns them round.
    ordering = list(keys) if forward else [f if desc else f"-{f}" for f, desc in parsed]
    qs = queryset
    if boundary is not None:
        qs = qs.filter(_key_condition(parsed, boundary, forward, seek))
    size = size or page_size()
    rows = list(qs.order_by(*ordering)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()

    def cursor_of(row: Any) -> str:
        return encode_cursor([_key_of(row, f) for f, _ in parsed], name)

    is_first = boundary is None
    if forward:
        next_cursor = cursor_of(rows[-1]) if more and rows else None
        previous_cursor = cursor_of(rows[0]) if (not is_first and rows) else None
    else:
        # Going back: there is a next page (the one we came from); a previous one only if more rows.
        next_cursor = cursor_of(rows[-1]) if rows else None
        previous_cursor = cursor_of(rows[0]) if more and rows else None
        is_first = not more
    total = count_rows(queryset, known_total=known_total, source=total_source) if count else None
    return Page(rows=rows, count=total, next_cursor=next_cursor, previous_cursor=previous_cursor,
                is_first=is_first, query=other_params(params).urlencode())


def path_successor(path: str) -> str:
    """The smallest string greater than every string starting with ``path`` (a region code path
    ends in "/": "44/4401/" → "44/44010")."""
    return path[:-1] + chr(ord(path[-1]) + 1)


def within_path(queryset: QuerySet, field: str, *paths: str | None) -> QuerySet:
    """Add ``path <= field < successor(path)`` for the narrowest of ``paths``: the same rows as the
    prefix filter (``startswith``, which stays), written as a range that a plain B-tree index on
    ``field`` can both seek on and deliver in order (the pattern-ops indexes serve LIKE but not
    ORDER BY under the database's collation)."""
    known = [p for p in paths if p]
    if not known:
        return queryset
    path = max(known, key=len)
    return queryset.filter(**{f"{field}__gte": path, f"{field}__lt": path_successor(path)})

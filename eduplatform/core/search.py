"""Searching by an ID number without putting it in a URL.

The record lists (students, staff, administrators) find a person by exact ID number or 学籍号
through the blind index. Their search forms are POSTed; the view answers with a redirect to the
same list by GET (so paging, export links, bookmarks and the back button keep working): filters and
a name go into the query string as before, but a search text shaped like an ID number or a 学籍号
is kept in the session under a random token (``?find=…``), so it never reaches an access log,
a proxy or the browser's history. A ``?q=`` typed by hand is still honoured.
"""

from __future__ import annotations

import re
import secrets

from django.db import connection
from django.db.models import BooleanField, Expression, F, Model, Q
from django.http import HttpRequest, HttpResponseRedirect, QueryDict

from eduplatform.core import paging
from eduplatform.standards.validators import normalize_identifier, redact_identifiers

SESSION_KEY = "private_searches"
KEPT_SEARCHES = 20  # per session; older tokens are forgotten (the list then asks to search again)
_IDENTIFIER = re.compile(r"[GJL]?[0-9]{14,19}[0-9X]")
_FORM_ONLY = {"csrfmiddlewaretoken", "page", "after", "before", "format"}


def looks_like_identifier(text: str) -> bool:
    """An ID number (15 or 18 characters, or a near miss) or a 学籍号, as typed."""
    return bool(_IDENTIFIER.fullmatch(normalize_identifier(text or "")))


def search_text(request: HttpRequest) -> str:
    """The list's search text: ``?q=`` or the identifier an earlier POST stored under ``?find=``."""
    token = request.GET.get("find", "")
    if token:
        return request.session.get(SESSION_KEY, {}).get(token, "")
    return request.GET.get("q", "")


def search_expired(request: HttpRequest) -> bool:
    token = request.GET.get("find", "")
    return bool(token) and token not in request.session.get(SESSION_KEY, {})


def shown_search(request: HttpRequest) -> tuple[str, str]:
    """(value for the search box, masked hint): an identifier kept in the session is never written
    back into the page; the box stays empty and the hint shows it masked."""
    if request.GET.get("find"):
        return "", redact_identifiers(normalize_identifier(search_text(request)))
    return request.GET.get("q", ""), ""


def redirect_search(request: HttpRequest, list_url: str) -> HttpResponseRedirect:
    """The POSTed search form as a GET of ``list_url``, with an identifier kept out of the URL."""
    params = QueryDict(mutable=True)
    for key in request.POST:
        if key not in _FORM_ONLY:
            values = [v for v in request.POST.getlist(key) if v.strip()]
            if values:
                params.setlist(key, values)
    text = (params.pop("q", [""]) or [""])[0].strip()
    token = (params.pop("find", [""]) or [""])[0]
    if text and looks_like_identifier(text):
        searches = dict(request.session.get(SESSION_KEY, {}))
        token = secrets.token_urlsafe(12)
        searches[token] = text
        request.session[SESSION_KEY] = dict(list(searches.items())[-KEPT_SEARCHES:])
        params["find"] = token
    elif text:
        params["q"] = text
    elif token and token in request.session.get(SESSION_KEY, {}):
        params["find"] = token  # the same identifier, other filters changed
    query = params.urlencode()
    return HttpResponseRedirect(f"{list_url}?{query}" if query else list_url)


# --------------------------------------------------------------------------------------------
# Names: substring search that an index answers on PostgreSQL (issue 13)
#
# ``icontains`` is ``UPPER(name::text) LIKE UPPER('%…%')``. A pattern of three or more characters
# is answered by the trigram index on that expression (core/name_index.py). One or two characters —
# a surname, a given name, most of a Chinese name — have no trigram: the grams index
# (``name_grams(name)``: every character and every pair, upper-cased) answers those, but only when
# the characters are rare. A common one (王, 李, 华) matches hundreds of thousands of people, and
# reading the list in its order until a page is full is then far cheaper than collecting every match
# to sort it, so the condition is only added when the planner's estimate of matches is below
# sqrt(page × people) — where both ways read about as many rows. The ``icontains`` condition always
# stays: the grams only narrow.


class GramsContain(Expression):
    """``name_grams(<field>) @> ARRAY[<gram>]`` (PostgreSQL only; see above)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, field: str, gram: str) -> None:
        super().__init__(output_field=BooleanField())
        self.target, self.gram = F(field), gram

    def get_source_expressions(self) -> list:
        return [self.target]

    def set_source_expressions(self, exprs: list) -> None:
        (self.target,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.target)
        return f"name_grams({sql}) @> ARRAY[%s]::text[]", [*params, self.gram]


def _rare_gram(model: type[Model], column: str, gram: str) -> bool:
    """Whether the planner expects few enough people with ``gram`` in their name (see above)."""
    matches = paging.planner_estimate(model._default_manager.filter(GramsContain(column, gram))) or 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        people = max(float(cursor.fetchone()[0]), 1.0)
    return matches * matches < paging.page_size() * people


def name_contains(path: str, text: str, model: type[Model], column: str = "name") -> Q:
    """``<path>__icontains=text``, with the grams condition for a short, rare text on PostgreSQL.
    ``model``/``column``: the table and column ``path`` ends in (for the planner's estimate)."""
    match = Q(**{f"{path}__icontains": text})
    gram = text.upper()
    if connection.vendor == "postgresql" and 1 <= len(gram) <= 2 and _rare_gram(model, column, gram):
        match &= Q(GramsContain(path, gram))
    return match

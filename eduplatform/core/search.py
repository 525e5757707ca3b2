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

from django.http import HttpRequest, HttpResponseRedirect, QueryDict

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

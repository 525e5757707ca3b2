"""Pages whose figures cannot change, served from Django's cache (issue 13, item 5): a snapshot's
pages (its figures beside another snapshot's, its 基表) and the public portal.

**What is cached: the view's result, not the page.** A decorated view's ``render`` (this module's,
imported in place of Django's) returns a ``TemplateResponse``; the decorator keeps its template and
context — the figures — and, for a download, the bytes. A hit renders the template again for the
current request, so the header, the navigation, the form tokens (CSRF) and any message are the
reader's own; only the computation is skipped.

**Keys.** ``<view>:`` and the hash of ``<figures' version>:<reader>:<path>?<query>``:

- the figures' version: every snapshot's id, taken_at and published_at (a new snapshot or a
  publication changes every key: the compare list and the publish state are on the pages; the
  snapshots are few), and the snapshot's stored-基表 generation state;
- the reader: the scope signature (region path with the focus picked in the header, school, stage
  mask) and the roles (which buttons a page offers). Two users with the same scope and roles share
  entries; any other reader has its own. The portal's reader is everyone.
- the path and the sorted query parameters.

**Never cached**: a page that compares with live figures (``snapshot_detail`` without
``?compare=``): the ≤ 1 s freshness goal of live figures holds; a response other than 200; a view
that did not go through this module's ``render`` (a plain ``HttpResponse`` with HTML).

The cache is ``CACHES["default"]`` (settings: a database table shared by every process, or
``PAGE_CACHE=locmem`` / ``off``). Invalidation is by key: a publication or withdrawal changes the
version, so the portal shows a new year at once and old entries are never read again (they expire).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import pickle
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render as django_render
from django.template.response import TemplateResponse
from django.utils.translation import get_language

from eduplatform.orgs.scope import scope_of

log = logging.getLogger(__name__)
TIMEOUT = 7 * 24 * 3600  # entries are never stale (their key names the version); this only frees space
_CONTEXT_FLAG = "_page_cache_context"


def render(request: HttpRequest, template_name: str, context: dict | None = None, **kwargs: Any) -> HttpResponse:
    """Django's ``render``; inside a cached view a ``TemplateResponse``, whose context can be kept."""
    if getattr(request, _CONTEXT_FLAG, False):
        return TemplateResponse(request, template_name, context, **kwargs)
    return django_render(request, template_name, context, **kwargs)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def snapshots_version() -> str:
    """Changes with every snapshot taken or deleted, signed off (or the sign-off withdrawn),
    published or withdrawn, and every step of a
    snapshot's stored-基表 generation (the pages say whether the tables are stored yet)."""
    from eduplatform.stats.models import BaseTableRun, Snapshot

    snapshots = list(Snapshot.objects.order_by("pk").values_list("pk", "taken_at", "published_at", "signed_off_at"))
    runs = list(BaseTableRun.objects.order_by("snapshot_id").values_list("snapshot_id", "status", "done", "finished_at"))
    return _digest(snapshots, runs)


def published_version() -> str:
    """Changes when a snapshot is published or withdrawn (the portal shows published ones only)."""
    from eduplatform.stats.models import Snapshot

    return _digest(list(Snapshot.objects.filter(published_at__isnull=False).order_by("pk")
                        .values_list("pk", "census_date", "version", "published_at")))


def reader_signature(request: HttpRequest) -> str | None:
    """What a page's content may depend on about its reader: scope (with the focus), school, stage
    mask, roles. None: no one logged in."""
    user = request.user
    if not user.is_authenticated:
        return None
    scope = scope_of(user)
    return _digest(scope.region_path, scope.school_id, scope.stage_mask, sorted(getattr(user, "role_set", ())))


def _query(request: HttpRequest) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted((k, v) for k in request.GET for v in request.GET.getlist(k)))


class _Kept:
    """What a hit needs: a template and its context, or a download's bytes and headers."""

    def __init__(self, response: HttpResponse) -> None:
        self.status = response.status_code
        if isinstance(response, TemplateResponse):
            self.template, self.context = response.template_name, dict(response.context_data or {})
            self.content, self.headers = None, {}
        else:
            self.template, self.context = None, None
            self.content = response.content
            self.headers = {k: v for k, v in response.items() if k.lower() in ("content-type", "content-disposition")}

    def response(self, request: HttpRequest) -> HttpResponse:
        if self.template is not None:
            return TemplateResponse(request, self.template, self.context, status=self.status)
        response = HttpResponse(self.content, status=self.status)
        for key, value in self.headers.items():
            response[key] = value
        return response


def _cacheable(response: HttpResponse) -> bool:
    if response.status_code != 200 or response.streaming:
        return False
    if isinstance(response, TemplateResponse):
        return True
    # A download (Excel, CSV); never a page rendered with someone's header and tokens.
    return not response.get("Content-Type", "").startswith("text/html")


def cached_view(key_of: Callable[..., str | None]) -> Callable:
    """Serve the view from the cache under ``key_of(request, *args, **kwargs)`` (None: not cached)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            key = key_of(request, *args, **kwargs) if request.method == "GET" else None
            if key is None:
                return view(request, *args, **kwargs)
            # The interface language is part of the page (docs/i18n.md): one entry per language.
            key = f"{key}|{get_language()}"
            # Hashed: a query string can be long (the cache's keys are at most 250 characters).
            key = f"page:{view.__module__}.{view.__name__}:{hashlib.sha256(key.encode()).hexdigest()}"
            request.page_cache_key = key  # the template may keep its heaviest part too ({% kept_fragment %})
            kept = cache.get(key)
            if kept is not None:
                return kept.response(request)
            setattr(request, _CONTEXT_FLAG, True)
            try:
                response = view(request, *args, **kwargs)
            finally:
                setattr(request, _CONTEXT_FLAG, False)
            if _cacheable(response):
                try:
                    kept = _Kept(response)
                    pickle.dumps(kept)  # a context that cannot be kept is simply not cached
                    cache.set(key, kept, TIMEOUT)
                except Exception:  # noqa: BLE001 — caching is an optimisation; the page is served anyway
                    log.warning("page %s not cached", key, exc_info=True)
            return response

        return wrapped

    return decorate


def snapshot_page(*, live: Callable[[HttpRequest], bool] = lambda _request: False) -> Callable:
    """For a view of one snapshot's figures (``snapshot_id``): cached per figures' version, reader,
    path and query — unless ``live(request)``: the page shows live figures too (never cached)."""

    def key_of(request: HttpRequest, *args: Any, **kwargs: Any) -> str | None:
        reader = reader_signature(request)
        if reader is None or live(request):
            return None
        return f"{snapshots_version()}:{reader}:{request.path}?{_query(request)}"

    return cached_view(key_of)


def compares_with_live(request: HttpRequest) -> bool:
    """A snapshot page without ``?compare=<snapshot>`` sets its figures beside the live ones."""
    return not request.GET.get("compare", "").strip().isdigit()


def public_page(view: Callable) -> Callable:
    """For a page of the public portal: the same for every reader, per published version."""
    return cached_view(lambda request, *a, **k: f"{published_version()}:{request.path}?{_query(request)}")(view)

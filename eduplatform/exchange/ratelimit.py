"""Requests per client per minute (``ApiClient.rate_limit_per_minute``), counted in Django's cache.

A fixed one-minute window: each call increments the minute's counter (``cache.incr``), the first
call of a minute creates it (``cache.add``); a call beyond the limit is refused with 429 and ``Retry-After`` = the seconds
left in the window. Cheap (one or two cache round trips) and good enough for fairness.

The counter is only as shared as the cache: with ``PAGE_CACHE=locmem`` every worker process counts
on its own (a client may then make N × limit calls a minute), with ``PAGE_CACHE=database`` all
workers share the table but ``incr`` is a read and a write, so simultaneous calls may be
under-counted, and with ``PAGE_CACHE=off`` nothing is counted at all. Production should point
``API_RATE_LIMIT_CACHE`` at a shared cache with atomic increments (Redis or memcached).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimited(Exception):
    """429 ``rate_limited``: the client used up its calls of this minute."""

    limit: int
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        return f"调用过于频繁：每分钟最多 {self.limit} 次，请在 {self.retry_after} 秒后重试"


def _cache():
    return caches[getattr(settings, "API_RATE_LIMIT_CACHE", "default")]


def check_rate(client_id: int, limit: int, *, now: float | None = None) -> None:
    """Count one call of ``client_id``; raise ``RateLimited`` once it exceeds ``limit`` this minute."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"api-rate:{client_id}:{window}"
    cache = _cache()
    try:
        count = cache.incr(key)  # the common case: the minute's counter exists
    except ValueError:  # the minute's first call (or a dummy cache, which never counts)
        try:
            count = 1 if cache.add(key, 1, timeout=WINDOW_SECONDS + 5) else cache.incr(key)
        except ValueError:  # added by another call and gone again: count afresh
            cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
            count = 1
    if count > limit:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise RateLimited(limit=limit, retry_after=retry_after)

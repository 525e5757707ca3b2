"""Tests that really commit, from several connections at once (PostgreSQL).

A test in one rolled-back transaction sees one connection: it can never meet two writers racing for
the same rows. These helpers give a test committed data and threads, each with its own database
connection (Django opens one per thread), that start together at a barrier.

    @committing
    def test_something(world_committed):
        results = run_concurrently(lambda: register(...), lambda: register(...))

After such a test pytest-django empties every table (TRUNCATE); ``tests/conftest.py`` loads the
reference data again, so the tests after it find what the session loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

# Concurrency is a PostgreSQL property here: SQLite runs one writer at a time by design, so a race
# there is impossible rather than handled, and proving it would prove nothing about production.
committing = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="concurrency is proven on PostgreSQL, the production database")


def _closing(fn: Callable[[], Any], barrier: threading.Barrier) -> Callable[[], Any]:
    def run() -> Any:
        try:
            barrier.wait(timeout=30)
            return fn()
        finally:
            connections.close_all()  # this thread's own connections; the test's stay open

    return run


def run_concurrently(*fns: Callable[[], Any], timeout: float = 120) -> list[Any]:
    """Run each callable in a thread of its own (own connection), all released at once; their
    results in order. An exception in any of them is raised here, after all have finished."""
    barrier = threading.Barrier(len(fns))
    results: list[Any] = [None] * len(fns)
    errors: list[BaseException | None] = [None] * len(fns)

    def worker(i: int, fn: Callable[[], Any]) -> None:
        try:
            results[i] = _closing(fn, barrier)()
        except BaseException as exc:  # noqa: BLE001 — re-raised in the test's thread below
            errors[i] = exc

    threads = [threading.Thread(target=worker, args=(i, fn), daemon=True) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        if t.is_alive():
            raise TimeoutError(f"a concurrent worker did not finish within {timeout} s (deadlock?)")
    for exc in errors:
        if exc is not None:
            raise exc
    return results

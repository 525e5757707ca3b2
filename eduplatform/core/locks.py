"""Transaction-long named locks for work that no single row stands for (PostgreSQL advisory locks).

A promotion of a region or a census snapshot changes thousands of rows that do not exist yet when
it starts, so there is no row to lock with ``select_for_update``. An advisory lock on a name stands
in for them: held until the transaction ends, so whoever comes second waits and then sees what the
first committed. SQLite runs one writer at a time, so there the lock is not needed and not taken.

Lock classes (the first key) keep each kind of work in its own space of names.
"""

from __future__ import annotations

from django.db import connection

PROMOTION = 5201
SNAPSHOT = 5202
FUNDING_RATES = 5203
STAFF_NUMBERS = 5204  # per county and year: the next 教职工号 is read and used by one writer at a time
QUALITY_SCORES = 5205  # per day: one run of the daily scores replaces that day's rows at a time


def hold(lock_class: int, name: str, *, shared: bool = False) -> None:
    """Take the lock ``(lock_class, name)`` until the current transaction ends; wait for it if need be.
    Shared holders exclude exclusive ones only (used for "something below this region is running")."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, hashtext(%s))", [lock_class, name])  # noqa: S608 — fixed names

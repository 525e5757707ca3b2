"""The change feed read by cursor: every committed change exactly once, in scope, even when
transactions commit in another order than they numbered their entries (PostgreSQL, real commits)."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import transaction

from eduplatform.history import selectors
from eduplatform.history.models import AuditAction, ChangeFeedEntry
from eduplatform.history.services import record_change
from eduplatform.students import services
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.students_support import student_row

COUNTY_A = "44/4401/440106/"


def write_entry(key: str, path: str, *, hold: float = 0.0) -> None:
    """One change through history, its transaction kept open ``hold`` seconds after its feed entry
    was numbered: a later writer's entry (higher seq) then commits first."""
    with transaction.atomic():
        record_change(actor=None, action=AuditAction.UPDATE, object_type="test.feed", object_id=key,
                      object_label=key, region_path=path, feed_resource="test", feed_key=key)
        time.sleep(hold)


def drain(actor, cursor: str | None, seen: list[str], limit: int) -> str | None:
    while True:
        page = selectors.changes_after(actor, cursor, limit=limit)
        seen.extend(e.natural_key for e in page.entries if e.resource == "test" or e.resource == "student")
        cursor = page.cursor
        if not page.more:
            return cursor


@committing
def test_pages_by_cursor_deliver_every_entry_once_in_order(world):
    province = world.user("province")
    start = selectors.changes_after(province, None, limit=1000)
    while start.more:
        start = selectors.changes_after(province, start.cursor, limit=1000)
    for i in range(7):
        write_entry(f"k{i}", COUNTY_A if i % 2 else "44/4403/440304/")
    seen: list[str] = []
    cursor = drain(province, start.cursor, seen, limit=3)
    assert seen == [f"k{i}" for i in range(7)]
    assert selectors.changes_after(province, cursor).entries == []
    # A county statistician reads only its county's entries.
    county: list[str] = []
    drain(world.user("county_a_stat"), start.cursor, county, limit=2)
    assert county == ["k1", "k3", "k5"]
    with pytest.raises(selectors.FeedCursorInvalid):
        selectors.changes_after(province, "12;DROP")


@committing
@postgres_only
def test_a_reader_polling_during_parallel_writes_receives_every_change_exactly_once(world):
    """Writers hold their transactions open for random moments after numbering their entries, so
    commits come out of seq order; the reader polls all the while, then once more at the end."""
    province, clerk = world.user("province"), world.user("clerk_a1")
    cursor = selectors.changes_after(province, None, limit=1000).cursor
    while (page := selectors.changes_after(province, cursor, limit=1000)).more:
        cursor = page.cursor
    cursor = page.cursor
    done = threading.Event()
    seen: list[str] = []

    def writer(n: int):
        def run():
            rng = random.Random(n)
            for i in range(12):
                write_entry(f"w{n}-{i}", COUNTY_A, hold=rng.choice([0, 0, 0.02, 0.08]))
        return run

    def registrations():  # entries written by COPY, numbered by the database's default
        for seq in range(5):
            services.enrol_student(actor=clerk, school=world.school_a1, data=student_row(50 + seq))

    def reader():
        nonlocal cursor
        while not done.is_set():
            cursor = drain(province, cursor, seen, limit=5)
            time.sleep(0.005)

    def writers():
        try:
            run_concurrently(*(writer(n) for n in range(6)), registrations)
        finally:
            done.set()

    run_concurrently(reader, writers)
    drain(province, cursor, seen, limit=5)  # what committed after the reader's last poll
    expected = [k for k in ChangeFeedEntry.objects.filter(resource__in=["test", "student"])
                .values_list("natural_key", flat=True)]
    assert len(expected) == 6 * 12 + 5
    assert len(seen) == len(set(seen)), "an entry was delivered twice"
    assert sorted(seen) == sorted(expected), f"missed: {sorted(set(expected) - set(seen))[:10]}"

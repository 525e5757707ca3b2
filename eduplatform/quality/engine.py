"""Running the rules: every scan rule over a scope, or the record rules of one record type for a
few ids (right after they are written). What to do with the findings is ``issues.sync_findings``'s.

A scan's rules spend their time in two places: the ID rules decrypt and check hundreds of thousands
of numbers in this process (one core, the database idle), the others wait on joins and counts in
PostgreSQL. On PostgreSQL, outside a transaction, a scan therefore runs the database-bound rules in
a second thread on a connection of its own while this thread runs the others: a county's scan uses
both cores (docs/quality.md, "Speed"). Inside a transaction it cannot (a second connection would not
see what the transaction wrote), and the rules run one after the other, as on SQLite.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, MutableMapping, Sequence

from django.conf import settings
from django.db import connection, connections

from eduplatform.quality import checks  # noqa: F401  (registers every rule)
from eduplatform.quality.checks.base import caching
from eduplatform.quality.rules import Finding, Rule, ScanScope, rules_for

Timings = MutableMapping[str, tuple[float, int]]  # rule code → (seconds, findings)


def scan_findings(scope: ScanScope, codes: list[str] | None = None, *,
                  timings: Timings | None = None) -> Iterator[Finding]:
    """Every finding of the rules ``codes`` (all rules when empty) over the scope's schools.

    ``timings``, when given, receives each rule's seconds and number of findings. The findings of
    the database-bound rules come after the others' when the two kinds ran side by side."""
    rules = rules_for(codes)
    in_process = [r for r in rules if r.work == "python"]
    in_database = [r for r in rules if r.work != "python"]
    if in_process and in_database and _side_by_side():
        yield from _two_lanes(scope, in_process, in_database, timings)
        return
    with caching():  # what two rules of this run read alike is read once
        for rule in rules:
            yield from _timed(rule, scope, timings)


def _side_by_side() -> bool:
    return (settings.QUALITY_SCAN_SIDE_BY_SIDE and connection.vendor == "postgresql"
            and not connection.in_atomic_block)


def _timed(rule: Rule, scope: ScanScope, timings: Timings | None) -> Iterator[Finding]:
    if timings is None:
        yield from rule.scan(scope)
        return
    started, n = time.perf_counter(), 0
    for finding in rule.scan(scope):
        n += 1
        yield finding
    timings[rule.code] = (time.perf_counter() - started, n)


class _DatabaseLane(threading.Thread):
    """The database-bound rules, run to the end (or until ``stop``) on this thread's own connection;
    their findings are kept for the caller, who collects them after its own rules."""

    def __init__(self, scope: ScanScope, rules: Sequence[Rule], timings: Timings | None) -> None:
        super().__init__(name="quality-scan-database-lane", daemon=True)
        self.scope, self.rules, self.timings = scope, rules, timings
        self.found: list[Finding] = []
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with caching():
                for rule in self.rules:
                    if self.stop.is_set():
                        return
                    self.found.extend(_timed(rule, self.scope, self.timings))
        except BaseException as exc:  # noqa: BLE001 — handed to the caller's thread, raised there
            self.error = exc
        finally:
            connections.close_all()  # this thread's connections only (they are per thread)


def _two_lanes(scope: ScanScope, in_process: Sequence[Rule], in_database: Sequence[Rule],
               timings: Timings | None) -> Iterator[Finding]:
    lane = _DatabaseLane(scope, in_database, timings)
    lane.start()
    finished = False
    try:
        with caching():
            for rule in in_process:
                yield from _timed(rule, scope, timings)
        lane.join()
        finished = True
    finally:
        if not finished:  # the caller stopped reading, or a rule failed: the lane stops after its rule
            lane.stop.set()
            lane.join()
    if lane.error is not None:
        raise lane.error
    yield from lane.found


def record_findings(object_type: str, ids: Sequence[int]) -> tuple[list[str], list[Finding]]:
    """The record rules that check ``object_type`` (their codes) and what they find for ``ids``.

    Findings are about those records, except the completeness rules': they count a field per school,
    so theirs are about the records' schools (``orgs.organization``)."""
    ids = [int(i) for i in ids]
    wanted = [r for r in rules_for(None) if r.record is not None and r.object_type == object_type]
    found: list[Finding] = []
    if ids:
        for rule in wanted:
            found.extend(rule.record(ids))
    return [r.code for r in wanted], found

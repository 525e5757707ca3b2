"""Two scans of overlapping scopes at the same moment (PostgreSQL, committing from two connections):
both insert the same new findings at once, neither fails, no live issue is duplicated, and neither
closes what the other found."""

from __future__ import annotations

import threading

from eduplatform.quality import issues, scans
from eduplatform.quality.models import IssueStatus, QualityIssue, QualityScan
from eduplatform.quality.rules import ScanScope
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.quality_issues_support import DUPS, FLAGGED, evidence_files, test_rules_fixture  # noqa: F401 — fixtures

pytestmark = [committing, postgres_only]


def test_overlapping_scans_at_once_never_duplicate_a_live_issue(world, test_rules, monkeypatch):
    for school in (world.school_a1, world.school_a2, world.school_b1, world.college_a):
        FLAGGED[school.pk] = "被标记"
    DUPS["g"] = [(world.school_a1.pk, 1), (world.school_b1.pk, 2)]
    # Both syncs read "nothing known yet" before either inserts: the race the unique index settles.
    both_read = threading.Barrier(2, timeout=30)
    original = issues._new_issue
    waited = threading.local()

    def new_issue(f, now):
        if not getattr(waited, "done", False):
            waited.done = True
            both_read.wait()
        return original(f, now)

    monkeypatch.setattr(issues, "_new_issue", new_issue)

    def sync(scope):
        return lambda: issues.sync_findings(scope=scope, codes=["Z_SCHOOL", "Z_DUP"],
                                            findings=list(issues.scan_findings(scope, ["Z_SCHOOL", "Z_DUP"])))

    province, county_a = ScanScope("44/"), ScanScope(world.county_a.region_path)
    a, b = run_concurrently(sync(province), sync(county_a))
    assert a.found == 6 and b.found == 4
    assert a.opened + b.opened == 6  # each finding opened by exactly one of them
    assert a.closed == b.closed == 0
    live = QualityIssue.objects.exclude(status=IssueStatus.RESOLVED)
    assert live.count() == 6 and live.values("fingerprint").distinct().count() == 6

    # Run again both at once: still six, nothing closed, nothing opened.
    monkeypatch.setattr(issues, "_new_issue", original)
    a, b = run_concurrently(sync(province), sync(county_a))
    assert a.opened == b.opened == 0 and a.closed == b.closed == 0
    assert live.count() == 6


def test_two_requests_for_one_scan_at_once_start_one(world, test_rules):
    path = world.county_a.region_path
    first, second = run_concurrently(
        lambda: scans.start_scan(actor=None, region_path=path, codes=["Z_SCHOOL"], enqueue=False),
        lambda: scans.start_scan(actor=None, region_path=path, codes=["Z_SCHOOL"], enqueue=False))
    assert first.pk == second.pk and QualityScan.objects.count() == 1

"""Two runs of the same day's quality scores at the same moment (PostgreSQL, two connections that
commit): the scheduler's daily job and a statistician's manual rerun. Neither fails, and the day
ends with exactly one set of rows."""

from __future__ import annotations

import time

from eduplatform.quality import scores
from eduplatform.quality.models import QualityScore
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.test_quality_scores import DAY, planted  # noqa: F401 — the fixture

pytestmark = [committing, postgres_only]


def test_two_runs_of_one_day_at_once_leave_one_set_of_scores(planted, monkeypatch):  # noqa: F811
    expected = scores.compute_scores(DAY)
    assert expected > 0
    original = QualityScore.objects.bulk_create

    def slow_bulk_create(rows, **kwargs):
        # Widen the window between a run's delete and its insert: without the day's lock the other
        # run deletes nothing (these rows are not committed yet) and its insert then collides with
        # them in the unique index.
        time.sleep(0.5)
        return original(rows, **kwargs)

    monkeypatch.setattr(QualityScore.objects, "bulk_create", slow_bulk_create)
    a, b = run_concurrently(lambda: scores.compute_scores(DAY), lambda: scores.compute_scores(DAY))
    assert a == b == expected
    assert QualityScore.objects.filter(day=DAY).count() == expected
    # One row per (region, school, database): nothing doubled.
    assert QualityScore.objects.filter(day=DAY).values("region_path", "school_id", "database").distinct().count() \
        == expected

"""The scheduler (manage.py run_scheduler, eduplatform/ops/schedule.py): when entries fall due,
that a restart neither repeats nor starts a daily job at once, and the worker heartbeat it queues."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.core.management import call_command

from eduplatform.ops.schedule import Entry, entries
from eduplatform.ops.tasks import HEARTBEAT_TASK_PATH

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour, minute, tzinfo=TZ)


def test_a_daily_entry_runs_once_per_day_after_its_time_and_catches_up_after_downtime():
    scan = Entry("scan", ["quality_scan"], daily_at=dt.time(1, 0))
    assert not scan.due(at(2, 0, 30), last=at(1, 1))  # before today's slot
    assert scan.due(at(2, 1, 0), last=at(1, 1))
    assert not scan.due(at(2, 9), last=at(2, 1))  # done today already (a restart does not repeat it)
    assert scan.due(at(4, 9), last=at(1, 1))  # down over the slots: run once when back
    assert not scan.due(at(2, 9), last=None)  # never ran: from its next slot, not at once


def test_the_census_snapshot_runs_on_the_census_date_only(settings):
    settings.SNAPSHOT_USER = "province"
    settings.CENSUS_DATES = ["09-01"]
    snapshot = next(e for e in entries() if e.name == "census-snapshot")
    assert snapshot.command == ["take_snapshot", "--user", "province"]
    assert snapshot.due(dt.datetime(2026, 9, 1, 23, 45, tzinfo=TZ), last=at(1, 0))
    assert not snapshot.due(dt.datetime(2026, 9, 2, 23, 45, tzinfo=TZ), last=at(1, 0))
    settings.SNAPSHOT_USER = ""
    assert "census-snapshot" not in {e.name for e in entries()}


def test_an_interval_entry_runs_when_its_interval_has_passed():
    beat = Entry("beat", [], every=dt.timedelta(seconds=30))
    assert beat.due(at(1, 1), last=None)
    assert not beat.due(at(1, 1) + dt.timedelta(seconds=10), last=at(1, 1))
    assert beat.due(at(1, 1) + dt.timedelta(seconds=30), last=at(1, 1))


@pytest.mark.django_db
def test_a_tick_queues_one_heartbeat_and_records_every_entry(settings, tmp_path):
    from django_tasks_db.models import DBTaskResult

    settings.OPS_SCHEDULER_STATE = str(tmp_path / "state.json")
    # Everything on an interval already ran just now: only the heartbeat and the daily entries remain.
    now = dt.datetime.now(TZ).isoformat()
    (tmp_path / "state.json").write_text(json.dumps({"purge-uploads": now, "node-heartbeat": now}))
    call_command("run_scheduler", "--once")
    call_command("run_scheduler", "--once")  # the first beat still waits: no second one
    assert DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK_PATH, status="READY").count() == 1
    state = json.loads((tmp_path / "state.json").read_text())
    assert {"worker-heartbeat", "quality-scan", "quality-scores"} <= set(state)

"""A scan on PostgreSQL runs its database-bound rules on a second connection beside the rules that
decrypt ID numbers (quality/engine.py). With committed records, the two lanes find exactly what the
rules find one after the other; a failure in the second lane reaches the caller; a caller that stops
reading stops the lane."""

from __future__ import annotations

import threading

import pytest

from eduplatform.quality import engine
from eduplatform.quality.rules import RULES, ScanScope
from tests.concurrency import committing, postgres_only
from tests.students_support import make_id
from tests.test_quality_rules_support import TODAY, birth_for, building, county_path, staff, student

pytestmark = [committing, postgres_only]


def _faulty_county(world) -> str:
    birth = birth_for("11")
    for school in (world.school_a1, world.school_b1):
        bad = make_id(birth, school.pk, area="440303")
        student(school, id_number=bad[:17] + ("0" if bad[17] != "0" else "1"))  # S_ID_INVALID
        student(school, birth=birth_for("11", offset=4))  # S_AGE_GRADE
        staff(school, birth=TODAY.replace(year=TODAY.year - 16))  # T_AGE
        building(school, condition="24")  # F_DANGEROUS_IN_USE
        student(school, ethnicity="")  # S_REQUIRED_MISSING
    # One person in two schools, without an ID number (S_DUP_PERSON; county A's scan finds its side).
    for school in (world.school_a1, world.school_b1):
        student(school, name="重名学生", birth=birth, id_number=None, guardian=None)
    return county_path(world.school_a1)


def _lanes_seen(monkeypatch) -> list[str]:
    """The threads the database lane ran on (its rules' connection is that thread's)."""
    seen: list[str] = []
    original = engine._DatabaseLane.run

    def run(lane):
        seen.append(threading.current_thread().name)
        original(lane)

    monkeypatch.setattr(engine._DatabaseLane, "run", run)
    return seen


def _key(finding) -> tuple:
    return (finding.rule, finding.object_type, finding.object_id, finding.key, finding.message)


def test_the_two_lanes_find_what_the_rules_find_one_after_the_other(world, settings, monkeypatch):
    county = _faulty_county(world)
    lanes = _lanes_seen(monkeypatch)
    timings: dict[str, tuple[float, int]] = {}
    side_by_side = list(engine.scan_findings(ScanScope(county), timings=timings))
    assert lanes == ["quality-scan-database-lane"]
    settings.QUALITY_SCAN_SIDE_BY_SIDE = False
    one_by_one = list(engine.scan_findings(ScanScope(county)))
    assert lanes == ["quality-scan-database-lane"]  # the second scan ran on this thread alone

    assert sorted(map(_key, side_by_side)) == sorted(map(_key, one_by_one))
    assert {f.rule for f in side_by_side} >= {"S_ID_INVALID", "S_AGE_GRADE", "T_AGE", "F_DANGEROUS_IN_USE",
                                             "S_REQUIRED_MISSING", "S_DUP_PERSON"}
    assert all(f.region_path.startswith(county) for f in side_by_side)
    # Every rule ran and was timed, whichever lane it was in; the counts are the findings'.
    assert set(timings) == set(RULES)
    for code, (seconds, n) in timings.items():
        assert seconds >= 0 and n == sum(f.rule == code for f in side_by_side)


def test_an_error_in_the_database_lane_reaches_the_caller(world, monkeypatch):
    county = _faulty_county(world)
    rule = RULES["T_AGE"]
    assert rule.work == "database"

    def broken(scope):
        raise RuntimeError("the database lane failed")
        yield  # a generator, like the rules

    monkeypatch.setitem(RULES, "T_AGE", type(rule)(**{**rule.__dict__, "scan": broken}))
    with pytest.raises(RuntimeError, match="the database lane failed"):
        list(engine.scan_findings(ScanScope(county), ["S_ID_INVALID", "T_AGE"]))


def test_a_caller_that_stops_reading_stops_the_lane(world, monkeypatch):
    county = _faulty_county(world)
    started: list[engine._DatabaseLane] = []
    original = engine._DatabaseLane.start

    def start(lane):
        started.append(lane)
        original(lane)

    monkeypatch.setattr(engine._DatabaseLane, "start", start)
    found = engine.scan_findings(ScanScope(county), ["S_ID_INVALID", "S_AGE_GRADE", "T_AGE"])
    first = next(found)
    assert first.rule == "S_ID_INVALID"  # the in-process lane's findings come first
    found.close()
    assert len(started) == 1 and not started[0].is_alive() and started[0].stop.is_set()

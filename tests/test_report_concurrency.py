"""The review chain under concurrent writers, on PostgreSQL with separate committing connections
(tests/concurrency.py): two reviewers deciding the same submission at once — one wins, the other is
told who decided; a region's approval racing a school's unapproval — never an approved region over
a school that is not approved; two auto-saves of the same version — one is refused as stale.

Each race is widened: the service pauses after its own checks, so without the locks both writers
would pass them before either commits (and each of these tests would fail).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from eduplatform.core.errors import RecordInvalid
from eduplatform.reporting import selectors, services
from eduplatform.reporting.models import RegionApproval, ReviewAction, Submission, SubmissionStatus
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.reporting_support import (
    GZ,
    TIANHE,
    clerk_for,
    fill_and_submit,
    needs_engine,
    open_gz_task,
    submission,
)
from tests.world import World, build_world

# postgres_only is checked in the fixture, once the database exists: skipped before it (a run of this
# file alone on SQLite), conftest's reloading of the reference data after a committing test would find no tables.
pytestmark = [committing, needs_engine]

PAUSE = 0.5
GOOD = {"T1.R1.C1": "10", "T1.R2.C1": "4", "T1.R1.C2": "120.5"}


@pytest.fixture
def committed_world(transactional_db) -> World:
    if postgres_only.args[0]:
        pytest.skip(postgres_only.kwargs["reason"])
    return build_world()


def widen(monkeypatch, module, name: str, when=lambda *args, **kwargs: True) -> None:
    """Pause after ``module.name`` returns (for the calls ``when`` picks)."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        if when(*args, **kwargs):
            time.sleep(PAUSE)
        return result

    monkeypatch.setattr(module, name, slow)


def attempt(fn):
    def run():
        try:
            return fn()
        except RecordInvalid as exc:
            return exc

    return run


def tianhe_approved(world: World, task) -> None:
    reviewer = world.user("county_a_reviewer")
    for school, clerk in ((world.school_a1, world.user("clerk_a1")), (world.school_a2, clerk_for(world.school_a2, "clerk_a2")),
                          (world.college_a, clerk_for(world.college_a, "clerk_college"))):
        sub = fill_and_submit(clerk, submission(task, school), GOOD)
        services.review_submission(actor=reviewer, submission=sub, decision="approve")


@pytest.mark.parametrize("second", ["approve", "return"])
def test_two_reviewers_deciding_the_same_submission_one_wins(committed_world: World, monkeypatch, second: str):
    world = committed_world
    task = open_gz_task(world, targets={"regions": [TIANHE]})
    sub = fill_and_submit(world.user("clerk_a1"), submission(task, world.school_a1), GOOD)
    widen(monkeypatch, selectors, "review_node_of")  # after the status check, before the write
    first_user, second_user = world.user("county_a_reviewer"), world.user("county_a_stat")
    results = run_concurrently(
        attempt(lambda: services.review_submission(actor=first_user, submission=sub, decision="approve")),
        attempt(lambda: services.review_submission(actor=second_user, submission=sub, decision=second,
                                                   reason="请核实")),
    )
    errors = [r for r in results if isinstance(r, RecordInvalid)]
    winners = [r for r in results if isinstance(r, Submission)]
    assert len(errors) == 1 and len(winners) == 1
    assert errors[0].problems[0].code == "review.decided" and "已由" in str(errors[0])
    final = Submission.objects.get(pk=sub.pk)
    assert final.status == winners[0].status
    assert ReviewAction.objects.filter(submission=sub, action__in=["approve", "return"]).count() == 1


def test_approving_a_county_racing_a_school_unapproval_never_leaves_an_unapproved_school_below(
        committed_world: World, monkeypatch):
    world = committed_world
    task = open_gz_task(world, targets={"regions": [TIANHE]})
    tianhe_approved(world, task)
    widen(monkeypatch, selectors, "approval_blockers")  # the county's check passed …
    widen(monkeypatch, services, "_refuse_if_locked")  # … and the school's "nothing above is approved"
    county, reviewer = world.user("county_a_stat"), world.user("county_a_reviewer")
    sub = submission(task, world.school_a1)
    results = run_concurrently(
        attempt(lambda: services.approve_region(actor=county, task=task, region_path=TIANHE)),
        attempt(lambda: services.unapprove_submission(actor=reviewer, submission=sub, reason="复核")),
    )
    assert sum(isinstance(r, RecordInvalid) for r in results) == 1, results
    approved = RegionApproval.objects.filter(task=task, region_path=TIANHE).exists()
    not_approved = Submission.objects.filter(task=task, region_path__startswith=TIANHE).exclude(
        status=SubmissionStatus.APPROVED).count()
    assert approved != bool(not_approved)  # exactly one of the two took effect, never both


def test_approving_a_city_racing_a_county_unapproval(committed_world: World, monkeypatch):
    world = committed_world
    task = open_gz_task(world, targets={"regions": [TIANHE]})
    tianhe_approved(world, task)
    services.approve_region(actor=world.user("county_a_stat"), task=task, region_path=TIANHE)
    widen(monkeypatch, selectors, "approval_blockers")  # the city's "every county approved" …
    # … and the county's "nothing above me is approved"
    widen(monkeypatch, selectors, "approvals_above", when=lambda task, path, include_self=True: path == TIANHE)
    city, county = world.user("city_stat"), world.user("county_a_stat")
    results = run_concurrently(
        attempt(lambda: services.approve_region(actor=city, task=task, region_path=GZ)),
        attempt(lambda: services.unapprove_region(actor=county, task=task, region_path=TIANHE, reason="复核")),
    )
    assert sum(isinstance(r, RecordInvalid) for r in results) == 1, results
    city_approved = RegionApproval.objects.filter(task=task, region_path=GZ).exists()
    county_approved = RegionApproval.objects.filter(task=task, region_path=TIANHE).exists()
    assert county_approved or not city_approved


def test_two_auto_saves_of_the_same_version_one_is_refused_as_stale(committed_world: World, monkeypatch):
    world = committed_world
    task = open_gz_task(world, targets={"regions": [TIANHE]})
    clerk = world.user("clerk_a1")
    sub = submission(task, world.school_a1)
    seen = sub.lock_version
    widen(monkeypatch, selectors, "form_spec")  # after the version check, before the write
    results = run_concurrently(
        attempt(lambda: services.save_entry(actor=clerk, submission=sub, values={"T1.R1.C1": "11"}, explanations={},
                                            lock_version=seen)),
        attempt(lambda: services.save_entry(actor=clerk, submission=sub, values={"T1.R1.C1": "22"}, explanations={},
                                            lock_version=seen)),
    )
    errors = [r for r in results if isinstance(r, RecordInvalid)]
    winners = [r for r in results if isinstance(r, Submission)]
    assert len(errors) == 1 and errors[0].problems[0].code == "report.stale"
    final = Submission.objects.get(pk=sub.pk)
    assert final.values["T1.R1.C1"] == winners[0].values["T1.R1.C1"] and final.lock_version == seen + 1


def test_two_officers_opening_the_same_task_at_once_send_it_once(committed_world: World, monkeypatch):
    """Two clicks on 下发 at the same moment: one opens the task, the other waits on the task's lock
    and is told it was already sent — one submission per school, one 下发 in the history."""
    from eduplatform.reporting.models import CollectionTask, TaskStatus
    from tests.reporting_support import LEVELS, published_form

    world = committed_world
    officer = world.user("province")
    task = services.create_task(actor=officer, title="并发下发", period="2026", kind="form",
                                form_version=published_form(world),
                                deadline=dt.date.today() + dt.timedelta(days=10),
                                targets={"regions": [GZ]}, review_levels=LEVELS)
    widen(monkeypatch, services, "_insert_submissions")  # inside the first opener's transaction
    results = run_concurrently(attempt(lambda: services.open_task(actor=officer, task=task)),
                               attempt(lambda: services.open_task(actor=officer, task=task)))
    errors = [r for r in results if isinstance(r, RecordInvalid)]
    assert len(errors) == 1 and errors[0].problems[0].code == "task.opened", results
    assert CollectionTask.objects.get(pk=task.pk).status == TaskStatus.OPEN
    per_school = Submission.objects.filter(task=task).values_list("school_id", flat=True)
    assert len(per_school) == len(set(per_school)) > 0
    assert ReviewAction.objects.filter(task=task, action="open").count() == 1

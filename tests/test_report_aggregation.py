"""Aggregation up the tree and completeness: a region's totals are the sums of its approved
submissions (computed here independently, from what each school typed), and its completeness
figures count its schools' states."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.utils import timezone

from eduplatform.reporting import selectors, services
from eduplatform.reporting.models import SubmissionStatus
from tests.reporting_support import (
    GZ,
    TIANHE,
    YUEXIU,
    clerk_for,
    fill_and_submit,
    more_schools,
    needs_engine,
    open_gz_task,
    submission,
)
from tests.world import TOWN_A, TOWN_B, World

pytestmark = [pytest.mark.django_db, needs_engine]


def scenario(world: World, seed: int = 7):
    """Nine schools in 广州 report random figures; each ends approved, submitted, returned, zero-reported
    (approved) or not started. Returns the task and, per school, (final state, the values it typed)."""
    rng = random.Random(seed)
    extra = more_schools(world, 3, town=TOWN_A, prefix="21440006") + more_schools(world, 2, town=TOWN_B, prefix="21440007")
    task = open_gz_task(world)
    schools = [world.school_a1, world.school_a2, world.college_a, world.school_b1, *extra]
    states = ["approved", "approved", "submitted", "approved", "returned", "zero", "approved", "not_started", "approved"]
    reviewers = {TIANHE: world.user("county_a_reviewer"), YUEXIU: world.user("county_b_stat")}
    typed: dict[int, tuple[str, dict[str, str]]] = {}
    for i, (school, state) in enumerate(zip(schools, states, strict=True)):
        clerk = clerk_for(school, f"agg_clerk_{i}")
        reviewer = next(user for path, user in reviewers.items() if school.region_path.startswith(path))
        total = rng.randint(5, 60)
        values = {"T1.R1.C1": str(total), "T1.R2.C1": str(rng.randint(0, total)),
                  "T1.R1.C2": f"{rng.randint(0, 9000) / 10:.1f}", "T1.R2.C2": f"{rng.randint(0, 900) / 10:.1f}"}
        typed[school.pk] = (state, values)
        if state == "not_started":
            continue
        sub = submission(task, school)
        if state == "zero":
            sub = services.report_zero(actor=clerk, submission=sub, reason="无培训")
        else:
            sub = fill_and_submit(clerk, sub, values)
        if state in ("approved", "zero"):
            services.review_submission(actor=reviewer, submission=sub, decision="approve")
        elif state == "returned":
            services.review_submission(actor=reviewer, submission=sub, decision="return", reason="请核实")
    return task, schools, typed


def expected_sums(schools, typed, path: str) -> dict[str, Decimal]:
    """Sum of every numeric cell over the approved (not zero-reported) schools under ``path``,
    with the computed cell R3.C1 = R1.C1 − R2.C1 worked out here."""
    sums: dict[str, Decimal] = {}
    for school in schools:
        state, values = typed[school.pk]
        if state != "approved" or not school.region_path.startswith(path):
            continue
        cells = {k: Decimal(v) for k, v in values.items()}
        cells["T1.R3.C1"] = cells["T1.R1.C1"] - cells["T1.R2.C1"]
        cells["T1.R1.C3"] = Decimal(0)  # prefilled: no students in the records
        for key, value in cells.items():
            sums[key] = sums.get(key, Decimal(0)) + value
    return sums


def test_aggregated_totals_at_each_level_equal_the_sum_of_approved_submissions_below(world: World):
    task, schools, typed = scenario(world)
    officer = world.user("province")
    for path in (TIANHE, YUEXIU, GZ, "44/", world.school_a1.region_path):
        expected = expected_sums(schools, typed, path)
        assert selectors.aggregated(officer, task, path) == expected, path
    assert selectors.aggregated(officer, task, GZ)["T1.R1.C1"] > 0
    # A county reads its own part even when it names the city.
    assert selectors.aggregated(world.user("county_a_stat"), task, GZ) == expected_sums(schools, typed, TIANHE)


def test_unapproving_a_school_takes_it_out_of_the_totals(world: World):
    task, schools, typed = scenario(world)
    officer = world.user("province")
    before = selectors.aggregated(officer, task, GZ)
    sub = submission(task, world.school_a1)
    services.unapprove_submission(actor=world.user("county_a_reviewer"), submission=sub, reason="复核")
    after = selectors.aggregated(officer, task, GZ)
    assert after["T1.R1.C1"] == before["T1.R1.C1"] - Decimal(typed[world.school_a1.pk][1]["T1.R1.C1"])


def test_completeness_counts_each_child_region_and_each_school(world: World):
    task, schools, typed = scenario(world)
    officer = world.user("province")

    def expected(path: str) -> dict[str, int]:
        mine = [typed[s.pk][0] for s in schools if s.region_path.startswith(path)]
        return {"expected": len(mine), "submitted": sum(s in ("approved", "submitted", "zero") for s in mine),
                "approved": sum(s in ("approved", "zero") for s in mine), "returned": mine.count("returned"),
                "zero": mine.count("zero"), "not_started": mine.count("not_started")}

    rows = {row.path: row for row in selectors.completeness(officer, task, GZ)}
    assert set(rows) == {TIANHE, YUEXIU}
    for path, row in rows.items():
        figures = expected(path)
        assert {k: getattr(row, k) for k in figures} == figures, path
        assert row.on_time == figures["submitted"] and row.overdue == 0
    total = selectors.completeness_total(officer, task, GZ)
    assert total.expected == 9 and total.approved == expected(GZ)["approved"]

    late = task.deadline + dt.timedelta(days=1)
    rows = {row.path: row for row in selectors.completeness(officer, task, GZ, today=late)}
    assert rows[TIANHE].overdue == expected(TIANHE)["not_started"] + expected(TIANHE)["returned"]

    # Below the last region level: one row per school.
    schools_rows = selectors.completeness(officer, task, world.school_a1.region_path)
    assert {r.school_id for r in schools_rows} == {s.pk for s in schools if s.region_path == world.school_a1.region_path}
    assert all(r.expected == 1 for r in schools_rows)
    # A county sees only itself below the city.
    assert [r.path for r in selectors.completeness(world.user("county_a_stat"), task, GZ)] == [TIANHE]


def test_late_submission_is_not_on_time(world: World):
    task = open_gz_task(world, targets={"regions": [YUEXIU]}, title="越秀")
    sub = submission(task, world.school_b1)
    sub = fill_and_submit(world.user("clerk_b1"), sub, {"T1.R1.C1": "3"})
    type(sub).objects.filter(pk=sub.pk).update(
        submitted_at=timezone.make_aware(dt.datetime.combine(task.deadline + dt.timedelta(days=2), dt.time(9))))
    (row,) = selectors.completeness(world.user("province"), task, "44/")
    assert (row.submitted, row.on_time) == (1, 0)
    assert submission(task, world.school_b1).status == SubmissionStatus.SUBMITTED


def test_region_state_says_why_a_county_cannot_be_approved(world: World):
    task, schools, typed = scenario(world)
    state = selectors.region_state(world.user("county_a_stat"), task, TIANHE)
    assert state.is_review_node and not state.can_approve
    assert any("未审核通过" in b for b in state.blockers)


def test_summary_page_export_and_pdf_show_the_sums_of_approved_submissions(world: World, client):
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    from eduplatform.orgs.models import Region
    from eduplatform.reporting.grid import shown_number

    task, schools, typed = scenario(world)
    city = Region.objects.get(path=GZ)
    expected = expected_sums(schools, typed, GZ)
    client.force_login(world.user("city_stat"))
    url = f"/reports/tasks/{task.pk}/summary/?region={city.code}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for key, value in expected.items():
        cell = html.split(f'id="cell-{key.replace(".", "-")}"', 1)[1].split("</td>", 1)[0]
        assert shown_number(value) in cell, key
    approved = sum(1 for s in schools if typed[s.pk][0] in ("approved", "zero"))
    assert f"汇总已审核通过的填报：{approved} 所" in html
    book = CalamineWorkbook.from_filelike(BytesIO(client.get(url + "&format=xlsx").content))
    rows = book.get_sheet_by_name("汇总").to_python()
    exported = {f"{r[0]}.{r[2]}.{r[4]}": r[6] for r in rows[1:]}
    assert {k: Decimal(str(v).replace(",", "")) for k, v in exported.items() if v != ""} == expected
    pdf = client.get(url + "&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # A county below, or one elsewhere, cannot open 广州's summary (its figures include other counties).
    for outsider in ("county_a_stat", "county_c_stat"):
        client.force_login(world.user(outsider))
        assert client.get(url).status_code == 404
    client.force_login(world.user("county_a_stat"))
    tianhe = Region.objects.get(path=TIANHE)
    assert f"{shown_number(expected_sums(schools, typed, TIANHE)['T1.R1.C1'])}" in client.get(
        f"/reports/tasks/{task.pk}/summary/?region={tianhe.code}").content.decode()

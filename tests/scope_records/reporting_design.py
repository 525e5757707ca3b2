"""Report forms and collection tasks outside each group's reach (the designer and completeness pages).

Forms are designed by the province (``owner_path`` "44/"): outside every bureau's and school's reach,
inside the province officers' (None for their groups). A task is outside a group's reach when it is
owned by another county (or city) and sent only to schools the group cannot see; the province
officers see every task the province or its regions own (None for them)."""

from __future__ import annotations

import datetime as dt

from tests.scope_records import outside_school, school_c1
from tests.world import World

DEFINITION = {"code": "ZZ901", "title": "辖区外测试报表", "tables": [
    {"code": "T1", "title": "测试", "rows": [{"code": "R1", "label": "合计"}],
     "columns": [{"code": "C1", "label": "人数", "type": "integer"}], "cells": {}}], "rules": []}


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from eduplatform.reporting.models import (
        CollectionTask,
        FormDefinition,
        FormVersion,
        FormVersionStatus,
        Submission,
        SubmissionStatus,
        TaskStatus,
    )

    form, _created = FormDefinition.objects.get_or_create(code="ZZ901", defaults={"title": "辖区外测试报表",
                                                                                  "owner_path": "44/"})
    version, _created = FormVersion.objects.get_or_create(form=form, version=1, defaults={
        "definition": DEFINITION, "status": FormVersionStatus.PUBLISHED})
    if group in ("k12_officer", "higher_officer"):
        return {"version_id": None, "task_id": None}
    school = {"city_stat": school_c1(world)}.get(group) or outside_school(world, group)
    owner = {"clerk_a1": world.county_a.region_path}.get(group, school.region_path.rsplit("/", 2)[0] + "/")
    if group in ("county_a_stat", "city_stat"):
        owner = (world.county_b if group == "county_a_stat" else world.county_c).region_path
    task = CollectionTask.objects.create(title=f"辖区外测试任务{group}", form_version=version, period="2026",
                                         deadline=dt.date(2026, 12, 31), status=TaskStatus.OPEN, owner_path=owner,
                                         review_levels=["county", "city", "province"])
    Submission.objects.create(task=task, school=school, region_path=school.region_path,
                              status=SubmissionStatus.RETURNED, return_reason="辖区外退回原因")
    return {"version_id": str(version.pk), "task_id": str(task.pk)}

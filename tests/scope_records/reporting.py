"""Collection tasks and submissions outside each group's reach: a task sent by the outside school's
county to that school alone (named with the group's leak marker), and the school's submission,
reported with an explanation that carries the marker too.

Tasks are visible to every unit above their owner, so for the province's stage-limited officers only
the submission is outside (``task_id`` None).
"""

from __future__ import annotations

import datetime as dt

from tests.scope_records import marker_for, outside_school, writer_for
from tests.world import World

FORM = {
    "code": "SM01", "title": "辖区检查表",
    "tables": [{"code": "T1", "title": "检查", "rows": [{"code": "R1", "label": "合计"}],
                "columns": [{"code": "C1", "label": "人数", "type": "integer"}], "cells": {}}],
    "rules": [],
}


def _version(world: World):
    from eduplatform.reporting import services

    cache = world.__dict__
    if "_scope_form" not in cache:
        officer = world.user("province")
        draft = services.save_form_draft(actor=officer, code=FORM["code"], definition=FORM)
        cache["_scope_form"] = services.publish_form_version(actor=officer, version=draft)
    return cache["_scope_form"]


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from django.utils import timezone

    from eduplatform.reporting import services
    from eduplatform.reporting.models import Submission

    school = outside_school(world, group)
    owner = writer_for(world, school)
    county = "/".join(school.region_path.split("/")[:3]) + "/"
    # A stage-limited officer may read the task (owned in the province), so only an outside task
    # carries the marker in its title.
    outside = group not in ("k12_officer", "higher_officer")
    task = services.create_task(
        actor=owner, title=f"{marker_for(group) if outside else '分学段检查'}填报任务", period="2026", kind="form", form_version=_version(world),
        deadline=timezone.localdate() + dt.timedelta(days=10),
        targets={"regions": [county], "school_types": [school.school_type_code]}, review_levels=["county"])
    task = services.open_task(actor=owner, task=task)
    submission = Submission.objects.get(task=task, school=school)
    return {"task_id": str(task.pk) if outside else None, "submission_id": str(submission.pk)}

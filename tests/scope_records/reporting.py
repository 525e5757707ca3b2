"""Reporting records outside each group's reach: a collection task sent by the outside school's
county to that school alone, and the school's submission. Tasks are visible to every unit above
their owner, so for the province's stage-limited officers only the submission is outside."""

from __future__ import annotations

import datetime as dt

from tests.scope_records import marker_for, outside_school, writer_for
from tests.world import World

FORM = {
    "code": "MX01", "title": "矩阵检查表",
    "tables": [{"code": "T1", "title": "检查", "rows": [{"code": "R1", "label": "合计"}],
                "columns": [{"code": "C1", "label": "人数", "type": "integer"}]}],
    "rules": [],
}


def _version(world: World):
    from eduplatform.reporting import services

    cache = world.__dict__
    if "_matrix_form" not in cache:
        officer = world.user("province")
        draft = services.save_form_draft(actor=officer, code=FORM["code"], definition=FORM)
        cache["_matrix_form"] = services.publish_form_version(actor=officer, version=draft)
    return cache["_matrix_form"]


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from django.utils import timezone

    from eduplatform.reporting import services
    from eduplatform.reporting.models import Submission

    school = outside_school(world, group)
    owner = writer_for(world, school)
    # A stage-limited province officer sees every task owned in the province; only the school is outside
    # (so its title carries no marker: the officer may read it).
    task_outside = group not in ("k12_officer", "higher_officer")
    county = "/".join(school.region_path.split("/")[:3]) + "/"
    task = services.create_task(
        actor=owner, title=f"{marker_for(group)}填报任务" if task_outside else "矩阵检查任务", period="2026", kind="form", form_version=_version(world),
        deadline=timezone.localdate() + dt.timedelta(days=10),
        targets={"regions": [county], "school_types": [school.school_type_code]},
        review_levels=["county"])
    services.open_task(actor=owner, task=task)
    submission = Submission.objects.get(task=task, school=school)
    return {"task_id": str(task.pk) if task_outside else None, "submission_id": str(submission.pk)}

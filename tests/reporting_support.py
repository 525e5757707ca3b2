"""Forms, tasks and users for the reporting tests (tests/test_report_*.py).

The tests' form has a hard rule (V1: 合计 ≥ 其中女), a soft rule (E1: 培训学时 ≤ 1000, else explain),
a computed cell (R3.C1 = R1.C1 − R2.C1) and a prefilled one (R1.C3: the school's students in the
records) — a small 基础基442. ``evaluation_or_skip`` skips a test while the engine is not there.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from decimal import Decimal

import pytest
from django.utils import timezone

from eduplatform.accounts import services as accounts
from eduplatform.accounts.roles import Role
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Organization, OrgKind, Region
from tests.world import PASSWORD, World, school_row

HAS_ENGINE = importlib.util.find_spec("eduplatform.reporting.evaluation") is not None
needs_engine = pytest.mark.skipif(not HAS_ENGINE, reason="the form engine (reporting.evaluation) is not merged yet")

GZ, TIANHE, YUEXIU = "44/4401/", "44/4401/440106/", "44/4401/440104/"
LEVELS = ["county", "city", "province"]


def form_definition(code: str = "JC442", *, prefill: bool = True) -> dict:
    cells: dict = {"R3.C1": {"computed": "[T1.R1.C1] - [T1.R2.C1]"}}
    if prefill:
        cells["R1.C3"] = {"prefill": "RECORD('students.enrolled')"}
    return {
        "code": code, "title": "教师培训情况",
        "tables": [{
            "code": "T1", "title": "专任教师培训情况", "unit": "人",
            "rows": [{"code": "R1", "label": "合计"}, {"code": "R2", "label": "其中：女"}, {"code": "R3", "label": "其中：男"}],
            "columns": [{"code": "C1", "label": "参加培训人数", "type": "integer", "unit": "人"},
                        {"code": "C2", "label": "培训学时", "type": "decimal", "decimals": 1},
                        {"code": "C3", "label": "在校生", "type": "integer"},
                        {"code": "C4", "label": "备注", "type": "text"}],
            "cells": cells,
        }],
        "rules": [
            {"code": "V1", "kind": "hard", "expression": "[T1.R1.C1] >= [T1.R2.C1]",
             "message": "女教师参加培训人数不能大于合计", "cells": ["T1.R2.C1"]},
            {"code": "E1", "kind": "soft", "expression": "[T1.R1.C2] <= 1000",
             "message": "培训学时超过 1000，请核实", "cells": ["T1.R1.C2"]},
        ],
    }


def published_form(world: World, code: str = "JC442", *, prefill: bool = True):
    from eduplatform.reporting import services

    officer = world.user("province")
    draft = services.save_form_draft(actor=officer, code=code, definition=form_definition(code, prefill=prefill))
    return services.publish_form_version(actor=officer, version=draft)


def clerk_for(school: Organization, username: str):
    """A school clerk of ``school`` (the world has clerks for a1 and b1 only)."""
    from eduplatform.accounts.models import User

    found = User.objects.filter(username=username).first()
    if found is not None:
        return found
    user = accounts.create_user(actor=None, username=username, password=PASSWORD, organization=school, display_name=username)
    accounts.grant_role(actor=None, user=user, role=Role.SCHOOL_CLERK)
    return user


def bureau_user(username: str, region_code: str, role: Role = Role.STATISTICIAN, parent: Organization | None = None):
    """A statistician of the bureau of ``region_code`` (made once)."""
    from eduplatform.accounts.models import User

    found = User.objects.filter(username=username).first()
    if found is not None:
        return found
    region = Region.objects.get(code=region_code)
    bureau = Organization.objects.filter(kind=OrgKind.BUREAU, region=region).first() or orgs.create_authority(
        actor=None, kind=OrgKind.BUREAU, name=f"{region.name}教育局", region=region, parent=parent)
    user = accounts.create_user(actor=None, username=username, password=PASSWORD, organization=bureau, display_name=username)
    accounts.grant_role(actor=None, user=user, role=role)
    return user


def open_gz_task(world: World, *, version=None, deadline: dt.date | None = None, levels: list[str] | None = None,
                 targets: dict | None = None, title: str = "2026年教师培训情况"):
    """A province task over 广州 (天河: a1, a2, college; 越秀: b1), opened."""
    from eduplatform.reporting import services

    officer = world.user("province")
    version = version or published_form(world)
    task = services.create_task(actor=officer, title=title, period="2026", kind="form", form_version=version,
                                deadline=deadline or timezone.localdate() + dt.timedelta(days=10),
                                targets=targets if targets is not None else {"regions": [GZ]},
                                review_levels=levels or LEVELS)
    return services.open_task(actor=officer, task=task)


def more_schools(world: World, count: int, town: str = "440106001000", prefix: str = "21440005") -> list[Organization]:
    rows = [school_row(f"{prefix}{i:02d}", f"天河补充小学{i}", "211", town) for i in range(count)]
    return orgs.register_schools(actor=None, rows=rows)


def submission(task, school):
    from eduplatform.reporting.models import Submission

    return Submission.objects.select_related("task", "school").get(task=task, school=school)


def fill(actor, sub, values: dict, explanations: dict | None = None):
    from eduplatform.reporting import services

    sub.refresh_from_db()
    return services.save_entry(actor=actor, submission=sub, values=values, explanations=explanations or {},
                               lock_version=sub.lock_version)


def fill_and_submit(actor, sub, values: dict, explanations: dict | None = None):
    from eduplatform.reporting import services

    sub = fill(actor, sub, values, explanations)
    return services.submit(actor=actor, submission=sub)


def dec(value) -> Decimal:
    return Decimal(str(value))

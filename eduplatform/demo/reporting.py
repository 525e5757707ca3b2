"""Demo report forms and one open collection task: the shipped forms (``data/forms/``) imported and
published by the demo province officer, as an officer would through the designer, and the teacher
training form (基础基442) sent to the schools of 天河区 with review by county, city and province — so
a clerk, the county and the province find work in 报表与审核 and in their 待办 inbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from eduplatform.accounts.models import User
from eduplatform.orgs.models import Region
from eduplatform.reporting import services
from eduplatform.reporting.models import FormDefinition

FORMS_DIR = Path(settings.BASE_DIR) / "data" / "forms"
TASK_FORM = "JC442"
TASK_COUNTY = "440106"  # 天河区, the demo's county at real class sizes


def generate(*, seed: int, progress: Callable[[str], None] | None = None) -> str:
    """Import and publish the shipped forms and open one task, unless any form exists already."""
    if FormDefinition.objects.exists():
        return "演示报表已存在，未重复生成。"
    officer = User.objects.filter(username="province").first()
    county = Region.objects.filter(code__startswith=TASK_COUNTY, level="county").first()
    if officer is None or county is None:
        return ""
    published = {}
    for path in sorted(FORMS_DIR.glob("*.json")):
        draft = services.import_form_json(actor=officer, data=json.loads(path.read_text(encoding="utf-8")))
        published[draft.form.code] = services.publish_form_version(actor=officer, version=draft)
    if TASK_FORM not in published:
        return f"已导入并发布演示报表 {len(published)} 张"
    task = services.create_task(
        actor=officer, title=f"{timezone.localdate().year} 年教师培训情况（基础基442）", period=str(timezone.localdate().year),
        deadline=timezone.localdate() + dt.timedelta(days=30), targets={"regions": [county.path]},
        review_levels=["county", "city", "province"], form_version=published[TASK_FORM])
    services.open_task(actor=officer, task=task)
    return f"已导入并发布演示报表 {len(published)} 张，并向{county.name}学校下发填报任务「{task.title}」"

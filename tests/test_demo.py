"""The demo generator: a province in miniature, every county covered, the proportions kept."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command

from eduplatform.accounts.models import User
from eduplatform.demo import province
from eduplatform.orgs.models import Organization, OrgKind, Region, RegionLevel
from eduplatform.students.models import Student

pytestmark = pytest.mark.django_db


def test_demo_province_has_every_county_every_type_and_every_role():
    created, accounts = province.generate(scale=0.01, seed=7)
    schools = Organization.objects.filter(kind=OrgKind.SCHOOL)
    assert created == schools.count()
    counties = set(Region.objects.filter(level=RegionLevel.COUNTY).values_list("code", flat=True))
    covered = {s.region.parent.code for s in schools.select_related("region__parent")}
    # Every county holds schools (Dongguan's and Zhongshan's towns sit under the city itself).
    assert counties <= covered
    types = Counter(schools.values_list("school_type_code", flat=True))
    assert set(types) == {t for t, _, _ in province.SCHOOL_MIX}
    share = types["111"] / sum(types.values())
    assert 0.45 < share < 0.65, share  # kindergartens ≈ 57 % as in the province
    roles = {a.role for a in accounts}
    assert {"系统管理员", "安全管理员", "安全审计员", "省级业务人员", "统计员", "审核员", "学校数据管理员", "校长（只读）"} <= roles
    assert Organization.objects.filter(kind=OrgKind.BUREAU).count() >= 21 + 122


def test_demo_generation_is_repeatable_and_idempotent():
    province.generate(scale=0.005, seed=7)
    first = list(Organization.objects.filter(kind=OrgKind.SCHOOL).order_by("school_code").values_list("school_code", "name"))
    again, _ = province.generate(scale=0.005, seed=7)
    assert again == 0
    assert User.objects.filter(username="th_stat").count() == 1
    rows = province.school_rows(0.005, 7)
    assert [(r["school_code"], r["name"]) for r in sorted(rows, key=lambda r: r["school_code"])] == first


def test_demo_command_with_zero_students_creates_schools_only():
    out = io.StringIO()
    call_command("generate_demo", "--scale", "0.001", "--students", "0", stdout=out)
    assert Organization.objects.filter(kind=OrgKind.SCHOOL).exists()
    assert not Student.objects.exists()
    assert "未生成学生" in out.getvalue()


def test_demo_command_publishes_the_shipped_forms_and_opens_a_task_for_tianhe():
    from eduplatform.reporting.models import CollectionTask, FormVersionStatus, Submission

    out = io.StringIO()
    call_command("generate_demo", "--scale", "0.001", "--students", "0", stdout=out)
    task = CollectionTask.objects.get()
    assert task.status == "open" and task.form_version.status == FormVersionStatus.PUBLISHED
    assert task.form_version.form.code == "JC442"
    tianhe = Organization.objects.filter(kind=OrgKind.SCHOOL, region_path__startswith=Region.objects.get(code__startswith="440106", level="county").path)
    assert Submission.objects.filter(task=task).count() == tianhe.count() > 0
    assert "已导入并发布演示报表 2 张" in out.getvalue()
    call_command("generate_demo", "--scale", "0.001", "--students", "0", stdout=out)
    assert CollectionTask.objects.count() == 1 and "演示报表已存在" in out.getvalue()

"""Demo categories of the higher-education institutions (教发〔2004〕2号 院校类别), read from the words
of their generated names (师范 → 综合/师范, 医 → 医学, 理工/科技 … → 工科, 财经 → 财经), set through
the service as each institution's own record keeper would."""

from __future__ import annotations

from collections.abc import Callable

from eduplatform.demo.actor import GeneratorActor
from eduplatform.funding.models import HigherEdProfile, InstitutionCategory
from eduplatform.funding.services import set_institution_category
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind

# First match wins; a name with none of these words is a comprehensive institution.
CATEGORY_WORDS: tuple[tuple[str, InstitutionCategory], ...] = (
    ("师范", InstitutionCategory.GENERAL), ("医", InstitutionCategory.MEDICAL),
    ("财经", InstitutionCategory.HUMANITIES), ("体育", InstitutionCategory.SPORTS),
    ("艺术", InstitutionCategory.ARTS),
    *((word, InstitutionCategory.ENGINEERING) for word in ("理工", "科技", "工程", "工贸", "轻工", "农工商", "信息")),
)


def category_of(name: str) -> InstitutionCategory:
    return next((category for word, category in CATEGORY_WORDS if word in name), InstitutionCategory.GENERAL)


def generate(*, seed: int, progress: Callable[[str], None] | None = None) -> str:
    """A category for every open 普通高等学校, unless any is set already; one Chinese summary line."""
    if HigherEdProfile.objects.exists():
        return "高校院校类别已存在，未重复生成。"
    colleges = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, school_type_code__startswith="41")
    for college in colleges:
        set_institution_category(actor=GeneratorActor(college, capabilities.MANAGE_SCHOOLS), school=college,
                                 category=category_of(college.name))
    return f"已设置高校院校类别 {len(colleges):,} 所" if colleges else ""

"""School stages (学段) as bits, so "which stages does this school offer" and "which stages may
this officer see" meet in one portable ``mask & mask`` filter on SQLite and PostgreSQL."""

from __future__ import annotations

from enum import IntFlag

from django.utils.translation import gettext_lazy


class Stage(IntFlag):
    PRESCHOOL = 1  # 学前
    PRIMARY = 2  # 小学
    JUNIOR = 4  # 初中
    SENIOR = 8  # 高中
    VOCATIONAL = 16  # 中职
    HIGHER = 32  # 高等教育
    SPECIAL = 64  # 特殊教育
    OTHER = 128  # 成人、扫盲、工读、培训等


STAGE_LABELS: dict[Stage, str] = {
    Stage.PRESCHOOL: gettext_lazy("学前"),
    Stage.PRIMARY: gettext_lazy("小学"),
    Stage.JUNIOR: gettext_lazy("初中"),
    Stage.SENIOR: gettext_lazy("高中"),
    Stage.VOCATIONAL: gettext_lazy("中职"),
    Stage.HIGHER: gettext_lazy("高等教育"),
    Stage.SPECIAL: gettext_lazy("特殊教育"),
    Stage.OTHER: gettext_lazy("其他教育"),
}
# The same names untranslated, as data files write them (funding/default_rates.csv's stage column).
STAGE_SOURCE_NAMES: dict[Stage, str] = {
    Stage.PRESCHOOL: "学前", Stage.PRIMARY: "小学", Stage.JUNIOR: "初中", Stage.SENIOR: "高中",
    Stage.VOCATIONAL: "中职", Stage.HIGHER: "高等教育", Stage.SPECIAL: "特殊教育", Stage.OTHER: "其他教育",
}

# 基础教育 (K-12) as the province's basic-education division oversees it.
K12 = Stage.PRESCHOOL | Stage.PRIMARY | Stage.JUNIOR | Stage.SENIOR | Stage.SPECIAL
ALL_STAGES = Stage(sum(STAGE_LABELS))

# The ``stages`` column of school_type.csv (our derivation, see data/reference/SOURCES.md) → bits.
# Qualified stages such as "小学(成人)" or "初中(职业)" are not the regular K-12 stage.
_SOURCE_STAGE = {
    "学前": Stage.PRESCHOOL,
    "小学": Stage.PRIMARY,
    "初中": Stage.JUNIOR,
    "高中": Stage.SENIOR,
    "中职": Stage.VOCATIONAL,
    "初中(职业)": Stage.VOCATIONAL,
    "高等": Stage.HIGHER,
    "特殊教育": Stage.SPECIAL,
}


def mask_from_source(stages: str) -> int:
    mask = Stage(0)
    for part in filter(None, (s.strip() for s in stages.split(";"))):
        mask |= _SOURCE_STAGE.get(part, Stage.OTHER)
    return int(mask)


def stage_labels(mask: int | None) -> list[str]:
    if not mask:
        return []
    return [str(label) for stage, label in STAGE_LABELS.items() if mask & stage]


def describe(mask: int | None) -> str:
    return "、".join(stage_labels(mask)) or "—"

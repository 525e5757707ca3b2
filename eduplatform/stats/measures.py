"""The measure store's registry: every named per-school measure the overview, the indicators and
the map sum, each a ``definitions.Figure`` (roll-up model, measure, condition, weight per part).

Official figures (在校生, 教职工, 生师比's parts per stage, 大班额 over compulsory classes …) come from
``stats.definitions`` as they are; the few the pages add (floor areas, assets, 骨干教师 …) are
defined here, once. ``stats.rollup`` keeps each school's value of every measure in
``MeasureRollup`` (and per county in ``MeasureCountyRollup``); a snapshot freezes them and sums
them for every region (``SnapshotRegionMeasure``). A page reads the level it shows
(``stats.selectors.measure_items``); the per-school roll-up path (``per_school_items``) stays the
reference the tests compare against.
"""

from __future__ import annotations

from django.db.models import DecimalField, Q
from django.utils.translation import gettext_lazy

from eduplatform.staff.codes import PE_AND_ART_SUBJECTS
from eduplatform.stats import definitions
from eduplatform.stats.definitions import FULL_TIME_TEACHER, Figure, Part
from eduplatform.stats.models import (
    AssetRollup,
    BuildingRollup,
    ClassRollup,
    StaffRollup,
    StudentRollup,
)

# GB/T 4658 学历: 1x 研究生, 2x 本科, 3x 专科 — "本科及以上", "专科及以上".
BACHELOR_OR_ABOVE = Q(education_level__startswith="1") | Q(education_level__startswith="2")
ASSOCIATE_OR_ABOVE = BACHELOR_OR_ABOVE | Q(education_level__startswith="3")
TEACHERS = Q(post_category=FULL_TIME_TEACHER)
PE_AND_ART = TEACHERS & Q(subject__in=sorted(PE_AND_ART_SUBJECTS))


def _one(key: str, label: str, model: type, measure: str, condition: Q | None = None, source: str = "") -> Figure:
    return Figure(key, label, label, source, (Part(model, measure, condition if condition is not None else Q()),))


FLOOR_AREA = _one("floor_area", gettext_lazy("校舍建筑面积（㎡）"), BuildingRollup, "total_area", source=gettext_lazy("基础基512 总计"))
DANGEROUS_AREA = _one("dangerous_area", gettext_lazy("危房面积（㎡）"), BuildingRollup, "dangerous_area")

# The overview's columns (live page, snapshot page and list, exports): students and staff by their
# official definitions — 教职工 without 代课 and 兼任, which stand beside it — then floor areas.
OVERVIEW_FIGURES: tuple[Figure, ...] = (definitions.STUDENTS, *definitions.STAFF_FIGURES, FLOOR_AREA, DANGEROUS_AREA)

# 生师比 per stage and 大班额 / 超大班额 / 56人以上 over compulsory-education classes (and per stage).
OFFICIAL_RATIOS = (*definitions.PUPIL_TEACHER_RATIOS, *definitions.CLASS_SIZE_RATIOS)
OFFICIAL_FIGURES = definitions.figures_of(OFFICIAL_RATIOS)

# What the other indicators divide (stats.indicators.INDICATORS names them by key).
INDICATOR_FIGURES: tuple[Figure, ...] = (
    definitions.STUDENTS,
    definitions.TEACHERS,
    _one("teachers_bachelor", gettext_lazy("本科及以上学历专任教师"), StaffRollup, "staff", TEACHERS & BACHELOR_OR_ABOVE),
    _one("backbone", gettext_lazy("县级及以上骨干教师"), StaffRollup, "backbone"),
    _one("pe_art_teachers", gettext_lazy("体育、艺术专任教师"), StaffRollup, "staff", PE_AND_ART),
    FLOOR_AREA,
    _one("teaching_area", gettext_lazy("教学及辅助用房面积"), BuildingRollup, "teaching_area"),
    _one("equipment_value", gettext_lazy("教学仪器设备资产值"), AssetRollup, "teaching_equipment_value"),
    _one("books", gettext_lazy("图书册数"), AssetRollup, "books_volumes"),
    _one("computers", gettext_lazy("教学用计算机台数"), AssetRollup, "computers_for_teaching"),
    _one("multimedia", gettext_lazy("网络多媒体教室间数"), AssetRollup, "multimedia_classrooms"),
    # 运动场地 from the land parcels, 体育馆 from the buildings used as 体育活动室.
    Figure("sports_venue_area", gettext_lazy("体育运动场馆面积"), gettext_lazy("运动场地面积 + 体育馆面积"), gettext_lazy("优质均衡指标 5"),
           (Part(AssetRollup, "sports_area"), Part(BuildingRollup, "gym_area"))),
)


def _registry(*groups: tuple[Figure, ...] | list[Figure]) -> dict[str, Figure]:
    """Key → figure; a key named twice must be the very same definition (never two meanings)."""
    out: dict[str, Figure] = {}
    for group in groups:
        for figure in group:
            if out.setdefault(figure.key, figure) != figure:
                raise ValueError(f"measure {figure.key!r} is defined twice, differently")
    return out


MEASURES: dict[str, Figure] = _registry(OVERVIEW_FIGURES, OFFICIAL_FIGURES, INDICATOR_FIGURES)
OVERVIEW_KEYS = tuple(f.key for f in OVERVIEW_FIGURES)
INDICATOR_KEYS = tuple(dict.fromkeys(f.key for f in (*OFFICIAL_FIGURES, *INDICATOR_FIGURES)))

# Per source model: the field a stage-limited scope filters its rows by (``SCOPE.stages``), which the
# measure row keeps as ``stages``.
SOURCE_MODELS = (StudentRollup, ClassRollup, StaffRollup, BuildingRollup, AssetRollup)


def is_integral(figure: Figure) -> bool:
    """Counts (people, classes, books) are read back as integers; areas and money as decimals."""
    return all(part.weight == 1 and not isinstance(part.model._meta.get_field(part.measure), DecimalField)
               for part in figure.parts)


INTEGRAL = frozenset(key for key, figure in MEASURES.items() if is_integral(figure))


def parts_by_model() -> dict[type, list[tuple[str, Part]]]:
    """(key, part) of every measure, grouped by the roll-up model the part sums."""
    out: dict[type, list[tuple[str, Part]]] = {model: [] for model in SOURCE_MODELS}
    for key, figure in MEASURES.items():
        for part in figure.parts:
            out[part.model].append((key, part))
    return out

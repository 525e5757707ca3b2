"""Land and buildings (土地与校舍) of a school, after 基础基512 (校舍情况) and 基础基522 (占地面积,
运动场地面积), with the attribute codes of JY/T 1001-2012 (``building_codes.csv``, ``building_use.csv``).

A ``Building`` carries its floor area and, of that, the area used for each of the four 512 use
categories; the school's totals by use are always summed from the buildings (``selectors.floor_area_totals``),
never stored a second time. Demolished buildings and given-up parcels stay, marked, with their history.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields
from eduplatform.orgs.models import Organization

AREA = {"max_digits": 12, "decimal_places": 2}


class LandParcel(models.Model):
    """One parcel of land a school occupies (占地), with the parts used as sports ground and green space."""

    school = models.ForeignKey(Organization, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(_("区划路径"), max_length=64)
    name = models.CharField(_("地块名称（坐落）"), max_length=200)
    certificate_number = models.CharField(_("土地证号"), max_length=60, blank=True)
    area = models.DecimalField(_("占地面积（㎡）"), **AREA)
    sports_area = models.DecimalField(_("其中体育场地面积（㎡）"), default=0, **AREA)
    green_area = models.DecimalField(_("其中绿化用地面积（㎡）"), default=0, **AREA)
    property_right = models.CharField(_("产权"), max_length=2)  # asset_codes.csv property_right
    acquisition_mode = models.CharField(_("取得方式"), max_length=2, blank=True)  # acquisition_mode
    acquired_on = models.DateField(_("取得日期"), null=True, blank=True)
    notes = models.CharField(_("备注"), max_length=500, blank=True)
    # 注销: the parcel was handed over or sold. Kept with its history, left out of the totals.
    retired_on = models.DateField(_("注销日期"), null=True, blank=True)
    retired_reason = models.CharField(_("注销原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="school__stage_mask")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("土地")
        ordering = ["school_id", "name", "id"]
        # The natural key a re-import finds a parcel by: its 土地证号 (不动产权证号) when it has one, else
        # its name (坐落) among the school's parcels in use (many school parcels have no certificate).
        constraints = [
            models.UniqueConstraint(fields=["school", "certificate_number"], condition=~models.Q(certificate_number=""),
                                    name="one_parcel_per_certificate"),
            models.UniqueConstraint(fields=["school", "name"], condition=models.Q(retired_on__isnull=True),
                                    name="one_parcel_in_use_per_name"),
        ]
        indexes = [
            models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="parcel_region_path"),
            # The land list's order within a scope (selectors.PARCEL_LIST_ORDER), parcels in use.
            models.Index(fields=["region_path", "school", "name", "id"], condition=models.Q(retired_on__isnull=True),
                         name="parcel_list_order"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.retired_on is None


class Tenure(models.TextChoices):
    """Whether the school owns the building or uses someone else's (512's 租借面积 column)."""

    OWNED = "1", _("自有")
    RENTED = "2", _("租用")
    BORROWED = "3", _("借用")


class Building(models.Model):
    """One building (建筑物) of a school: its identity, construction, use areas and safety record."""

    school = models.ForeignKey(Organization, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(_("区划路径"), max_length=64)
    number = models.CharField(_("建筑物编号"), max_length=30)
    name = models.CharField(_("建筑物名称"), max_length=100)
    building_class = models.CharField(_("建筑物分类"), max_length=2, default="1")
    use_code = models.CharField(_("建筑物用途"), max_length=2)  # building_use.csv building_use
    structure = models.CharField(_("建筑结构"), max_length=2)
    floors_above = models.PositiveSmallIntegerField(_("地上层数"), null=True, blank=True)
    floors_below = models.PositiveSmallIntegerField(_("地下层数"), null=True, blank=True)
    built_year = models.PositiveSmallIntegerField(_("建成年份"))
    total_area = models.DecimalField(_("建筑面积（㎡）"), **AREA)
    # Of the floor area, what each 512 use category occupies; the unassigned rest counts for the
    # building's own use category (see ``use_category``).
    teaching_area = models.DecimalField(_("教学及辅助用房面积（㎡）"), default=0, **AREA)
    admin_area = models.DecimalField(_("行政办公用房面积（㎡）"), default=0, **AREA)
    living_area = models.DecimalField(_("生活用房面积（㎡）"), default=0, **AREA)
    other_area = models.DecimalField(_("其他用房面积（㎡）"), default=0, **AREA)
    property_right = models.CharField(_("产权"), max_length=2)
    tenure = models.CharField(_("自有或租借"), max_length=1, choices=Tenure.choices, default=Tenure.OWNED)
    condition = models.CharField(_("建筑物状况"), max_length=2, default="10")  # 10 正常, 21–24 A–D级危房 …
    in_use = models.BooleanField(_("在用"), default=True)
    safety_inspection = models.CharField(_("安全排查结论"), max_length=1, blank=True)
    seismic_category = models.CharField(_("抗震设防类别"), max_length=1, blank=True)
    seismic_intensity = models.CharField(_("抗震设防烈度"), max_length=1, blank=True)
    appraised_on = models.DateField(_("抗震鉴定日期"), null=True, blank=True)
    seismic_result = models.CharField(_("抗震鉴定结论"), max_length=1, blank=True)
    fire_resistance = models.CharField(_("耐火等级"), max_length=1, blank=True)
    fire_accepted = models.BooleanField(_("通过消防验收"), default=False)
    notes = models.CharField(_("备注"), max_length=500, blank=True)
    # 拆除: the building is gone; it keeps its record and history but leaves the totals.
    demolished_on = models.DateField(_("拆除日期"), null=True, blank=True)
    demolition_reason = models.CharField(_("拆除原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="school__stage_mask")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("校舍")
        ordering = ["school_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "number"], name="one_building_per_number"),
        ]
        indexes = [
            models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="building_region_path"),
            # The building list's order within a scope (selectors.BUILDING_LIST_ORDER), standing buildings.
            models.Index(fields=["region_path", "school", "number", "id"],
                         condition=models.Q(demolished_on__isnull=True), name="building_list_order"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.number}）"

    @property
    def is_dangerous(self) -> bool:
        """危房: building_condition 20 and its A–D grades 21–24 (JGJ 125)."""
        return self.condition.startswith("2")

    @property
    def danger_grade(self) -> str:
        return {"21": "A", "22": "B", "23": "C", "24": "D"}.get(self.condition, "")

    @property
    def is_standing(self) -> bool:
        return self.demolished_on is None

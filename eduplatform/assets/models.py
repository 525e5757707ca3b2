"""The equipment register (仪器设备台账) and the school's yearly summary holdings (基础基522 资产).

``Equipment`` is one line of a school's register: a set of identical items bought together
(quantity × unit price). ``AssetHoldings`` is one school's summary for one statistical year; where the
school keeps a register the services derive it from the register (source ``register``), otherwise
the school types it (source ``typed``). See ``assets.codes`` for the derivation rules.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields
from eduplatform.orgs.models import Organization

MONEY = {"max_digits": 14, "decimal_places": 2}


class Equipment(models.Model):
    """One register line: what, how many, what it cost, where it came from, where and how it is now."""

    school = models.ForeignKey(Organization, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(_("区划路径"), max_length=64)
    asset_number = models.CharField(_("资产编号"), max_length=40)
    category = models.CharField(_("设备类别"), max_length=2)  # assets.codes.CATEGORIES
    name = models.CharField(_("名称"), max_length=100)
    model = models.CharField(_("型号规格"), max_length=100, blank=True)
    quantity = models.PositiveIntegerField(_("数量"))
    unit_price = models.DecimalField(_("单价（元）"), **MONEY)
    value = models.DecimalField(_("金额（元）"), **MONEY)
    purchased_on = models.DateField(_("购置日期"))
    funding_source = models.CharField(_("经费来源"), max_length=1)  # JY/T 1001 jfly
    acquisition_mode = models.CharField(_("取得方式"), max_length=1)  # JY/T 1001 qdfs
    use_direction = models.CharField(_("使用方向"), max_length=1)  # JY/T 1001 yqsyfx
    status = models.CharField(_("仪器现状"), max_length=1)  # JY/T 1001 yqxz
    location = models.CharField(_("存放地点"), max_length=100, blank=True)
    # Derived by the service from category and use direction (codes.is_teaching_equipment); stored so
    # lists filter on it and the summary sums over an index.
    for_teaching = models.BooleanField(_("计入教学仪器设备"), default=False)
    disposed_on = models.DateField(_("处置日期"), null=True, blank=True)
    disposal_reason = models.CharField(_("处置说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="school__stage_mask")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("仪器设备")
        ordering = ["school_id", "asset_number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "asset_number"], name="one_asset_number_per_school"),
        ]
        indexes = [
            models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="equipment_region_path"),
            models.Index(fields=["school", "category"], name="equipment_school_category"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.asset_number}）"

    @property
    def is_held(self) -> bool:
        return self.disposed_on is None


class HoldingsSource(models.TextChoices):
    REGISTER = "register", _("由台账汇总")
    TYPED = "typed", _("手工填报")


class AssetHoldings(models.Model):
    """A school's summary holdings for one statistical year (统计时点 9月1日)."""

    school = models.ForeignKey(Organization, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(_("区划路径"), max_length=64)
    year = models.PositiveSmallIntegerField(_("统计年度"))
    source = models.CharField(_("数据来源"), max_length=8, choices=HoldingsSource.choices)
    books_volumes = models.PositiveIntegerField(_("图书（册）"), default=0)
    computers_for_teaching = models.PositiveIntegerField(_("教学用计算机（台）"), default=0)
    multimedia_classrooms = models.PositiveIntegerField(_("网络多媒体教室（间）"), default=0)
    teaching_equipment_value = models.DecimalField(_("教学仪器设备资产值（元）"), default=0, **MONEY)
    fixed_asset_value = models.DecimalField(_("固定资产总值（元）"), default=0, **MONEY)
    # Register schools: fixed assets the equipment register does not hold (buildings, land), typed.
    other_fixed_assets_value = models.DecimalField(_("台账外固定资产值（元）"), default=0, **MONEY)
    updated_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="school__stage_mask")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("资产汇总")
        ordering = ["-year", "school_id"]
        constraints = [models.UniqueConstraint(fields=["school", "year"], name="one_holdings_per_school_year")]
        indexes = [
            models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="holdings_region_path"),
        ]

    def __str__(self) -> str:
        return gettext("%(year)s 年度资产汇总") % {"year": self.year}
